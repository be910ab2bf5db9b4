"""DashboardSession.on_reload without a server: the same filters over new data, dates clipped to it."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl

from tspanel.source import load_dataset
from tspanel.synth import WorldConfig, write_world
from tspanel.ui.session import DashboardSession

# The 30-day world (seed 42, ~3,000 flags, 2026-08-24 .. 2026-09-22): spam flags on
# 2026-09-10..15 and on 2026-09-10..12, counted with Polars when the test was written.
SPAM_10_TO_15 = 303
SPAM_10_TO_12 = 211


def test_a_reload_keeps_the_filters_and_clips_the_dates_to_the_new_days(tmp_path: Path) -> None:
    full = tmp_path / "full"
    write_world(WorldConfig(days=30, flags=3000), full, "parquet")
    shorter = tmp_path / "shorter"  # the export was rewritten and now ends on 2026-09-12
    shutil.copytree(full, shorter)
    flags = pl.read_parquet(full / "flags")
    flags.filter(pl.col("date") <= dt.date(2026, 9, 12)).write_parquet(shorter / "flags" / "part-00000.parquet")

    session = DashboardSession(
        load_dataset(full), query="start=2026-09-10&end=2026-09-15&categories=spam&period=custom"
    )
    assert session.dashboard.refresh(only={"kpis"})["kpis"]["selected"] == SPAM_10_TO_15
    refreshes = session.refreshes

    session.on_reload(load_dataset(shorter))

    assert session.refreshes == refreshes + 1  # refreshed in place, once
    assert (session.filters.start, session.filters.end) == (dt.date(2026, 9, 10), None)  # end: the new last day
    assert session.filters.categories == ["spam"]
    assert session.view.period == "custom"
    assert session.dashboard.kpis.period_days is None
    assert session.dashboard.refresh(only={"kpis"})["kpis"]["selected"] == SPAM_10_TO_12
    assert session.controls.dates.end == dt.date(2026, 9, 12)
    assert session.controls.dates.value == (dt.date(2026, 9, 10), dt.date(2026, 9, 12))
    assert "2026-08-24 → 2026-09-12" in session.page.header[0].object
    assert session.query() == "?start=2026-09-10&categories=spam&period=custom"
