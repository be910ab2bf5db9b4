"""Volume excess per category (and per category and region) on daily counts.

A campaign run from one region is diluted in its category's global count but stands
out in that region's count, so both are scored and the stronger excess is kept.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from tspanel.detect.alerts import alerts_frame
from tspanel.detect.series import DEFAULT_THRESHOLD, candidate_models, score_counts
from tspanel.detect.signals import flag_count

DAY = dt.timedelta(days=1)


def daily_counts(flags: pl.LazyFrame, by: list[str]) -> pl.DataFrame:
    """Flags a day per group, with every day from the first to the last day of the data (0 when none)."""
    counts = (
        flags.group_by("date", *[pl.col(c).cast(pl.String) for c in by])
        .agg(flag_count(flags).cast(pl.Float64).alias("flags"))
        .collect()
    )
    if counts.height == 0:
        return pl.DataFrame(schema={"date": pl.Date, **dict.fromkeys(by, pl.String), "flags": pl.Float64})
    days = pl.DataFrame({"date": pl.date_range(counts["date"].min(), counts["date"].max(), "1d", eager=True)})
    groups = counts.select(by).unique()
    return (
        days.join(groups, how="cross")
        .join(counts, on=["date", *by], how="left")
        .with_columns(pl.col("flags").fill_null(0.0))
        .sort(*by, "date")
    )


def score_daily(counts: pl.DataFrame, by: list[str], threshold: float = DEFAULT_THRESHOLD) -> pl.DataFrame:
    """Robust z of every day of every group's daily series (null in the warm-up)."""
    parts = []
    for _, group in counts.group_by(by, maintain_order=True):
        models, settings = candidate_models(group["date"].cast(pl.Datetime("us")), DAY)
        scores = score_counts(group["flags"].to_numpy(), models, settings, threshold)
        parts.append(
            group.with_columns(
                pl.Series("expected", scores.expected).fill_nan(None),
                pl.Series("z", scores.score).fill_nan(None),
            )
        )
    if not parts:
        return counts.with_columns(pl.lit(None, pl.Float64).alias("expected"), pl.lit(None, pl.Float64).alias("z"))
    return pl.concat(parts)


def volume_scores(flags: pl.LazyFrame, columns: frozenset[str], threshold: float = DEFAULT_THRESHOLD) -> pl.DataFrame:
    """Per (date, category): flags, expected, volume z, and the strongest regional z and its region."""
    total = score_daily(daily_counts(flags, ["category"]), ["category"], threshold)
    out = total.rename({"z": "volume_z"})
    if "region" in columns:
        regional = score_daily(daily_counts(flags, ["category", "region"]), ["category", "region"], threshold)
        best = (
            regional.filter(pl.col("z").is_not_null())
            .sort("z", descending=True)
            .group_by("date", "category", maintain_order=True)
            .agg(pl.col("z").first().alias("regional_z"), pl.col("region").first().alias("regional_top"))
        )
        out = out.join(best, on=["date", "category"], how="left")
    else:
        out = out.with_columns(
            pl.lit(None, pl.Float64).alias("regional_z"), pl.lit(None, pl.String).alias("regional_top")
        )
    return out.sort("date", "category")


def volume_strength() -> pl.Expr:
    """The stronger of the category's and its strongest region's volume z."""
    return (
        pl.when(pl.col("volume_z").is_not_null())
        .then(pl.max_horizontal(pl.col("volume_z"), pl.col("regional_z").fill_null(-np.inf)))
        .otherwise(None)
    )


def detect_volume(flags: pl.LazyFrame, columns: frozenset[str], threshold: float = DEFAULT_THRESHOLD) -> pl.DataFrame:
    """Alerts where a category's daily volume (or one region's share of it) exceeds its forecast."""
    scores = volume_scores(flags, columns, threshold).with_columns(volume_strength().alias("strength"))
    hits = scores.filter(pl.col("strength") > threshold)
    rows = []
    for r in hits.iter_rows(named=True):
        signals = {"volume": r["volume_z"]}
        if r["regional_z"] is not None:
            signals[f"volume_{r['regional_top']}"] = r["regional_z"]
        rows.append({"date": r["date"], "category": r["category"], "score": r["strength"], "signals": signals})
    return alerts_frame(rows)
