"""Next week's human-review arrivals, with the error each forecast made on the past.

Two methods, both a few lines of NumPy (statsforecast would add numba and several seconds of
import and JIT time for two small models; see docs/staffing.md):
- seasonal naive: each weekday is the mean of the same weekday over the last 4 weeks (the
  earlier staffing card's rule);
- Holt-Winters: additive level, damped trend and weekly seasonality, smoothing weights chosen
  on the training window only by one-step-ahead squared error over a small grid.
Both are backtested on rolling weekly origins (train on everything before the origin, forecast
the 7 days after it); MAPE and MASE (scaled by the training window's lag-7 naive error) decide
which one is used, and the chosen method's backtest errors give the 80% interval.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from tspanel.jit import jit

HORIZON = 7
SEASON = 7
NAIVE_WEEKS = 4
MIN_TRAIN_DAYS = 28  # four weeks before the first backtest origin
MIN_ORIGINS = 2  # fewer backtest origins than this: "not enough data" for the error
PHI = 0.95  # trend damping: a week ahead the trend fades rather than runs away
GRID = tuple(itertools.product((0.1, 0.3, 0.5), (0.01, 0.05, 0.15), (0.05, 0.2, 0.4)))
GRID_ARRAY = np.array(GRID, dtype=np.float64)
METHODS = ("seasonal_naive", "holt_winters")


def seasonal_naive(y: np.ndarray, h: int = HORIZON) -> np.ndarray:
    """Mean of the same weekday over the last NAIVE_WEEKS weeks (fewer if the series is short)."""
    y = np.asarray(y, dtype=np.float64)
    out = np.zeros(h)
    for i in range(h):
        idx = len(y) + i - SEASON * np.arange(1, NAIVE_WEEKS + 1)
        idx = idx[(idx >= 0) & (idx < len(y))]
        if len(idx) or len(y):
            out[i] = y[idx].mean() if len(idx) else y.mean()
    return out


def _hw_start(y: np.ndarray) -> tuple[float, float, np.ndarray]:
    """The recursion's starting level, trend and first season (the same for every weight)."""
    first = y[:SEASON]
    level = float(first.mean())
    trend = float((y[SEASON : 2 * SEASON].mean() - first.mean()) / SEASON) if len(y) >= 2 * SEASON else 0.0
    return level, trend, first - level


def _hw_pass(y: np.ndarray, alpha: float, beta: float, gamma: float) -> tuple[float, float, float, np.ndarray]:
    """One smoothing pass: (sse of one-step forecasts, level, trend, seasonals)."""
    level, trend, first = _hw_start(y)
    season = np.empty(len(y))
    season[:SEASON] = first
    sse, level, trend = _hw_loop(y, season, level, trend, alpha, beta, gamma, PHI)
    return sse, level, trend, season[-SEASON:].copy()


def _best_weights(y: np.ndarray) -> tuple[float, float, float]:
    """The GRID point with the smallest one-step sse (the first of equals, as `min` picks it).

    Why not `min(GRID, key=_hw_pass)`: the 27 passes share their start, and one compiled call
    runs them all (~25 fits a refresh; the per-pass Python overhead was most of the forecast).
    """
    level, trend, first = _hw_start(y)
    sse = _hw_grid(y, first, level, trend, GRID_ARRAY, PHI)
    best = 0
    for i in range(1, len(GRID)):
        if sse[i] < sse[best]:
            best = i
    return GRID[best]


@jit
def _hw_loop(
    y: np.ndarray, season: np.ndarray, level: float, trend: float, alpha: float, beta: float, gamma: float, phi: float
) -> tuple[float, float, float]:
    """The pass's recursion (compiled when numba is installed; the grid search runs it 27 times a fit).

    `season[t]` is written at step t from `season[t - SEASON]`.
    """
    sse = 0.0
    for t in range(SEASON, len(y)):
        s = season[t - SEASON]
        pred = level + phi * trend + s
        err = y[t] - pred
        sse += err * err
        new_level = alpha * (y[t] - s) + (1 - alpha) * (level + phi * trend)
        trend = beta * (new_level - level) + (1 - beta) * phi * trend
        level = new_level
        season[t] = gamma * (y[t] - level) + (1 - gamma) * s
    return sse, level, trend


@jit
def _hw_grid(
    y: np.ndarray, first: np.ndarray, level0: float, trend0: float, grid: np.ndarray, phi: float
) -> np.ndarray:
    """`_hw_loop`'s sse for each row (alpha, beta, gamma) of `grid`: the same float operations in the
    same order (tests/test_forecast.py compares the two). The recursion is repeated here, not
    called: `jit` compiles lazily, and numba cannot call the uncompiled wrapper of `_hw_loop`."""
    out = np.empty(len(grid))
    season = np.empty(len(y))
    for g in range(len(grid)):
        alpha, beta, gamma = grid[g, 0], grid[g, 1], grid[g, 2]
        season[:SEASON] = first
        level, trend = level0, trend0
        sse = 0.0
        for t in range(SEASON, len(y)):
            s = season[t - SEASON]
            pred = level + phi * trend + s
            err = y[t] - pred
            sse += err * err
            new_level = alpha * (y[t] - s) + (1 - alpha) * (level + phi * trend)
            trend = beta * (new_level - level) + (1 - beta) * phi * trend
            level = new_level
            season[t] = gamma * (y[t] - level) + (1 - gamma) * s
        out[g] = sse
    return out


def holt_winters(y: np.ndarray, h: int = HORIZON) -> np.ndarray:
    """Additive damped-trend Holt-Winters with weekly seasonality; weights fit on `y` only."""
    y = np.asarray(y, dtype=np.float64)
    if len(y) < 2 * SEASON:
        return seasonal_naive(y, h)
    best = _best_weights(y)
    _, level, trend, season = _hw_pass(y, *best)
    damp = np.cumsum(PHI ** np.arange(1, h + 1))
    return np.maximum(level + damp * trend + season[np.arange(h) % SEASON], 0.0)


FORECASTERS = {"seasonal_naive": seasonal_naive, "holt_winters": holt_winters}


@dataclass(frozen=True)
class Backtest:
    """Rolling-origin errors of each method on daily totals (and the chosen method's residuals)."""

    errors: pl.DataFrame  # method, origins, mape_pct, mase, weekly_mape_pct
    best: str | None
    daily_ratio: np.ndarray  # actual / forecast per backtest day of the best method
    weekly_ratio: np.ndarray  # actual / forecast of each backtest week's total


def backtest(y: np.ndarray, min_train: int = MIN_TRAIN_DAYS) -> Backtest:
    """Forecast the 7 days after each weekly origin from everything before it; score both methods."""
    y = np.asarray(y, dtype=np.float64)
    origins = list(range(len(y) - HORIZON, min_train - 1, -HORIZON))[::-1]
    rows, ratios = [], {}
    for name, fn in FORECASTERS.items():
        abs_pct, scaled, weekly, day_ratio, week_ratio = [], [], [], [], []
        for o in origins:
            train, actual = y[:o], y[o : o + HORIZON]
            pred = fn(train, HORIZON)
            scale = np.mean(np.abs(train[SEASON:] - train[:-SEASON])) if len(train) > SEASON else np.nan
            ok = actual > 0
            abs_pct.extend(np.abs(actual[ok] - pred[ok]) / actual[ok])
            if scale and np.isfinite(scale):
                scaled.append(np.mean(np.abs(actual - pred)) / scale)
            if actual.sum() > 0:
                weekly.append(abs(actual.sum() - pred.sum()) / actual.sum())
            day_ratio.extend(actual[pred > 0] / pred[pred > 0])
            if pred.sum() > 0:
                week_ratio.append(actual.sum() / pred.sum())
        enough = len(origins) >= MIN_ORIGINS
        rows.append(
            {
                "method": name,
                "origins": len(origins),
                "mape_pct": 100 * float(np.mean(abs_pct)) if enough and abs_pct else None,
                "mase": float(np.mean(scaled)) if enough and scaled else None,
                "weekly_mape_pct": 100 * float(np.mean(weekly)) if enough and weekly else None,
            }
        )
        ratios[name] = (np.array(day_ratio), np.array(week_ratio))
    errors = pl.DataFrame(
        rows,
        schema={
            "method": pl.String,
            "origins": pl.Int64,
            "mape_pct": pl.Float64,
            "mase": pl.Float64,
            "weekly_mape_pct": pl.Float64,
        },
    )
    scored = [r for r in rows if r["mase"] is not None]
    best = min(scored, key=lambda r: (r["mase"], r["method"] != "seasonal_naive"))["method"] if scored else None
    day_ratio, week_ratio = ratios[best] if best else (np.zeros(0), np.zeros(0))
    return Backtest(errors=errors, best=best, daily_ratio=day_ratio, weekly_ratio=week_ratio)


@dataclass(frozen=True)
class Forecast:
    """Next week's arrivals per day and severity by the chosen method, with its measured error."""

    daily: pl.DataFrame  # date, severity, cases (expected), low_80, high_80 (per day, all severities)
    total: float
    low_80: float | None
    high_80: float | None
    method: str
    error_pct: float | None  # the chosen method's backtest MAPE of daily totals
    errors: pl.DataFrame
    weekly_ratio: np.ndarray  # actual / forecast of each backtest week: the forecast's measured error


def forecast_next_week(counts: pl.DataFrame, severities: tuple[str, ...]) -> Forecast | None:
    """`counts`: one row per day and severity (date, severity, cases), consecutive days, no gaps.

    The method is chosen on the daily totals' backtest; each severity is forecast with it and the
    totals are the sum. None when there are fewer than 7 days.
    """
    days = counts.select(pl.col("date").unique().sort())["date"]
    if len(days) < SEASON:
        return None
    wide = counts.pivot(on="severity", index="date", values="cases").sort("date").fill_null(0)
    by_sev = {
        s: wide[s].to_numpy().astype(np.float64) if s in wide.columns else np.zeros(len(days)) for s in severities
    }
    total = np.sum(list(by_sev.values()), axis=0)
    bt = backtest(total)
    method = bt.best or "seasonal_naive"
    fn = FORECASTERS[method]
    next_days = [days[-1] + dt.timedelta(days=i) for i in range(1, HORIZON + 1)]
    per_sev = {s: fn(y, HORIZON) for s, y in by_sev.items()}
    day_total = np.sum(list(per_sev.values()), axis=0)
    lo_r, hi_r = _quantiles(bt.daily_ratio)
    wlo, whi = _quantiles(bt.weekly_ratio)
    rows = []
    for s in severities:
        for i, d in enumerate(next_days):
            rows.append({"date": d, "severity": s, "cases": float(per_sev[s][i])})
    daily = pl.DataFrame(rows, schema={"date": pl.Date, "severity": pl.String, "cases": pl.Float64})
    totals = pl.DataFrame(
        {
            "date": next_days,
            "total": day_total,
            "low_80": day_total * lo_r if lo_r is not None else [None] * HORIZON,
            "high_80": day_total * hi_r if hi_r is not None else [None] * HORIZON,
        },
        schema={"date": pl.Date, "total": pl.Float64, "low_80": pl.Float64, "high_80": pl.Float64},
    )
    daily = daily.join(totals, on="date", how="left")
    err = bt.errors.filter(pl.col("method") == method)["mape_pct"].item() if bt.best else None
    week = float(day_total.sum())
    return Forecast(
        daily=daily,
        total=week,
        low_80=week * wlo if wlo is not None else None,
        high_80=week * whi if whi is not None else None,
        method=method,
        error_pct=err,
        errors=bt.errors,
        weekly_ratio=bt.weekly_ratio,
    )


def _quantiles(ratio: np.ndarray) -> tuple[float | None, float | None]:
    """10th and 90th percentile of actual/forecast: the 80% interval as multipliers."""
    if len(ratio) < 2 * MIN_ORIGINS or not np.isfinite(ratio).all():
        return None, None
    lo, hi = np.quantile(ratio, [0.1, 0.9])
    return float(lo), float(hi)


def round_or_none(value: float | None, digits: int = 1) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)
