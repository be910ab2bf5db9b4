"""The Polars rollup in batches of whole days equals the one-pass rollup.

At 100M flags one pass did not fit a 24 GB machine; batches bound the working set. The rollup is
keyed by day, so concatenating per-batch results must give exactly the one-pass tables.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal

from tspanel.cli import main
from tspanel.rollup import rollup_polars
from tspanel.rollup.engines import day_batches
from tspanel.source import default_world


def test_day_batches_keep_whole_days_and_the_row_bound() -> None:
    d = [dt.date(2026, 11, day) for day in (1, 2, 3, 4, 5)]
    days = pl.DataFrame({"date": d, "n": [3, 4, 9, 1, 1]})
    # 3+4 fits 7; 9 is larger than the bound and stands alone; 1+1 fit together.
    assert day_batches(days, 7) == [(d[0], d[1]), (d[2], d[2]), (d[3], d[4])]
    assert day_batches(days, 100) == [(d[0], d[4])]
    assert day_batches(days.head(0), 7) == []


def test_batched_rollup_equals_one_pass() -> None:
    world = default_world()
    one = rollup_polars(world.flags, world.columns, batch_rows=10**9)
    seen: list[str] = []
    batched = rollup_polars(world.flags, world.columns, batch_rows=5_000, progress=seen.append)
    # The built-in world: 42,255 flags over 90 days, so batches of <= 5,000 flags are >= 9.
    assert len(seen) >= 9
    assert seen[0].startswith("Polars: days 2026-")
    assert int(batched.facts["n"].sum()) == 42_255
    assert_frame_equal(batched.facts, one.facts)
    assert_frame_equal(batched.signals, one.signals)


def test_conf_errors_exit_2(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["rollup", "--engine", "spark", "--conf", "spark.driver.memory", "data/legacy_sample", str(out)]) == 2
    assert "give a Spark setting as KEY=VALUE" in capsys.readouterr().err
    assert main(["rollup", "--conf", "spark.driver.memory=4g", "data/legacy_sample", str(out)]) == 2
    err = capsys.readouterr().err
    assert "the polars engine has none" in err
    assert "Traceback" not in err
    assert not out.exists()
