"""Volume model on hand-made data; every expected number is worked out in the comments."""

from __future__ import annotations

import pytest

from tspanel.models.base import Unavailable
from tspanel.models.filters import Filters
from tspanel.models.volume import VolumeModel

from .helpers import day, make_dataset


def two_weeks():
    # spam: 2 a day in week 1, 3 a day in week 2; fraud: 1 a day throughout.
    rows = []
    for n in range(14):
        rows += [{"date": day(n), "category": "spam"}] * (2 if n < 7 else 3)
        rows += [{"date": day(n), "category": "fraud"}]
    return make_dataset(rows)


def test_daily_by_category_fills_missing_days_with_zero():
    ds = make_dataset(
        [
            {"date": day(0), "category": "spam"},
            {"date": day(0), "category": "spam"},
            {"date": day(2), "category": "fraud"},
        ]
    )
    got = VolumeModel(ds).daily_by_category()
    assert got.rows() == [
        (day(0), "fraud", 0),
        (day(0), "spam", 2),
        (day(1), "fraud", 0),
        (day(1), "spam", 0),
        (day(2), "fraud", 1),
        (day(2), "spam", 0),
    ]


def test_daily_by_region_needs_a_region_column():
    ds = make_dataset([{"date": day(0)}])
    assert isinstance(VolumeModel(ds).daily_by_region(), Unavailable)
    ds = make_dataset([{"date": day(0), "region": "EMEA"}, {"date": day(1), "region": "AMER"}])
    got = VolumeModel(ds).daily_by_region()
    assert got.rows() == [(day(0), "AMER", 0), (day(0), "EMEA", 1), (day(1), "AMER", 1), (day(1), "EMEA", 0)]


def test_week_over_week_compares_two_complete_trailing_weeks():
    got = VolumeModel(two_weeks()).week_over_week()
    rows = {r["category"]: r for r in got.iter_rows(named=True)}
    assert (rows["spam"]["this_week"], rows["spam"]["previous_week"], rows["spam"]["change"]) == (21, 14, 7)
    assert rows["spam"]["change_pct"] == pytest.approx(50.0)
    assert (rows["fraud"]["this_week"], rows["fraud"]["previous_week"], rows["fraud"]["change_pct"]) == (7, 7, 0.0)
    assert rows["spam"]["this_week_start"] == day(7) and rows["spam"]["previous_week_end"] == day(6)


def test_week_over_week_is_unavailable_without_14_days():
    model = VolumeModel(two_weeks(), Filters(end=day(12)))
    got = model.week_over_week()
    assert isinstance(got, Unavailable)
    assert "14 days" in got.reason


def test_escalation_rate_and_rolling_mean_see_days_before_the_range():
    rows = (
        [{"date": day(0), "severity": "high"}] + [{"date": day(0)}] * 3  # 1/4 = 0.25
        + [{"date": day(1), "severity": "critical"}] * 2  # 2/2 = 1.0
        + [{"date": day(3)}] * 4  # day 2 has no flags; day 3: 0/4 = 0.0
    )  # fmt: skip
    model = VolumeModel(make_dataset(rows))
    got = model.escalation()
    assert got["flags"].to_list() == [4, 2, 0, 4]
    assert got["escalation_rate"].to_list() == [0.25, 1.0, None, 0.0]
    assert got["rolling_7d"].to_list() == pytest.approx([0.25, 0.625, 0.625, 1.25 / 3])
    model.filters.start = day(1)
    got = model.escalation()
    assert got["date"].to_list() == [day(1), day(2), day(3)]
    assert got["rolling_7d"].to_list() == pytest.approx([0.625, 0.625, 1.25 / 3])


def test_mixes_list_every_level_in_order_with_shares():
    rows = [{"severity": "critical", "action": "auto_block"}] + [{"severity": "low"}] * 3
    model = VolumeModel(make_dataset([{**r, "date": day(0)} for r in rows]))
    assert model.severity_mix().rows() == [
        ("low", 3, 75.0),
        ("medium", 0, 0.0),
        ("high", 0, 0.0),
        ("critical", 1, 25.0),
    ]
    assert model.action_mix()["flags"].to_list() == [3, 0, 0, 1]


def test_automation_and_appeal_overturn_rate():
    rows = (
        [{"action": "auto_block", "appealed": True, "appeal_overturned": True}]
        + [{"action": "auto_block", "appealed": True, "appeal_overturned": False}]
        + [{"action": "downrank", "appealed": False, "appeal_overturned": False}]
        + [{"action": "human_review", "appealed": False, "appeal_overturned": False}] * 3
        + [{"action": "allow", "appealed": False, "appeal_overturned": False}] * 4
    )
    got = VolumeModel(make_dataset([{**r, "date": day(0)} for r in rows])).automation()
    assert got["automated"] == 3 and got["automated_pct"] == 30.0
    assert got["human_review"] == 3 and got["human_review_pct"] == 30.0
    assert (got["appealed"], got["overturned"], got["overturn_rate_pct"]) == (2, 1, 50.0)


def test_automation_without_appeal_columns_says_none():
    got = VolumeModel(make_dataset([{"date": day(0), "action": "downrank"}])).automation()
    assert got["automated_pct"] == 100.0
    assert got["overturn_rate_pct"] is None


@pytest.mark.parametrize(
    ("filters", "expected_total"),
    [
        ({"categories": ["fraud"]}, 14),
        ({"start": day(7)}, 28),
        ({"start": day(3), "end": day(4)}, 6),
        ({"categories": ["spam"], "end": day(6)}, 14),
    ],
)
def test_filters_restrict_every_volume_output(filters, expected_total):
    model = VolumeModel(two_weeks(), Filters(**filters))
    assert model.daily_by_category()["flags"].sum() == expected_total
    assert model.severity_mix()["flags"].sum() == expected_total
    assert model.automation()["flags"] == expected_total


def test_empty_selection_gives_empty_results_not_errors():
    ds = make_dataset([{"date": day(0), "category": "spam"}, {"date": day(3), "category": "fraud"}])
    model = VolumeModel(ds, Filters(categories=["fraud"], end=day(1)))
    assert model.daily_by_category()["flags"].to_list() == [0, 0]
    assert model.automation()["automated_pct"] is None
    assert model.severity_mix()["share_pct"].to_list() == [None, None, None, None]
