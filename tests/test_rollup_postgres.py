"""The rollup computed inside a real PostgreSQL server equals the Polars rollup, row for row."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pg_server import find_bindir, postgres_server
from tspanel.cli import main
from tspanel.rollup import read_rollup, rollup_polars, rollup_postgres
from tspanel.rollup.engines import connect_postgres, load_postgres
from tspanel.source import default_world, load_dataset

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        find_bindir() is None, reason="PostgreSQL binaries (initdb, pg_ctl) absent: apt-get install postgresql"
    ),
]
pytest.importorskip("adbc_driver_postgresql", reason="needs the postgres extra: pip install '.[postgres]'")

TOTAL_FLAGS = 42255  # the built-in world, from `tspanel kpis --json`
HUMAN_REVIEW = 13053
SUMS = ("score_sum", "score_sq_sum", "hours_sum")


@pytest.fixture(scope="module")
def server():
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="module")
def world_in_db(server):
    world = default_world()
    assert load_postgres(server, world.flags) == TOTAL_FLAGS
    return server, world


def assert_same_rollup(left, right) -> None:
    """Keys and counts exactly; floating sums to 1e-9 (engines add in different orders)."""
    assert_frame_equal(left.facts.drop(SUMS), right.facts.drop(SUMS))
    assert_frame_equal(left.facts.select(SUMS), right.facts.select(SUMS), abs_tol=1e-9, check_exact=False)
    assert_frame_equal(left.signals, right.signals)


def test_postgres_rollup_equals_polars(world_in_db):
    url, world = world_in_db
    in_db = rollup_postgres(url)
    assert in_db.facts["n"].sum() == TOTAL_FLAGS
    assert in_db.facts.filter(pl.col("action") == "human_review")["n"].sum() == HUMAN_REVIEW
    assert_same_rollup(in_db, rollup_polars(world.flags, world.columns))


def test_table_without_optional_columns(server):
    legacy = load_dataset("data/legacy_sample")
    load_postgres(server, legacy.flags, table="legacy_flags")
    in_db = rollup_postgres(server, "legacy_flags")
    assert in_db.facts["n"].sum() == 48
    assert_same_rollup(in_db, rollup_polars(legacy.flags, legacy.columns))


def test_cli_postgres(world_in_db, tmp_path, capsys):
    url, _ = world_in_db
    out = tmp_path / "r"
    assert main(["rollup", "--data", url, str(out)]) == 0
    captured = capsys.readouterr()
    assert "PostgreSQL: computing the facts rollup" in captured.err
    assert read_rollup(out).facts["n"].sum() == TOTAL_FLAGS
    assert main(["rollup", "--data", url, "--table", "nope", str(tmp_path / "x")]) == 2
    assert "has no table 'nope'" in capsys.readouterr().err


def test_load_db_command(server, capsys):
    conn = connect_postgres(server)  # a schema of its own, so the built-in world's flags table is not in the way
    with conn.cursor() as cur:
        cur.execute("CREATE SCHEMA loadtest")
    conn.commit()
    conn.close()
    url = server + "?options=-csearch_path%3Dloadtest"
    assert main(["load-db", url, "--data", "data/legacy_sample"]) == 0
    out = capsys.readouterr().out
    assert "flags: 48 rows" in out
    assert "reviewers: 3 rows" in out
    assert "attacks: 1 rows" in out
    assert main(["load-db", url, "--data", "data/legacy_sample"]) == 2  # exists: refused without --replace
    assert "already exists" in capsys.readouterr().err
    assert main(["load-db", url, "--data", "data/legacy_sample", "--replace"]) == 0
    assert rollup_postgres(url).facts["n"].sum() == 48


def test_table_without_a_required_column_exits_2(server, tmp_path, capsys):
    load_postgres(server, load_dataset("data/legacy_sample").flags.drop("severity"), table="no_severity")
    assert main(["rollup", "--data", server, "--table", "no_severity", str(tmp_path / "out")]) == 2
    assert "lacks the required column(s) severity" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
