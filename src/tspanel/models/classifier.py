"""Classifier health: score drift against a baseline, distributions and calibration."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import param
import polars as pl

from tspanel.models.base import DomainModel, Finish, Unavailable, as_text
from tspanel.models.rows import ScoreBlocks
from tspanel.schema import SEVERITIES

Z_95 = 1.959964
SCORE_BIN = 0.01  # a rollup's score bins (tspanel.rollup.spec.SCORE_BINS)
QUANTILE_SCHEMA = {
    "category": pl.String,
    "count": pl.Int64,
    **dict.fromkeys(("min", "p25", "median", "p75", "max"), pl.Float64),
}


def drift_state(rolling: float | None, baseline: float, threshold: float) -> str:
    """The alert rule, in one place so the UI, the summary and the docs agree.

    alert: the rolling mean is at or below the threshold; warning: it has fallen more
    than half of the way from the baseline to the threshold; healthy otherwise.
    """
    if rolling is None:
        return "no data"
    if rolling <= threshold:
        return "alert"
    if rolling <= threshold + (baseline - threshold) / 2:
        return "warning"
    return "healthy"


def five_numbers() -> list[pl.Expr]:
    """Count and five quantiles of the score: what a box plot needs instead of the raw rows."""
    score = pl.col("ml_score")
    return [
        pl.len().cast(pl.Int64).alias("count"),
        score.min().alias("min"),
        score.quantile(0.25, interpolation="linear").alias("p25"),
        score.median().alias("median"),
        score.quantile(0.75, interpolation="linear").alias("p75"),
        score.max().alias("max"),
    ]


def binned_quantiles(frame: pl.LazyFrame, weight: str) -> tuple[pl.LazyFrame, Finish]:
    """The five numbers per category from a rollup's 0.01 score bins, each within the bin width.

    ``ml_score`` of a rollup is its bin's midpoint. A quantile's rank is located in the
    cumulative counts and placed in proportion inside its bin (flags spread evenly in it);
    min and max are the midpoints of the first and last bins holding flags.
    """
    query = frame.group_by(as_text("category"), "ml_score").agg(pl.col(weight).sum().alias("k"))

    def finish(bins: pl.DataFrame) -> pl.DataFrame:
        rows = []
        for (category,), part in bins.filter(pl.col("k") > 0).sort("ml_score").group_by("category"):
            mids, counts = part["ml_score"].to_numpy(), part["k"].to_numpy()
            cum = np.cumsum(counts)
            total = int(cum[-1])

            def at(q: float, mids: np.ndarray = mids, counts: np.ndarray = counts, cum: np.ndarray = cum) -> float:
                rank = q * (int(cum[-1]) - 1)
                i = int(np.searchsorted(cum, np.floor(rank), side="right"))
                before = cum[i] - counts[i]
                return float(mids[i] - SCORE_BIN / 2 + SCORE_BIN * (rank - before + 0.5) / counts[i])

            rows.append(
                {
                    "category": category,
                    "count": total,
                    "min": float(mids[0]),
                    "p25": at(0.25),
                    "median": at(0.5),
                    "p75": at(0.75),
                    "max": float(mids[-1]),
                }
            )
        return pl.DataFrame(rows, schema=QUANTILE_SCHEMA).sort("category")

    return query, finish


class ClassifierModel(DomainModel):
    """Daily mean ML score with its rolling mean and alert state; quantiles; calibration."""

    baseline = param.Number(default=0.86, bounds=(0, 1), doc="expected mean score of a healthy model")
    threshold = param.Number(default=0.78, bounds=(0, 1), doc="rolling mean at or below this is an alert")
    rolling_days = param.Integer(default=7, bounds=(1, 60))

    @param.depends("filters.param", "baseline", "threshold", "rolling_days")
    def queries(self) -> dict[str, pl.LazyFrame | tuple[pl.LazyFrame, Finish] | Unavailable]:
        daily = self._daily_score()
        return {
            "daily_score": daily,
            "status": (daily, self._status),
            "score_quantiles": self._quantiles(),
            "calibration": self._calibration(),
        }

    def daily_score(self) -> pl.DataFrame:
        """date, mean_score, flags, rolling_mean over the selected days."""
        return self.output("daily_score")

    def status(self) -> dict[str, Any]:
        """Latest rolling mean, baseline, threshold and the alert state."""
        return self.output("status")

    def score_quantiles(self) -> pl.DataFrame:
        """Five quantiles and the count per category: a box plot without the raw rows."""
        return self.output("score_quantiles")

    def calibration(self) -> pl.DataFrame:
        return self.output("calibration")

    def _daily_score(self) -> pl.LazyFrame:
        start, end = self.date_range()
        return (
            self.filtered(start=None, end=end)
            .group_by("date")
            .agg(self.score_mean().alias("mean_score"), self.count().cast(pl.Int64).alias("flags"))
            .sort("date")
            # Over calendar days, as the KPI's "last 7 days" (a count of rows would reach back past
            # days without flags, e.g. under a narrow filter).
            .with_columns(
                pl.col("mean_score")
                .rolling_mean_by("date", f"{self.rolling_days}d", min_samples=1)
                .alias("rolling_mean")
            )
            .filter(pl.col("date") >= start)
        )

    def _status(self, daily: pl.DataFrame) -> dict[str, Any]:
        rolling = daily["rolling_mean"][-1] if daily.height else None
        latest = daily["mean_score"][-1] if daily.height else None
        return {
            "date": daily["date"][-1] if daily.height else None,
            "score": latest,
            "rolling_mean": rolling,
            "baseline": self.baseline,
            "threshold": self.threshold,
            "drop": None if rolling is None else self.baseline - rolling,
            "state": drift_state(rolling, self.baseline, self.threshold),
            "rule": (
                f"alert when the {self.rolling_days}-day mean score is at or below {self.threshold:.2f}; "
                f"warning when it is at or below {(self.threshold + self.baseline) / 2:.2f} "
                f"(half way from the baseline {self.baseline:.2f})"
            ),
        }

    def _quantiles(self) -> pl.LazyFrame | tuple[pl.LazyFrame, Finish]:
        if self.weight is not None:
            return binned_quantiles(self.filtered(), self.weight)
        rows = self.dataset.in_memory
        if rows is not None and rows.scores is not None:
            return self._quantiles_from_blocks(rows.scores)
        return (
            self.filtered().group_by("category").agg(*five_numbers()).with_columns(as_text("category")).sort("category")
        )

    def _quantiles_from_blocks(self, scores: ScoreBlocks) -> pl.LazyFrame:
        """The same frame as the group_by above, read from score-sorted category blocks."""
        keep = self.filters.expr(self.columns, skip=("categories",))
        parts = [
            scores.block(category)
            .filter(keep)
            .select(
                pl.lit(category, dtype=pl.String).alias("category"),
                *five_numbers(),
            )
            for category in self.selected("categories", self.dataset.categories)
        ]
        if not parts:
            return pl.LazyFrame(schema=QUANTILE_SCHEMA)
        return pl.concat(parts).filter(pl.col("count") > 0).sort("category")

    def _calibration(self) -> tuple[pl.LazyFrame, Finish]:
        order = pl.LazyFrame({"severity": list(SEVERITIES), "_order": list(range(len(SEVERITIES)))})
        severity = pl.col("severity")
        # One pass with a masked mean/std per level: ~2.5x faster than a group_by at 10M flags.
        per_level = [
            pl.struct(
                pl.lit(level).alias("severity"),
                self.count(severity == level).cast(pl.Int64).alias("count"),
                self.score_mean(severity == level).alias("mean_score"),
                self.score_std(severity == level).alias("std"),
            )
            for level in SEVERITIES
        ]
        stats = (
            self.filtered()
            .select(pl.concat_list(per_level).alias("_level"))
            .explode("_level")
            .unnest("_level")
            .filter(pl.col("count") > 0)
        )
        half = Z_95 * pl.col("std") / pl.col("count").sqrt()
        query = (
            order.join(stats, on="severity", how="inner")
            .sort("_order")
            .with_columns((pl.col("mean_score") - half).alias("ci_low"), (pl.col("mean_score") + half).alias("ci_high"))
            .drop("_order", "std")
        )

        def finish(frame: pl.DataFrame) -> pl.DataFrame:
            means = frame["mean_score"].to_list()
            rises = all(b > a for a, b in itertools.pairwise(means)) if len(means) > 1 else None
            return frame.with_columns(pl.lit(rises, dtype=pl.Boolean).alias("rises_with_severity"))

        return query, finish
