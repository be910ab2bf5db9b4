"""A served database is reloaded incrementally by day (tspanel.rollup.sources._load_postgres).

On a real PostgreSQL server holding the built-in world (seed 42: 42,255 flags, 2026-08-24 to
2026-11-21): after a change, only the days from the first changed one are computed again, and
the result equals a full load, row for row.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pg_server import find_bindir, postgres_server
from tspanel.cli import main
from tspanel.models.dashboard import Dashboard
from tspanel.rollup import engines, sources
from tspanel.rollup.engines import connect_postgres

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        find_bindir() is None, reason="PostgreSQL binaries (initdb, pg_ctl) absent: apt-get install postgresql"
    ),
]
pytest.importorskip("adbc_driver_postgresql", reason="needs the postgres extra: pip install '.[postgres]'")


@pytest.fixture(scope="module")
def url():
    with postgres_server() as server:
        assert main(["load-db", server]) == 0
        yield server


@pytest.fixture
def recomputed(monkeypatch):
    """The ``since`` of every database rollup fetched (None: all days)."""
    calls: list[dt.date | None] = []
    real = sources.fetch_rollup

    def spy(url, table, since=None):
        calls.append(since)
        return real(url, table, since)

    monkeypatch.setattr(sources, "fetch_rollup", spy)
    return calls


def execute(url: str, *statements: str) -> None:
    with connect_postgres(url) as conn, conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
        conn.commit()


def copy_of(where: str, changes: str) -> tuple[str, ...]:
    """SQL appending a copy of the first flag where ``where`` holds, with ``changes`` made to it."""
    return (
        f"CREATE TEMP TABLE one AS SELECT * FROM flags WHERE {where} ORDER BY flag_id LIMIT 1",
        f"UPDATE one SET {changes}",
        "INSERT INTO flags SELECT * FROM one",
        "DROP TABLE one",
    )


def rows(dataset) -> pl.DataFrame:
    frame = dataset.flags.collect().with_columns(
        pl.col(pl.Enum).cast(pl.String), pl.col(pl.UInt8, pl.UInt16).cast(pl.Int64)
    )
    return frame.sort(frame.columns, nulls_last=True)


def outputs(dataset) -> dict:
    out = Dashboard(dataset, use_cache=False).refresh({"kpis": ["current"], "queue": ["backlog", "sla"]})
    return {"kpis": out["kpis"]["current"], "backlog": out["queue"]["backlog"]["total"], "sla": out["queue"]["sla"]}


def test_only_the_changed_days_are_computed_again(url, recomputed):
    first, state = sources._load_postgres(url)
    assert first.n_flags == 42255 and recomputed == [None]
    assert (state.signatures.height, state.signatures["day"].max()) == (90, dt.date(2026, 11, 21))

    # nothing changed in the flags (another table did): no rollup query at all, the same facts
    again, state = sources._load_postgres(url, previous=state)
    assert recomputed == [None] and again.n_flags == 42255
    assert_frame_equal(rows(again), rows(first))

    # a case of 2026-09-01 resolved later (an old row updated) and a flag appended on the last day
    execute(
        url,
        "UPDATE flags SET resolution_hrs = 30.5 WHERE flag_id = (SELECT MIN(flag_id) FROM flags "
        "WHERE date = DATE '2026-09-01' AND action = 'human_review' AND severity = 'high' AND resolution_hrs < 20)",
        *copy_of("date = DATE '2026-11-21'", "flag_id = 'NEW-1'"),
    )
    try:
        incremental, state = sources._load_postgres(url, previous=state)
        assert recomputed == [None, dt.date(2026, 9, 1)]  # the first changed day and those after it
        full = sources.load_postgres(url)
        assert incremental.n_flags == full.n_flags == 42256
        assert_frame_equal(rows(incremental), rows(full))
        assert outputs(incremental) == outputs(full)
        assert outputs(incremental)["kpis"]["total_flags"] == 42256
        assert outputs(incremental)["sla"] == outputs(full)["sla"]
        assert incremental.rolled is not None
        assert_frame_equal(state.signals, engines.rollup_postgres(url).signals)
    finally:
        execute(url, "DELETE FROM flags WHERE flag_id = 'NEW-1'")


def test_a_new_reviewer_means_a_full_load(url, recomputed):
    _, state = sources._load_postgres(url)
    execute(
        url,
        *copy_of("date = DATE '2026-11-20' AND action = 'human_review'", "flag_id = 'NEW-2', reviewer_id = 'R99'"),
    )
    try:
        reloaded, _ = sources._load_postgres(url, previous=state)
        # tried from the changed day, then loaded whole: R99 is not among the kept facts' reviewers
        assert recomputed == [None, dt.date(2026, 11, 20), None]
        assert reloaded.n_flags == 42256
        assert "R99" in reloaded.flags.collect_schema()["reviewer_id"].categories.to_list()
        assert_frame_equal(rows(reloaded), rows(sources.load_postgres(url)))
    finally:
        execute(url, "DELETE FROM flags WHERE flag_id = 'NEW-2'")


def test_spilled_facts_reload_incrementally(url, recomputed, monkeypatch):
    """Facts kept on disk ($TSPANEL_ROLLUP_SPILL_ROWS) outlive the dataset the sessions dropped."""
    import gc

    from tspanel.rollup.dataset import SPILL_ENV, spilled_facts

    monkeypatch.setenv(SPILL_ENV, "10000")  # the built-in world's 38,026 fact rows go to disk
    first, state = sources._load_postgres(url)
    assert spilled_facts(first) is not None
    del first
    gc.collect()  # the sessions moved on: only the reload state holds the first dataset now
    execute(
        url,
        *copy_of("date = DATE '2026-11-21'", "flag_id = 'NEW-3'"),
    )
    try:
        incremental, _ = sources._load_postgres(url, previous=state)
        assert recomputed == [None, dt.date(2026, 11, 21)]
        assert spilled_facts(incremental) is not None
        assert incremental.n_flags == 42256
        assert_frame_equal(rows(incremental), rows(sources.load_postgres(url)))
    finally:
        execute(url, "DELETE FROM flags WHERE flag_id = 'NEW-3'")


def test_the_fetching_child_reports_errors_masked(url):
    """The child's error is the server's message (exit status 2), with any password masked."""
    from tspanel.errors import TspanelError
    from tspanel.rollup.fetch import fetch_rollup

    secret = url.replace("tspanel@", "tspanel:hunter2@")
    with pytest.raises(TspanelError, match="has no table 'no_such_table'") as caught:
        fetch_rollup(secret, "no_such_table")
    assert "hunter2" not in str(caught.value) and "***" in str(caught.value)
