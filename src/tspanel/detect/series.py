"""A robust, seasonality-aware spike detector for any regularly spaced count series.

Why this shape: the earlier detector compared a day with a rolling mean that included
the day itself, so a spike inflated its own baseline, and weekly lifts and trends raised
alarms. Here every point is compared with a forecast made only from the points before it:

* counts are modelled on a log scale (``log(1 + x)``): seasonality and surges in counts
  are multiplicative;
* a seasonal profile (day of week for daily data; hour of day or hour of week for hourly
  data) is the per-phase median over a trailing history; when several profiles are
  possible, the one whose past one-step forecasts erred least is used;
* the level is the median of the last season's de-seasonalised points, so a trend only
  lags by half a season and one spike barely moves it;
* the noise is a count model: Poisson noise of the expected count plus an extra
  (over-dispersion) variance fitted robustly to the past forecast errors, so a jump from
  2 to 6 is not scored like a jump from 200 to 600;
* the point score is the robust z of the excess, ``(log(1+x) - forecast) / noise``.
  Errors enter the noise history clipped at the threshold, so an attack does not widen
  the noise it is judged against;
* for sub-daily data a second score catches excesses too shallow for any single point
  but lasting half a day (see :func:`score_counts`); a point is an alert when either
  score exceeds the threshold.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from tspanel.errors import DataError

DEFAULT_THRESHOLD = 4.0
"""Robust z of the excess above which a point is an alert (one-sided, about 3e-5 under normality)."""

NORMAL_MAD = 0.6745  # median of |N(0, 1)|


@dataclass(frozen=True)
class Component:
    """One seasonal effect: which phase each point is in, and how much history to learn it from."""

    name: str
    phase: np.ndarray  # int phase of every point of the series
    n_phases: int
    history: int  # trailing points used to estimate the profile
    min_history: int  # points needed before the profile is trusted


@dataclass(frozen=True)
class Model:
    """A candidate forecast: a sum of seasonal components (none = flat) plus a level."""

    name: str
    components: tuple[Component, ...] = ()

    @property
    def min_history(self) -> int:
        return max((c.min_history for c in self.components), default=0)


@dataclass(frozen=True)
class Settings:
    """How much history the detector uses, in points of the series."""

    level: int  # trailing points whose median is the current level
    noise_history: int  # trailing forecast errors used to fit the extra variance
    warmup: int  # points before the first score
    min_errors: int  # forecast errors needed before the fitted noise (and model choice) is used
    sustained: int = 0  # points of the "sustained excess" window (0: single points only)


@dataclass(frozen=True)
class SeriesScores:
    """Per-point outputs of :func:`score_counts`; NaN where the history was too short."""

    expected: np.ndarray
    noise: np.ndarray
    point: np.ndarray  # robust z of the point itself
    sustained: np.ndarray  # robust z of the excess over the sustained window ending at the point
    model: list[str | None]

    @property
    def score(self) -> np.ndarray:
        """The stronger of the point and the sustained-window evidence."""
        with np.errstate(invalid="ignore"):
            return np.fmax(self.point, self.sustained)

    def alerts(self, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
        return np.nan_to_num(self.score, nan=-np.inf) > threshold


def candidate_models(timestamps: pl.Series, step: dt.timedelta) -> tuple[list[Model], Settings]:
    """The seasonal models that make sense for a sampling step, richest first, and the settings.

    Daily data: day of week, or none. Sub-daily data that divides a day: time of day, time
    of week (once two weeks are seen) and none. Anything coarser: none.
    """
    day = dt.timedelta(days=1)
    if step <= dt.timedelta(0):
        raise DataError(f"the sampling step must be positive, got {step}.")
    flat = Model("flat")
    ts = timestamps.cast(pl.Datetime("us"))
    weekday = (ts.dt.weekday().cast(pl.Int64) - 1).to_numpy()
    if step < day and day % step == dt.timedelta(0):
        per_day = day // step
        seconds = (
            ts.dt.hour().cast(pl.Int64) * 3600 + ts.dt.minute().cast(pl.Int64) * 60 + ts.dt.second().cast(pl.Int64)
        ).to_numpy()
        slot = seconds // int(step.total_seconds())
        tod = Component("time of day", slot, per_day, history=14 * per_day, min_history=3 * per_day)
        tow = Component(
            "time of week", weekday * per_day + slot, 7 * per_day, history=28 * per_day, min_history=14 * per_day
        )
        settings = Settings(
            level=per_day,
            noise_history=14 * per_day,
            warmup=3 * per_day,
            min_errors=per_day,
            sustained=max(per_day // 2, 2),
        )
        return [Model("time of week", (tow,)), Model("time of day", (tod,)), flat], settings
    if step == day:
        dow = Component("day of week", weekday, 7, history=28, min_history=14)
        settings = Settings(level=7, noise_history=56, warmup=14, min_errors=7)
        return [Model("day of week", (dow,)), flat], settings
    return [flat], Settings(level=7, noise_history=56, warmup=10, min_errors=7)


def _forecast(y: np.ndarray, t: int, model: Model, level_points: int) -> tuple[float, float]:
    """log-scale (level, seasonal effect) of point t, from the points before it."""
    if not model.components:
        return float(np.median(y[max(0, t - level_points) : t])), 0.0
    lo = max(0, t - max(c.history for c in model.components))
    d = y[lo:t].copy()
    season_t = 0.0
    for comp in model.components:
        # whole cycles only, so every phase is seen equally often; the grid is regular
        cycles = min(comp.history, t - lo) // comp.n_phases
        start = t - cycles * comp.n_phases
        block = d[start - lo :].reshape(cycles, comp.n_phases)
        by_column = np.median(block, axis=0) - float(np.median(block))
        profile = np.zeros(comp.n_phases)
        profile[comp.phase[start : start + comp.n_phases]] = by_column
        d = d - profile[comp.phase[lo:t]]
        season_t += profile[comp.phase[t]]
    return float(np.median(d[-level_points:])), season_t


def _extra_variance(errors: np.ndarray, poisson_var: np.ndarray) -> float:
    """Extra variance v so that errors / sqrt(poisson_var + v) have the median |z| of a standard normal.

    |e| / sqrt(pv + v) > c exactly when e**2 / c**2 - pv > v, so the v that puts half
    the points above c is the median of e**2 / c**2 - pv (and 0 if that is negative).
    """
    return max(0.0, float(np.median(errors**2 / NORMAL_MAD**2 - poisson_var)))


def score_counts(
    counts: np.ndarray | list[float],
    models: list[Model],
    settings: Settings,
    threshold: float = DEFAULT_THRESHOLD,
) -> SeriesScores:
    """Score each point of a regularly spaced count series against a forecast from earlier points.

    A missing interval must be given as a zero count. `models` are candidates, richest
    first: each point uses the available model whose recent forecasts erred least (the
    first available one until enough errors are known).

    With ``settings.sustained = k``, a second statistic catches excesses too long and
    shallow for any single point to stand out: the log ratio of the last k counts' sum
    to the sum forecast from the level *before* the window (so the window cannot lift its
    own baseline), as a robust z against the same statistic's recent history. A point that
    is an alert by itself enters that sum as its forecast, so one spike (reported already)
    does not keep the window raised for the next k points.
    """
    x = np.asarray(counts, dtype=float)
    if x.ndim != 1 or np.any(~np.isfinite(x)) or np.any(x < 0):
        raise DataError("a count series must hold finite, non-negative numbers.")
    n = x.size
    y = np.log1p(x)
    expected, noise, point, sustained, window_stat, level, season, capped = (np.full(n, np.nan) for _ in range(8))
    chosen: list[str | None] = [None] * n
    model_errors = np.full((len(models), n), np.nan)  # each candidate's one-step errors
    errors = np.full(n, np.nan)  # errors of the forecasts used, clipped at the threshold
    poisson_var = np.full(n, np.nan)
    k = settings.sustained
    for t in range(settings.warmup, n):
        forecasts = {i: _forecast(y, t, m, settings.level) for i, m in enumerate(models) if t >= m.min_history}
        if not forecasts:
            continue
        recent = slice(max(0, t - settings.noise_history), t)
        best, best_err = next(iter(forecasts)), math.inf
        for i in forecasts:
            past = model_errors[i, recent]
            past = past[~np.isnan(past)]
            if past.size >= settings.min_errors and float(np.mean(np.abs(past))) < best_err:
                best, best_err = i, float(np.mean(np.abs(past)))
        level[t], season[t] = forecasts[best]
        e = level[t] + season[t]
        mu = max(math.expm1(e), 0.0)
        pv = 1.0 / (mu + 1.0)  # Poisson variance of log(1 + x) near mu (conservative below mu = 3)
        past = errors[recent]
        known = ~np.isnan(past)
        if known.sum() >= settings.min_errors:
            extra = _extra_variance(past[known], poisson_var[recent][known])
        else:  # warm-up: the spread of the de-seasonalised history around its level
            extra = _warmup_variance(y, t, models[best], settings)
        s = math.sqrt(pv + extra)
        z = (y[t] - e) / s
        expected[t], noise[t], point[t], chosen[t] = mu, s, z, models[best].name
        for i, (lv, sv) in forecasts.items():
            model_errors[i, t] = y[t] - lv - sv
        errors[t] = min(max(z, -threshold), threshold) * s
        poisson_var[t] = pv
        capped[t] = x[t] if z <= threshold else mu  # a point alert is reported already
        if k and t - k + 1 >= settings.warmup:
            a = t - k + 1
            forecast = np.clip(np.expm1(level[a] + season[a : t + 1]), 0.0, None)
            window_stat[t] = math.log1p(float(capped[a : t + 1].sum())) - math.log1p(float(forecast.sum()))
            history = window_stat[recent]
            history = history[~np.isnan(history)]
            if history.size >= 2 * settings.min_errors:
                centre = float(np.median(history))
                spread = float(np.median(np.abs(history - centre))) / NORMAL_MAD
                if spread > 0:
                    sustained[t] = (window_stat[t] - centre) / spread
    return SeriesScores(expected=expected, noise=noise, point=point, sustained=sustained, model=chosen)


def _warmup_variance(y: np.ndarray, t: int, model: Model, settings: Settings) -> float:
    lo = max(0, t - settings.noise_history)
    one_cycle = max((c.n_phases for c in model.components), default=1)
    starts = range(max(lo, settings.level, one_cycle), t)
    fitted = np.array([sum(_forecast(y, i, model, settings.level)) for i in starts])
    if fitted.size < 3:
        hist = y[lo:t]
        return float(np.var(hist)) if hist.size > 1 else 1.0
    resid = y[t - fitted.size : t] - fitted
    return float((np.median(np.abs(resid - np.median(resid))) / NORMAL_MAD) ** 2)


def parse_step(freq: str) -> dt.timedelta:
    """Parse a duration such as ``1h``, ``30m``, ``1d`` into a timedelta."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    text = freq.strip().lower()
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.isdigit() or int(number) == 0:
        raise DataError(
            f"--freq {freq!r} is not a duration; use a positive whole number and one of "
            "s, m, h, d, w (e.g. 1h, 30m, 1d)."
        )
    return dt.timedelta(seconds=int(number) * units[unit])


def resample_counts(frame: pl.DataFrame, step: dt.timedelta) -> pl.DataFrame:
    """Sum a (timestamp, value) frame into regular bins labelled by their start; empty bins are 0."""
    every = f"{int(step.total_seconds())}s"
    summed = (
        frame.select("timestamp", pl.col("value").cast(pl.Float64))
        .sort("timestamp")
        .group_by_dynamic("timestamp", every=every)
        .agg(pl.col("value").sum())
    )
    if summed.height == 0:
        return summed
    grid = pl.datetime_range(summed["timestamp"][0], summed["timestamp"][-1], every, eager=True)
    return (
        pl.DataFrame({"timestamp": grid.cast(summed.schema["timestamp"])})
        .join(summed, on="timestamp", how="left")
        .with_columns(pl.col("value").fill_null(0.0))
    )


def read_series_csv(path: Path) -> pl.DataFrame:
    """A ``timestamp,value`` CSV as (timestamp: Datetime, value: Float64); DataError on anything else."""
    name = path.name
    if not path.is_file():
        raise DataError(f"{path}: no such file; give a CSV file with columns timestamp,value.")
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{name}: not a readable CSV file ({str(exc).splitlines()[0]}).") from None
    missing = [c for c in ("timestamp", "value") if c not in raw.columns]
    if missing:
        raise DataError(
            f"{name}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(found: {', '.join(repr(c) for c in raw.columns) or 'none'}); a series needs columns timestamp,value."
        )
    if raw.height == 0:
        raise DataError(f"{name}: no rows; a series needs at least one timestamp,value row.")
    parsed = raw.select(
        pl.col("timestamp"),
        pl.col("value"),
        pl.col("timestamp").str.strip_chars().str.to_datetime(strict=False, time_zone="UTC").alias("ts"),
        pl.col("value").str.strip_chars().cast(pl.Float64, strict=False).alias("v"),
    )
    problems = []
    bad_ts = parsed.filter(pl.col("ts").is_null())
    if bad_ts.height:
        problems.append(_bad(name, "timestamp", bad_ts["timestamp"], "no timestamp like 2015-03-01 05:00:00"))
    bad_v = parsed.filter(pl.col("v").is_null() | ~pl.col("v").is_finite() | (pl.col("v") < 0))
    if bad_v.height:
        problems.append(_bad(name, "value", bad_v["value"], "no count (a finite number >= 0)"))
    if problems:
        raise DataError(" ".join(problems) + " Fix or remove these rows.")
    naive = parsed["ts"].dt.replace_time_zone(None)
    return pl.DataFrame({"timestamp": naive, "value": parsed["v"]})


def _bad(file: str, column: str, values: pl.Series, what: str) -> str:
    first = ", ".join(repr(v) for v in values.head(5).to_list())
    rows = f"{values.len()} row{'s hold' if values.len() != 1 else ' holds'}"
    return f"{file}: column '{column}': {rows} {what} (first: {first})."


def detect_series(frame: pl.DataFrame, freq: str = "1h", threshold: float = DEFAULT_THRESHOLD) -> pl.DataFrame:
    """Sum a ``timestamp, value`` frame into `freq` bins and score every bin.

    Returns timestamp, value, expected, score (robust z; null during warm-up), model and alert.
    """
    step = parse_step(freq)
    binned = resample_counts(frame, step)
    models, settings = candidate_models(binned["timestamp"], step)
    scores = score_counts(binned["value"].to_numpy(), models, settings, threshold)
    return binned.with_columns(
        pl.Series("expected", scores.expected).fill_nan(None),
        pl.Series("score", scores.score).fill_nan(None),
        pl.Series("point_z", scores.point).fill_nan(None),
        pl.Series("sustained_z", scores.sustained).fill_nan(None),
        pl.Series("model", scores.model, dtype=pl.String),
        pl.Series("alert", scores.alerts(threshold)),
    )
