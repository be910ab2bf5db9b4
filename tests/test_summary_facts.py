"""The weekly payload built from a dataset: each figure checked against the legacy sample by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from tspanel.models.dashboard import Dashboard
from tspanel.source import load_dataset
from tspanel.summary.facts import build_payload

LEGACY = Path(__file__).resolve().parents[1] / "data" / "legacy_sample"


@pytest.fixture(scope="module")
def payload():
    return build_payload(Dashboard(load_dataset(LEGACY)))


def test_week_is_the_last_seven_days_against_the_seven_before(payload):
    assert payload["week"] == {
        "start": "2024-01-15",
        "end": "2024-01-21",
        "previous_start": "2024-01-08",
        "previous_end": "2024-01-14",
    }
    # 2 flags a day this week; the week before had 4 on the three attack days
    assert payload["totals"] == {
        "flags": 14,
        "previous_flags": 20,
        "change_pct": -30.0,
        "auto_blocked": 2,
        "human_review": 6,
    }


def test_sla_queue_classifier_and_staffing_come_from_the_models(payload):
    # one high/critical review this week (F045, 12 h): no breach
    assert payload["sla"] == {"breach_rate_pct": 0.0, "breaches": 0, "eligible": 1, "sla_hours": 24}
    assert payload["queue"] == {"backlog": 1, "oldest_open_hours": 24.0}
    assert payload["classifier"]["baseline"] == 0.86 and payload["classifier"]["threshold"] == 0.78
    assert payload["staffing"]["current_reviewers"] == 3
    assert payload["staffing"]["reviewers_needed"] == 1
    assert sum(c["flags"] for c in payload["categories"]) == 14
    assert sum(c["previous_flags"] for c in payload["categories"]) == 20


def test_filters_carry_into_the_week(payload):
    board = Dashboard(load_dataset(LEGACY))
    board.filters.categories = ["spam"]
    spam = build_payload(board)
    assert [c["category"] for c in spam["categories"]] == ["spam"]
    assert spam["top_category"] == "spam"
    assert spam["totals"]["flags"] < payload["totals"]["flags"]


def test_offline_report_from_a_dataset_via_the_cli(capsys):
    from tspanel.cli import main

    assert main(["report", "--data", str(LEGACY), "--offline"]) == 0
    out = capsys.readouterr().out
    assert "Week 2024-01-15 to 2024-01-21" in out
    assert "All" in out and "match the week's data" in out
