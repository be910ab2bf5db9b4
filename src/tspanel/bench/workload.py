"""What one full refresh computes, stated once for the three engines that `tspanel bench` compares.

The Polars engine is `Dashboard.refresh()` itself; the pandas and DuckDB versions recompute
the same outputs with the default parameters and no filters, from the same rows.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from tspanel.models import forecast as forecasting
from tspanel.models import staffing as staffing_model
from tspanel.models.classifier import Z_95, drift_state
from tspanel.models.queue import FORECAST_DAYS, HIST_BIN_HOURS, HIST_MAX_HOURS, HISTORY_DAYS
from tspanel.models.volume import ROLLING_DAYS
from tspanel.schema import ACTIONS, HIGH_SEVERITIES, SEVERITIES, SLA_HOURS

__all__ = [
    "ACTIONS",
    "HIGH_SEVERITIES",
    "SEVERITIES",
    "Z_95",
    "Workload",
    "hour_profile",
    "simulated_staffing",
    "staffing",
]


@dataclass(frozen=True)
class Workload:
    """The dataset facts and default parameters every engine needs."""

    first_day: dt.date
    last_day: dt.date
    categories: tuple[str, ...]
    regions: tuple[str, ...]
    columns: frozenset[str]
    rolling_days: int = ROLLING_DAYS
    sla_hours: float = SLA_HOURS
    baseline: float = 0.86
    threshold: float = 0.78
    target_utilisation: float = 0.85
    hist_bin_hours: int = HIST_BIN_HOURS
    hist_max_hours: int = HIST_MAX_HOURS
    history_days: int = HISTORY_DAYS
    forecast_days: int = FORECAST_DAYS

    @classmethod
    def of(cls, dataset: Any) -> Workload:
        return cls(dataset.first_day, dataset.last_day, dataset.categories, dataset.regions, dataset.columns)

    @property
    def n_days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def as_of(self) -> dt.datetime:
        """Backlog time: midnight (UTC) after the last day."""
        return dt.datetime.combine(self.last_day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)

    @property
    def previous(self) -> tuple[dt.date, dt.date]:
        """The period of equal length before the data (the KPI cards' comparison)."""
        length = dt.timedelta(days=self.n_days)
        return self.first_day - length, self.first_day - dt.timedelta(days=1)

    @property
    def weeks(self) -> tuple[dt.date, dt.date, dt.date, dt.date] | None:
        """(previous start, previous end, this start, this end) of week-over-week, or None."""
        end = self.last_day
        prev_start = end - dt.timedelta(days=13)
        if prev_start < self.first_day:
            return None
        return prev_start, end - dt.timedelta(days=7), end - dt.timedelta(days=6), end

    @property
    def history_start(self) -> dt.date:
        return max(self.first_day, self.last_day - dt.timedelta(days=self.history_days - 1))

    @property
    def hist_bins(self) -> list[float]:
        return [float(e) for e in range(0, self.hist_max_hours + self.hist_bin_hours, self.hist_bin_hours)]

    def state(self, rolling: float | None) -> str:
        return drift_state(rolling, self.baseline, self.threshold)


def staffing(work: Workload, daily_cases: dict[dt.date, int], reviewers: int, mean_capacity: float | None) -> dict:
    """Reviewers needed next week from the last four weeks' weekday means (QueueModel's arithmetic)."""
    days = [work.history_start + dt.timedelta(days=i) for i in range((work.last_day - work.history_start).days + 1)]
    cases = [daily_cases.get(d, 0) for d in days]
    if not days or not mean_capacity:
        return {"reviewers_needed": None, "current_reviewers": reviewers, "forecast_cases_7d": None}
    by_weekday: dict[int, list[int]] = {}
    for day, n in zip(days, cases, strict=True):
        by_weekday.setdefault(day.isoweekday(), []).append(n)
    overall = sum(cases) / len(cases)
    means = {k: sum(v) / len(v) for k, v in by_weekday.items()}
    upcoming = [work.last_day + dt.timedelta(days=i) for i in range(1, work.forecast_days + 1)]
    forecast = float(sum(means.get(d.isoweekday(), overall) for d in upcoming))
    exact = forecast / (work.forecast_days * mean_capacity * work.target_utilisation)
    return {
        "reviewers_needed": math.ceil(round(exact, 9)),
        "current_reviewers": reviewers,
        "forecast_cases_7d": forecast,
    }


def hour_profile(counts: list[tuple[int, int, int]] | None) -> np.ndarray:
    """(weekday 0-6, UTC hour, arrivals) rows as QueueModel's shares per weekday; flat without timestamps."""
    flat = np.full((7, 24), 1 / 24)
    if counts is None:
        return flat
    grid = np.zeros((7, 24))
    for dow, hour, n in counts:
        grid[int(dow), int(hour)] = n
    totals = grid.sum(axis=1, keepdims=True)
    return np.where(totals > 0, grid / np.where(totals > 0, totals, 1), flat)


def simulated_staffing(
    work: Workload,
    intake: pl.DataFrame,
    backlog_age_h: np.ndarray,
    backlog_severity: np.ndarray,
    service_h: dict[int, np.ndarray],
    profile: np.ndarray,
    reviewers: pl.DataFrame,
) -> dict[str, Any]:
    """QueueModel's staffing output from inputs an engine measured: the same forecast and queue
    re-simulation (tspanel.models.forecast, tspanel.models.staffing), so that every engine of the
    benchmark computes the refresh's staffing plan, not only the Polars one (issue #19).

    The engine's work is measuring the inputs (daily intake, today's backlog, service times,
    arrival profile); the forecast and the simulation are numpy code, identical for all engines.
    """
    capacity = reviewers["capacity_per_day"].mean() if reviewers.height else None
    out: dict[str, Any] = {"reviewers_needed": None, "current_reviewers": reviewers.height, "forecast_cases_7d": None}
    fc = forecasting.forecast_next_week(intake, SEVERITIES)
    if fc is None or not capacity:
        return out
    week = staffing_model.Week(
        as_of=work.as_of,
        forecast=fc,
        backlog_age_h=backlog_age_h,
        backlog_severity=backlog_severity,
        service_h=service_h,
        hour_profile=profile,
        roster=staffing_model.roster_from_frame(reviewers),
        mean_capacity=float(capacity),
        headcount=reviewers.height,
    )
    plan = staffing_model.plan_staffing(week, work.sla_hours, staffing_model.TARGET_BREACH_PCT)
    return {**out, **plan, "forecast_cases_7d": fc.total}
