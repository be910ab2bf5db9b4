"""Reviewer queue: backlog, intake, utilisation, SLA and the staffing need."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import param
import polars as pl

from tspanel.models import forecast, staffing, timing
from tspanel.models.base import DomainModel, Finish, Unavailable, as_text, count_levels, first_value, share
from tspanel.schema import HIGH_SEVERITIES, SEVERITIES, SLA_HOURS

HIST_BIN_HOURS = 4
HIST_MAX_HOURS = 72
FORECAST_DAYS = forecast.HORIZON  # kept for the benchmark engines (tspanel.bench)
HISTORY_DAYS = 28


class QueueModel(DomainModel):
    """What the human-review queue holds and whether the team can keep up with it."""

    as_of = param.Date(
        default=None,
        allow_None=True,
        doc="when the backlog is measured (UTC); default: midnight after the last selected day",
    )
    sla_hours = param.Number(default=SLA_HOURS, bounds=(0, None))
    target_utilisation = param.Number(
        default=0.85, bounds=(0.05, 1.0), doc="kept for old payloads; staffing now re-simulates the queue"
    )
    target_breach_pct = param.Number(
        default=staffing.TARGET_BREACH_PCT, bounds=(0, 100), doc="at most this % of high/critical over the SLA"
    )

    @param.depends("filters.param", "as_of", "sla_hours", "target_utilisation", "target_breach_pct")
    def queries(self) -> dict[str, pl.LazyFrame | tuple[pl.LazyFrame, Finish] | Unavailable]:
        intake = self._daily_intake()  # one object for both outputs: collect_all then runs it once
        # Reviewers work every severity (high and critical first): a plan for the high cases alone,
        # as if the roster worked nothing else, told an ops lead following the SLA alert that the
        # roster covers a queue that breaches. Staffing ignores the severity filter and says so.
        skip = ("severities",) if self.filters.severities else ()
        return {
            "backlog": self._backlog(),
            "daily_intake": intake,
            "utilisation": self._utilisation(),
            "sla": self._sla(),
            "resolution_histogram": self._histogram(),
            "staffing": self._staffing(self._daily_intake(skip=skip) if skip else intake, skip),
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
        is_open = (opened < moment(as_of)) & (self._resolved().is_null() | (self._resolved() > moment(as_of)))
        reviews = self._reviews(skip=("dates",))
        if self.has("resolved_at"):
            # resolved_at comes first in timing.resolved(): a case it closes by as_of is closed.
            # This cheap test drops most rows before the timestamp arithmetic.
            reviews = reviews.filter(pl.col("resolved_at").is_null() | (pl.col("resolved_at") > moment(as_of)))
        query = (
            reviews.filter(is_open)
            .group_by("severity")
            .agg(
                self.count().cast(pl.Int64).alias("open_cases"),
                ((moment(as_of) - opened).dt.total_seconds(fractional=True).max() / 3600).alias("oldest_hours"),
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

    def _daily_intake(self, skip: tuple[str, ...] = ()) -> pl.LazyFrame:
        counts = count_levels(
            self._reviews(skip=skip), "severity", SEVERITIES, by=("date",), name="cases", weight=self.weight
        )
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
            .agg(self.count().cast(pl.Int64).alias("handled"))
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
            self.count(eligible).cast(pl.Int64).alias("eligible"),
            self.breaches(eligible, hours, self.sla_hours).cast(pl.Int64).alias("breaches"),
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
            .agg(self.count().cast(pl.Int64).alias("cases"))
        )
        return (
            bins.join(counts, on="bin_start", how="left")
            .with_columns(pl.col("cases").fill_null(0), (pl.col("bin_start") >= self.sla_hours).alias("over_sla"))
            .sort("bin_start")
        )

    def _staffing(
        self, intake: pl.LazyFrame, skip: tuple[str, ...] = ()
    ) -> tuple[list[pl.LazyFrame], Callable[[list[pl.DataFrame]], Any]]:
        """Reviewers needed next week: forecast with its error, then a re-simulated queue (models.staffing).

        Its inputs (intake, today's backlog, service times, arrival profile, roster) are five
        queries that run in the refresh's one collect_all rather than one by one afterwards.
        """
        _, end = self.date_range()
        as_of = self.as_of_time()
        sla_hours, target = self.sla_hours, self.target_breach_pct
        inputs = [
            intake,  # the daily_intake output's own query object (run once)
            self._backlog_now_query(as_of, skip),
            self._service_hours_query(end, skip),
            self._hour_profile_query(end, skip),
            self._reviewer_table(),
        ]

        def finish(frames: list[pl.DataFrame]) -> dict[str, Any]:
            frame, backlog_now, service, profile, reviewers = frames
            mean_capacity = reviewers["capacity_per_day"].mean() if reviewers.height else None
            base: dict[str, Any] = {
                "reviewers_needed": None,
                "current_reviewers": reviewers.height,
                "forecast_cases_7d": None,
                "forecast_low_80": None,
                "forecast_high_80": None,
                "forecast_method": None,
                "forecast_error_pct": None,
                "forecast_errors": None,
                "forecast_daily": None,
                "mean_capacity_per_day": float(mean_capacity) if mean_capacity else None,
                "target_utilisation": self.target_utilisation,
                "target_breach_pct": target,
                "backlog_days": staffing.BACKLOG_DAYS,
                "expected_breach_pct_at_roster": None,
                "expected_backlog_at_roster": None,
                "expected_breach_pct_recommended": None,
                "erlang_c_reviewers": None,
                "curve": None,
                "history_days": frame.select(pl.col("date").n_unique()).item() if frame.height else 0,
                "forecast_start": end + dt.timedelta(days=1),
                "severity_filter_ignored": bool(skip),
            }
            fc = forecast.forecast_next_week(frame, SEVERITIES)
            if fc is None or not mean_capacity:
                base["arithmetic"] = (
                    "not enough data to forecast (fewer than 7 days or no reviewer capacity)"
                    if fc is None
                    else "not enough data: the reviewers table has no capacity"
                )
                return base
            week = staffing.Week(
                as_of=as_of,
                forecast=fc,
                **backlog_arrays(backlog_now),
                service_h=service_arrays(service, measured=self.has("assigned_at", "resolved_at")),
                hour_profile=hour_profile(profile),
                roster=staffing.roster_from_frame(reviewers),
                mean_capacity=float(mean_capacity),
                headcount=reviewers.height,
            )
            plan = staffing.plan_staffing(week, sla_hours, target)
            return {
                **base,
                **plan,
                "forecast_cases_7d": fc.total,
                "forecast_low_80": fc.low_80,
                "forecast_high_80": fc.high_80,
                "forecast_method": fc.method,
                "forecast_error_pct": fc.error_pct,
                "forecast_errors": fc.errors,
                "forecast_daily": fc.daily,
            }

        return inputs, finish

    def _backlog_now(self, as_of: dt.datetime) -> dict[str, np.ndarray]:
        """Age (hours) and severity code of every case open at `as_of`."""
        return backlog_arrays(self.collect(self._backlog_now_query(as_of)))

    def _service_hours(self, end: dt.date) -> dict[int, np.ndarray]:
        """Measured hands-on hours (resolved_at - assigned_at) of the last four weeks, by severity."""
        frame = self.collect(self._service_hours_query(end))
        return service_arrays(frame, measured=self.has("assigned_at", "resolved_at"))

    def _hour_profile(self, end: dt.date) -> np.ndarray:
        """(weekday, UTC hour) shares of arrivals over the last four weeks; flat without timestamps."""
        return hour_profile(self.collect(self._hour_profile_query(end)))

    def _backlog_now_query(self, as_of: dt.datetime, skip: tuple[str, ...] = ()) -> pl.LazyFrame:
        opened, resolved = self._opened(), self._resolved()
        reviews = self._reviews(skip=("dates", *skip))
        if self.has("resolved_at"):
            # As in _backlog: resolved_at comes first in timing.resolved(), so a case it closes by
            # as_of is closed; this cheap test drops most rows before the timestamp arithmetic.
            reviews = reviews.filter(pl.col("resolved_at").is_null() | (pl.col("resolved_at") > moment(as_of)))
        return self.per_flag(
            reviews.filter(opened < moment(as_of), resolved.is_null() | (resolved > moment(as_of))),
            ((moment(as_of) - opened).dt.total_seconds(fractional=True) / 3600).alias("age"),
            pl.col("severity").cast(pl.String),
        )

    def _service_hours_query(self, end: dt.date, skip: tuple[str, ...] = ()) -> pl.LazyFrame:
        if not self.has("assigned_at", "resolved_at"):
            return pl.LazyFrame(schema={"h": pl.Float64, "severity": pl.String})
        hours = (pl.col("resolved_at") - pl.col("assigned_at")).dt.total_seconds(fractional=True) / 3600
        return (
            self._reviews(start=end - dt.timedelta(days=HISTORY_DAYS - 1), end=end, skip=skip)
            .filter(hours.is_not_null(), hours >= 0, pl.col("resolved_at") <= moment(self.as_of_time()))
            .select(hours.alias("h"), pl.col("severity").cast(pl.String))
            .tail(20_000)
        )

    def _hour_profile_query(self, end: dt.date, skip: tuple[str, ...] = ()) -> pl.LazyFrame:
        if not self.has("created_at"):
            return pl.LazyFrame(schema={"dow": pl.Int8, "hour": pl.Int8, "n": pl.UInt32})
        # Hour of the UTC week (Monday 00:00 = 0; 1970-01-01 was a Thursday, 72 hours in) from the
        # timestamp's integer value: one integer key groups in half the time of (weekday, hour),
        # and created_at is UTC by the contract (tspanel.schema), so the hours are the same.
        hour_of_week = (pl.col("created_at").dt.epoch("us") // 3_600_000_000 + 72) % 168
        return (
            self._reviews(start=end - dt.timedelta(days=HISTORY_DAYS - 1), end=end, skip=skip)
            .filter(pl.col("created_at").is_not_null())
            .group_by(hour_of_week.alias("_how"))
            .agg(pl.len().alias("n"))
            .select(
                (pl.col("_how") // 24).cast(pl.Int8).alias("dow"),
                (pl.col("_how") % 24).cast(pl.Int8).alias("hour"),
                "n",
            )
        )


@functools.lru_cache(maxsize=32)
def moment(value: dt.datetime) -> pl.Expr:
    """``pl.lit(value)``, made once per value: a time-zone-aware literal costs ~0.15 ms to build
    (Polars converts it through a Series), and a refresh's queue queries use the as-of time nine
    times. Expressions are immutable, so sharing one is safe."""
    return pl.lit(value)


def backlog_arrays(frame: pl.DataFrame) -> dict[str, np.ndarray]:
    """The open cases' ages and severity codes as the re-simulation takes them."""
    return {
        "backlog_age_h": frame["age"].to_numpy().astype(np.float64),
        # position in SEVERITIES, vectorised (a Python lookup per open case took ~9 ms at 1M flags)
        "backlog_severity": frame["severity"].cast(pl.Enum(SEVERITIES)).to_physical().to_numpy().astype(np.int64),
    }


def service_arrays(frame: pl.DataFrame, *, measured: bool = True) -> dict[int, np.ndarray]:
    """Hands-on hours by severity code; {} when the data has no assignment times (not ``measured``)."""
    if not measured:
        return {}
    return {
        i: frame.filter(pl.col("severity") == s)["h"].to_numpy().astype(np.float64) for i, s in enumerate(SEVERITIES)
    }


def hour_profile(frame: pl.DataFrame) -> np.ndarray:
    """Shares of a weekday's arrivals per UTC hour; flat for a weekday without arrivals (or timestamps)."""
    flat = np.full((7, 24), 1 / 24)
    grid = np.zeros((7, 24))
    for dow, hour, n in frame.iter_rows():
        grid[int(dow), int(hour)] = n
    totals = grid.sum(axis=1, keepdims=True)
    return np.where(totals > 0, grid / np.where(totals > 0, totals, 1), flat)
