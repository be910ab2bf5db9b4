"""What one full refresh computes, stated once for the three engines that `tspanel bench` compares.

The Polars engine is `Dashboard.refresh()` itself; the pandas and DuckDB versions recompute
the same outputs with the default parameters and no filters, from the same rows.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from tspanel.models.classifier import Z_95, drift_state
from tspanel.models.queue import FORECAST_DAYS, HIST_BIN_HOURS, HIST_MAX_HOURS, HISTORY_DAYS
from tspanel.models.volume import ROLLING_DAYS
from tspanel.schema import ACTIONS, HIGH_SEVERITIES, SEVERITIES, SLA_HOURS

__all__ = ["ACTIONS", "HIGH_SEVERITIES", "SEVERITIES", "Z_95", "Workload", "staffing"]


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
