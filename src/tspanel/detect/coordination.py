"""Hourly coordination signals: what a campaign's first flags look like before their volume shows.

Why: a campaign often opens with a trickle - a few extra flags an hour - that the volume of its
category cannot tell from noise for many hours. Its flags are already unusual in *kind*: they come
from young accounts and hit the same content or targets from many distinct accounts. For each
category and hour, :func:`hourly_marks` counts the flags carrying such a mark; :class:`CompositionScorer`
tests, over trailing windows of 1, 3 and 6 hours, whether the marked share of the window's flags
exceeds the category's own usual share (the median of its last 14 daily shares: a robust baseline
an attack day barely moves). The test is a binomial tail given the window's flags, so an organic
surge - more flags of the usual kind - raises nothing: only a change in composition does.

Strictly causal: an hour's mark uses flags up to the end of that hour (a content hash is "shared"
when seen from enough distinct accounts in the 24 hours ending with it), and its score compares it
with earlier days only. Only columns of the data contract (docs/data.md) are used; each signal is
skipped when its columns are absent (no ``account_id``: distinct flags stand in for accounts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.special import betainc, ndtri

from tspanel.detect.series import DEFAULT_THRESHOLD, corrected_z
from tspanel.detect.signals import YOUNG_ACCOUNT_DAYS

SHARED_ACCOUNTS = 3
"""Distinct accounts within 24 hours that make a content hash or target "shared" (organic content is mostly unique)."""

PAIR_ACCOUNTS = 2
"""Distinct accounts that make content or a target shared for the young-and-shared mark (rarer, so looser)."""

LOOKBACK = "24h"
WINDOWS = (1, 3, 6)
"""Trailing windows, in hours: a campaign's first hours are what a one-day window would dilute."""

BASELINE_DAYS = 14
MIN_BASELINE_DAYS = 3
MIN_MARKED = 3
"""Marked flags a window needs before it can alert: two coincidences are not a campaign."""

SIGNALS: dict[str, str] = {
    "young_accounts": "flags from accounts under 30 days old",
    "shared": f"flags on content or a target seen from {SHARED_ACCOUNTS}+ accounts in 24 h",
    "young_shared": f"flags from young accounts on content or a target seen from {PAIR_ACCOUNTS}+ accounts in 24 h",
}


def available_signals(columns: list[str] | tuple[str, ...]) -> list[str]:
    """The signals the columns allow: young accounts need account_age_days; sharing needs content_hash or target_id."""
    has = set(columns)
    young = "account_age_days" in has
    shared = bool(has & {"content_hash", "target_id"})
    return [s for s, ok in (("young_accounts", young), ("shared", shared), ("young_shared", young and shared)) if ok]


def _hour(flags: pl.LazyFrame) -> pl.Expr:
    ts = pl.col("created_at")
    if getattr(flags.collect_schema()["created_at"], "time_zone", None) is not None:
        ts = ts.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return ts.dt.truncate("1h").cast(pl.Datetime("us")).alias("hour")


def hourly_marks(flags: pl.LazyFrame) -> pl.DataFrame:
    """category, hour and, per available signal, the hour's marked flags (only hours with flags).

    A flag's "shared" mark is decided at the end of its own hour: the distinct accounts (flags,
    without ``account_id``) with the same content hash (or target) in the category during the 24
    hours ending then. Nothing later is read.
    """
    columns = flags.collect_schema().names()
    signals = available_signals(columns)
    keys = [k for k in ("content_hash", "target_id") if k in columns]
    who = "account_id" if "account_id" in columns else None
    base = (
        flags.filter(pl.col("created_at").is_not_null())
        .with_row_index("_row")
        .select(
            "_row",
            pl.col("category").cast(pl.String),
            _hour(flags),
            *([pl.col(who).cast(pl.String).alias("_who")] if who else [pl.col("_row").cast(pl.String).alias("_who")]),
            *[pl.col(k).cast(pl.String) for k in keys],
            *([pl.col("account_age_days")] if "account_age_days" in columns else []),
        )
    )
    frame = base.collect()
    for key in keys:
        seen = (
            frame.filter(pl.col(key).is_not_null())
            .select("category", key, "_who", "hour")
            .unique()
            .sort("hour")
            .rolling(index_column="hour", period=LOOKBACK, group_by=["category", key])
            .agg(pl.col("_who").n_unique().alias(f"_n_{key}"))
            .unique(["category", key, "hour"])
        )
        frame = frame.join(seen, on=["category", key, "hour"], how="left")
    reach = pl.max_horizontal([pl.col(f"_n_{k}").fill_null(0) for k in keys]) if keys else pl.lit(0)
    young = (pl.col("account_age_days") < YOUNG_ACCOUNT_DAYS).fill_null(False)
    marks = {
        "young_accounts": young,
        "shared": reach >= SHARED_ACCOUNTS,
        "young_shared": young & (reach >= PAIR_ACCOUNTS),
    }
    return (
        frame.group_by("category", "hour")
        .agg(pl.len().cast(pl.Float64).alias("flags"), *[marks[s].sum().cast(pl.Float64).alias(s) for s in signals])
        .sort("category", "hour")
    )


@dataclass(frozen=True)
class Firing:
    """The strongest composition statistic of an hour, when it crosses the threshold."""

    signal: str
    hours: int  # window length
    marked: float  # marked flags in the window
    expected: float  # marked flags expected at the usual share
    score: float  # z after the multiple-testing correction


class CompositionScorer:
    """One category's marked-share test, fed hour by hour (flags and marked counts of each hour).

    Every statistic at hour t reads hours up to t only: the window sums end at t, the baseline
    share is the median of the daily shares of the days before the hour.
    """

    def __init__(self, signals: list[str], threshold: float = DEFAULT_THRESHOLD) -> None:
        self.signals, self.threshold = signals, threshold
        self.tests = max(1, len(signals) * len(WINDOWS))
        self._flags: list[float] = [0.0]  # cumulative sums, index t = sum of hours before t
        self._marked: dict[str, list[float]] = {s: [0.0] for s in signals}

    def push(self, flags: float, marked: dict[str, float]) -> Firing | None:
        """Add the next hour; the strongest statistic if it fires."""
        cum = self._flags
        cum.append(cum[-1] + flags)
        t = len(cum) - 2  # the hour just added
        days = min(BASELINE_DAYS, t // 24)
        best: Firing | None = None
        for s in self.signals:
            cm = self._marked[s]
            cm.append(cm[-1] + marked.get(s, 0.0))
            if days < MIN_BASELINE_DAYS:
                continue
            ends = t - 24 * np.arange(days)  # day j: hours [t - 24(j+1), t - 24j)
            totals = np.array([cum[e] - cum[e - 24] for e in ends])
            shares = np.array([cm[e] - cm[e - 24] for e in ends]) / np.maximum(totals, 1.0)
            # the median day is robust to an attack day; the pooled share (one marked flag added) keeps a
            # sparse signal, whose median day has none, from calling its every occurrence impossible
            pooled = (cm[t] - cm[t - 24 * days] + 1.0) / (cum[t] - cum[t - 24 * days] + 1.0)
            share = min(max(float(np.median(shares)), pooled), 0.999)
            for k in WINDOWS:
                if t + 1 < k:
                    continue
                n = cum[t + 1] - cum[t + 1 - k]
                c = cm[t + 1] - cm[t + 1 - k]
                if c < MIN_MARKED or n <= 0:
                    continue
                p = binomial_tail(c, n, share)
                z = corrected_z(float(-ndtri(max(p, 1e-300))), self.tests)
                if z > self.threshold and (best is None or z > best.score):
                    best = Firing(s, k, c, share * n, z)
        return best


def binomial_tail(marked: float, flags: float, share: float) -> float:
    """P(X >= marked) for X ~ Binomial(flags, share), for 1 <= marked.

    The regularised incomplete beta I_share(marked, flags - marked + 1): the same number as
    ``scipy.stats.binom.sf(marked - 1, flags, share)`` (both are Boost's ibeta), without
    importing scipy.stats, which held ~46 MB of a server's memory for this one function.
    """
    if marked > flags:
        return 0.0
    return float(betainc(marked, flags - marked + 1, share))


def marks_grid(marks: pl.DataFrame, hours: pl.Series, category: str, signals: list[str]) -> dict[str, np.ndarray]:
    """The category's flags and marked counts on every hour of `hours` (0 where none)."""
    own = marks.filter(pl.col("category") == category).drop("category")
    grid = pl.DataFrame({"hour": hours}).join(own, on="hour", how="left").fill_null(0.0)
    return {name: grid[name].to_numpy() for name in ("flags", *signals)}
