"""Reviewer queue: backlog, intake, utilisation, SLA and the staffing need."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import param
import polars as pl

from tspanel.models import timing
from tspanel.models.base import DomainModel, Finish, Unavailable, as_text, count_levels, first_value, share
from tspanel.schema import HIGH_SEVERITIES, SEVERITIES, SLA_HOURS

HIST_BIN_HOURS = 4
HIST_MAX_HOURS = 72
FORECAST_DAYS = 7
HISTORY_DAYS = 28


class QueueModel(DomainModel):
    """What the human-review queue holds and whether the team can keep up with it."""

    as_of = param.Date(
        default=None,
        allow_None=True,
        doc="when the backlog is measured (UTC); default: midnight after the last selected day",
    )
    sla_hours = param.Number(default=SLA_HOURS, bounds=(0, None))
    target_utilisation = param.Number(default=0.85, bounds=(0.05, 1.0), doc="planned share of capacity in use")

    @param.depends("filters.param", "as_of", "sla_hours", "target_utilisation")
    def queries(self) -> dict[str, pl.LazyFrame | tuple[pl.LazyFrame, Finish] | Unavailable]:
        return {
            "backlog": self._backlog(),
            "daily_intake": self._daily_intake(),
            "utilisation": self._utilisation(),
            "sla": self._sla(),
            "resolution_histogram": self._histogram(),
            "staffing": self._staffing(),
        }

    def backlog(self) -> dict[str, Any]:
        """Open cases at the as-of time by severity, their total and the oldest one's age."""
        return self.output("backlog")

    def daily_intake(self) -> pl.DataFrame:
        return self.output("daily_intake")

    def utilisation(self) -> pl.DataFrame | Unavailable:
        return self.output("utilisation")

    def sla(self) -> dict[str, Any]:
        return self.output("sla")

    def resolution_histogram(self) -> pl.DataFrame | Unavailable:
        return self.output("resolution_histogram")

    def staffing(self) -> dict[str, Any]:
        return self.output("staffing")

    # --- building blocks --------------------------------------------------------
    def as_of_time(self) -> dt.datetime:
        if self.as_of is not None:
            value = self.as_of
            if not isinstance(value, dt.datetime):
                value = dt.datetime.combine(value, dt.time())
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        _, end = self.date_range()
        return dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)

    def _opened(self) -> pl.Expr:
        return timing.opened(self.columns)

    def _resolved(self) -> pl.Expr:
        return timing.resolved(self.columns)

    def _hours(self) -> pl.Expr:
        return self.resolution_hours()

    def _reviews(self, **kwargs: Any) -> pl.LazyFrame:
        return self.filtered(**kwargs).filter(pl.col("action") == "human_review")

    def _backlog(self) -> tuple[pl.LazyFrame, Finish]:
        as_of = self.as_of_time()
        opened = self._opened()
        is_open = (opened <= pl.lit(as_of)) & (self._resolved().is_null() | (self._resolved() > pl.lit(as_of)))
        reviews = self._reviews(skip=("dates",))
        if self.has("resolved_at"):
            # resolved_at comes first in timing.resolved(): a case it closes by as_of is closed.
            # This cheap test drops most rows before the timestamp arithmetic.
            reviews = reviews.filter(pl.col("resolved_at").is_null() | (pl.col("resolved_at") > pl.lit(as_of)))
        query = (
            reviews.filter(is_open)
            .group_by("severity")
            .agg(
                pl.len().cast(pl.Int64).alias("open_cases"),
                ((pl.lit(as_of) - opened).dt.total_seconds(fractional=True).max() / 3600).alias("oldest_hours"),
            )
            .with_columns(as_text("severity"))
        )
        levels = pl.LazyFrame({"severity": list(SEVERITIES), "_order": list(range(len(SEVERITIES)))})
        query = levels.join(query, on="severity", how="left").sort("_order").drop("_order")

        def finish(frame: pl.DataFrame) -> dict[str, Any]:
            frame = frame.with_columns(pl.col("open_cases").fill_null(0))
            oldest = frame["oldest_hours"].max()
            return {
                "as_of": as_of,
                "total": int(frame["open_cases"].sum()),
                "by_severity": frame.select("severity", "open_cases"),
                "high_critical": int(frame.filter(pl.col("severity").is_in(HIGH_SEVERITIES))["open_cases"].sum()),
                "oldest_open_hours": None if oldest is None else float(oldest),
                "method": "timestamps" if self.has("resolved_at") or self.has("created_at") else "day + resolution_hrs",
            }

        return query, finish

    def _daily_intake(self) -> pl.LazyFrame:
        counts = count_levels(self._reviews(), "severity", SEVERITIES, by=("date",), name="cases")
        levels = pl.LazyFrame({"severity": list(SEVERITIES), "_order": list(range(len(SEVERITIES)))})
        return (
            self.day_grid()
            .join(levels, how="cross")
            .join(counts, on=["date", "severity"], how="left")
            .with_columns(pl.col("cases").fill_null(0))
            .sort("date", "_order")
            .drop("_order")
        )

    def _reviewer_table(self) -> pl.LazyFrame:
        reviewers = self.dataset.reviewers.with_columns(pl.col("reviewer_id").cast(pl.String))
        names = reviewers.collect_schema().names()
        if self.filters.reviewers:
            reviewers = reviewers.filter(pl.col("reviewer_id").is_in(self.filters.reviewers))
        if self.filters.regions and "team" in names:
            reviewers = reviewers.filter(pl.col("team").cast(pl.String).is_in(self.filters.regions))
        return reviewers

    def _utilisation(self) -> pl.LazyFrame | Unavailable:
        if not self.has("reviewer_id"):
            return Unavailable("this dataset has no reviewer_id column, so cases cannot be attributed")
        days = self.n_days()
        handled = (
            self._reviews()
            .filter(pl.col("reviewer_id").is_not_null())
            .group_by("reviewer_id")
            .agg(pl.len().cast(pl.Int64).alias("handled"))
            .with_columns(as_text("reviewer_id"))
        )
        reviewers = self._reviewer_table()
        keep = [
            c for c in ("reviewer_id", "name", "team", "capacity_per_day") if c in reviewers.collect_schema().names()
        ]
        return (
            reviewers.select(keep)
            .with_columns(pl.col(c).cast(pl.String) for c in keep if c in ("name", "team"))
            .join(handled, on="reviewer_id", how="left")
            .with_columns(pl.col("handled").fill_null(0), pl.lit(days, dtype=pl.Int64).alias("days"))
            .with_columns(
                (share(pl.col("handled"), pl.col("capacity_per_day") * pl.col("days")) * 100).alias("utilisation_pct")
            )
            .sort("utilisation_pct", "reviewer_id", descending=[True, False], nulls_last=True)
        )

    def _sla(self) -> tuple[pl.LazyFrame, Finish]:
        hours = self._hours()
        eligible = pl.col("severity").is_in(list(HIGH_SEVERITIES)) & hours.is_not_null()
        query = self._reviews().select(
            eligible.sum().cast(pl.Int64).alias("eligible"),
            (eligible & (hours > self.sla_hours)).sum().cast(pl.Int64).alias("breaches"),
        )

        def finish(frame: pl.DataFrame) -> dict[str, Any]:
            eligible_n = int(first_value(frame, "eligible") or 0)
            breaches = int(first_value(frame, "breaches") or 0)
            return {
                "eligible": eligible_n,
                "breaches": breaches,
                "breach_rate_pct": 100 * breaches / eligible_n if eligible_n else None,
                "sla_hours": self.sla_hours,
            }

        return query, finish

    def _histogram(self) -> pl.LazyFrame | Unavailable:
        if not (self.has("resolution_hrs") or self.has("resolved_at", "created_at")):
            return Unavailable("this dataset has no resolution times (resolution_hrs or resolved_at)")
        edges = list(range(0, HIST_MAX_HOURS + HIST_BIN_HOURS, HIST_BIN_HOURS))
        bins = pl.LazyFrame(
            {
                "bin_start": [float(e) for e in edges],
                "bin_end": [float(e + HIST_BIN_HOURS) for e in edges[:-1]] + [None],
            },
            schema={"bin_start": pl.Float64, "bin_end": pl.Float64},
        )
        hours = self._hours()
        counts = (
            self._reviews()
            .filter(hours.is_not_null())
            .group_by(
                (hours // HIST_BIN_HOURS * HIST_BIN_HOURS)
                .clip(upper_bound=HIST_MAX_HOURS)
                .cast(pl.Float64)
                .alias("bin_start")
            )
            .agg(pl.len().cast(pl.Int64).alias("cases"))
        )
        return (
            bins.join(counts, on="bin_start", how="left")
            .with_columns(pl.col("cases").fill_null(0), (pl.col("bin_start") >= self.sla_hours).alias("over_sla"))
            .sort("bin_start")
        )

    def _staffing(self) -> tuple[pl.LazyFrame, Finish]:
        """Forecast next week's human-review intake from the last four weeks' weekday means."""
        start, end = self.date_range()
        history_start = max(start, end - dt.timedelta(days=HISTORY_DAYS - 1))
        grid = (
            pl.LazyFrame({"date": pl.date_range(history_start, end, "1d", eager=True)})
            if end >= history_start
            else pl.LazyFrame(schema={"date": pl.Date})
        )
        daily = self._reviews(start=history_start, end=end).group_by("date").agg(pl.len().alias("cases"))
        query = grid.join(daily, on="date", how="left").with_columns(
            pl.col("cases").fill_null(0).cast(pl.Int64), pl.col("date").dt.weekday().alias("weekday")
        )
        capacity = self._reviewer_table().select(
            pl.len().alias("reviewers"), pl.col("capacity_per_day").mean().alias("mean_capacity")
        )
        cap_row = capacity.collect().row(0, named=True)
        target = self.target_utilisation

        def finish(frame: pl.DataFrame) -> dict[str, Any]:
            reviewers = int(cap_row["reviewers"])
            mean_capacity = cap_row["mean_capacity"]
            if frame.height == 0 or not mean_capacity:
                return {
                    "reviewers_needed": None,
                    "current_reviewers": reviewers,
                    "forecast_cases_7d": None,
                    "mean_capacity_per_day": mean_capacity,
                    "target_utilisation": target,
                    "history_days": frame.height,
                    "arithmetic": "not enough data to forecast (no days or no reviewer capacity)",
                }
            overall = frame["cases"].mean()
            by_weekday = dict(frame.group_by("weekday").agg(pl.col("cases").mean()).iter_rows())
            next_days = [end + dt.timedelta(days=i) for i in range(1, FORECAST_DAYS + 1)]
            forecast = float(sum(by_weekday.get(d.isoweekday(), overall) for d in next_days))
            per_reviewer = FORECAST_DAYS * mean_capacity * target
            exact = forecast / per_reviewer
            needed = math.ceil(round(exact, 9))
            return {
                "reviewers_needed": needed,
                "current_reviewers": reviewers,
                "forecast_cases_7d": forecast,
                "mean_capacity_per_day": float(mean_capacity),
                "target_utilisation": target,
                "history_days": frame.height,
                "forecast_start": next_days[0],
                "arithmetic": (
                    f"forecast {forecast:,.0f} human-review cases over the next {FORECAST_DAYS} days "
                    f"(mean of each weekday over the last {frame.height} days) / "
                    f"({FORECAST_DAYS} days x {mean_capacity:.1f} cases per reviewer per day x {target:.0%} "
                    f"target utilisation = {per_reviewer:,.1f} cases per reviewer) = {exact:.2f} "
                    f"so {needed} reviewer{'s' if needed != 1 else ''} needed; {reviewers} on the roster"
                ),
            }

        return query, finish
