"""The count model behind a point's score: Poisson counts around a rate that varies log-normally.

Why not only a normal on ``log(1 + count)`` with the Poisson variance taken at the forecast,
``1 / (mu + 1)``: for a large excess that variance belongs to the wrong count. A burst of 76
where 6 are expected carries the Poisson spread of 76 (about 1/77 on the log scale), not of 6
(1/7), so the approximation charges the burst the noise of a quiet hour and under-scores it.
From an expected count of :data:`EXACT_FROM` on, a point's score is therefore the exact tail
probability of its count under the model, turned into a z.

Why not everywhere: below about 3 expected, forecasts are medians of counts such as 0, 1 and 2
and are quantised (the median of a dozen hours averaging 0.9 is often 0). An exact tail trusts
the forecast and would call a count of 2 against a forecast of 0 impossible; the log-scale
normal, whose ``1 / (mu + 1)`` overstates the Poisson spread there (3x at 0.5 expected), stays
conservative instead, as it always was.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import special

EXACT_FROM = 3.0
"""Expected count from which a point's score is the exact tail (below: the log-scale normal)."""

_STEPS = (0.02, 0.05, 0.1, 0.2)  # grid steps over the standard normal behind the rate, finest first
_GRIDS = {h: np.arange(-9.0, 9.0 + h / 2, h) for h in _STEPS}  # beyond +-9 the normal holds under 1e-18
_WEIGHTS = {h: np.exp(-0.5 * z**2) / np.exp(-0.5 * z**2).sum() for h, z in _GRIDS.items()}
_FAR = 1e-15  # tails smaller than this are beyond any threshold: the log-scale z ranks them
_FAR_Z = float(-special.ndtri(_FAR))
_GRID = np.linspace(math.log(EXACT_FROM), math.log(1e5), 300)  # log of the expected count


def _exact_variance(mu: float) -> float:
    k = np.arange(int(mu + 40.0 * math.sqrt(mu) + 50.0))
    pmf = np.exp(k * math.log(mu) - mu - special.gammaln(k + 1.0))
    y = np.log1p(k)
    mean = float(pmf @ y)
    return float(pmf @ (y - mean) ** 2)


@functools.cache
def _variance_table() -> np.ndarray:
    return np.array([_exact_variance(math.exp(g)) for g in _GRID])


def log_count_variance(mu: float) -> float:
    """Poisson variance of ``log(1 + X)`` at mean `mu`: exact from EXACT_FROM on, ``1 / (mu + 1)`` below."""
    if mu < EXACT_FROM or mu >= 1e5:  # below: conservative on purpose; above: the delta method is exact enough
        return 1.0 / (mu + 1.0)
    return float(np.interp(math.log(mu), _GRID, _variance_table()))


def point_z(count: float, log_forecast: float, extra: float) -> float:
    """The score of one count against its forecast (``log(1 + expected)``) and over-dispersion `extra`."""
    mu = max(math.expm1(log_forecast), 0.0)
    if mu < EXACT_FROM:
        return (math.log1p(count) - log_forecast) / math.sqrt(log_count_variance(mu) + extra)
    return tail_z(count, log_forecast, extra)


def tail_z(count: float, log_forecast: float, extra: float) -> float:
    """The z whose upper normal tail equals the chance of a count at least this large.

    The rate is ``exp(log_forecast + sqrt(extra) * Z) - 1`` (the forecast and the fitted
    over-dispersion, both on the ``log(1 + x)`` scale) and the count is Poisson around it.
    Counts are discrete, so the tail is the mid-p value ``P(X > x) + P(X = x) / 2``: a count at
    the median scores near 0, and ordinary points are not biased upwards. Counts need not be
    whole: ``P(X >= x)`` is the regularised gamma function, continuous in x.
    """
    sd = math.sqrt(max(extra, 0.0))
    if sd > 0.0:
        # the count's Poisson tail turns from 0 to 1 over about 1 / (sd * sqrt(count)) of the
        # normal behind the rate; a fifth of that is a fine enough step (the trapezoid rule on a
        # Gaussian weight is very accurate), so small counts need a tenth of the points
        width = 1.0 / (sd * math.sqrt(count + 1.0))
        step = next((h for h in reversed(_STEPS) if h <= width / 5), _STEPS[0])
        rate = np.maximum(np.expm1(log_forecast + sd * _GRIDS[step]), 1e-12)
        weights = _WEIGHTS[step]
    else:
        rate, weights = np.array([max(math.expm1(log_forecast), 1e-12)]), np.ones(1)
    above = special.gammainc(count + 1.0, rate)  # P(X > x)
    at = np.exp(count * np.log(rate) - rate - special.gammaln(count + 1.0))  # P(X = x), for any real x >= 0
    p = min(float(weights @ (above + 0.5 * at)), 1.0 - 1e-16)
    if p < _FAR:
        variance = log_count_variance(max(math.expm1(log_forecast), 0.0)) + extra
        return max(_FAR_Z, (math.log1p(count) - log_forecast) / math.sqrt(variance))
    return float(-special.ndtri(p))


LOW_HISTORY = 7  # days of history (in points: 7 * points a day) behind the low-count model's mean and spread
LOW_WINSOR = 0.99  # counts above this quantile of the history are cut to it before the spread is taken


def low_count_model(history: np.ndarray, recent: int) -> tuple[float, float]:
    """Mean and negative-binomial over-dispersion (``1 / r``) of a low count from its recent history.

    Why: below :data:`EXACT_FROM` expected, forecasts are medians of 0s, 1s and 2s and the
    log-scale noise fitted around them is wide (a burst of 28 where 1 is usual scored 2.4). Counts
    there are better described directly: a negative binomial whose mean is the higher of the mean of
    the last `recent` points and of the whole history (a mean is not quantised like a median; the
    higher one keeps a recent rise from looking like an excess), and whose variance is the history's,
    winsorised at its 99th percentile so a few past bursts do not widen it (a robust scale), by the
    method of moments: ``var = m + m**2 / r``. The daily cycle stays in that variance, which only
    makes the model more conservative.
    """
    h = history[~np.isnan(history)]
    if h.size == 0:
        return 0.0, 0.0
    mean = max(float(np.mean(h[-recent:])), float(np.mean(h)))
    w = np.minimum(h, float(np.quantile(h, LOW_WINSOR)))
    m_w = float(np.mean(w))
    inv_r = max(0.0, float(np.var(w)) - m_w) / m_w**2 if m_w > 0 else 0.0
    return mean, inv_r


def nb_tail_z(count: float, mean: float, inv_r: float) -> float:
    """The z of a count's mid-p upper tail under a negative binomial of this mean and ``1 / r`` (Poisson at 0).

    ``P(X >= k)`` is the regularised incomplete beta ``I_{1-p}(k, r)`` (Poisson: ``P(k, mean)``),
    continuous in k, so counts need not be whole; mid-p is the mean of the tails at x and x + 1.
    """
    mean = max(mean, 1e-3)  # a history of zeros: any count is far out, but finitely so
    if count <= 0:
        return -_FAR_Z  # nothing is never an excess
    if inv_r <= 1e-9:
        at_least = special.gammainc(count, mean)  # P(X >= x)
        beyond = special.gammainc(count + 1.0, mean)  # P(X >= x + 1)
    else:
        r = 1.0 / inv_r
        q = mean / (mean + r)  # 1 - p
        at_least = special.betainc(count, r, q)
        beyond = special.betainc(count + 1.0, r, q)
    p = 0.5 * (float(at_least) + float(beyond))
    if p <= 0.0:
        return _FAR_Z
    return min(float(-special.ndtri(p)), 40.0)
