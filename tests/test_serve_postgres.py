"""A PostgreSQL database as the dashboard's source: kpis, validate, rows on demand, reloads, bad input.

A throwaway server (tests/pg_server.py) holds the built-in world, loaded with `tspanel load-db`.
Numbers are the built-in world's (seed 42), stated here: 42,255 flags, 13,053 human review,
1,229 of 6,850 high/critical cases over the 24 h SLA (17.9%), 1,182 cases open at the end.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import time

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pg_server import find_bindir, postgres_server
from tspanel.cli import main
from tspanel.models.dashboard import Dashboard
from tspanel.models.evidence import explain
from tspanel.models.filters import Filters
from tspanel.models.flags import FlagsTable
from tspanel.models.flags_query import FlagsQuery
from tspanel.rollup import sources
from tspanel.rollup.engines import connect_postgres, load_postgres
from tspanel.source import default_world

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        find_bindir() is None, reason="PostgreSQL binaries (initdb, pg_ctl) absent: apt-get install postgresql"
    ),
]
pytest.importorskip("adbc_driver_postgresql", reason="needs the postgres extra: pip install '.[postgres]'")

SECRET = "hunter2"


@pytest.fixture(scope="module")
def url():
    with postgres_server() as server:
        assert main(["load-db", server]) == 0
        yield server


def with_password(url: str) -> str:
    """The same server with a password in the URL (trust authentication ignores it)."""
    return url.replace("tspanel@", f"tspanel:{SECRET}@")


def test_kpis_from_the_database(url, capsys):
    assert main(["kpis", "--data", with_password(url), "--json"]) == 0
    out = capsys.readouterr()
    kpis = json.loads(out.out)
    assert kpis["total_flags"] == 42255
    assert kpis["human_review"] == 13053
    assert (kpis["sla_breaches"], kpis["sla_eligible"]) == (1229, 6850)
    assert round(kpis["sla_breach_rate_pct"], 1) == 17.9
    assert kpis["dataset"].startswith("postgresql://tspanel:***@127.0.0.1:")
    assert SECRET not in out.out + out.err


def test_the_dashboard_from_the_database(url):
    dataset = sources.load_postgres(url)
    assert dataset.n_flags == 42255 and dataset.weight == "n"
    out = Dashboard(dataset, use_cache=False).refresh({"queue": ["backlog"], "volume": ["action_mix"]})
    assert out["queue"]["backlog"]["total"] == 1182
    mix = dict(out["volume"]["action_mix"].select("action", "flags").iter_rows())
    assert mix["human_review"] == 13053 and mix["auto_block"] == 6133
    assert "hunter2" not in repr(sources.load_postgres(with_password(url)))


def test_validate_checks_the_contract_in_the_database(url, capsys):
    assert main(["validate", url]) == 0
    out = capsys.readouterr().out
    assert "valid dataset" in out
    assert "42,255 rows" in out
    assert "created_at" in out.split("Optional flag columns present:")[1].split("absent")[0]
    # A table breaking the contract: every problem named, exit 2, nothing served.
    bad = (
        default_world()
        .flags.collect()
        .head(100)
        .with_columns(
            pl.when(pl.int_range(pl.len()) < 3)
            .then(pl.lit("urgent"))
            .otherwise(pl.col("severity").cast(pl.String))
            .alias("severity"),
            pl.when(pl.int_range(pl.len()) == 5).then(1.5).otherwise(pl.col("ml_score")).alias("ml_score"),
            pl.when(pl.int_range(pl.len()) == 7)
            .then(pl.lit("F20260824-000000"))
            .otherwise(pl.col("flag_id"))
            .alias("flag_id"),
        )
    )
    load_postgres(url, bad, "bad_flags")
    assert main(["validate", with_password(url), "--table", "bad_flags"]) == 2
    err = capsys.readouterr().err
    assert "severity: 3 rows with a value outside low, medium, high, critical" in err
    assert "ml_score: 1 rows outside [0, 1]" in err
    assert "flag_id: 1 duplicate values (must be unique)" in err
    assert SECRET not in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["kpis", "--data", f"postgresql://u:{SECRET}@127.0.0.1:9/x"], "cannot connect to PostgreSQL at"),
        (["serve", "--no-show", "--data", f"postgresql://u:{SECRET}@127.0.0.1:9/x"], "cannot connect"),
        (["validate", f"postgresql://u:{SECRET}@127.0.0.1:9/x"], "cannot connect"),
        (["flags", "--data", f"postgresql://u:{SECRET}@127.0.0.1:9/x"], "cannot connect"),
        (["kpis", "--data", f"postgresql://u:{SECRET}@[nonsense/x"], "cannot connect"),
        (["kpis", "--data", f"postgresql://u@127.0.0.1:9/x?password={SECRET}"], "cannot connect"),
        (["detect", "--data", f"postgresql://u:{SECRET}@127.0.0.1:9/x"], "reads a dataset directory"),
    ],
)
def test_unreachable_or_bad_url_exits_2_without_the_password(argv, message, capsys):
    with pytest.raises(SystemExit) if argv[0] == "detect" else _nothing():
        assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert SECRET not in err
    assert "Traceback" not in err


def test_missing_table_exits_2(url, capsys):
    assert main(["validate", with_password(url), "--table", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "has no table 'nosuch'" in err and SECRET not in err
    with connect_postgres(url) as conn, conn.cursor() as cur:
        cur.execute("CREATE SCHEMA empty")
        conn.commit()
    elsewhere = with_password(url) + "?options=-csearch_path%3Dempty"
    assert main(["kpis", "--data", elsewhere]) == 2
    err = capsys.readouterr().err
    assert "has no table 'flags'" in err and SECRET not in err


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# --- rows on demand -------------------------------------------------------------------------------------
SETTINGS = [
    {
        "filters": {"categories": ["spam"], "start": dt.date(2026, 11, 18), "end": dt.date(2026, 11, 18)},
        "sort_by": "ml_score",
        "descending": True,
        "page": 0,
    },
    {"filters": {}, "sort_by": "severity", "status": "open", "search": "acc", "page": 0},
    {"filters": {"regions": ["EMEA"], "severities": ["critical"]}, "sort_by": "created_at", "page": 3},
    {
        "filters": {"reviewers": ["R03"], "actions": ["human_review"]},
        "sort_by": "resolution_hrs",
        "descending": True,
        "page": 1,
    },
]


@pytest.fixture
def recorded(monkeypatch):
    """Every query FlagsQuery sends and how many rows came back (what crossed the wire)."""
    sent: list[tuple[str, int]] = []
    run = FlagsQuery._run

    def spy(self, sql):
        frame = run(self, sql)
        sent.append((sql, frame.height))
        return frame

    monkeypatch.setattr(FlagsQuery, "_run", spy)
    return sent


@pytest.mark.parametrize("setting", SETTINGS, ids=["one-day-spam", "open-search", "deep-page", "reviewer"])
def test_pages_equal_the_raw_table_and_only_a_page_crosses(url, recorded, setting):
    dataset = sources.load_postgres(url)
    params = {k: v for k, v in setting.items() if k != "filters"}
    table = FlagsTable(dataset, Filters(**setting["filters"]), page_size=20, **params)
    assert isinstance(table, FlagsQuery)
    raw = FlagsTable(default_world(), Filters(**setting["filters"]), page_size=20, **params).page_frame()
    page = table.page_frame()
    assert page.total == raw.total > 0
    assert page.page == raw.page
    assert_frame_equal(page.frame, raw.frame, check_dtypes=False)
    assert max(rows for _, rows in recorded) <= 20  # a count (1 row) and the page
    assert any("LIMIT 20" in sql for sql, _ in recorded)


# The backlog at midnight UTC after the last selected day (cases opened before the selected
# days count too), as `tspanel flags --status backlog` lists it on the built-in world.
BACKLOGS = [
    ({"end": dt.date(2026, 11, 14), "severities": ["critical"]}, 4, None),
    # one selected day, yet cases opened the day before are in it: the dates are dropped, the moment decides
    ({"start": dt.date(2026, 10, 31), "end": dt.date(2026, 10, 31), "categories": ["spam"]}, 41, "created_at"),
    ({}, 1182, "ml_score"),  # the end of the data: the 1,182 cases open at the end
]


@pytest.mark.parametrize(("filters", "total", "sort_by"), BACKLOGS, ids=["critical-nov14", "spam-oct31", "end"])
def test_the_backlog_list_from_the_database_equals_the_raw_one(url, recorded, filters, total, sort_by):
    """The backlog bar's list (cases open at a moment) is a WHERE clause: the same pages as the rows."""
    dataset = sources.load_postgres(url)
    raw = FlagsTable(default_world(), Filters(**filters), status="backlog", sort_by=sort_by, page_size=20)
    table = FlagsTable(dataset, Filters(**filters), status="backlog", sort_by=sort_by, page_size=20)
    assert isinstance(table, FlagsQuery)
    assert table.count() == total
    last = (total - 1) // 20
    for page in sorted({0, last}):
        raw.page = table.page = page
        expected, got = raw.page_frame(), table.page_frame()
        assert (got.total, got.page) == (expected.total, expected.page) == (total, page)
        assert_frame_equal(got.frame, expected.frame, check_dtypes=False)
    assert max(rows for _, rows in recorded) <= 20  # only a page ever crosses


def test_export_streams_the_selection(url, tmp_path):
    dataset = sources.load_postgres(url)
    chosen = Filters(categories=["fraud"], severities=["high", "critical"])
    table = FlagsTable(dataset, chosen, sort_by="ml_score")
    buffer = io.BytesIO()
    assert table.export(buffer, "csv") == 480
    raw = io.BytesIO()
    FlagsTable(default_world(), chosen, sort_by="ml_score").export(raw, "csv")
    assert_frame_equal(pl.read_csv(buffer.getvalue()).sort("flag_id"), pl.read_csv(raw.getvalue()).sort("flag_id"))
    out = tmp_path / "spam.parquet"
    assert main(["flags", "--data", url, "--category", "spam", "--format", "parquet", "--out", str(out)]) == 0
    assert pl.read_parquet(out).height == 19418


def test_cli_flags_json_limits_in_the_database(url, capsys, recorded):
    assert main(["flags", "--data", url, "--category", "spam", "--format", "json", "--limit", "3"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["count"] == 19418
    assert len(payload["rows"]) == 3 and payload["truncated"]


def test_evidence_reads_its_window_from_the_database(url):
    day = dt.date(2026, 11, 18)
    from_db = explain(sources.load_postgres(url), day, day, "spam").to_dict()
    assert from_db == explain(default_world(), day, day, "spam").to_dict()
    assert from_db["flags"] > 0 and any(item["suspicious"] for item in from_db["items"])


def test_a_rollup_directory_says_where_the_rows_are(tmp_path, capsys):
    out = tmp_path / "rollup"
    assert main(["rollup", str(out)]) == 0
    dataset = sources.load_source(out)
    assert dataset.n_flags == 42255
    assert FlagsTable(dataset).shown_columns() == []
    assert main(["flags", "--data", str(out)]) == 2
    assert "the flags themselves are in the database or lake" in capsys.readouterr().err


# --- reloads -----------------------------------------------------------------------------------------
def test_a_change_in_the_database_is_a_new_rollup(url):
    sources.clear_source_cache()
    first = sources.load_source_cached(url)
    assert sources.load_source_cached(url) is first  # no change: the same rollup, no query
    row = (
        default_world()
        .flags.head(1)
        .collect()
        .with_columns(pl.lit("NEW-1").alias("flag_id"), pl.col(pl.Categorical, pl.Enum).cast(pl.String))
    )
    with connect_postgres(url) as conn, conn.cursor() as cur:
        cur.adbc_ingest("flags", row.to_arrow(), mode="append")
        conn.commit()
    deadline = time.monotonic() + 30  # the statistics counters are published within a second or so
    while (second := sources.load_source_cached(url)) is first and time.monotonic() < deadline:
        time.sleep(0.5)
    assert second.n_flags == 42256
    with connect_postgres(url) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM flags WHERE flag_id = 'NEW-1'")
        conn.commit()


def test_the_servers_watcher_follows_the_database(url):
    """What `tspanel serve --data URL --reload-interval N` runs each interval (tspanel.app.watch_dataset)."""
    from tspanel.app import watch_dataset

    sources.clear_source_cache()
    secret_url = with_password(url)
    watcher = watch_dataset(secret_url, 0)  # interval 0: no thread, checked by hand here
    assert watcher.dataset.n_flags == 42255
    assert watcher.check() is False  # nothing changed: no query beyond the counters
    with connect_postgres(url) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM attacks WHERE attack_id = (SELECT MIN(attack_id) FROM attacks)")
        conn.commit()
    deadline = time.monotonic() + 30
    while not watcher.check() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert watcher.dataset.attacks.collect().height == 4
    with connect_postgres(url) as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE flags RENAME TO flags_away")
        conn.commit()
    try:
        deadline = time.monotonic() + 30
        while watcher.error is None and time.monotonic() < deadline:
            watcher.check()
            time.sleep(0.5)
        assert watcher.error is not None and "has no table 'flags'" in watcher.error
        assert SECRET not in watcher.error and "tspanel:***@" in watcher.error
        assert watcher.dataset.n_flags == 42255  # the last good rollup keeps serving
    finally:
        with connect_postgres(url) as conn, conn.cursor() as cur:
            cur.execute("ALTER TABLE flags_away RENAME TO flags")
            conn.commit()
