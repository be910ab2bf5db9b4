"""Queue model on hand-made data; expected values are worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from tspanel.models.base import Unavailable
from tspanel.models.filters import Filters
from tspanel.models.queue import QueueModel

from .helpers import day, make_dataset

UTC = dt.UTC


def at(n: int, hour: int) -> dt.datetime:
    return dt.datetime.combine(day(n), dt.time(hour), tzinfo=UTC)


def stamped():
    hr = {"action": "human_review"}
    rows = [
        {**hr, "date": day(0), "created_at": at(0, 10), "resolved_at": at(0, 20)},  # closed
        {**hr, "date": day(1), "severity": "high", "created_at": at(1, 8), "resolved_at": at(2, 6)},  # open, 16 h
        {**hr, "date": day(0), "severity": "critical", "created_at": at(0, 12), "resolved_at": None},  # open, 36 h
        {"action": "allow", "date": day(1), "created_at": at(1, 9), "resolved_at": None},  # not a review
        {**hr, "date": day(1), "created_at": at(1, 23), "resolved_at": None},  # open, 1 h
    ]
    return make_dataset(rows)


def legacy():
    hr = {"action": "human_review"}
    rows = [
        {**hr, "date": day(0), "resolution_hrs": 30.0, "reviewer_id": "r1"},  # closes day 1 06:00
        {**hr, "date": day(0), "severity": "medium", "resolution_hrs": 50.0, "reviewer_id": "r1"},  # open at day 2
        {**hr, "date": day(1), "severity": "high", "resolution_hrs": 20.0, "reviewer_id": "r1"},  # closes day 1 20:00
        {**hr, "date": day(1), "severity": "high", "resolution_hrs": 30.0, "reviewer_id": "r2"},  # open, breach
        {**hr, "date": day(1), "severity": "critical", "resolution_hrs": None, "reviewer_id": None},  # unknown: open
        {"action": "auto_block", "date": day(1), "severity": "high", "resolution_hrs": 99.0},  # not a review
    ]
    reviewers = [
        {"reviewer_id": "r1", "capacity_per_day": 10.0},
        {"reviewer_id": "r2", "capacity_per_day": 5.0},
        {"reviewer_id": "r3", "capacity_per_day": 4.0},
    ]
    return make_dataset(rows, reviewers)


def test_backlog_from_timestamps_counts_cases_open_at_the_as_of_time():
    got = QueueModel(stamped()).backlog()
    assert got["as_of"] == at(2, 0)
    assert got["total"] == 3
    assert dict(got["by_severity"].iter_rows()) == {"low": 1, "medium": 0, "high": 1, "critical": 1}
    assert got["oldest_open_hours"] == pytest.approx(36.0)
    assert got["high_critical"] == 2


def test_backlog_includes_cases_opened_before_the_selected_range():
    got = QueueModel(stamped(), Filters(start=day(1))).backlog()
    assert got["total"] == 3


def test_backlog_at_an_earlier_as_of_time():
    got = QueueModel(stamped(), as_of=at(1, 0)).backlog()
    assert got["total"] == 1  # only the critical case from day 0 12:00 is open at day 1 00:00
    assert got["oldest_open_hours"] == pytest.approx(12.0)


def test_backlog_with_day_level_data_uses_day_plus_resolution_time():
    got = QueueModel(legacy()).backlog()
    # the earlier version counted all 5 human-review rows; 3 are open at day 2 00:00
    assert got["total"] == 3
    assert dict(got["by_severity"].iter_rows()) == {"low": 0, "medium": 1, "high": 1, "critical": 1}
    assert got["oldest_open_hours"] == pytest.approx(48.0)


def test_sla_counts_high_and_critical_reviews_over_24_hours():
    got = QueueModel(legacy()).sla()
    assert (got["eligible"], got["breaches"]) == (2, 1)
    assert got["breach_rate_pct"] == 50.0


def test_resolution_histogram_bins():
    got = QueueModel(legacy()).resolution_histogram()
    assert got.height == 19  # 0, 4, ..., 68 and a 72+ overflow bin
    counts = {r["bin_start"]: r["cases"] for r in got.iter_rows(named=True) if r["cases"]}
    assert counts == {20.0: 1, 28.0: 2, 48.0: 1}  # 20 h falls in [20, 24)
    assert got.filter(got["bin_start"] == 28.0)["over_sla"][0] is True
    assert got.filter(got["bin_start"] == 20.0)["over_sla"][0] is False
    assert got["bin_end"][-1] is None


def test_utilisation_divides_by_capacity_times_days():
    got = QueueModel(legacy()).utilisation()
    rows = {r["reviewer_id"]: (r["handled"], r["utilisation_pct"]) for r in got.iter_rows(named=True)}
    # 2 days in range: r1 3 / (10 x 2), r2 1 / (5 x 2), r3 0 / (4 x 2)
    assert rows == {"r1": (3, 15.0), "r2": (1, 10.0), "r3": (0, 0.0)}


def test_utilisation_without_reviewer_column_says_why():
    got = QueueModel(stamped()).utilisation()
    assert isinstance(got, Unavailable) and "reviewer_id" in got.reason


def test_daily_intake_by_severity_with_zeros():
    got = QueueModel(legacy()).daily_intake()
    assert got.height == 8  # 2 days x 4 severities
    assert got.filter(got["date"] == day(1))["cases"].to_list() == [0, 0, 2, 1]
    assert got.filter(got["date"] == day(0))["cases"].to_list() == [1, 1, 0, 0]


def test_staffing_need_from_weekday_pattern():
    """Two weeks: Mon-Thu 10 high-severity reviews a day, Fri-Sun 20; each resolved in 2 h.

    No shift columns, so shifts are assumed spread over the week; no measured hands-on times
    (no assigned_at), so a case takes a shift / capacity = 8 h / 10 = 0.8 h on average.
    Next week: 4 x 10 + 3 x 20 = 100 cases = 80 h of work. One reviewer works 5 x 8 = 40 h a
    week: 2 reviewers would be 100% busy (the queue grows and breaches), 3 are 67% busy.
    """
    rows = []
    for n in range(14):
        per_day = 10 if day(n).weekday() < 4 else 20
        rows += [{"date": day(n), "action": "human_review", "severity": "high", "resolution_hrs": 2.0}] * per_day
    reviewers = [{"reviewer_id": "a", "capacity_per_day": 8.0}, {"reviewer_id": "b", "capacity_per_day": 12.0}]
    got = QueueModel(make_dataset(rows, reviewers)).staffing()
    assert got["forecast_cases_7d"] == pytest.approx(100.0)
    assert got["forecast_method"] == "seasonal_naive"
    assert got["forecast_error_pct"] is None  # one backtest origin only: not enough data, never 0
    assert got["mean_capacity_per_day"] == pytest.approx(10.0)
    assert got["reviewers_needed"] == 3
    assert got["current_reviewers"] == 2
    assert got["expected_breach_pct_at_roster"] > 5.0
    assert "100" in got["arithmetic"] and "3 reviewers are the fewest" in got["arithmetic"]


def test_filters_and_empty_selection():
    model = QueueModel(legacy(), Filters(severities=["high"]))
    assert model.sla()["eligible"] == 2
    assert model.backlog()["total"] == 1
    model.filters.severities = ["low"]
    assert model.sla() == {"eligible": 0, "breaches": 0, "breach_rate_pct": None, "sla_hours": 24.0}
    assert model.backlog()["oldest_open_hours"] is None
    model.filters.param.update(severities=[], actions=["allow"])
    assert model.backlog()["total"] == 0
    assert model.daily_intake()["cases"].sum() == 0
    staffing = model.staffing()  # two days of data: not enough to forecast, and never shown as 0
    assert staffing["reviewers_needed"] is None and staffing["arithmetic"].startswith("not enough data")
