"""Flag volume: what is being flagged, where, how severe, and how it is handled."""

from __future__ import annotations

import datetime as dt

import param
import polars as pl

from tspanel.models.base import (
    MAX_LEVELS_COMPARED,
    DomainModel,
    Finish,
    Unavailable,
    as_text,
    count_levels,
    share,
    tally,
)
from tspanel.schema import ACTIONS, HIGH_SEVERITIES, SEVERITIES

ROLLING_DAYS = 7


class VolumeModel(DomainModel):
    """Daily volume by category and region, week-over-week change, escalation, mixes."""

    rolling_days = param.Integer(default=ROLLING_DAYS, bounds=(1, 60), doc="window of rolling means")

    @param.depends("filters.param", "rolling_days")
    def queries(self) -> dict[str, pl.LazyFrame | tuple[pl.LazyFrame, Finish] | Unavailable]:
        levels = {"category": self.selected("categories", self.dataset.categories)}
        if self.has("region"):
            levels["region"] = self.selected("regions", self.dataset.regions)
        # One object for three outputs: collect_all runs it once. The pass starts at the first day
        # (the escalation needs the days before a brushed range), so with a brushed range the
        # daily charts count their own, shorter range instead (cheaper than counting every level
        # over all the days before it).
        whole = self.date_range()[0] <= self.dataset.first_day
        per_day = self._per_day(levels if whole else {})
        return {
            "daily_by_category": self._daily_by("category", levels["category"], per_day),
            "daily_by_region": (
                self._daily_by("region", levels["region"], per_day)
                if "region" in levels
                else Unavailable("this dataset has no region column")
            ),
            "week_over_week": self._week_over_week(),
            "escalation": self._escalation(per_day),
            "severity_mix": self._mix("severity", SEVERITIES),
            "action_mix": self._mix("action", ACTIONS),
            "automation": self._automation(),
        }

    def daily_by_category(self) -> pl.DataFrame:
        """date, category, flags: every selected day and category, zeros included."""
        return self.output("daily_by_category")

    def daily_by_region(self) -> pl.DataFrame | Unavailable:
        return self.output("daily_by_region")

    def week_over_week(self) -> pl.DataFrame | Unavailable:
        return self.output("week_over_week")

    def escalation(self) -> pl.DataFrame:
        return self.output("escalation")

    def severity_mix(self) -> pl.DataFrame:
        return self.output("severity_mix")

    def action_mix(self) -> pl.DataFrame:
        return self.output("action_mix")

    def automation(self) -> dict[str, float | int | None]:
        return self.output("automation")

    # --- queries ----------------------------------------------------------------
    def _per_day(self, levels: dict[str, list[str]]) -> pl.LazyFrame:
        """Per day up to the last selected one: flags, high/critical flags and one count per level of
        each column in ``levels`` (``_<column><i>``), in one pass over the rows.

        Why one query: the daily-by-category and -by-region charts and the escalation rate each
        grouped the same rows by date (~0.8 ms per aggregate at 1M flags plus a query's fixed
        cost); every output derives from this one object, and collect_all computes it once. It
        starts at the first day, not the first selected one, because the escalation's rolling mean
        sees the days before a brushed range; per-day counts do not depend on the other days.
        """
        _, end = self.date_range()
        counts = [
            tally(pl.col(column) == level, self.weight).cast(pl.Int64).alias(f"_{column}{i}")
            for column, chosen in levels.items()
            if 0 < len(chosen) <= MAX_LEVELS_COMPARED
            for i, level in enumerate(chosen)
        ]
        return (
            self.filtered(start=None, end=end)
            .group_by("date")
            .agg(
                self.count().cast(pl.Int64).alias("flags"),
                self.count(pl.col("severity").is_in(list(HIGH_SEVERITIES))).cast(pl.Int64).alias("high_critical"),
                *counts,
            )
        )

    def _daily_by(self, column: str, chosen: list[str], per_day: pl.LazyFrame) -> pl.LazyFrame:
        values = pl.LazyFrame({column: chosen}, schema={column: pl.String})
        if f"_{column}0" in per_day.collect_schema().names():
            # count_levels' long frame, read from the shared per-day pass
            names = {f"_{column}{i}": level for i, level in enumerate(chosen)}
            counts = (
                per_day.select("date", *names)
                .unpivot(index=["date"], variable_name="_level", value_name="flags")
                .select("date", pl.col("_level").replace_strict(names, return_dtype=pl.String).alias(column), "flags")
            )
        else:
            counts = count_levels(self.filtered(), column, chosen, by=("date",), weight=self.weight)
        return (
            self.day_grid()
            .join(values, how="cross")
            .join(counts, on=["date", column], how="left")
            .with_columns(pl.col("flags").fill_null(0))
            .sort("date", column)
        )

    def _week_over_week(self) -> pl.LazyFrame | Unavailable:
        """Two complete trailing 7-day windows ending on the last selected day.

        The earlier version grouped by ISO week and so compared a partial week with a
        whole one; here both windows always hold 7 days of data.
        """
        _, end = self.date_range()
        this_start = end - dt.timedelta(days=6)
        prev_start, prev_end = end - dt.timedelta(days=13), end - dt.timedelta(days=7)
        if prev_start < self.dataset.first_day:
            return Unavailable(
                f"week-over-week needs 14 days of data ending {end}; the data starts {self.dataset.first_day}"
            )
        categories = pl.LazyFrame(
            {"category": self.selected("categories", self.dataset.categories)}, schema={"category": pl.String}
        )
        counts = (
            self.filtered(start=prev_start, end=end)
            .group_by("category")
            .agg(
                self.count(pl.col("date") >= this_start).alias("this_week"),
                self.count(pl.col("date") <= prev_end).alias("previous_week"),
            )
            .with_columns(as_text("category"))
        )
        return (
            categories.join(counts, on="category", how="left")
            .with_columns(pl.col("this_week", "previous_week").fill_null(0).cast(pl.Int64))
            .with_columns(
                (pl.col("this_week") - pl.col("previous_week")).alias("change"),
                (share(pl.col("this_week") - pl.col("previous_week"), pl.col("previous_week")) * 100).alias(
                    "change_pct"
                ),
                pl.lit(this_start).alias("this_week_start"),
                pl.lit(end).alias("this_week_end"),
                pl.lit(prev_start).alias("previous_week_start"),
                pl.lit(prev_end).alias("previous_week_end"),
            )
            .sort(["this_week", "category"], descending=[True, False])  # ties in a fixed order
        )

    def _escalation(self, per_day: pl.LazyFrame) -> pl.LazyFrame:
        """Share of high and critical flags a day, with a rolling mean that sees the days
        before the selected range (so the first days of a brushed range are not partial)."""
        start, end = self.date_range()
        daily = per_day.select("date", "flags", "high_critical")
        full = pl.LazyFrame(
            {"date": pl.date_range(self.dataset.first_day, end, "1d", eager=True)}
            if end >= self.dataset.first_day
            else {"date": []},
            schema={"date": pl.Date},
        )
        return (
            full.join(daily, on="date", how="left")
            .with_columns(pl.col("flags", "high_critical").fill_null(0))
            .sort("date")
            .with_columns(share(pl.col("high_critical"), pl.col("flags")).alias("escalation_rate"))
            .with_columns(
                pl.col("escalation_rate")
                .rolling_mean(self.rolling_days, min_samples=1)
                .alias(f"rolling_{self.rolling_days}d")
            )
            .filter(pl.col("date") >= start)
        )

    def _mix(self, column: str, levels: tuple[str, ...]) -> pl.LazyFrame:
        order = pl.LazyFrame({column: list(levels), "_order": list(range(len(levels)))})
        counts = count_levels(self.filtered(), column, levels, weight=self.weight)
        return (
            order.join(counts, on=column, how="left")
            .with_columns(pl.col("flags").fill_null(0))
            .with_columns((share(pl.col("flags"), pl.col("flags").sum()) * 100).alias("share_pct"))
            .sort("_order")
            .drop("_order")
        )

    def _automation(self) -> tuple[pl.LazyFrame, Finish]:
        action = pl.col("action")
        aggs = [
            self.count().alias("flags"),
            self.count(action.is_in(["auto_block", "downrank"])).alias("automated"),
            self.count(action == "human_review").alias("human_review"),
            self.count(action == "allow").alias("allowed"),
        ]
        if self.has("appealed"):
            aggs.append(pl.col("appealed").sum().alias("appealed"))
            if self.has("appeal_overturned"):
                # a rollup's appeal_overturned already counts the appealed and overturned flags
                overturned = pl.col("appeal_overturned")
                if self.weight is None:
                    overturned = pl.col("appealed") & overturned
                aggs.append(overturned.sum().alias("overturned"))

        def finish(frame: pl.DataFrame) -> dict[str, float | int | None]:
            row = frame.row(0, named=True)
            flags = int(row["flags"])
            out: dict[str, float | int | None] = {
                "flags": flags,
                "automated": int(row["automated"]),
                "human_review": int(row["human_review"]),
                "allowed": int(row["allowed"]),
                "automated_pct": 100 * row["automated"] / flags if flags else None,
                "human_review_pct": 100 * row["human_review"] / flags if flags else None,
                "appealed": None,
                "overturned": None,
                "overturn_rate_pct": None,
            }
            if "appealed" in row:
                appealed = int(row["appealed"] or 0)
                out["appealed"] = appealed
                if "overturned" in row:
                    overturned = int(row["overturned"] or 0)
                    out["overturned"] = overturned
                    out["overturn_rate_pct"] = 100 * overturned / appealed if appealed else None
            return out

        return self.filtered().select(aggs), finish
