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
* the point score is the z of the count's exact tail under that model from 3 expected on,
  and the robust z of the log-scale excess, ``(log(1+x) - forecast) / noise``, below
  (:mod:`tspanel.detect.counts` says why). Errors enter the noise history as the log-scale
  error of the same z, clipped at the threshold, so an attack does not widen the noise it
  is judged against;
* for sub-daily data, excesses too shallow for any single point are tested over windows
  of 1/8, 1/4, 1/2 and 1 day (3, 6, 12 and 24 hours for hourly data) with the same count
  model (see :func:`score_counts`); the strongest of these statistics is converted back
  to a z after a multiple-testing (Sidak) correction for how many were looked at, and a
  statistic fires when that score exceeds the threshold. A window statistic also names the
  hours of its window that carry the excess (``excess_from``/``excess_to``);
* alarms (:mod:`tspanel.detect.alarms`) are raised from those statistics causally - stamped at
  the point that completed the evidence, the stretch of excess given beside it - with a memory
  of the excesses already seen and a refractory period. :class:`SeriesDetector` is the whole
  thing fed one point at a time; a batch run feeds it every point.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.special import ndtri

from tspanel.detect.alarms import Alarm, AlarmTracker
from tspanel.detect.counts import EXACT_FROM, LOW_HISTORY, log_count_variance, low_count_model, nb_tail_z, point_z
from tspanel.detect.signals import NORMAL_MAD
from tspanel.errors import DataError

DEFAULT_THRESHOLD = 4.0
"""Robust z of the excess above which a point is an alert (one-sided, about 3e-5 under normality)."""


@dataclass(frozen=True)
class Component:
    """One seasonal effect: which phase each point is in, and how much history to learn it from."""

    name: str
    offset: int  # phase of the series' first point; point i is in phase (offset + i) % n_phases
    n_phases: int
    history: int  # trailing points used to estimate the profile
    min_history: int  # points needed before the profile is trusted

    def phase(self, index: np.ndarray | int) -> np.ndarray | int:
        """Phase of point(s) `index`: the grid is regular, so phases repeat every n_phases points.

        Computed from the index, not read from a per-point array, so a stream can score points
        that did not exist when the models were made.
        """
        return (self.offset + index) % self.n_phases


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
    windows: tuple[int, ...] = ()  # lengths, in points, of the sustained-excess windows (none: points only)
    usual_level: int = 0  # trailing points whose median is the usual level the windows compare with
    low_history: int = 0  # trailing points behind the low-count model (0: none; see counts.low_count_model)
    recent: int = 1  # the low-count model's recent mean: the last `recent` points
    refractory: int = 0  # points without a firing statistic that end an alarm (tspanel.detect.alarms)
    memory: int = 0  # points an episode of excess is remembered for (tspanel.detect.alarms)


@dataclass(frozen=True)
class SeriesScores:
    """Per-point outputs of :func:`score_counts`; NaN where the history was too short."""

    expected: np.ndarray
    noise: np.ndarray
    point: np.ndarray  # robust z of the point itself
    sustained: np.ndarray  # robust z of the strongest window ending at the point
    window: np.ndarray  # length in points of that window (0: no window scored)
    excess_from: np.ndarray  # first and last point of the stretch of that window that holds its excess
    excess_to: np.ndarray
    tests: np.ndarray  # statistics computed at the point (the point and each window)
    model: list[str | None]
    test_z: np.ndarray | None = None  # (1 + windows, n): raw z of the point and of each window
    test_excess: np.ndarray | None = None  # the same statistics' log-scale excess over their forecast

    @property
    def score(self) -> np.ndarray:
        """The strongest statistic at each point, as a z corrected for the number of statistics."""
        with np.errstate(invalid="ignore"):
            strongest = np.fmax(self.point, self.sustained)
        return np.array([corrected_z(float(z), int(m)) for z, m in zip(strongest, self.tests, strict=True)])

    def alerts(self, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
        """Points whose own score exceeds the threshold (where each test fired)."""
        return np.nan_to_num(self.score, nan=-np.inf) > threshold


def corrected_z(z: float, tests: int) -> float:
    """The z whose one-sided tail probability is the chance that the strongest of `tests` z's reaches `z`.

    Sidak's correction, ``1 - (1 - p)**tests``: looking at several windows and keeping the
    strongest would otherwise multiply the false alarms; with one test z is unchanged.
    """
    if tests <= 1 or math.isnan(z):
        return z
    p = 0.5 * math.erfc(z / math.sqrt(2.0))
    family = -math.expm1(tests * math.log1p(-p)) if p < 1.0 else 1.0
    if family <= 0.0:  # z beyond about 37: the tail underflows; its asymptote is exact enough there
        return math.sqrt(z * z - 2.0 * math.log(tests))
    if family >= 1.0:
        return z
    return float(-ndtri(family))


def candidate_models(start: dt.datetime | dt.date | pl.Series, step: dt.timedelta) -> tuple[list[Model], Settings]:
    """The seasonal models that make sense for a sampling step, richest first, and the settings.

    Daily data: day of week, or none. Sub-daily data that divides a day: time of day, time
    of week (once two weeks are seen) and none. Anything coarser: none. Only the first
    timestamp matters (`start`, or the first of a series of them): points lie on a regular grid.
    """
    day = dt.timedelta(days=1)
    if step <= dt.timedelta(0):
        raise DataError(f"the sampling step must be positive, got {step}.")
    flat = Model("flat")
    if isinstance(start, pl.Series):
        start = start.cast(pl.Datetime("us"))[0] if start.len() else dt.datetime(1970, 1, 5)
    if not isinstance(start, dt.datetime):
        start = dt.datetime.combine(start, dt.time())
    weekday = start.weekday()
    if step < day and day % step == dt.timedelta(0):
        per_day = day // step
        slot = (start.hour * 3600 + start.minute * 60 + start.second) // int(step.total_seconds())
        tod = Component("time of day", slot, per_day, history=14 * per_day, min_history=3 * per_day)
        tow = Component(
            "time of week", weekday * per_day + slot, 7 * per_day, history=28 * per_day, min_history=14 * per_day
        )
        settings = Settings(
            level=per_day,
            noise_history=14 * per_day,
            warmup=3 * per_day,
            min_errors=per_day,
            windows=tuple(sorted({k for k in (per_day // 8, per_day // 4, per_day // 2, per_day) if k >= 2})),
            usual_level=7 * per_day,
            low_history=LOW_HISTORY * per_day,
            recent=per_day,
            refractory=max(1, per_day // 2),
            memory=28 * per_day,
        )
        return [Model("time of week", (tow,)), Model("time of day", (tod,)), flat], settings
    if step == day:
        dow = Component("day of week", weekday, 7, history=28, min_history=14)
        settings = Settings(level=7, noise_history=56, warmup=14, min_errors=7, refractory=1, memory=112)
        return [Model("day of week", (dow,)), flat], settings
    return [flat], Settings(level=7, noise_history=56, warmup=10, min_errors=7, refractory=1, memory=112)


def _forecast(
    y: np.ndarray, t: int, model: Model, level_points: int, usual_points: int = 0
) -> tuple[float, float, float]:
    """log-scale (level, seasonal effect, usual level) of point t, from the points before it.

    The usual level is the median de-seasonalised point over the last `usual_points`
    (the level itself when 0).
    """
    if not model.components:
        level = float(np.median(y[max(0, t - level_points) : t]))
        usual = float(np.median(y[max(0, t - usual_points) : t])) if usual_points else level
        return level, 0.0, usual
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
        profile[comp.phase(np.arange(start, start + comp.n_phases))] = by_column
        d = d - profile[comp.phase(np.arange(lo, t))]
        season_t += profile[comp.phase(t)]
    level = float(np.median(d[-level_points:]))
    return level, season_t, float(np.median(d[-usual_points:])) if usual_points else level


def _extra_variance(errors: np.ndarray, poisson_var: np.ndarray) -> float:
    """Extra variance v so that errors / sqrt(poisson_var + v) have the median |z| of a standard normal.

    |e| / sqrt(pv + v) > c exactly when e**2 / c**2 - pv > v, so the v that puts half
    the points above c is the median of e**2 / c**2 - pv (and 0 if that is negative).
    """
    return max(0.0, float(np.median(errors**2 / NORMAL_MAD**2 - poisson_var)))


class CountScorer:
    """Scores a regularly spaced count series one point at a time, each from the points before it.

    Why a class: a stream (``tspanel detect --series --follow``) must give the very numbers a
    batch run gives, so the batch run is this scorer fed every point (:func:`score_counts`);
    nothing a point's score uses lies after it. Arrays grow by doubling; every step reads only
    indices up to the point scored.
    """

    def __init__(self, models: list[Model], settings: Settings, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.models, self.settings, self.threshold = models, settings, threshold
        self.n = 0
        self._capacity = 0
        self._fitted_at: dict[tuple[str, int], float] = {}  # warm-up forecasts of earlier points
        self.chosen: list[str | None] = []
        self._grow(256)

    def _grow(self, capacity: int) -> None:
        def grown(old: np.ndarray | None, fill: float | int, dtype: type = float) -> np.ndarray:
            shape = (*old.shape[:-1], capacity) if old is not None else (capacity,)
            new = np.full(shape, fill, dtype=dtype)
            if old is not None:
                new[..., : old.shape[-1]] = old
            return new

        first = self._capacity == 0
        w = len(self.settings.windows)
        g = {} if first else self.__dict__
        for name in ("x", "y", "expected", "noise", "point", "level", "season", "usual", "capped", "errors",
                     "poisson_var", "point_excess", "point_sd"):  # fmt: skip
            setattr(self, name, grown(g.get(name), np.nan))
        self.model_errors = grown(g.get("model_errors", np.full((len(self.models), 0), np.nan)), np.nan)
        self.window_stat = grown(g.get("window_stat", np.full((w, 0), np.nan)), np.nan)
        self.window_pv = grown(g.get("window_pv", np.full((w, 0), np.nan)), np.nan)
        self.window_z = grown(g.get("window_z", np.full((w, 0), np.nan)), np.nan)
        self.window_excess = grown(g.get("window_excess", np.full((w, 0), np.nan)), np.nan)
        self.window_sd = grown(g.get("window_sd", np.full((w, 0), np.nan)), np.nan)
        self.window_from = grown(g.get("window_from", np.zeros((w, 0), dtype=int)), 0, int)
        self.window_to = grown(g.get("window_to", np.zeros((w, 0), dtype=int)), 0, int)
        self.tests = grown(g.get("tests"), 0, int)
        self._capacity = capacity

    def push(self, count: float) -> int:
        """Score the next point; returns its index."""
        if not (math.isfinite(count) and count >= 0):
            raise DataError("a count series must hold finite, non-negative numbers.")
        t = self.n
        if t >= self._capacity:
            self._grow(2 * self._capacity)
        self.x[t], self.y[t] = count, math.log1p(count)
        self.chosen.append(None)
        self.n = t + 1
        if t >= self.settings.warmup:
            self._score(t)
        return t

    def _score(self, t: int) -> None:
        settings, threshold, models = self.settings, self.threshold, self.models
        x, y = self.x, self.y
        forecasts = {
            i: _forecast(y, t, m, settings.level, settings.usual_level)
            for i, m in enumerate(models)
            if t >= m.min_history
        }
        if not forecasts:
            return
        recent = slice(max(0, t - settings.noise_history), t)
        best, best_err = next(iter(forecasts)), math.inf
        for i in forecasts:
            past = self.model_errors[i, recent]
            past = past[~np.isnan(past)]
            if past.size >= settings.min_errors and float(np.mean(np.abs(past))) < best_err:
                best, best_err = i, float(np.mean(np.abs(past)))
        self.level[t], self.season[t], self.usual[t] = forecasts[best]
        e = self.level[t] + self.season[t]
        mu = max(math.expm1(e), 0.0)
        pv = log_count_variance(mu)
        past = self.errors[recent]
        known = ~np.isnan(past)
        if known.sum() >= settings.min_errors:
            extra = _extra_variance(past[known], self.poisson_var[recent][known])
        else:  # warm-up: the spread of the de-seasonalised history around its level
            extra = _warmup_variance(y, t, models[best], settings, self._fitted_at)
        s = math.sqrt(pv + extra)
        z = z_model = point_z(x[t], e, extra)
        if mu < EXACT_FROM and settings.low_history:  # the log-scale normal is too wide here; see counts
            low_mean, inv_r = low_count_model(self.capped[max(0, t - settings.low_history) : t], settings.recent)
            if low_mean > 0:
                z = max(z, nb_tail_z(x[t], low_mean, inv_r))
        self.expected[t], self.noise[t], self.point[t], self.chosen[t] = mu, s, z, models[best].name
        self.point_excess[t], self.point_sd[t] = y[t] - e, s
        for i, (lv, sv, _) in forecasts.items():
            self.model_errors[i, t] = y[t] - lv - sv
        # the noise history keeps the log-scale model's own errors: the low-count test only adds a verdict
        self.errors[t] = min(max(z_model, -threshold), threshold) * s
        self.poisson_var[t] = pv
        windows = settings.windows
        scored = [
            k
            for j, k in enumerate(windows)
            if t - k + 1 >= settings.warmup and _history(self.window_stat[j], recent, settings)
        ]
        self.tests[t] = 1 + len(scored)
        self.capped[t] = mu if corrected_z(z, int(self.tests[t])) > threshold else x[t]  # an alert is reported already
        for j, k in enumerate(windows):
            a = t - k + 1
            if a < settings.warmup:
                continue
            each = np.clip(np.expm1(max(self.level[a], self.usual[a]) + self.season[a : t + 1]), 0.0, None)
            forecast = float(each.sum())
            stat = math.log1p(float(self.capped[a : t + 1].sum())) - math.log1p(forecast)
            self.window_from[j, t], self.window_to[j, t] = (
                a + i for i in _densest_stretch(self.capped[a : t + 1] - each)
            )
            self.window_pv[j, t] = 1.0 / (float(forecast) + 1.0)
            self.window_stat[j, t] = stat
            if k not in scored:
                continue
            history, history_pv = self.window_stat[j, recent], self.window_pv[j, recent]
            ok = ~np.isnan(history)
            centre = float(np.median(history[ok]))  # the log ratio's own bias (median vs mean of counts)
            sd = math.sqrt(self.window_pv[j, t] + _extra_variance(history[ok] - centre, history_pv[ok]))
            self.window_z[j, t] = (stat - centre) / sd
            self.window_excess[j, t], self.window_sd[j, t] = stat - centre, sd
            self.window_stat[j, t] = centre + min(max(self.window_z[j, t], -threshold), threshold) * sd

    def scores(self, start: int = 0) -> SeriesScores:
        """Per-point outputs of the points scored so far (from `start`)."""
        n, windows = self.n, self.settings.windows
        idx = np.arange(start, n)
        if windows:
            wz = self.window_z[:, start:n]
            scored_any = ~np.all(np.isnan(wz), axis=0)
            strongest = np.argmax(np.where(np.isnan(wz), -np.inf, wz), axis=0)
            cols = np.arange(n - start)
            sustained = np.where(scored_any, wz[strongest, cols], np.nan)
            window = np.where(scored_any, np.asarray(windows)[strongest], 0)
            excess_from = np.where(scored_any, self.window_from[:, start:n][strongest, cols], idx)
            excess_to = np.where(scored_any, self.window_to[:, start:n][strongest, cols], idx)
        else:
            sustained, window = np.full(n - start, np.nan), np.zeros(n - start, dtype=int)
            excess_from, excess_to = idx, idx
        return SeriesScores(
            expected=self.expected[start:n].copy(),
            noise=self.noise[start:n].copy(),
            point=self.point[start:n].copy(),
            sustained=sustained,
            window=window,
            excess_from=excess_from,
            excess_to=excess_to,
            tests=self.tests[start:n].copy(),
            model=self.chosen[start:n],
            test_z=np.vstack([self.point[None, start:n], self.window_z[:, start:n]]),
            test_excess=np.vstack([self.point_excess[None, start:n], self.window_excess[:, start:n]]),
        )


class SeriesDetector:
    """A count series' scorer and alarm tracker, fed one point at a time: what `--follow` runs.

    The batch :func:`detect_series` feeds every bin through the same object, so a stream and a
    batch run on the same data give the same alarms by construction.
    """

    def __init__(self, start: dt.datetime, step: dt.timedelta, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.start, self.step, self.threshold = start, step, threshold
        models, settings = candidate_models(start, step)
        self.scorer = CountScorer(models, settings, threshold)
        self.tracker = AlarmTracker(threshold, settings.refractory, settings.memory, settings.windows)
        self.alarms: list[Alarm] = []

    def timestamp(self, index: int) -> dt.datetime:
        return self.start + index * self.step

    def push(self, count: float) -> Alarm | None:
        """Score the next bin; the alarm it raises, if any (stamped at this bin)."""
        sc = self.scorer
        t = sc.push(count)
        m = int(sc.tests[t])
        z = np.concatenate(([sc.point[t]], sc.window_z[:, t]))
        corrected = np.array([corrected_z(float(v), m) for v in z])
        excess = np.concatenate(([sc.point_excess[t]], sc.window_excess[:, t]))
        sd = np.concatenate(([sc.point_sd[t]], sc.window_sd[:, t]))
        named_from = np.concatenate(([t], sc.window_from[:, t]))
        named_to = np.concatenate(([t], sc.window_to[:, t]))
        with np.errstate(invalid="ignore"):
            score = np.nanmax(corrected) if not np.all(np.isnan(corrected)) else np.nan
        alarm = self.tracker.update(t, corrected, excess, sd, float(score), named_from, named_to)
        if alarm is not None:
            self.alarms.append(alarm)
        return alarm


def score_counts(
    counts: np.ndarray | list[float],
    models: list[Model],
    settings: Settings,
    threshold: float = DEFAULT_THRESHOLD,
    progress: Callable[[int, int], None] | None = None,
) -> SeriesScores:
    """Score each point of a regularly spaced count series against a forecast from earlier points.

    A missing interval must be given as a zero count. `models` are candidates, richest
    first: each point uses the available model whose recent forecasts erred least (the
    first available one until enough errors are known).

    With ``settings.windows``, each window of k points ending at a point is also tested
    for an excess too shallow for any single point: the log ratio of the window's counts
    to their forecast from the level *before* the window (so a developing excess cannot
    lift its own baseline; and the higher of the recent and the usual level, so a return
    to normal after a dip is not an excess), with the same count model as points -
    Poisson variance of the window's expected total plus an over-dispersion fitted to the
    same window's past statistics (which also absorbs errors that persist from hour to
    hour). A point that is an alert by itself enters the windows as its forecast, so one
    spike (reported already) does not keep them raised.

    This is :class:`CountScorer` fed every point. `progress(done, total)`, if given, is
    called every 5% of the points: 5-minute data takes about 10 s per 10,000 points.
    """
    x = np.asarray(counts, dtype=float)
    if x.ndim != 1 or np.any(~np.isfinite(x)) or np.any(x < 0):
        raise DataError("a count series must hold finite, non-negative numbers.")
    scorer = CountScorer(models, settings, threshold)
    n = x.size
    report_every = max(1, n // 20)
    for t in range(n):
        if progress is not None and t >= settings.warmup and t % report_every == 0:
            progress(t, n)
        scorer.push(float(x[t]))
    return scorer.scores()


def _densest_stretch(excess: np.ndarray) -> tuple[int, int]:
    """First and last index of the run of consecutive points with the largest summed excess."""
    edges = np.concatenate(([0.0], np.cumsum(excess)))
    lowest_before = np.minimum.accumulate(edges[:-1])
    last = int(np.argmax(edges[1:] - lowest_before))
    return int(np.argmin(edges[: last + 1])), last


def _history(stats: np.ndarray, recent: slice, settings: Settings) -> bool:  # stats: one window's row
    """Whether a window statistic has enough past values to fit its noise."""
    return int(np.count_nonzero(~np.isnan(stats[recent]))) >= 2 * settings.min_errors


def _warmup_variance(
    y: np.ndarray, t: int, model: Model, settings: Settings, fitted_at: dict[tuple[str, int], float]
) -> float:
    """The spread of the de-seasonalised history around its forecasts, before errors are known.

    `fitted_at` memoises each earlier point's forecast: warm-up asks for the same ones again at
    every step, which made a day of 5-minute data (288 steps of up to 800 forecasts) the
    slowest part of scoring it.
    """
    lo = max(0, t - settings.noise_history)
    one_cycle = max((c.n_phases for c in model.components), default=1)
    starts = range(max(lo, settings.level, one_cycle), t)
    for i in starts:
        if (model.name, i) not in fitted_at:
            fitted_at[model.name, i] = sum(_forecast(y, i, model, settings.level)[:2])
    fitted = np.array([fitted_at[model.name, i] for i in starts])
    if fitted.size < 3:
        hist = y[lo:t]
        return float(np.var(hist)) if hist.size > 1 else 1.0
    resid = y[t - fitted.size : t] - fitted
    return float((np.median(np.abs(resid - np.median(resid))) / NORMAL_MAD) ** 2)


def parse_step(freq: str) -> dt.timedelta:
    """Parse a Polars duration string such as ``1h``, ``30m``, ``1d`` into a timedelta.

    Polars parses it (the same strings as ``group_by_dynamic``); calendar units whose length
    varies (months, years) are refused because a bin must have one fixed length.
    """
    text = freq.strip().lower()
    epoch = dt.datetime(1970, 1, 1)
    try:
        step = pl.select(pl.lit(epoch).dt.offset_by(text) - pl.lit(epoch)).item()
    except (pl.exceptions.PolarsError, ValueError):
        step = None
    if not isinstance(step, dt.timedelta) or step <= dt.timedelta(0) or any(u in text for u in ("mo", "q", "y")):
        raise DataError(
            f"--freq {freq!r} is not a duration; use a positive whole number and one of "
            "s, m, h, d, w (e.g. 1h, 30m, 1d)."
        )
    return step


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


def detect_series(
    frame: pl.DataFrame,
    freq: str | dt.timedelta = "1h",
    threshold: float = DEFAULT_THRESHOLD,
    progress: Callable[[int, int], None] | None = None,
) -> pl.DataFrame:
    """Sum a ``timestamp, value`` frame into `freq` bins, score every bin and raise alarms causally.

    Returns timestamp, value, expected, score (robust z, corrected for the number of
    statistics; null during warm-up), point_z, sustained_z and window (the strongest
    window's z and length, null if none), model, and the alarms: `alert` is true at the bin
    whose arrival raised an alarm (never earlier: see :mod:`tspanel.detect.alarms`),
    `alert_score` its score, and `window_start`/`window_end` the first and last bin of the
    excess it refers to (the bin itself for a point statistic, the hours carrying a window's
    excess for a window statistic); all null where no alarm was raised.
    """
    step = parse_step(freq) if isinstance(freq, str) else freq
    binned = resample_counts(frame, step)
    if binned.height == 0:
        raise DataError("the series has no rows to score.")
    detector = SeriesDetector(binned["timestamp"].cast(pl.Datetime("us"))[0], step, threshold)
    values = binned["value"].to_numpy()
    n = values.size
    report_every = max(1, n // 20)
    for t in range(n):
        if progress is not None and t % report_every == 0:
            progress(t, n)
        detector.push(float(values[t]))
    scores = detector.scorer.scores()
    window = [step * int(k) if k else None for k in scores.window]
    alert = np.zeros(n, dtype=bool)
    alert_score = np.full(n, np.nan)
    first: list[dt.datetime | None] = [None] * n
    last: list[dt.datetime | None] = [None] * n
    for a in detector.alarms:
        alert[a.index], alert_score[a.index] = True, a.score
        first[a.index], last[a.index] = detector.timestamp(a.window_from), detector.timestamp(a.window_to)
    return binned.with_columns(
        pl.Series("expected", scores.expected).fill_nan(None),
        pl.Series("score", scores.score).fill_nan(None),
        pl.Series("point_z", scores.point).fill_nan(None),
        pl.Series("sustained_z", scores.sustained).fill_nan(None),
        pl.Series("window", window, dtype=pl.Duration("us")),
        pl.Series("model", scores.model, dtype=pl.String),
        pl.Series("alert", alert),
        pl.Series("alert_score", alert_score).fill_nan(None),
        pl.Series("window_start", first, dtype=pl.Datetime("us")).cast(binned.schema["timestamp"]),
        pl.Series("window_end", last, dtype=pl.Datetime("us")).cast(binned.schema["timestamp"]),
    )
