"""The earlier dashboard's detector, kept exactly as it was so it can be compared against.

It flagged days whose total volume exceeded the 7-day rolling mean by 1.5 standard
deviations, with the window *including* the day being tested (so a spike inflates its
own baseline). Known weaknesses, left in on purpose: weekly lifts and trends raise
alarms, and the second day of an attack is often missed.
"""

from __future__ import annotations

import polars as pl

from tspanel.detect.alerts import alerts_frame
from tspanel.detect.signals import flag_count

WINDOW_DAYS = 7
LEGACY_THRESHOLD = 1.5


def detect_zscore_legacy(
    flags: pl.LazyFrame, columns: frozenset[str], threshold: float = LEGACY_THRESHOLD
) -> pl.DataFrame:
    """Alerts on total daily volume: (flags - rolling mean) / rolling std > threshold."""
    daily = flags.group_by("date").agg(flag_count(flags).cast(pl.Float64).alias("flags")).sort("date").collect()
    scored = daily.with_columns(
        pl.col("flags").rolling_mean(WINDOW_DAYS).alias("mean"),
        pl.col("flags").rolling_std(WINDOW_DAYS).alias("std"),
    ).with_columns(((pl.col("flags") - pl.col("mean")) / pl.col("std")).alias("z"))
    hits = scored.filter(pl.col("z").is_not_nan() & (pl.col("z") > threshold))  # 0/0 (a flat week) is no alert
    return alerts_frame(
        {"date": r["date"], "category": None, "score": r["z"], "signals": {"volume": r["z"]}}
        for r in hits.iter_rows(named=True)
    )
