"""The hourly detector's coordination signals (issue #20's time to first alert): a campaign's first hours
are seen from who posts and what they share, before its volume shows; quiet traffic raises nothing."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from tspanel.detect.coordination import available_signals, binomial_tail, hourly_marks
from tspanel.detect.hourly import COORDINATION_COLUMNS, attack_starts, hourly_alerts, time_to_detect
from tspanel.synth import WorldConfig, generate_world

START = dt.datetime(2026, 1, 5)  # a Monday
HOUR = dt.timedelta(hours=1)
TRICKLE_DAY = 18


def organic(days: int = 21, rate: float = 10.0, seed: int = 3) -> list[dict]:
    """Hourly Poisson flags in spam: unique content and targets, distinct accounts, 20% of them young."""
    rng = np.random.default_rng(seed)
    rows = []
    for h, n in enumerate(rng.poisson(rate, days * 24)):
        for _ in range(n):
            k = len(rows)
            rows.append(
                {
                    "category": "spam",
                    "created_at": START + h * HOUR + dt.timedelta(seconds=int(rng.integers(0, 3600))),
                    "account_id": f"u{k}",
                    "account_age_days": int(rng.integers(0, 30)) if rng.random() < 0.2 else 400,
                    "content_hash": f"c{k}",
                    "target_id": f"t{k}",
                }
            )
    return rows


def trickle(hours: int = 6, per_hour: int = 2) -> list[dict]:
    """A campaign's opening: 2 extra flags an hour, from distinct 3-day-old accounts, all on one content hash."""
    first = START + TRICKLE_DAY * 24 * HOUR
    return [
        {
            "category": "spam",
            "created_at": first + h * HOUR + dt.timedelta(minutes=10 + 20 * i),
            "account_id": f"bot{h}-{i}",
            "account_age_days": 3,
            "content_hash": "template",
            "target_id": f"x{h}-{i}",
        }
        for h in range(hours)
        for i in range(per_hour)
    ]


def frame(rows: list[dict]) -> pl.LazyFrame:
    return pl.DataFrame(rows).with_columns(pl.col("created_at").dt.replace_time_zone("UTC")).lazy()


def test_a_trickle_of_young_accounts_sharing_content_alerts_in_its_second_hour() -> None:
    flags = frame(organic() + trickle())
    alerts = hourly_alerts(flags)
    first = START + TRICKLE_DAY * 24 * HOUR
    # hour 0 holds 2 marked flags (under the 3 a window needs); hour 1 completes 4: young accounts on shared content
    assert alerts.select("category", "timestamp", "signal").rows() == [("spam", first + HOUR, "young_shared")]
    assert alerts["raised_at"][0] == first + 2 * HOUR
    assert alerts["window_start"][0] == first - HOUR and alerts["window_end"][0] == first + HOUR  # its 3-hour window
    # the volume alone (12 extra flags over 6 hours on ~10 an hour) raises nothing at all
    assert hourly_alerts(flags.select("category", "created_at")).height == 0


def test_the_alert_does_not_depend_on_later_flags() -> None:
    rows = organic() + trickle()
    cut = START + TRICKLE_DAY * 24 * HOUR + 2 * HOUR  # the data ends when the alerting hour ends
    early = hourly_alerts(frame([r for r in rows if r["created_at"] < cut]))
    full = hourly_alerts(frame(rows))
    assert early.height == 1
    assert early.rows() == full.filter(pl.col("timestamp") < cut).rows()


def test_without_account_ids_distinct_flags_stand_in_for_accounts() -> None:
    flags = frame(organic() + trickle()).drop("account_id")
    alerts = hourly_alerts(flags)
    assert alerts.select("timestamp", "signal").rows() == [(START + TRICKLE_DAY * 24 * HOUR + HOUR, "young_shared")]


@pytest.mark.parametrize(
    ("columns", "signals"),
    [
        (("category", "created_at"), []),
        (("category", "created_at", "account_age_days"), ["young_accounts"]),
        (("category", "created_at", "target_id"), ["shared"]),
        (("category", "created_at", "account_age_days", "content_hash"), ["young_accounts", "shared", "young_shared"]),
    ],
)
def test_each_signal_needs_its_columns(columns: tuple[str, ...], signals: list[str]) -> None:
    assert available_signals(columns) == signals
    marks = hourly_marks(frame(organic(days=2)).select(*columns)) if signals else None
    if marks is not None:
        assert marks.columns == ["category", "hour", "flags", *signals]


def test_shared_is_decided_at_the_end_of_the_flags_own_hour() -> None:
    # three accounts on one hash: at 00:10 and 00:50 (hour 0), then 01:30 (hour 1)
    t = dt.datetime(2026, 1, 5)
    rows = [
        {"category": "spam", "created_at": t + dt.timedelta(minutes=m), "account_id": a, "content_hash": "h"}
        for m, a in ((10, "a"), (50, "b"), (90, "c"))
    ]
    marks = hourly_marks(pl.DataFrame(rows).lazy())
    # hour 0 has seen 2 accounts (not shared yet; the third comes later); hour 1's flag makes 3 in 24 h
    assert marks.select("hour", "flags", "shared").rows() == [(t, 2.0, 0.0), (t + HOUR, 1.0, 1.0)]


@pytest.mark.slow  # a 90-day world and six categories' hourly detectors: about 30 s
def test_the_built_in_worlds_attacks_are_each_alerted_within_4_hours_of_their_first_flag() -> None:
    world = generate_world(WorldConfig())  # the default world, seed 42: what a fresh install serves
    flags = world.flags.lazy()
    alerts = hourly_alerts(flags.select("category", "created_at", *COORDINATION_COLUMNS))
    r = time_to_detect(alerts, attack_starts(flags, world.attacks), span_days=90)
    delays = [round(a["delay_hours"], 1) for a in r["attacks"]]
    # hours from each attack's first flag (a trickle from about midnight UTC) to the end of the alerting hour
    assert delays == [1.3, 3.7, 3.7, 1.0, 2.9]
    assert max(delays) <= 4.0 and r["median_delay_hours"] <= 3.0
    assert r["false_alarms"] == 0


@pytest.mark.slow  # a 60-day world: about 20 s
def test_a_quiet_world_raises_no_hourly_alert() -> None:
    world = generate_world(WorldConfig(n_attacks=0, days=60))
    alerts = hourly_alerts(world.flags.lazy().select("category", "created_at", *COORDINATION_COLUMNS))
    assert alerts.height == 0


def test_the_binomial_tail_is_the_probability_of_at_least_that_many_marked_flags():
    # P(X >= 3), X ~ Binomial(10, 0.1): 1 - (0.3486784401 + 0.387420489 + 0.1937102445)
    assert binomial_tail(3, 10, 0.1) == pytest.approx(0.0701908264, rel=1e-12)
    assert binomial_tail(10, 10, 0.5) == pytest.approx(0.5**10, rel=1e-12)
    assert binomial_tail(1, 4, 0.25) == pytest.approx(1 - 0.75**4, rel=1e-12)
    assert binomial_tail(5, 4, 0.25) == 0.0  # more marked flags than flags: impossible


def test_serving_the_dashboard_does_not_import_scipy_stats():
    """scipy.stats held ~46 MB of the server's memory for one binomial tail (issue #17: RSS < 500 MB)."""
    code = "import sys, tspanel.app, tspanel.ui.session; print('scipy.stats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
