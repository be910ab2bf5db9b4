"""Classifier model on hand-made data; expected values are worked out by hand."""

from __future__ import annotations

import pytest

from tspanel.models.classifier import ClassifierModel, drift_state
from tspanel.models.filters import Filters

from .helpers import day, make_dataset


def scores_dataset():
    rows = [
        {"date": day(0), "ml_score": 0.9},
        {"date": day(0), "ml_score": 0.7},  # day 0 mean 0.8
        {"date": day(1), "ml_score": 0.7},
        {"date": day(2), "ml_score": 0.6},
    ]
    return make_dataset(rows)


def test_daily_mean_and_rolling_mean():
    model = ClassifierModel(scores_dataset(), rolling_days=2)
    got = model.daily_score()
    assert got["mean_score"].to_list() == pytest.approx([0.8, 0.7, 0.6])
    assert got["rolling_mean"].to_list() == pytest.approx([0.8, 0.75, 0.65])
    assert got["flags"].to_list() == [2, 1, 1]


def test_the_rolling_mean_covers_calendar_days_not_rows():
    # Flags on days 0, 1 and 9 only: the 7 days ending on day 9 (days 3-9) hold day 9 alone.
    rows = [{"date": day(0), "ml_score": 0.95}, {"date": day(1), "ml_score": 0.95}, {"date": day(9), "ml_score": 0.74}]
    model = ClassifierModel(make_dataset(rows))
    assert model.daily_score()["rolling_mean"].to_list() == pytest.approx([0.95, 0.95, 0.74])
    status = model.status()
    assert status["rolling_mean"] == pytest.approx(0.74)  # was (0.95 + 0.95 + 0.74) / 3 = 0.88
    assert status["state"] == "alert"  # at or below 0.78; the last three rows' mean read "healthy"


def test_status_uses_the_latest_rolling_mean():
    model = ClassifierModel(scores_dataset())
    status = model.status()
    assert status["rolling_mean"] == pytest.approx(0.7)  # (0.8 + 0.7 + 0.6) / 3
    assert status["state"] == "alert"
    assert status["drop"] == pytest.approx(0.16)
    model.threshold = 0.5
    assert model.status()["state"] == "healthy"  # warning line is (0.5 + 0.86) / 2 = 0.68


@pytest.mark.parametrize(
    ("rolling", "state"),
    [(0.85, "healthy"), (0.821, "healthy"), (0.819, "warning"), (0.781, "warning"), (0.78, "alert"), (0.5, "alert")],
)
def test_drift_rule(rolling, state):
    assert drift_state(rolling, baseline=0.86, threshold=0.78) == state


def test_drift_rule_without_data():
    assert drift_state(None, 0.86, 0.78) == "no data"


def test_quantiles_per_category_are_five_numbers_and_a_count():
    rows = [{"date": day(0), "category": "spam", "ml_score": s} for s in (0.5, 0.1, 0.3, 0.2, 0.4)]
    rows += [{"date": day(0), "category": "fraud", "ml_score": s} for s in (0.2, 0.6)]
    got = ClassifierModel(make_dataset(rows)).score_quantiles()
    assert got["category"].to_list() == ["fraud", "spam"]
    assert got.row(0) == pytest.approx(("fraud", 2, 0.2, 0.3, 0.4, 0.5, 0.6))
    assert got.row(1) == pytest.approx(("spam", 5, 0.1, 0.2, 0.3, 0.4, 0.5))


def test_calibration_interval_and_monotonicity():
    rows = [{"date": day(0), "severity": "low", "ml_score": s} for s in (0.2, 0.4)]
    rows += [{"date": day(0), "severity": "high", "ml_score": 0.8}] * 3
    got = ClassifierModel(make_dataset(rows)).calibration()
    assert got["severity"].to_list() == ["low", "high"]
    low = got.row(0, named=True)
    # std of (0.2, 0.4) = 0.141421; half width = 1.96 * 0.141421 / sqrt(2) = 0.196
    assert (low["mean_score"], low["ci_low"], low["ci_high"]) == pytest.approx((0.3, 0.104, 0.496), abs=1e-3)
    assert got.row(1, named=True)["ci_low"] == pytest.approx(0.8)
    assert got["rises_with_severity"].to_list() == [True, True]


def test_calibration_notices_a_score_that_falls_with_severity():
    rows = [
        {"date": day(0), "severity": "low", "ml_score": 0.9},
        {"date": day(0), "severity": "critical", "ml_score": 0.2},
    ]
    assert ClassifierModel(make_dataset(rows)).calibration()["rises_with_severity"][0] is False


def test_filters_and_empty_selection():
    model = ClassifierModel(scores_dataset(), Filters(start=day(1)))
    assert model.daily_score()["date"].to_list() == [day(1), day(2)]
    assert model.daily_score()["rolling_mean"].to_list() == pytest.approx([0.75, 0.7])  # sees day 0
    model.filters.categories = ["fraud"]
    assert model.daily_score().height == 0
    assert model.status()["state"] == "no data"
    assert model.score_quantiles().height == 0
    assert model.calibration().height == 0
