"""The rollup (tspanel.rollup) against raw rows: totals stated here, detector shares, queue outputs."""

from __future__ import annotations

import json
import sys

import polars as pl
import pytest

from tspanel.cli import main
from tspanel.detect.signals import TOP_K, daily_shares
from tspanel.errors import TspanelError
from tspanel.models.filters import Filters
from tspanel.models.queue import QueueModel
from tspanel.rollup import read_rollup, rollup_polars
from tspanel.rollup.engines import mask_uri
from tspanel.rollup.spec import facts_sql, transpile
from tspanel.source import default_world, load_dataset

SUMS = ("score_sum", "score_sq_sum", "hours_sum")

# The built-in world (seed 42), from `tspanel kpis --json` and a raw per-category count.
TOTAL_FLAGS = 42255
AUTO_BLOCKED = 6133
HUMAN_REVIEW = 13053
SLA_BREACHES = 1229
SLA_ELIGIBLE = 6850
COORDINATED = 4881  # 11.551295704650338 % of 42,255
PER_CATEGORY = {
    "fraud": 1053,
    "harassment": 16782,
    "hate_speech": 2864,
    "self_harm": 575,
    "sexual_content": 1563,
    "spam": 19418,
}


@pytest.fixture(scope="module")
def world():
    return default_world()


@pytest.fixture(scope="module")
def rollup(world):
    return rollup_polars(world.flags, world.columns)


def test_totals_equal_the_raw_kpis(rollup):
    facts = rollup.facts
    assert facts["n"].sum() == TOTAL_FLAGS
    assert facts.filter(pl.col("action") == "auto_block")["n"].sum() == AUTO_BLOCKED
    assert facts.filter(pl.col("action") == "human_review")["n"].sum() == HUMAN_REVIEW
    high = facts.filter(pl.col("severity").is_in(["high", "critical"]))
    assert high["over_sla"].sum() == SLA_BREACHES
    assert high["hours_n"].sum() == SLA_ELIGIBLE
    assert facts["coordinated"].sum() == COORDINATED
    per_category = dict(facts.group_by("category").agg(pl.col("n").sum()).iter_rows())
    assert per_category == PER_CATEGORY
    assert rollup.signals["n"].sum() == TOTAL_FLAGS


def test_rollup_is_smaller_and_keyed(rollup):
    facts = rollup.facts
    assert facts.height < TOTAL_FLAGS
    keys = [c for c in facts.columns if c not in ("n", "score_sum", "score_sq_sum", "hours_n", "hours_sum")]
    keys = keys[: keys.index("resolved_day") + 1]
    assert facts.select(keys).is_duplicated().sum() == 0
    # reviewer only on human-review cases; score bins of 0.01
    assert (
        facts.filter(pl.col("action") != "human_review")["reviewer_id"].null_count()
        == facts.filter(pl.col("action") != "human_review").height
    )
    assert facts["score_bin"].min() >= 0
    assert facts["score_bin"].max() <= 99


def test_daily_mean_score_is_exact(world, rollup):
    raw = world.flags.group_by("date").agg(pl.col("ml_score").mean().alias("raw")).collect().rename({"date": "day"})
    from_rollup = rollup.facts.group_by("day").agg((pl.col("score_sum").sum() / pl.col("n").sum()).alias("rolled"))
    joined = raw.join(from_rollup, on="day")
    assert joined.height == 90
    assert (joined["raw"] - joined["rolled"]).abs().max() < 1e-12


def test_signal_shares_equal_the_detectors(world, rollup):
    """The detector's per-day shares (tspanel.detect.signals), rebuilt from the rollup."""
    raw = daily_shares(world.flags, world.columns)
    s = rollup.signals
    hours = [f"h{h:02d}" for h in range(24)]
    rolled = s.select(
        pl.col("day").alias("date"),
        "category",
        (pl.col("young") / pl.col("age_known")).alias("young_accounts"),
        (pl.col("content_top") / pl.col("content_known")).alias("shared_content"),
        (pl.col("target_top") / pl.col("target_known")).alias("shared_targets"),
        (pl.col("account_top") / pl.col("account_known")).alias("repeat_accounts"),
        (pl.max_horizontal(hours) / pl.sum_horizontal(hours)).alias("burstiness"),
    )
    regions = (
        rollup.facts.group_by("day", "category", "region")
        .agg(pl.col("n").sum())
        .pivot(on="region", index=["day", "category"], values="n")
        .rename({"day": "date"})
    )
    joined = raw.join(rolled, on=["date", "category"], suffix="_r").join(regions, on=["date", "category"])
    assert joined.height == raw.height == 539
    for name in ("young_accounts", "shared_content", "shared_targets", "repeat_accounts", "burstiness"):
        assert (joined[name] - joined[f"{name}_r"]).abs().max() < 1e-12, name
    for region in ("AMER", "APAC", "EMEA"):
        diff = joined[f"region_share:{region}"] - joined[region].fill_null(0) / joined["n"]
        assert diff.abs().max() < 1e-12
    assert TOP_K == 5  # the top-5 the signals table sums is the detector's


def test_histogram_and_backlog_equal_the_queue_model(world, rollup):
    queue = QueueModel(world, Filters())
    raw_hist = queue.resolution_histogram().select("bin_start", "cases")
    reviews = rollup.facts.filter(pl.col("action") == "human_review", pl.col("hours_bin").is_not_null())
    rolled = reviews.group_by(
        (pl.col("hours_bin") // 4 * 4).clip(upper_bound=72).cast(pl.Float64).alias("bin_start")
    ).agg(pl.col("n").sum().alias("rolled"))
    joined = raw_hist.join(rolled, on="bin_start", how="left").with_columns(pl.col("rolled").fill_null(0))
    assert joined["cases"].to_list() == joined["rolled"].to_list()
    assert joined["cases"].sum() > 0

    backlog = queue.backlog()
    last = world.last_day
    open_cases = rollup.facts.filter(
        pl.col("action") == "human_review",
        pl.col("open_day") <= last,
        pl.col("resolved_day").is_null() | (pl.col("resolved_day") > last),
    )
    assert open_cases["n"].sum() == backlog["total"]
    assert backlog["total"] > 0


def test_streaming_and_in_memory_engines_agree(world, rollup):
    """The default streaming engine (bounded memory at scale) gives the in-memory engine's rows."""
    in_memory = rollup_polars(world.flags, world.columns, engine="in-memory")
    assert in_memory.facts.height == 38026
    assert in_memory.signals.height == 539
    assert in_memory.facts.drop(SUMS).equals(rollup.facts.drop(SUMS))
    for column in SUMS:
        assert (in_memory.facts[column] - rollup.facts[column]).abs().max() < 1e-9
    assert in_memory.signals.equals(rollup.signals)
    with pytest.raises(TspanelError, match="unknown Polars engine"):
        rollup_polars(world.flags, world.columns, engine="gpu")


def test_the_sql_is_one_text_per_engine():
    columns = {"date", "category", "severity", "action", "ml_score", "created_at", "resolved_at"}
    neutral = facts_sql(columns)
    assert "EPOCH_SECONDS" in neutral
    spark, postgres = transpile(neutral, "spark"), transpile(neutral, "postgres")
    assert "EPOCH_SECONDS" not in spark and "EPOCH_SECONDS" not in postgres
    assert "AS DOUBLE)" in spark  # Spark's fractional epoch seconds
    assert "EXTRACT(EPOCH FROM" in postgres
    assert "CAST(NULL AS" in postgres  # absent optional columns are typed NULLs
    with pytest.raises(ValueError, match="unknown engine"):
        transpile(neutral, "oracle")


def test_legacy_layout_without_optional_columns(tmp_path):
    dataset = load_dataset("data/legacy_sample")
    rollup = rollup_polars(dataset.flags, dataset.columns)
    assert rollup.facts["n"].sum() == 48
    assert rollup.facts["region"].null_count() == rollup.facts.height  # no region column
    assert rollup.signals["accounts"].sum() == 0


def test_cli_writes_the_rollup(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["rollup", str(out)]) == 0
    assert f"{TOTAL_FLAGS:,} flags" in capsys.readouterr().out
    manifest = json.loads((out / "rollup.json").read_text())
    assert manifest["flags"] == TOTAL_FLAGS
    assert manifest["engine"] == "polars"
    assert read_rollup(out).facts["n"].sum() == TOTAL_FLAGS
    assert main(["rollup", str(out)]) == 0  # an earlier rollup is replaced


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rollup", "{tmp}/missing", "{tmp}/out"], "no such directory"),
        (["rollup", "--engine", "spark", "data/legacy_sample", "{tmp}/out"], "reads Parquet"),
        (["rollup", "--engine", "postgres", "data/legacy_sample", "{tmp}/out"], "postgresql:// source"),
        (["rollup", "--data", "postgresql://u:hunter2@127.0.0.1:9/x", "{tmp}/out"], "cannot connect"),
        (["rollup", "--data", "postgresql://u@127.0.0.1:9/x", "--table", "a;drop", "{tmp}/out"], "not a table name"),
        (["rollup", "--data", "a", "b", "c"], "give the source once"),
        (["rollup", "data/legacy_sample", "{tmp}/file.txt"], "not a directory"),
    ],
)
def test_cli_bad_input_exits_2(tmp_path, capsys, argv, message):
    (tmp_path / "file.txt").write_text("x")
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "hunter2" not in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_mask_uri():
    assert mask_uri("postgresql://me:s3cret@db:5432/ts") == "postgresql://me:***@db:5432/ts"
    assert mask_uri("postgresql://me@db/ts") == "postgresql://me@db/ts"
    assert mask_uri("postgresql://me@db/ts?sslmode=require&password=s3cret") == (
        "postgresql://me@db/ts?sslmode=require&password=***"
    )


@pytest.mark.parametrize(
    ("module", "argv", "message"),
    [
        ("adbc_driver_postgresql", ["rollup", "--data", "postgresql://u@127.0.0.1:9/x"], "needs the postgres extra"),
        ("pyspark", ["rollup", "--engine", "spark", "data/legacy_sample"], "needs the spark extra"),
        (
            "adbc_driver_postgresql",
            ["load-db", "postgresql://u@127.0.0.1:9/x", "--data", "data/legacy_sample"],
            "needs the postgres extra",
        ),
    ],
)
def test_missing_extra_says_how_to_get_it(monkeypatch, tmp_path, capsys, module, argv, message):
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")] or [module]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the extra were not installed
    parquet = tmp_path / "pq"
    parquet.mkdir()
    load_dataset("data/legacy_sample").flags.collect().with_columns(
        pl.col(pl.Categorical, pl.Enum).cast(pl.String)
    ).write_parquet(parquet / "flags.parquet")
    argv = [str(parquet) if a == "data/legacy_sample" and "spark" in argv else a for a in argv]
    assert main([*argv, str(tmp_path / "out")] if argv[0] == "rollup" else argv) == 2
    assert message in capsys.readouterr().err
