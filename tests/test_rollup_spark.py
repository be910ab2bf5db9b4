"""The rollup computed by PySpark (local[2]) equals the Polars rollup, row for row.

One SparkSession for the module (starting one takes seconds); the built-in world is small.
"""

from __future__ import annotations

import shutil

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pg_server import find_bindir, postgres_server
from tspanel.cli import main
from tspanel.rollup import read_rollup, rollup_polars, rollup_postgres, rollup_spark, write_rollup_spark
from tspanel.rollup.engines import FACT_SCHEMA, load_postgres, spark_session
from tspanel.rollup.spec import FACT_KEYS
from tspanel.source import default_world, load_dataset

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None, reason="no Java runtime: apt-get install openjdk-17-jre-headless"),
]
pytest.importorskip("pyspark", reason="needs the spark extra: pip install '.[spark]'")

TOTAL_FLAGS = 42255  # the built-in world, from `tspanel kpis --json`
AUTO_BLOCKED = 6133
SUMS = ("score_sum", "score_sq_sum", "hours_sum")


def plain(frame: pl.LazyFrame) -> pl.DataFrame:
    return frame.collect().with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))


@pytest.fixture(scope="module")
def spark():
    session = spark_session("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def world_parquet(tmp_path_factory):
    world = default_world()
    root = tmp_path_factory.mktemp("world")
    plain(world.flags).write_parquet(root / "flags.parquet")
    plain(world.reviewers).write_parquet(root / "reviewers.parquet")
    return root, world


def assert_same_rollup(left, right) -> None:
    assert_frame_equal(left.facts.drop(SUMS), right.facts.drop(SUMS))
    assert_frame_equal(left.facts.select(SUMS), right.facts.select(SUMS), abs_tol=1e-9, check_exact=False)
    assert_frame_equal(left.signals, right.signals)


def test_spark_rollup_equals_polars(spark, world_parquet):
    root, world = world_parquet
    on_spark = rollup_spark(spark, root / "flags.parquet")
    assert on_spark.facts["n"].sum() == TOTAL_FLAGS
    assert on_spark.facts.filter(pl.col("action") == "auto_block")["n"].sum() == AUTO_BLOCKED
    assert_same_rollup(on_spark, rollup_polars(world.flags, world.columns))


def test_part_files_without_optional_columns(spark, tmp_path):
    legacy = load_dataset("data/legacy_sample")
    parts = tmp_path / "flags"
    parts.mkdir()
    frame = plain(legacy.flags)
    frame.head(20).write_parquet(parts / "part-0.parquet")
    frame.slice(20).write_parquet(parts / "part-1.parquet")
    on_spark = rollup_spark(spark, parts)
    assert on_spark.facts["n"].sum() == 48
    assert_same_rollup(on_spark, rollup_polars(legacy.flags, legacy.columns))


def test_cli_spark(spark, tmp_path, capsys):
    legacy = load_dataset("data/legacy_sample")
    plain(legacy.flags).write_parquet(tmp_path / "flags.parquet")
    out = tmp_path / "r"
    assert main(["rollup", "--engine", "spark", "--master", "local[2]", str(tmp_path), str(out)]) == 0
    assert "Spark: computing the facts rollup" in capsys.readouterr().err
    assert read_rollup(out).facts["n"].sum() == 48


def test_cli_spark_conf_reaches_the_session(spark, tmp_path):
    legacy = load_dataset("data/legacy_sample")
    plain(legacy.flags).write_parquet(tmp_path / "flags.parquet")
    out = tmp_path / "r"
    args = ["rollup", "--engine", "spark", "--conf", "spark.sql.shuffle.partitions=3", str(tmp_path), str(out)]
    try:
        assert main(args) == 0
        assert spark.conf.get("spark.sql.shuffle.partitions") == "3"  # the CLI's session is the module's
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", "4")
    assert read_rollup(out).facts["n"].sum() == 48


@pytest.mark.postgres
@pytest.mark.skipif(
    find_bindir() is None, reason="PostgreSQL binaries (initdb, pg_ctl) absent: apt-get install postgresql"
)
def test_three_engines_agree(spark, world_parquet):
    """Polars == PostgreSQL == Spark on the built-in world, and its totals are the raw KPIs."""
    pytest.importorskip("adbc_driver_postgresql", reason="needs the postgres extra: pip install '.[postgres]'")
    root, world = world_parquet
    on_polars = rollup_polars(world.flags, world.columns)
    with postgres_server() as url:
        load_postgres(url, world.flags)
        in_db = rollup_postgres(url)
    on_spark = rollup_spark(spark, root / "flags.parquet")
    assert_same_rollup(in_db, on_polars)
    assert_same_rollup(on_spark, in_db)
    for rollup in (on_polars, in_db, on_spark):
        assert rollup.facts["n"].sum() == TOTAL_FLAGS
        assert rollup.facts.filter(pl.col("action") == "auto_block")["n"].sum() == AUTO_BLOCKED


def test_bad_parquet_exits_2(spark, tmp_path, capsys):
    no_score = tmp_path / "a"
    no_score.mkdir()
    plain(load_dataset("data/legacy_sample").flags).drop("ml_score").write_parquet(no_score / "flags.parquet")
    assert main(["rollup", "--engine", "spark", str(no_score), str(tmp_path / "out")]) == 2
    assert "lacks the required column(s) ml_score" in capsys.readouterr().err
    not_parquet = tmp_path / "b"
    not_parquet.mkdir()
    (not_parquet / "flags.parquet").write_text("flag_id,date\n1,2026-01-01\n")
    assert main(["rollup", "--engine", "spark", str(not_parquet), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "Spark could not compute the rollup" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_spark_written_rollup_of_the_builtin_world(spark, world_parquet, tmp_path):
    """The at-scale path (Spark writes the facts file itself, tspanel rollup --engine spark) holds the
    built-in world's KPIs, stated here, in normalise()'s schema and row order."""
    root, world = world_parquet
    out = tmp_path / "r"
    manifest = write_rollup_spark(spark, root / "flags.parquet", out, lambda: {"engine": "spark"})
    assert (manifest["flags"], manifest["facts_rows"], manifest["signals_rows"]) == (42255, 38026, 539)
    written = pl.read_parquet(out / "facts.parquet")
    assert written.schema == FACT_SCHEMA
    assert written.equals(written.sort(list(FACT_KEYS), nulls_last=True))  # already in normalise()'s order
    facts = written
    assert facts["n"].sum() == 42255
    assert facts.filter(pl.col("action") == "human_review")["n"].sum() == 13053
    high = facts.filter(pl.col("severity").is_in(["high", "critical"]))
    assert (high["over_sla"].sum(), high["hours_n"].sum()) == (1229, 6850)
    assert facts["coordinated"].sum() == 4881
    assert facts.filter(pl.col("category") == "spam")["n"].sum() == 19418
    assert_same_rollup(read_rollup(out), rollup_polars(world.flags, world.columns))
    assert sorted(p.name for p in out.iterdir()) == ["facts.parquet", "rollup.json", "signals.parquet"]
