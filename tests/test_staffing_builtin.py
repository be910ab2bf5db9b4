"""One answer everywhere: on the built-in world the card data, the curve, `tspanel kpis --json`
and the weekly report state the same staffing figures, and they agree with the breach rate.

Figures stated here were measured on the built-in world (seed 42) after the queue calibration.
"""

from __future__ import annotations

import json

import polars as pl
import pytest

from tspanel.cli import main
from tspanel.models.dashboard import Dashboard
from tspanel.source import default_world
from tspanel.summary.facts import build_payload
from tspanel.summary.offline import offline_sections

NEEDED = 46
ROSTER = 20
BREACH_AT_ROSTER = 30.1  # % of next week's high/critical cases over 24 h with today's 20
FORECAST_ERROR = 23.1  # backtest MAPE per day of the chosen method (seasonal naive)


@pytest.fixture(scope="module")
def card() -> dict:
    return Dashboard(default_world()).queue.staffing()


def test_card_recommends_more_than_the_roster_because_the_sla_is_breached(card):
    observed = Dashboard(default_world()).queue.sla()["breach_rate_pct"]
    assert observed == pytest.approx(17.9, abs=0.05)  # above the 5% target ...
    assert card["current_reviewers"] == ROSTER
    assert card["reviewers_needed"] == NEEDED  # ... so more reviewers than today's 20
    assert card["expected_breach_pct_at_roster"] == pytest.approx(BREACH_AT_ROSTER, abs=0.05)
    assert card["forecast_method"] == "seasonal_naive"
    assert card["forecast_error_pct"] == pytest.approx(FORECAST_ERROR, abs=0.05)
    assert card["forecast_low_80"] < card["forecast_cases_7d"] < card["forecast_high_80"]
    assert f"{NEEDED} reviewers are the fewest" in card["arithmetic"]
    assert f"{ROSTER} reviewers leave {BREACH_AT_ROSTER}%" in card["arithmetic"]


def test_curve_carries_the_roster_and_the_recommendation(card):
    curve = card["curve"]
    roster = curve.filter(pl.col("is_roster")).row(0, named=True)
    best = curve.filter(pl.col("is_recommended")).row(0, named=True)
    assert roster["reviewers"] == ROSTER and not roster["meets_target"]
    assert roster["expected_breach_pct"] == card["expected_breach_pct_at_roster"]
    assert best["reviewers"] == NEEDED and best["meets_target"]
    assert not curve.filter(pl.col("reviewers") == NEEDED - 1)["meets_target"].item()


def test_kpis_json_states_the_same_figures(card, capsys):
    assert main(["kpis", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["reviewers_needed"] == NEEDED
    assert got["expected_breach_pct_at_roster"] == pytest.approx(card["expected_breach_pct_at_roster"])
    assert got["forecast_error_pct"] == pytest.approx(card["forecast_error_pct"])
    assert got["sla_breach_rate_pct"] == pytest.approx(17.9, abs=0.05)


def test_weekly_report_quotes_the_same_figures(card):
    payload = build_payload(Dashboard(default_world()))
    staffing = payload["staffing"]
    assert staffing["reviewers_needed"] == NEEDED and staffing["current_reviewers"] == ROSTER
    assert staffing["expected_breach_pct_at_roster"] == BREACH_AT_ROSTER
    assert staffing["forecast_error_pct"] == FORECAST_ERROR
    assert staffing["arithmetic"] == card["arithmetic"]
    text = offline_sections(payload)["staffing_recommendation"]
    assert text.startswith(f"Add {NEEDED - ROSTER} reviewers: {NEEDED} are needed against {ROSTER} today.")


def test_a_severity_filter_does_not_turn_the_staffing_answer(card):
    """The SLA alert opens the queue on high and critical cases; planning for those alone (as if
    the roster worked nothing else) said 17 reviewers and "the roster covers it" against 46."""
    from tspanel.models.filters import Filters
    from tspanel.ui.queue import staffing_html

    assert card["severity_filter_ignored"] is False
    for severities in (["high", "critical"], ["low"]):
        plan = Dashboard(default_world(), Filters(severities=severities)).queue.staffing()
        assert (plan["reviewers_needed"], plan["current_reviewers"]) == (NEEDED, ROSTER)
        assert plan["expected_breach_pct_at_roster"] == pytest.approx(BREACH_AT_ROSTER, abs=0.05)
        assert plan["severity_filter_ignored"] is True
        assert "the plan ignores the severity filter" in staffing_html(plan)
    assert "ignores the severity filter" not in staffing_html(card)
