"""Every filter reaches every domain, and the legacy layout works in every domain."""

from __future__ import annotations

from pathlib import Path

import pytest

from tspanel.models.base import Unavailable
from tspanel.models.dashboard import Dashboard
from tspanel.source import load_dataset

from .helpers import day, make_dataset

LEGACY = Path(__file__).resolve().parents[2] / "data" / "legacy_sample"

ROWS = [
    {"date": day(0), "category": "spam", "region": "AMER", "severity": "high", "action": "human_review",
     "ml_score": 0.9, "resolution_hrs": 30.0, "reviewer_id": "r1"},
    {"date": day(0), "category": "fraud", "region": "EMEA", "severity": "low", "action": "allow", "ml_score": 0.5},
    {"date": day(1), "category": "spam", "region": "EMEA", "severity": "critical", "action": "human_review",
     "ml_score": 0.7, "resolution_hrs": 10.0, "reviewer_id": "r1"},
    {"date": day(1), "category": "fraud", "region": "AMER", "severity": "medium", "action": "auto_block",
     "ml_score": 0.3},
]  # fmt: skip


@pytest.mark.parametrize(
    ("filters", "total", "daily_scores", "sla", "severities", "intake", "handled"),
    [
        ({}, 4, [0.7, 0.5], (2, 50.0), [1, 1, 1, 1], 2, 2),
        ({"regions": ["AMER"]}, 2, [0.9, 0.3], (1, 100.0), [0, 1, 1, 0], 1, 1),
        ({"severities": ["high", "critical"]}, 2, [0.9, 0.7], (2, 50.0), [0, 0, 1, 1], 2, 2),
        ({"actions": ["human_review"]}, 2, [0.9, 0.7], (2, 50.0), [0, 0, 1, 1], 2, 2),
        ({"categories": ["fraud"]}, 2, [0.5, 0.3], (0, None), [1, 1, 0, 0], 0, 0),
        ({"end": day(0)}, 2, [0.7], (1, 100.0), [1, 0, 1, 0], 1, 1),
        ({"start": day(1), "categories": ["spam"]}, 1, [0.7], (1, 0.0), [0, 0, 0, 1], 1, 1),
    ],
)
def test_each_filter_reaches_every_domain(filters, total, daily_scores, sla, severities, intake, handled):
    board = Dashboard(make_dataset([{"resolution_hrs": None, "reviewer_id": None, **r} for r in ROWS]))
    board.filters.param.update(**filters)
    out = board.refresh()
    assert out["kpis"]["current"]["total_flags"] == total
    assert out["volume"]["daily_by_category"]["flags"].sum() == total
    assert out["volume"]["severity_mix"]["flags"].to_list() == severities
    assert out["classifier"]["daily_score"]["mean_score"].to_list() == pytest.approx(daily_scores)
    assert (out["queue"]["sla"]["eligible"], out["queue"]["sla"]["breach_rate_pct"]) == sla
    assert out["queue"]["daily_intake"]["cases"].sum() == intake
    assert out["queue"]["utilisation"]["handled"].sum() == handled


def test_legacy_layout_works_in_every_domain_and_says_what_it_cannot_do():
    board = Dashboard(load_dataset(LEGACY))
    out = board.refresh()
    kpis = out["kpis"]["current"]
    assert (kpis["total_flags"], kpis["auto_blocked"], kpis["human_review"]) == (48, 9, 21)
    assert kpis["sla_breach_rate_pct"] == pytest.approx(100 / 3)  # 3 of 9
    assert kpis["coordinated_pct"] == pytest.approx(12.5)  # 6 of 48
    assert kpis["ml_score_first_week"] == pytest.approx(0.885)
    assert kpis["ml_score_last_week"] == pytest.approx(0.815)
    # no region column: said, not guessed
    assert isinstance(out["volume"]["daily_by_region"], Unavailable)
    assert "region" in out["volume"]["daily_by_region"].reason
    # 21 days: two complete weeks exist; days 10-12 of the previous week have 4 flags
    wow = out["volume"]["week_over_week"]
    assert (wow["this_week"].sum(), wow["previous_week"].sum()) == (14, 20)
    # day-level backlog at 2024-01-22 00:00: only F048 (2024-01-21, no resolution) is open
    backlog = out["queue"]["backlog"]
    assert backlog["total"] == 1 and backlog["oldest_open_hours"] == pytest.approx(24.0)
    assert backlog["method"] == "day + resolution_hrs"
    assert (out["queue"]["sla"]["eligible"], out["queue"]["sla"]["breaches"]) == (9, 3)
    util = {r["reviewer_id"]: r["utilisation_pct"] for r in out["queue"]["utilisation"].iter_rows(named=True)}
    assert util == pytest.approx({"R1": 700 / 840, "R2": 700 / 735, "R3": 700 / 630})
    assert out["queue"]["staffing"]["current_reviewers"] == 3
    assert out["queue"]["staffing"]["reviewers_needed"] == 1
    # the last 7 days' mean score, 0.815, is under 0.82 (half way from the baseline 0.86 to the
    # threshold 0.78) and above 0.78: a warning, not healthy and not yet an alert
    status = out["classifier"]["status"]
    assert status["rolling_mean"] == pytest.approx(0.815)
    assert status["state"] == "warning"
    assert out["volume"]["automation"]["overturn_rate_pct"] is None  # no appeal columns
