"""The KPI cards' change line adds up with the values the cards show."""

from __future__ import annotations

import pytest

from tspanel.ui.kpis import KPI_CARDS, format_change

SPEC = {spec.key: spec for spec in KPI_CARDS}


@pytest.mark.parametrize(
    ("key", "previous", "change", "shown"),
    [
        # 53.14% -> 65.66%: the cards read 53.1% and 65.7%, so +12.6 pp (the exact 12.52 rounds to 12.5)
        ("sla_breach_rate_pct", 53.14, 12.52, "+12.6 pp"),
        ("coordinated_pct", 10.04, -0.08, "±0.0 pp"),  # 10.04% -> 9.96%: both read 10.0%, so no change (was -0.1)
        ("ml_score_last_week", 0.8124, 0.0012, "+0.002"),  # 0.812 -> 0.814 (0.8136): +0.002, not +0.001
        ("total_flags", 200, 50, "+25.0%"),
    ],
)
def test_the_change_is_the_difference_of_the_shown_values(key, previous, change, shown):
    assert format_change(SPEC[key], change, previous) == shown


@pytest.mark.parametrize(
    ("key", "days", "said"),
    [
        ("total_flags", 28, "vs previous 28 days"),
        ("ml_score_last_week", 7, "vs previous 7 days"),
        ("ml_score_last_week", 3, "vs previous 3 days"),  # the whole period is its last 7 days
        ("ml_score_last_week", 28, "vs the same 7 days 28 days earlier"),  # it said "vs previous 28 days"
        ("human_review", 1, "vs previous 1 day"),
    ],
)
def test_each_card_says_what_its_change_is_against(key, days, said):
    from tspanel.ui.kpis import vs_text

    assert vs_text(SPEC[key], days) == said
