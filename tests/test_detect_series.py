"""The robust seasonal count-series detector and the legacy z-score, on hand-made series."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from tspanel.detect.series import (
    DEFAULT_THRESHOLD,
    candidate_models,
    detect_series,
    parse_step,
    resample_counts,
    score_counts,
)
from tspanel.detect.zscore import detect_zscore_legacy
from tspanel.errors import DataError

MONDAY = dt.date(2026, 1, 5)
DAY = dt.timedelta(days=1)


def daily_alerts(counts: list[float] | np.ndarray, start: dt.date = MONDAY) -> list[int]:
    """Indices of the days the robust detector flags in a daily series starting `start`."""
    dates = pl.Series([start + i * DAY for i in range(len(counts))]).cast(pl.Datetime("us"))
    models, settings = candidate_models(dates, DAY)
    return np.flatnonzero(score_counts(counts, models, settings).alerts(DEFAULT_THRESHOLD)).tolist()


def weekly(days: int, base: float, lift: float = 1.3, trend: float = 0.0, seed: int = 1) -> np.ndarray:
    """Poisson counts around base + trend * day, `lift` times higher on Saturdays and Sundays."""
    rng = np.random.default_rng(seed)
    day = np.arange(days)
    weekend = ((MONDAY.weekday() + day) % 7) >= 5
    return rng.poisson((base + trend * day) * np.where(weekend, lift, 1.0)).astype(float)


def test_a_clear_spike_is_the_only_alert() -> None:
    counts = weekly(56, 200.0)
    counts[40] = 600  # a Thursday at three times its usual volume
    assert daily_alerts(counts) == [40]


def test_a_weekend_lift_is_not_an_alert() -> None:
    # Saturdays and Sundays carry 60% more flags, every week: seasonality, not an attack.
    counts = weekly(56, 200.0, lift=1.6)
    assert daily_alerts(counts) == []


def test_a_trend_is_not_an_alert() -> None:
    # +2% of the starting level a day: volume triples over the 13 weeks, smoothly.
    counts = weekly(91, 150.0, trend=3.0)
    assert daily_alerts(counts) == []


def test_an_attack_does_not_become_its_own_baseline() -> None:
    # A three-day campaign: each day is compared with the days before, not with itself,
    # so days two and three stay alerts (the earlier rolling z-score missed them).
    counts = weekly(56, 200.0)
    counts[35:38] = [700, 650, 680]
    assert daily_alerts(counts) == [35, 36, 37]


def test_the_first_two_weeks_are_warm_up() -> None:
    counts = weekly(28, 200.0)
    counts[5] = 2000
    assert 5 not in daily_alerts(counts)


def test_hourly_series_with_a_daily_cycle() -> None:
    hours = 24 * 10
    start = dt.datetime(2026, 1, 5)
    rng = np.random.default_rng(7)
    hour = np.arange(hours) % 24
    rate = 60 + 50 * np.sin(2 * np.pi * (hour - 6) / 24)  # 10 at night to 110 in the afternoon
    counts = rng.poisson(rate).astype(float)
    counts[24 * 8 + 3] = 90  # 03:00 on day 8: 9 times the usual night-time count
    frame = pl.DataFrame({"timestamp": [start + dt.timedelta(hours=int(i)) for i in range(hours)], "value": counts})
    alerts = detect_series(frame, "1h").filter("alert")
    assert alerts["timestamp"].to_list() == [dt.datetime(2026, 1, 13, 3)]


def test_resample_sums_into_bins_labelled_by_their_start_and_fills_gaps() -> None:
    frame = pl.DataFrame(
        {
            "timestamp": [
                dt.datetime(2026, 1, 1, 0, 5),
                dt.datetime(2026, 1, 1, 0, 55),
                dt.datetime(2026, 1, 1, 2, 10),
            ],
            "value": [3.0, 4.0, 5.0],
        }
    )
    out = resample_counts(frame, dt.timedelta(hours=1))
    assert out["timestamp"].to_list() == [dt.datetime(2026, 1, 1, h) for h in range(3)]
    assert out["value"].to_list() == [7.0, 0.0, 5.0]


@pytest.mark.parametrize(("text", "seconds"), [("1h", 3600), ("30m", 1800), ("1d", 86400), ("2w", 1209600)])
def test_parse_step(text: str, seconds: int) -> None:
    assert parse_step(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "h", "0h", "1y", "1.5h", "-1h"])
def test_parse_step_rejects_nonsense(text: str) -> None:
    with pytest.raises(DataError, match="not a duration"):
        parse_step(text)


def test_negative_counts_are_rejected() -> None:
    dates = pl.Series([MONDAY + i * DAY for i in range(20)]).cast(pl.Datetime("us"))
    models, settings = candidate_models(dates, DAY)
    with pytest.raises(DataError, match="non-negative"):
        score_counts([5.0] * 19 + [-1.0], models, settings)


def _legacy(counts: list[int]) -> pl.DataFrame:
    dates = [MONDAY + i * DAY for i, n in enumerate(counts) for _ in range(n)]
    flags = pl.LazyFrame({"date": dates, "category": ["spam"] * len(dates)})
    return detect_zscore_legacy(flags, frozenset({"date", "category"}))


def test_legacy_zscore_matches_the_hand_computation() -> None:
    # Window of day 8 = [10]*6 + [20]: mean 80/7, sample sd sqrt(600/42) -> z = (60/7) / 3.7796 = 2.268.
    alerts = _legacy([10] * 7 + [20])
    assert alerts["date"].to_list() == [MONDAY + 7 * DAY]
    assert alerts["category"].to_list() == [None]
    assert alerts["score"][0] == pytest.approx(2.268, abs=1e-3)


def test_legacy_zscore_misses_the_second_day_of_an_attack() -> None:
    # Day 9's window already holds day 8's spike: mean 90/7, sd 4.880, z = 1.464 < 1.5.
    alerts = _legacy([10] * 7 + [20, 20])
    assert alerts["date"].to_list() == [MONDAY + 7 * DAY]


def test_legacy_zscore_ignores_a_flat_week() -> None:
    assert _legacy([10] * 10).height == 0
