"""The week's facts, computed by the domain models: the summary quotes them, never invents them."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import polars as pl

from tspanel.models.attacks import AttacksModel
from tspanel.models.base import Unavailable
from tspanel.models.dashboard import Dashboard
from tspanel.summary.payload import WeeklyPayload, validate_payload

WEEK = dt.timedelta(days=7)


def build_payload(dashboard: Dashboard) -> WeeklyPayload:
    """Last 7 days of the dashboard's selection against the 7 before, plus queue, model and staffing.

    The week ends on the last selected day; the other filters (categories, regions, ...) apply.
    """
    dataset = dashboard.dataset
    _, end = dashboard.kpis.date_range()
    start, previous_start = end - WEEK + dt.timedelta(days=1), end - 2 * WEEK + dt.timedelta(days=1)
    previous_end = start - dt.timedelta(days=1)
    # History up to the week's end: rolling means, the backlog and the staffing forecast need it.
    history = Dashboard(dataset, dashboard.filters.derive(start=None, end=end))
    week = Dashboard(dataset, dashboard.filters.derive(start=start, end=end))
    hist = history.refresh(
        only={"volume": ["week_over_week"], "classifier": ["status"], "queue": ["backlog", "staffing"]}
    )
    now = week.refresh(only={"kpis": ["current", "previous"], "queue": ["sla"]})
    current, previous = now["kpis"]["current"], now["kpis"]["previous"]
    has_previous = previous_start >= dataset.first_day
    previous_flags = previous["total_flags"] if has_previous else 0
    categories = _categories(hist["volume"]["week_over_week"])
    status, backlog, staffing, sla = (
        hist["classifier"]["status"],
        hist["queue"]["backlog"],
        hist["queue"]["staffing"],
        now["queue"]["sla"],
    )
    payload = {
        "dataset": dataset.name,
        "week": {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "previous_start": previous_start.isoformat(),
            "previous_end": previous_end.isoformat(),
        },
        "totals": {
            "flags": current["total_flags"],
            "previous_flags": previous_flags,
            "change_pct": _pct_change(current["total_flags"], previous_flags) if has_previous else None,
            "auto_blocked": current["auto_blocked"],
            "human_review": current["human_review"],
        },
        "categories": categories,
        "top_category": max(categories, key=lambda c: c["flags"])["category"] if categories else None,
        "sla": {
            "breach_rate_pct": _round(sla["breach_rate_pct"], 1),
            "breaches": sla["breaches"],
            "eligible": sla["eligible"],
            "sla_hours": int(sla["sla_hours"]),
        },
        "queue": {"backlog": backlog["total"], "oldest_open_hours": _round(backlog["oldest_open_hours"], 1)},
        "classifier": {
            "score": _round(status["score"], 3),
            "rolling_score": _round(status["rolling_mean"], 3),
            "baseline": status["baseline"],
            "threshold": status["threshold"],
            "state": status["state"],
        },
        "attacks": _attacks(AttacksModel(dataset, dashboard.filters.derive(start=start, end=end))),
        "staffing": {
            "reviewers_needed": staffing["reviewers_needed"],  # None = not enough data, never 0
            "current_reviewers": staffing["current_reviewers"],
            "forecast_cases_7d": _round(staffing["forecast_cases_7d"] or 0.0, 1),
            "mean_capacity_per_day": _round(staffing["mean_capacity_per_day"] or 0.0, 1),
            "target_utilisation": staffing["target_utilisation"],
            "arithmetic": staffing["arithmetic"],
            "expected_breach_pct_at_roster": _round(staffing.get("expected_breach_pct_at_roster"), 1),
            "forecast_error_pct": _round(staffing.get("forecast_error_pct"), 1),
            "forecast_low_80": _round(staffing.get("forecast_low_80"), 0),
            "forecast_high_80": _round(staffing.get("forecast_high_80"), 0),
            "target_breach_pct": staffing.get("target_breach_pct"),
        },
    }
    return validate_payload(payload)


def _categories(wow: pl.DataFrame | Unavailable) -> list[dict[str, Any]]:
    if isinstance(wow, Unavailable):
        return []
    return [
        {
            "category": row["category"],
            "flags": row["this_week"],
            "previous_flags": row["previous_week"],
            "change_pct": _round(row["change_pct"], 1),
        }
        for row in wow.iter_rows(named=True)
    ]


def _attacks(model: AttacksModel) -> list[dict[str, Any]]:
    """The default detector's alerts in the week, with their signal strengths."""
    out = []
    for row in model.alerts().iter_rows(named=True):
        signals = json.loads(row["signals"]) if isinstance(row["signals"], str) else (row["signals"] or {})
        out.append(
            {
                "date": row["date"].isoformat(),
                "category": row["category"],
                "score": _round(float(row["score"]), 2),
                "signals": {k: _round(float(v), 2) for k, v in signals.items() if v is not None},
            }
        )
    return out


def _pct_change(now: int, before: int) -> float | None:
    return None if before == 0 else round(100 * (now - before) / before, 1)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)
