"""Issue #19: the benchmark compares like for like. The Polars refresh's staffing output is a
forecast plus a queue re-simulation (#15); pandas and DuckDB compute the same plan from inputs
they measure themselves ("staffing_plan"), so that work is timed on every engine."""

from __future__ import annotations

import pytest

from tspanel.bench.harness import _key_numbers, _same_numbers
from tspanel.bench.workload import Workload
from tspanel.models.dashboard import Dashboard
from tspanel.source import dataset_from_frames

pytest.importorskip("pandas", reason="the comparison engines are in the bench extra: pip install 'tspanel[bench]'")
pytest.importorskip("duckdb", reason="the comparison engines are in the bench extra: pip install 'tspanel[bench]'")


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:
    from tspanel.bench import duckdb_impl, pandas_impl
    from tspanel.synth import WorldConfig, generate_world

    world = generate_world(WorldConfig(flags=8000))
    dataset = dataset_from_frames(world.flags, world.reviewers, world.attacks, name="small world")
    flags, reviewers, work = dataset.flags.collect(), dataset.reviewers.collect(), Workload.of(dataset)
    return {
        "polars": Dashboard(dataset, use_cache=False).refresh(),
        "pandas": pandas_impl.refresh(*pandas_impl.prepare(flags, reviewers), work),
        "duckdb": duckdb_impl.refresh(duckdb_impl.prepare(flags, reviewers), work),
    }


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_every_engine_computes_the_simulated_staffing_plan(results: dict[str, dict], engine: str) -> None:
    polars = results["polars"]["queue"]["staffing"]
    plan = results[engine]["queue"]["staffing_plan"]
    # The 8,000-flag world (seed 42): 4 reviewers today, 8 needed for at most 5% of high/critical
    # over the SLA with the backlog cleared, 24.39% breaching at today's roster.
    assert (polars["current_reviewers"], polars["reviewers_needed"], polars["erlang_c_reviewers"]) == (4, 8, 9)
    assert polars["expected_breach_pct_at_roster"] == pytest.approx(24.390243902439025)
    assert polars["forecast_cases_7d"] == pytest.approx(219.2124, abs=1e-4)
    compared = (
        "current_reviewers",
        "reviewers_needed",
        "erlang_c_reviewers",
        "reviewers_for_sla_alone",
        "forecast_cases_7d",
        "expected_breach_pct_at_roster",
        "expected_backlog_at_roster",
        "arithmetic",
    )
    for key in compared:
        assert plan[key] == polars[key], key
    assert plan["curve"].equals(polars["curve"])


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_the_harness_agreement_check_covers_the_staffing_plan(results: dict[str, dict], engine: str) -> None:
    expected = _key_numbers(results["polars"])
    assert expected["reviewers_needed"] == 8.0
    assert _same_numbers(_key_numbers(results[engine]), expected)
    tampered = {**results[engine], "queue": {**results[engine]["queue"]}}
    tampered["queue"]["staffing_plan"] = {**tampered["queue"]["staffing_plan"], "reviewers_needed": 7}
    assert not _same_numbers(_key_numbers(tampered), expected)
