"""Next week's arrivals (tspanel.models.forecast): both methods on series with known answers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from tspanel.models.forecast import backtest, forecast_next_week, holt_winters, seasonal_naive

WEEK = np.array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0])


def test_seasonal_naive_is_the_mean_of_the_same_weekday_over_four_weeks():
    y = np.concatenate([WEEK + 7 * k for k in range(6)])  # each week 7 more than the last
    # last four weeks add 14, 21, 28, 35 -> mean 24.5
    assert seasonal_naive(y).tolist() == (WEEK + 24.5).tolist()
    # ten days: the next day is weekday 3 (day 10), seen once (day 3: 40); weekday 0 seen twice (10, 17)
    assert seasonal_naive(y[:10]).tolist() == [40.0, 50.0, 60.0, 70.0, 13.5, 23.5, 33.5]


def test_holt_winters_follows_trend_and_weekly_season():
    t = np.arange(70)
    y = 100 + 2 * t + (WEEK - 40)[t % 7]
    truth = 100 + 2 * np.arange(70, 77) + (WEEK - 40)
    got = holt_winters(y)
    assert np.abs(got - truth).max() < 6  # damped trend: within 6 of 240-300 a week ahead
    assert np.abs(seasonal_naive(y) - truth).max() > 20  # the naive mean lags the trend by 2.5 weeks


def test_backtest_scores_both_and_picks_the_better():
    rng = np.random.default_rng(3)
    t = np.arange(84)
    y = rng.poisson(100 + 2 * t + (WEEK - 40)[t % 7]).astype(float)
    bt = backtest(y)
    errors = {row["method"]: row for row in bt.errors.iter_rows(named=True)}
    assert errors["seasonal_naive"]["origins"] == 8  # weekly origins from day 28 to day 77
    assert errors["holt_winters"]["mase"] < errors["seasonal_naive"]["mase"]
    assert bt.best == "holt_winters"
    assert errors["holt_winters"]["mape_pct"] < 8 < errors["seasonal_naive"]["mape_pct"]


def test_forecast_next_week_per_severity_with_an_80_percent_interval():
    rng = np.random.default_rng(5)
    start = dt.date(2026, 1, 5)
    rows = []
    for d in range(84):
        for sev, mean in (("low", 20), ("high", 10)):
            rows.append({"date": start + dt.timedelta(days=d), "severity": sev, "cases": int(rng.poisson(mean))})
    got = forecast_next_week(pl.DataFrame(rows), ("low", "medium", "high", "critical"))
    assert got is not None
    assert got.daily.height == 28 and got.daily["date"].min() == start + dt.timedelta(days=84)
    by_sev = got.daily.group_by("severity").agg(pl.col("cases").sum())
    assert dict(by_sev.iter_rows())["medium"] == 0.0
    assert got.total == pytest.approx(210, rel=0.1)  # 7 x (20 + 10)
    assert got.low_80 < got.total < got.high_80
    assert got.error_pct is not None and 5 < got.error_pct < 25  # Poisson noise of 30 a day: ~15%


def test_too_short_a_history_gives_no_forecast():
    rows = [{"date": dt.date(2026, 1, 1) + dt.timedelta(days=d), "severity": "low", "cases": 3} for d in range(6)]
    assert forecast_next_week(pl.DataFrame(rows), ("low",)) is None
