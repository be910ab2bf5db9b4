"""Secondary signals of coordination, per day and category, each against the category's normal.

Every signal is a *share* of the day's flags (young accounts, the day's five most common
content items, targets or accounts, the busiest region or hour), so an organic surge -
more of the usual traffic - leaves them where they were, while a campaign, whose extra
flags come from a few accounts posting a few templates at a few targets in bursts from
one region, moves them. Each share is scored as a robust z against the same share on
the category's previous days (median and MAD), with binomial noise as the floor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

YOUNG_ACCOUNT_DAYS = 30
TOP_K = 5  # "a few" content items, targets or accounts
BASELINE_DAYS = 28  # previous days a share is compared with
MIN_BASELINE_DAYS = 7
NORMAL_MAD = 0.6745  # median of |N(0, 1)|: a normal's MAD in standard deviations
MAD_TO_SD = 1 / NORMAL_MAD  # defined once here; detect.series imports NORMAL_MAD


@dataclass(frozen=True)
class Signal:
    """One secondary signal: the flag columns it needs and what it measures."""

    name: str
    columns: tuple[str, ...]
    doc: str


SIGNALS: tuple[Signal, ...] = (
    Signal(
        "young_accounts", ("account_age_days",), f"share of flags from accounts under {YOUNG_ACCOUNT_DAYS} days old"
    ),
    Signal("shared_content", ("content_hash",), f"share of flags on the day's {TOP_K} most common content items"),
    Signal("shared_targets", ("target_id",), f"share of flags aimed at the day's {TOP_K} most targeted ids"),
    Signal("repeat_accounts", ("account_id",), f"share of flags from the day's {TOP_K} most active accounts"),
    Signal("regional_concentration", ("region",), "share of flags in the region most above its usual share"),
    Signal("burstiness", ("created_at",), "share of the day's flags in its busiest hour (UTC)"),
)


WEIGHT = "n"  # a rollup's count column (tspanel.rollup.dataset): each row stands for that many flags
# The signals a rollup's signals table holds (the regional one is summed from its facts).
ROLLED: tuple[str, ...] = ("young_accounts", "shared_content", "shared_targets", "repeat_accounts", "burstiness")


def flag_count(flags: pl.LazyFrame) -> pl.Expr:
    """Flags in a group: rows, or the sum of a rollup's count column."""
    return pl.col(WEIGHT).sum() if WEIGHT in flags.collect_schema().names() else pl.len()


@dataclass(frozen=True)
class RolledShares:
    """The non-additive shares of a rollup (date, category, one column per ROLLED signal), and the
    flag columns they stand for (so ``available_signals`` sees them as it would on the rows)."""

    shares: pl.DataFrame
    columns: frozenset[str]


def rolled_shares(signals: pl.LazyFrame | pl.DataFrame) -> RolledShares:
    """The detector's shares from a rollup's signals table (tspanel.rollup.spec.signals_sql).

    A share whose column the source lacked (nothing known on any day) is left out, as the
    detector leaves out a signal whose column a dataset lacks.
    """
    s = signals.lazy().collect()
    hours = [f"h{h:02d}" for h in range(24)]
    shares = s.select(
        pl.col("day").alias("date"),
        pl.col("category").cast(pl.String),
        (pl.col("young") / pl.col("age_known")).alias("young_accounts"),
        (pl.col("content_top") / pl.col("content_known")).alias("shared_content"),
        (pl.col("target_top") / pl.col("target_known")).alias("shared_targets"),
        (pl.col("account_top") / pl.col("account_known")).alias("repeat_accounts"),
        (pl.max_horizontal(hours) / pl.sum_horizontal(hours)).alias("burstiness"),
    ).with_columns(pl.col(ROLLED).fill_nan(None))
    known = {
        "account_age_days": s["age_known"].sum(),
        "content_hash": s["content_known"].sum(),
        "target_id": s["target_known"].sum(),
        "account_id": s["account_known"].sum(),
        "created_at": s.select(pl.sum_horizontal(hours).sum()).item(),
    }
    return RolledShares(shares, frozenset(c for c, n in known.items() if n))


def available_signals(columns: frozenset[str]) -> list[Signal]:
    """The signals this dataset's columns support (the legacy layout supports none)."""
    return [s for s in SIGNALS if all(c in columns for c in s.columns)]


def _top_share(flags: pl.LazyFrame, column: str, name: str) -> pl.LazyFrame:
    """Per (date, category): share of flags whose `column` value is among the day's TOP_K most common."""
    per_value = flags.filter(pl.col(column).is_not_null()).group_by("date", "category", column).agg(pl.len().alias("k"))
    return per_value.group_by("date", "category").agg((pl.col("k").top_k(TOP_K).sum() / pl.col("k").sum()).alias(name))


def daily_shares(flags: pl.LazyFrame, columns: frozenset[str], rolled: RolledShares | None = None) -> pl.DataFrame:
    """Per (date, category): flags and every available share (regional shares per region).

    On a rollup (``flags`` with a count column) the non-additive shares come from ``rolled``.
    """
    base = flags.with_columns(pl.col("category").cast(pl.String))
    count = flag_count(flags)
    out = base.group_by("date", "category").agg(count.alias("n"))
    names = {s.name for s in available_signals(columns)}
    if rolled is not None:
        keep = [name for name in ROLLED if name in names]
        out = out.join(rolled.shares.lazy().select("date", "category", *keep), on=["date", "category"], how="left")
        names -= set(ROLLED)
    if "young_accounts" in names:
        young = base.group_by("date", "category").agg(
            (pl.col("account_age_days") < YOUNG_ACCOUNT_DAYS).mean().alias("young_accounts")
        )
        out = out.join(young, on=["date", "category"], how="left")
    for signal, column in (
        ("shared_content", "content_hash"),
        ("shared_targets", "target_id"),
        ("repeat_accounts", "account_id"),
    ):
        if signal in names:
            out = out.join(_top_share(base, column, signal), on=["date", "category"], how="left")
    if "burstiness" in names:
        hourly = base.group_by("date", "category", pl.col("created_at").dt.hour().alias("hour")).agg(
            pl.len().alias("k")
        )
        burst = hourly.group_by("date", "category").agg((pl.col("k").max() / pl.col("k").sum()).alias("burstiness"))
        out = out.join(burst, on=["date", "category"], how="left")
    frame = out.collect().sort("category", "date")
    if "regional_concentration" in names:
        regional = (
            base.group_by("date", "category", pl.col("region").cast(pl.String))
            .agg(count.alias("k"))
            .collect()
            .pivot(on="region", index=["date", "category"], values="k")
        )
        regions = [c for c in regional.columns if c not in ("date", "category")]
        frame = (
            frame.join(regional, on=["date", "category"], how="left")
            .with_columns([(pl.col(r).fill_null(0) / pl.col("n")).alias(f"region_share:{r}") for r in regions])
            .drop(regions)
        )
    return frame


def _robust_z(values: np.ndarray, n: np.ndarray) -> np.ndarray:
    """z of each day's share against the previous BASELINE_DAYS days' median and MAD.

    The scale is floored at the binomial noise of a share of n flags, so a quiet
    category's share is not judged against a spuriously tiny spread.
    """
    out = np.full(values.size, np.nan)
    for t in range(values.size):
        past = values[max(0, t - BASELINE_DAYS) : t]
        past = past[~np.isnan(past)]
        if past.size < MIN_BASELINE_DAYS or np.isnan(values[t]) or n[t] == 0:
            continue
        centre = float(np.median(past))
        spread = MAD_TO_SD * float(np.median(np.abs(past - centre)))
        p = min(max(centre, 0.5 / n[t]), 1 - 0.5 / n[t])
        floor = math.sqrt(p * (1 - p) / n[t])
        out[t] = (values[t] - centre) / max(spread, floor)
    return out


def signal_scores(flags: pl.LazyFrame, columns: frozenset[str], rolled: RolledShares | None = None) -> pl.DataFrame:
    """Per (date, category): the robust z of every available signal (null without enough history)."""
    shares = daily_shares(flags, columns, rolled)
    region_cols = [c for c in shares.columns if c.startswith("region_share:")]
    share_cols = [s.name for s in available_signals(columns) if s.name in shares.columns]
    parts = []
    for _, group in shares.group_by("category", maintain_order=True):
        group = group.sort("date")
        n = group["n"].to_numpy().astype(float)
        z = {name: _robust_z(group[name].to_numpy().astype(float), n) for name in share_cols}
        if region_cols:
            zr = np.vstack([_robust_z(group[c].to_numpy().astype(float), n) for c in region_cols])
            with np.errstate(all="ignore"):
                z["regional_concentration"] = np.where(
                    np.isnan(zr).all(axis=0), np.nan, np.nanmax(np.where(np.isnan(zr), -np.inf, zr), axis=0)
                )
        parts.append(
            group.select("date", "category", "n").with_columns([pl.Series(k, v).fill_nan(None) for k, v in z.items()])
        )
    if not parts:
        return pl.DataFrame(schema={"date": pl.Date, "category": pl.String, "n": pl.UInt32})
    return pl.concat(parts, how="diagonal").sort("date", "category")
