"""The domain models over a weighted rollup (tspanel.rollup.dataset) equal the raw computation.

Exact where the measure is exact (counts, sums, means, the SLA, the backlog at midnight, every
detector output); within the bin width for quantiles (0.01 of score) and the age of the oldest
open case (its day: 12 hours). Headline numbers of the built-in world are stated here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tspanel.models.attacks import AttacksModel
from tspanel.models.attention import AttentionModel
from tspanel.models.classifier import ClassifierModel
from tspanel.models.dashboard import Dashboard
from tspanel.models.filters import Filters
from tspanel.models.kpis import KpiModel
from tspanel.rollup import rollup_polars
from tspanel.rollup.dataset import dataset_from_rollup
from tspanel.source import default_world, load_dataset

# Outputs that are approximate on a rollup, with the tolerance the bins give them.
APPROXIMATE = {
    ("classifier", "score_quantiles"),  # 0.01 score bins
    ("queue", "backlog"),  # oldest_open_hours: the day a case opened, at its noon (12 h)
    ("queue", "staffing"),  # a simulation fed with day-level ages and no hand-on times: compared below
}


@pytest.fixture(scope="module")
def world():
    return default_world()


@pytest.fixture(scope="module")
def rolled(world):
    rollup = rollup_polars(world.flags, world.columns)
    return dataset_from_rollup(
        rollup, name="built-in world (rollup)", reviewers=world.reviewers.collect(), attacks=world.attacks.collect()
    )


def assert_same(raw: Any, rolled: Any, where: str) -> None:
    """Equal values; floats within 1e-9 (sums in another order), frames column by column."""
    if isinstance(raw, pl.DataFrame):
        assert isinstance(rolled, pl.DataFrame), where
        assert_frame_equal(raw, rolled, check_dtypes=False, rel_tol=1e-9, abs_tol=1e-12)
    elif isinstance(raw, dict):
        assert set(raw) <= set(rolled), where
        for key, value in raw.items():
            assert_same(value, rolled[key], f"{where}.{key}")
    elif isinstance(raw, float) and isinstance(rolled, float):
        assert math.isclose(raw, rolled, rel_tol=1e-9, abs_tol=1e-12), (where, raw, rolled)
    else:
        assert raw == rolled, (where, raw, rolled)


def test_headline_numbers_from_the_rollup(rolled):
    """The KPIs and the queue from the rollup alone: 42,255 flags, 17.9% = 1,229 of 6,850, 1,182 open."""
    assert rolled.n_flags == 42255
    assert rolled.weight == "n"
    out = Dashboard(rolled, use_cache=False).refresh({"kpis": ["current"], "queue": ["backlog", "sla"]})
    kpis = out["kpis"]["current"]
    assert kpis["total_flags"] == 42255
    assert kpis["auto_blocked"] == 6133
    assert kpis["human_review"] == 13053
    assert (kpis["sla_breaches"], kpis["sla_eligible"]) == (1229, 6850)
    assert round(kpis["sla_breach_rate_pct"], 1) == 17.9
    assert round(kpis["coordinated_pct"], 2) == 11.55  # 4,881 of 42,255
    assert out["queue"]["backlog"]["total"] == 1182


FILTERS = [
    {},
    {"categories": ["spam", "fraud"]},
    {"regions": ["EMEA"], "severities": ["high", "critical"]},
    {"start": dt.date(2026, 10, 1), "end": dt.date(2026, 10, 31), "actions": ["human_review"]},
]


@pytest.mark.parametrize("chosen", FILTERS, ids=["all", "categories", "region+severity", "october+review"])
def test_every_dashboard_output_equals_the_raw_one(world, rolled, chosen):
    raw = Dashboard(world, Filters(**chosen), use_cache=False).refresh()
    rolled_out = Dashboard(rolled, Filters(**chosen), use_cache=False).refresh()
    assert set(raw) == set(rolled_out)
    for model, outputs in raw.items():
        for name, value in outputs.items():
            if (model, name) in APPROXIMATE:
                continue
            assert_same(value, rolled_out[model][name], f"{model}.{name}")
    # within the bins
    raw_q, rolled_q = raw["classifier"]["score_quantiles"], rolled_out["classifier"]["score_quantiles"]
    assert raw_q["category"].to_list() == rolled_q["category"].to_list()
    assert raw_q["count"].to_list() == rolled_q["count"].to_list()
    for column in ("min", "p25", "median", "p75", "max"):
        assert (raw_q[column] - rolled_q[column]).abs().max() < 0.01, column
    raw_b, rolled_b = raw["queue"]["backlog"], rolled_out["queue"]["backlog"]
    assert raw_b["total"] == rolled_b["total"]
    assert_frame_equal(raw_b["by_severity"], rolled_b["by_severity"], check_dtypes=False)
    if raw_b["oldest_open_hours"] is not None:
        assert abs(raw_b["oldest_open_hours"] - rolled_b["oldest_open_hours"]) <= 12


def test_the_built_in_worlds_quantiles_and_oldest_case(world, rolled):
    """Stated: the spam median score and the oldest open case, raw and within the bin from the rollup."""
    raw_q = ClassifierModel(world).score_quantiles().filter(pl.col("category") == "spam")
    rolled_q = ClassifierModel(rolled).score_quantiles().filter(pl.col("category") == "spam")
    assert raw_q["count"][0] == rolled_q["count"][0] == 19418
    assert abs(rolled_q["median"][0] - raw_q["median"][0]) < 0.01
    raw_oldest = Dashboard(world).queue.backlog()["oldest_open_hours"]
    rolled_oldest = Dashboard(rolled).queue.backlog()["oldest_open_hours"]
    assert round(raw_oldest, 1) == 361.2
    assert rolled_oldest == 372.0  # opened on the day 15.5 days before the as-of midnight, at its noon


def test_staffing_from_the_rollup_is_close(world, rolled):
    """The staffing plan re-simulates the queue: from day-level ages and capacity-based service
    times (the rollup holds no assignment times) it is an approximation, stated as such."""
    raw = Dashboard(world, use_cache=False).refresh({"queue": ["staffing"]})["queue"]["staffing"]
    plan = Dashboard(rolled, use_cache=False).refresh({"queue": ["staffing"]})["queue"]["staffing"]
    assert plan["forecast_cases_7d"] == raw["forecast_cases_7d"]  # the forecast reads exact daily intake
    assert plan["current_reviewers"] == raw["current_reviewers"] == 20
    assert abs(plan["reviewers_needed"] - raw["reviewers_needed"]) <= max(3, 0.1 * raw["reviewers_needed"])


@pytest.mark.parametrize("method", ["multisignal", "volume", "zscore-legacy"])
def test_detector_outputs_equal(world, rolled, method):
    raw, rolled_model = AttacksModel(world, method=method), AttacksModel(rolled, method=method)
    assert_frame_equal(raw.alerts(), rolled_model.alerts())
    assert_frame_equal(raw.daily_volume(), rolled_model.daily_volume())
    assert raw.evaluation() == rolled_model.evaluation()


def test_detector_alerts_and_comparison_stated(rolled):
    model = AttacksModel(rolled)
    alerts = model.alerts()
    assert alerts.height == 9
    assert ("2026-11-18", "spam") in {(d.isoformat(), c) for d, c in alerts.select("date", "category").iter_rows()}
    comparison = model.comparison()
    assert comparison["alerts"].to_list() == [9, 9, 6]
    assert comparison["attacks_caught"].to_list() == ["5/5", "5/5", "5/5"]


def test_ground_truth_from_the_coordinated_counts(world):
    """Without an attacks table, the truth comes from the rollup's coordinated counts."""
    rollup = rollup_polars(world.flags, world.columns)
    no_table = dataset_from_rollup(rollup, name="no attacks table")
    raw_truth = AttacksModel(dataclasses.replace(world, attacks=None)).truth()
    assert AttacksModel(no_table).truth().pairs == raw_truth.pairs
    assert len(raw_truth.pairs) > 0


def test_attention_items_equal(world, rolled):
    raw = [item.as_dict() for item in AttentionModel(world).items()]
    assert [item.as_dict() for item in AttentionModel(rolled).items()] == raw
    assert [item["key"] for item in raw] == [
        "sla_rate",
        "attack:2026-11-18:spam",
        "classifier:warning",
        "backlog",
        "growth:spam",
    ]


def test_kpis_of_a_previous_period_and_a_custom_sla(world, rolled):
    """Another SLA than the contract's is read from the 1-hour bins: exact for whole hours here."""
    for sla in (24, 48):
        raw = KpiModel(world, sla_hours=sla, period_days=7).kpis_with_change()
        assert_same(raw, KpiModel(rolled, sla_hours=sla, period_days=7).kpis_with_change(), f"sla {sla}")


def test_legacy_layout_rollup(legacy_dir):
    """A dataset without the optional columns: the rollup says so the same way the rows do."""
    raw = load_dataset(legacy_dir)
    rolled = dataset_from_rollup(rollup_polars(raw.flags, raw.columns), name="legacy (rollup)")
    assert rolled.columns == {
        *("action", "category", "coordinated_flag", "date", "ml_score", "resolution_hrs", "reviewer_id", "severity"),
        *("open_day", "resolved_day"),  # the rollup's queue days, read by tspanel.models.timing
    }
    assert rolled.regions == ()
    raw_out = Dashboard(raw, use_cache=False).refresh({"kpis": ["current"], "volume": ["daily_by_category"]})
    rolled_out = Dashboard(rolled, use_cache=False).refresh({"kpis": ["current"], "volume": ["daily_by_category"]})
    assert raw_out["kpis"]["current"]["total_flags"] == rolled_out["kpis"]["current"]["total_flags"] == 48
    assert_same(raw_out, rolled_out, "legacy")
