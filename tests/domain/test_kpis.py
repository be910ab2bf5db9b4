"""KPI definitions on a hand-made dataset; every expected value is worked out by hand."""

from __future__ import annotations

import pytest

from tspanel.models.dashboard import Dashboard
from tspanel.models.filters import Filters
from tspanel.models.kpis import KpiModel

from .helpers import day, make_dataset

ROWS = [
    # date, score, severity, action, resolution_hrs, coordinated
    {"date": day(0), "ml_score": 0.9, "severity": "high", "action": "auto_block", "resolution_hrs": 30.0,
     "coordinated_flag": True},
    {"date": day(0), "ml_score": 0.7, "severity": "critical", "action": "human_review", "resolution_hrs": 10.0},
    {"date": day(1), "ml_score": 0.6, "severity": "high", "action": "human_review", "resolution_hrs": None},
    {"date": day(12), "ml_score": 0.4, "severity": "low", "action": "human_review", "resolution_hrs": 40.0},
    {"date": day(13), "ml_score": 0.5, "action": "auto_block"},
    {"date": day(13), "ml_score": 0.5},
    {"date": day(13), "ml_score": 0.8},
]  # fmt: skip


def dataset():
    return make_dataset([{"coordinated_flag": False, "resolution_hrs": None, **row} for row in ROWS])


def test_kpi_definitions():
    got = KpiModel(dataset()).kpis()
    assert got["total_flags"] == 7
    assert got["auto_blocked"] == 2
    assert got["human_review"] == 3
    # high/critical with a known resolution time: 30 h (breach) and 10 h
    assert got["sla_breach_rate_pct"] == 50.0
    assert got["coordinated_pct"] == pytest.approx(100 / 7)
    # daily means, not row means: days 0 and 1 -> (0.8 + 0.6) / 2; days 12 and 13 -> (0.4 + 0.6) / 2
    assert got["ml_score_first_week"] == pytest.approx(0.7)
    assert got["ml_score_last_week"] == pytest.approx(0.5)
    assert (got["start"], got["end"], got["days"]) == (day(0).isoformat(), day(13).isoformat(), 14)


def test_kpis_follow_the_date_filter():
    got = KpiModel(dataset(), Filters(start=day(1), end=day(12))).kpis()
    assert got["total_flags"] == 2
    assert got["ml_score_first_week"] == pytest.approx(0.6)
    assert got["ml_score_last_week"] == pytest.approx(0.4)
    assert got["sla_breach_rate_pct"] is None  # the only high case has no resolution time


def test_coordinated_share_is_none_without_the_column():
    ds = make_dataset([{"date": day(0)}])
    assert KpiModel(ds).kpis()["coordinated_pct"] is None


def test_change_against_the_previous_period_of_equal_length():
    model = KpiModel(dataset(), Filters(start=day(7), end=day(13)))
    got = model.kpis_with_change()
    assert got["current"]["total_flags"] == 4
    assert got["previous"]["total_flags"] == 3  # days 0-6
    assert got["change"]["total_flags"] == 1
    assert got["change"]["auto_blocked"] == 0


def test_no_change_when_the_previous_period_is_not_in_the_data():
    got = KpiModel(dataset()).kpis_with_change()
    assert got["previous"] is None
    assert got["change"]["total_flags"] is None
    assert "no earlier 14-day period" in got["note"]


def test_empty_selection_gives_zeros_and_nones():
    got = KpiModel(dataset(), Filters(categories=["fraud"])).kpis()
    assert got["total_flags"] == 0
    assert got["sla_breach_rate_pct"] is None
    assert got["coordinated_pct"] is None
    assert got["ml_score_first_week"] is None


def test_dashboard_refresh_computes_every_output_of_every_model():
    board = Dashboard(dataset())
    out = board.refresh()
    assert set(out) == {"kpis", "volume", "classifier", "queue"}
    assert out["kpis"]["current"]["total_flags"] == 7
    assert out["volume"]["severity_mix"]["flags"].sum() == 7
    # human-review high/critical cases with a known time: only the 10 h one -> 0 breaches of 1
    assert (out["queue"]["sla"]["eligible"], out["queue"]["sla"]["breach_rate_pct"]) == (1, 0.0)
    board.filters.severities = ["high", "critical"]
    assert board.refresh()["kpis"]["current"]["total_flags"] == 3
    assert board.headline()["total_flags"] == 3
