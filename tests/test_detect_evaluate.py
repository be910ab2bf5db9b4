"""Evaluation metrics on tiny hand-made cases, with the expected figures worked out by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from tspanel.detect.alerts import alerts_frame
from tspanel.detect.evaluate import comparison, evaluate, ground_truth

D = [dt.date(2026, 3, 1) + dt.timedelta(days=i) for i in range(10)]
ATTACKS = pl.DataFrame(
    {"attack_id": ["A1"], "category": ["spam"], "start_date": [D[1]], "end_date": [D[3]]}
)  # spam on D1, D2, D3


def alerts(*pairs: tuple[dt.date, str | None]) -> pl.DataFrame:
    return alerts_frame({"date": d, "category": c, "score": 5.0, "signals": {"volume": 5.0}} for d, c in pairs)


def test_day_and_pair_metrics_by_hand() -> None:
    truth = ground_truth(pl.DataFrame({"date": [], "category": []}), ["date", "category"], ATTACKS)
    ev = evaluate(alerts((D[1], "spam"), (D[3], "harassment"), (D[6], "fraud")), truth)
    # Days: alerted {D1, D3, D6} vs attacked {D1, D2, D3}: 2 right, 1 false, 1 missed.
    assert ev["days"] == {
        "precision": pytest.approx(2 / 3),
        "recall": pytest.approx(2 / 3),
        "f1": pytest.approx(2 / 3),
        "true_positives": 2,
        "false_alarms": 1,
        "missed": 1,
    }
    # Pairs: only (D1, spam) is right; (D3, harassment) names the wrong category.
    # F1 = 2*1 / (2*1 + 2 + 2) = 1/3.
    assert ev["day_category"] == {
        "precision": pytest.approx(1 / 3),
        "recall": pytest.approx(1 / 3),
        "f1": pytest.approx(1 / 3),
        "true_positives": 1,
        "false_alarms": 2,
        "missed": 2,
    }
    assert ev["attacks"] == [
        {
            "attack_id": "A1",
            "category": "spam",
            "start": "2026-03-02",
            "end": "2026-03-04",
            "days": 3,
            "days_caught": 1,
            "caught": True,
        }
    ]
    assert ev["false_alarm_days"] == ["2026-03-07"]
    assert ev["attack_days"] == 3


def test_alerts_without_category_are_scored_by_day_only() -> None:
    truth = ground_truth(pl.DataFrame({"date": [], "category": []}), ["date", "category"], ATTACKS)
    ev = evaluate(alerts((D[2], None), (D[3], None)), truth)
    assert ev["days"]["precision"] == 1.0
    assert ev["days"]["recall"] == pytest.approx(2 / 3)
    assert ev["day_category"] is None
    assert ev["attacks"][0]["days_caught"] == 2


def test_no_alerts_means_no_precision_and_zero_recall() -> None:
    truth = ground_truth(pl.DataFrame({"date": [], "category": []}), ["date", "category"], ATTACKS)
    ev = evaluate(alerts(), truth)
    assert ev["days"]["precision"] is None
    assert ev["days"]["recall"] == 0.0
    assert ev["days"]["f1"] == 0.0
    assert ev["attacks"][0]["caught"] is False


def test_truth_from_coordinated_flag_when_there_is_no_attacks_table() -> None:
    flags = pl.DataFrame(
        {
            "date": [D[0], D[4], D[4], D[5], D[5]],
            "category": ["spam", "fraud", "spam", "fraud", "fraud"],
            "coordinated_flag": [False, True, False, True, False],
            "attack_id": [None, "X", None, "X", None],
        }
    )
    truth = ground_truth(flags, flags.columns, None)
    assert truth.source == "coordinated_flag"
    assert truth.pairs == {(D[4], "fraud"), (D[5], "fraud")}
    assert [(a.attack_id, a.category, a.days) for a in truth.attacks] == [("X", "fraud", (D[4], D[5]))]
    ev = evaluate(alerts((D[5], "fraud")), truth)
    assert ev["day_category"]["recall"] == 0.5
    assert ev["day_category"]["precision"] == 1.0


def test_no_ground_truth_at_all() -> None:
    flags = pl.DataFrame({"date": [D[0]], "category": ["spam"]})
    assert ground_truth(flags, flags.columns, None) is None


def test_truth_restricted_to_a_date_range() -> None:
    truth = ground_truth(pl.DataFrame({"date": [], "category": []}), ["date", "category"], ATTACKS)
    scoped = truth.between(D[3], D[9])
    assert scoped.pairs == {(D[3], "spam")}
    assert scoped.attacks[0].days == (D[3],)
    assert truth.between(D[5], None).attacks == ()


def test_comparison_has_one_row_per_method() -> None:
    flags = pl.DataFrame({"date": [D[i] for i in range(10) for _ in range(5)], "category": ["spam"] * 50})
    truth = ground_truth(flags, flags.columns, ATTACKS)
    table = comparison(flags, flags.columns, truth)
    assert table["method"].to_list() == ["multisignal", "volume", "zscore-legacy"]
    # Ten flat days: nobody alerts, so nobody has precision and everybody's recall is 0.
    assert table["alerts"].to_list() == [0, 0, 0]
    assert table["day_recall"].to_list() == [0.0, 0.0, 0.0]
    assert table["attacks_caught"].to_list() == ["0/1", "0/1", "0/1"]
