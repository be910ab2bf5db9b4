"""Scale work (issue 7): the three benchmark engines agree, `tspanel bench` reports its keys, the
shared result cache, and the loader's memory / hybrid / lazy storage with chunked validation."""

from __future__ import annotations

import datetime as dt
import gc
import json
import math
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tspanel import source
from tspanel.bench.workload import Workload
from tspanel.cli import main
from tspanel.errors import DataError
from tspanel.models.cache import RESULTS, ResultCache
from tspanel.models.dashboard import Dashboard
from tspanel.models.filters import Filters
from tspanel.source import dataset_from_frames, load_dataset

pytest.importorskip("pandas", reason="the comparison engines are in the bench extra: pip install 'tspanel[bench]'")
pytest.importorskip("duckdb", reason="the comparison engines are in the bench extra: pip install 'tspanel[bench]'")

MON = dt.date(2026, 3, 2)
ENGINES = ("polars", "pandas", "duckdb")

# Five flags over three days; every expected value below is worked out by hand from these rows.
ROWS: list[dict[str, Any]] = [
    {"flag_id": "f1", "date": MON, "category": "spam", "region": "AMER", "severity": "high",
     "action": "human_review", "ml_score": 0.9, "resolution_hrs": 30.0, "reviewer_id": "r1"},
    {"flag_id": "f2", "date": MON, "category": "fraud", "region": "EMEA", "severity": "low",
     "action": "allow", "ml_score": 0.5, "resolution_hrs": None, "reviewer_id": None},
    {"flag_id": "f3", "date": MON + dt.timedelta(days=1), "category": "spam", "region": "EMEA",
     "severity": "critical", "action": "human_review", "ml_score": 0.7, "resolution_hrs": 10.0, "reviewer_id": "r1"},
    {"flag_id": "f4", "date": MON + dt.timedelta(days=1), "category": "fraud", "region": "AMER",
     "severity": "medium", "action": "auto_block", "ml_score": 0.3, "resolution_hrs": None, "reviewer_id": None},
    {"flag_id": "f5", "date": MON + dt.timedelta(days=2), "category": "spam", "region": "AMER", "severity": "low",
     "action": "human_review", "ml_score": 0.6, "resolution_hrs": None, "reviewer_id": "r2"},
]  # fmt: skip
REVIEWERS = [{"reviewer_id": "r1", "capacity_per_day": 10.0}, {"reviewer_id": "r2", "capacity_per_day": 5.0}]


def hand_made():
    return dataset_from_frames(pl.DataFrame(ROWS), pl.DataFrame(REVIEWERS), name="hand-made")


def run_engine(name: str, dataset) -> dict[str, dict[str, Any]]:
    """A full refresh by one engine, every frame as Polars for comparison."""
    if name == "polars":
        return Dashboard(dataset, use_cache=False).refresh()
    flags, reviewers, work = dataset.flags.collect(), dataset.reviewers.collect(), Workload.of(dataset)
    if name == "pandas":
        from tspanel.bench import pandas_impl

        result = pandas_impl.refresh(*pandas_impl.prepare(flags, reviewers), work)
    else:
        from tspanel.bench import duckdb_impl

        result = duckdb_impl.refresh(duckdb_impl.prepare(flags, reviewers), work)
    return _as_polars(result)


def _as_polars(value: Any) -> Any:
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return pl.from_pandas(value.reset_index(drop=True))
    if isinstance(value, dict):
        return {k: _as_polars(v) for k, v in value.items()}
    return value


def column(frame: pl.DataFrame, name: str) -> list[Any]:
    return frame[name].to_list()


# --------------------------------------------------------------------------- the engines


@pytest.mark.parametrize("engine", ENGINES)
def test_each_engine_computes_the_hand_worked_outputs(engine: str) -> None:
    out = run_engine(engine, hand_made())
    kpis = out["kpis"]["current"]
    assert (kpis["total_flags"], kpis["auto_blocked"], kpis["human_review"]) == (5, 1, 3)
    # high/critical with a known resolution: f1 (30 h, a breach) and f3 (10 h)
    assert (kpis["sla_eligible"], kpis["sla_breaches"], kpis["sla_breach_rate_pct"]) == (2, 1, 50.0)
    assert kpis["ml_score_first_week"] == pytest.approx(0.6)  # mean of the daily means 0.7, 0.5, 0.6
    volume = out["volume"]
    assert column(volume["daily_by_category"], "category") == ["fraud", "spam"] * 3
    assert column(volume["daily_by_category"], "flags") == [1, 1, 1, 1, 0, 1]
    assert column(volume["severity_mix"], "flags") == [2, 1, 1, 1]
    assert column(volume["escalation"], "escalation_rate") == pytest.approx([0.5, 0.5, 0.0])
    classifier = out["classifier"]
    assert column(classifier["daily_score"], "rolling_mean") == pytest.approx([0.7, 0.6, 0.6])
    boxes = classifier["score_quantiles"]
    assert column(boxes, "category") == ["fraud", "spam"]
    # spam [0.6, 0.7, 0.9]: p25 at rank 0.5 -> 0.65, p75 at rank 1.5 -> 0.8
    assert boxes.row(1)[1:] == pytest.approx((3, 0.6, 0.65, 0.7, 0.8, 0.9))
    assert boxes.row(0)[1:] == pytest.approx((2, 0.3, 0.35, 0.4, 0.45, 0.5))
    assert column(classifier["calibration"], "mean_score") == pytest.approx([0.55, 0.3, 0.9, 0.7])
    queue = out["queue"]
    # at midnight after day 2 only f5 is open, opened 24 h earlier (day-level data)
    assert queue["backlog"]["total"] == 1
    assert queue["backlog"]["oldest_open_hours"] == pytest.approx(24.0)
    assert (queue["sla"]["eligible"], queue["sla"]["breaches"]) == (2, 1)
    histogram = queue["resolution_histogram"]
    assert dict(zip(column(histogram, "bin_start"), column(histogram, "cases"), strict=True)) == {
        **{float(b): 0 for b in range(0, 76, 4)},
        8.0: 1,
        28.0: 1,
    }
    utilisation = queue["utilisation"]
    assert column(utilisation, "reviewer_id") == ["r1", "r2"] and column(utilisation, "handled") == [2, 1]
    assert column(utilisation, "utilisation_pct") == pytest.approx([100 * 2 / 30, 100 * 1 / 15])
    if engine == "polars":
        # the product (QueueModel, docs/staffing.md): 3 days are too few to forecast, "not enough data"
        assert queue["staffing"]["reviewers_needed"] is None and queue["staffing"]["forecast_cases_7d"] is None
    else:
        # pandas/DuckDB keep the earlier weekday-mean arithmetic as a query workload:
        # 3 days of 1 case; 7 days forecast / (7 days x 7.5 cases x 85%) = 0.11 -> 1 reviewer
        assert queue["staffing"]["reviewers_needed"] == 1
        assert queue["staffing"]["forecast_cases_7d"] == pytest.approx(7.0)


def _close(a: Any, b: Any, where: str) -> None:
    if isinstance(a, pl.DataFrame):
        common = [c for c in a.columns if c in b.columns]
        left = a.select(common).with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))
        right = b.select(common).with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))
        assert_frame_equal(left, right, check_dtypes=False, rel_tol=1e-9, abs_tol=1e-12), where
    elif isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9), (where, a, b)
    else:
        assert a == b, (where, a, b)


COMPARED: dict[str, dict[str, tuple[str, ...] | None]] = {
    "kpis": {"current": ("total_flags", "auto_blocked", "human_review", "sla_breaches", "sla_breach_rate_pct",
                         "coordinated_pct", "ml_score_first_week", "ml_score_last_week")},
    "volume": {"daily_by_category": None, "daily_by_region": None, "week_over_week": None, "escalation": None,
               "severity_mix": None, "action_mix": None,
               "automation": ("flags", "automated", "human_review", "allowed", "appealed", "overturned")},
    "classifier": {"daily_score": None, "score_quantiles": None, "calibration": None},
    "queue": {"backlog": ("total", "oldest_open_hours"), "daily_intake": None, "sla": ("eligible", "breaches"),
              "resolution_histogram": None, "utilisation": None,
              "staffing": ("current_reviewers",)},  # the polars figure is a queue simulation (#15)
}  # fmt: skip


def test_the_three_engines_agree_on_a_generated_world() -> None:
    from tspanel.synth import WorldConfig, generate_world

    world = generate_world(WorldConfig(flags=8000))
    dataset = dataset_from_frames(world.flags, world.reviewers, world.attacks, name="small world")
    results = {engine: run_engine(engine, dataset) for engine in ENGINES}
    for model, outputs in COMPARED.items():
        for name, keys in outputs.items():
            reference = results["polars"][model][name]
            for engine in ("pandas", "duckdb"):
                other = results[engine][model][name]
                where = f"{engine} {model}.{name}"
                if keys is None:
                    _close(reference, other, where)
                else:
                    for key in keys:
                        _close(reference[key], other[key], f"{where}[{key}]")
    # and the agreement is about real numbers, not two empty tables
    assert 7600 <= results["duckdb"]["kpis"]["current"]["total_flags"] <= 8400
    assert results["pandas"]["queue"]["backlog"]["total"] > 0


# --------------------------------------------------------------------------- the CLI

BENCH_KEYS = {
    "flags", "load_s", "refresh_s", "filter_refresh_s", "peak_rss_mb", "payload_bytes",
    "pandas_refresh_s", "duckdb_refresh_s", "pandas_ratio", "duckdb_ratio",
}  # fmt: skip


def test_bench_cli_prints_the_measurements_as_json(capsys) -> None:
    assert main(["bench", "--flags", "20000", "--runs", "2", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result.keys() >= BENCH_KEYS
    assert 19_000 <= result["flags"] <= 21_000
    assert result["in_memory"] is True and result["engines_agree"] is True
    for key in ("load_s", "refresh_s", "filter_refresh_s", "pandas_refresh_s", "duckdb_refresh_s"):
        assert 0 < result[key] < 60, key
    # the ratios come from the round-robin runs, Polars timed between the other engines
    assert result["pandas_ratio"] == pytest.approx(result["pandas_refresh_s"] / result["polars_round_robin_s"])
    assert result["duckdb_ratio"] == pytest.approx(result["duckdb_refresh_s"] / result["polars_round_robin_s"])
    assert len(result["refresh_runs_s"]) == 2 and len(result["filter_refresh_runs_s"]) == 2
    assert len(result["pandas_refresh_runs_s"]) == len(result["duckdb_refresh_runs_s"]) == 2
    assert 0 < result["payload_bytes"] < 1_000_000
    assert result["peak_rss_mb"] > 50
    assert "bench: loaded" in captured.err and "full refresh: median" in captured.err


def test_bench_says_how_to_install_a_missing_engine(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "duckdb", None)  # makes `import duckdb` fail
    assert main(["bench", "--runs", "1"]) == 2
    err = capsys.readouterr().err
    assert "duckdb" in err and "pip install 'tspanel[bench]'" in err and "--engines polars" in err
    assert "Traceback" not in err


def test_bench_rejects_bad_arguments(capsys, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["bench", "--runs", "0"])
    assert info.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err
    assert main(["bench", "--data", str(tmp_path / "nowhere")]) == 2
    assert "no such directory" in capsys.readouterr().err
    assert main(["bench", "--engines", "polars,spark", "--runs", "1"]) == 2
    assert "unknown engine(s) spark" in capsys.readouterr().err


# --------------------------------------------------------------------------- the result cache


@pytest.fixture
def fresh_cache():
    RESULTS.clear()
    yield RESULTS
    RESULTS.clear()


def test_sessions_with_the_same_filters_share_one_computation(fresh_cache) -> None:
    dataset = hand_made()
    first = Dashboard(dataset, Filters(categories=["spam"])).refresh()
    second = Dashboard(dataset, Filters(categories=["spam"])).refresh()  # another session
    assert (fresh_cache.misses, fresh_cache.hits) == (1, 1)
    assert first["kpis"]["current"]["total_flags"] == second["kpis"]["current"]["total_flags"] == 3
    second["kpis"]["current"]["total_flags"] = -1  # a session editing its copy...
    third = Dashboard(dataset, Filters(categories=["spam"])).refresh()
    assert third["kpis"]["current"]["total_flags"] == 3  # ...does not change what others get


def test_a_filter_or_parameter_change_is_a_different_result(fresh_cache) -> None:
    board = Dashboard(hand_made())
    assert board.refresh()["kpis"]["current"]["total_flags"] == 5
    board.filters.categories = ["fraud"]
    assert board.refresh()["kpis"]["current"]["total_flags"] == 2
    board.queue.sla_hours = 5.0  # f1 (30 h) and f3 (10 h) are both late now, but fraud has no reviews
    assert board.refresh()["queue"]["sla"]["breaches"] == 0
    board.filters.categories = []
    assert board.refresh()["queue"]["sla"]["breaches"] == 2
    assert fresh_cache.misses == 4 and fresh_cache.hits == 0
    assert board.refresh(only={"kpis": ["current"]}) == {"kpis": {"current": board.kpis.kpis()}}


def test_the_cache_keeps_at_most_its_bound_and_drops_the_least_recently_used() -> None:
    cache = ResultCache(max_entries=2)
    calls: list[str] = []

    def compute(key: str):
        return lambda: calls.append(key) or key.upper()

    assert cache.get_or_compute("a", compute("a")) == "A"
    assert cache.get_or_compute("b", compute("b")) == "B"
    assert cache.get_or_compute("a", compute("a")) == "A"  # a is now the most recent
    assert cache.get_or_compute("c", compute("c")) == "C"  # evicts b
    assert len(cache) == 2 and "a" in cache and "b" not in cache and "c" in cache
    assert cache.get_or_compute("b", compute("b")) == "B"
    assert calls == ["a", "b", "c", "b"]


def test_the_dashboard_cache_stays_within_its_bound(fresh_cache, monkeypatch) -> None:
    monkeypatch.setattr(fresh_cache, "max_entries", 3)
    dataset = hand_made()
    for day in range(5):
        Dashboard(dataset, Filters(end=MON + dt.timedelta(days=day))).refresh()
    assert len(fresh_cache) == 3


def test_concurrent_sessions_compute_a_missing_result_once() -> None:
    cache = ResultCache(max_entries=4)
    calls = []
    barrier = threading.Barrier(4)

    def slow() -> int:
        calls.append(1)
        time.sleep(0.2)
        return 42

    results: list[int] = []

    def session() -> None:
        barrier.wait()
        results.append(cache.get_or_compute("key", slow))

    threads = [threading.Thread(target=session) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [42] * 4 and len(calls) == 1


def test_results_of_a_dropped_dataset_leave_the_cache(fresh_cache) -> None:
    dataset = hand_made()
    Dashboard(dataset).refresh()
    assert len(fresh_cache) == 1
    del dataset
    gc.collect()
    assert len(fresh_cache) == 0


# --------------------------------------------------------------------------- storage and chunked validation


@pytest.fixture(scope="module")
def parquet_world(tmp_path_factory) -> Path:
    from tspanel.synth import WorldConfig, write_world

    out = tmp_path_factory.mktemp("world") / "w"
    write_world(WorldConfig(flags=6000), out, "parquet", chunk_days=10)  # 9 part files
    return out


def _storage_with_budget(monkeypatch, path: Path, megabytes: float):
    monkeypatch.setenv(source.MEMORY_BUDGET_ENV, str(megabytes))
    return load_dataset(path)


def test_the_memory_budget_picks_memory_hybrid_or_lazy_and_the_numbers_do_not_change(
    monkeypatch, parquet_world: Path
) -> None:
    size = source.estimate_size(source.scan_table(source.find_tables(parquet_world)["flags"]))
    rows = pl.scan_parquet(parquet_world / "flags" / "*.parquet").select(pl.len()).collect().item()
    assert size is not None and size.rows == rows and 0 < size.hot < size.total
    whole = _storage_with_budget(monkeypatch, parquet_world, size.total / 2**20 + 1)
    hybrid = _storage_with_budget(monkeypatch, parquet_world, (size.hot + size.total) / 2 / 2**20)
    lazy = _storage_with_budget(monkeypatch, parquet_world, size.hot / 2 / 2**20)
    assert (whole.storage, hybrid.storage, lazy.storage) == ("memory", "hybrid", "lazy")
    assert whole.in_memory is not None and hybrid.in_memory is not None and lazy.in_memory is None
    # Only when every row is in RAM does a refresh use Polars' in-memory engine (the refreshes
    # compared below therefore also compare the two engines' answers).
    assert (whole.engine, hybrid.engine, lazy.engine) == ("in-memory", "streaming", "streaming")
    # the cold text columns of the hybrid dataset come from the files, row for row
    expected = whole.flags.collect()
    assert hybrid.flags.collect().equals(expected)
    assert lazy.flags.collect().equals(expected)
    brush = {"categories": ["spam"], "start": whole.last_day - dt.timedelta(days=20)}
    for selection in ({}, brush, {"reviewers": ["R03"]}):
        reference = Dashboard(whole, Filters(**selection), use_cache=False).refresh()
        for other in (hybrid, lazy):
            result = Dashboard(other, Filters(**selection), use_cache=False).refresh()
            for model, outputs in reference.items():
                for name, value in outputs.items():
                    if isinstance(value, pl.DataFrame):
                        assert_frame_equal(value, result[model][name], rel_tol=1e-9), (other.storage, name)
                    elif isinstance(value, dict):
                        assert value.keys() == result[model][name].keys(), name


def test_a_bad_memory_budget_is_named(monkeypatch, parquet_world: Path) -> None:
    monkeypatch.setenv(source.MEMORY_BUDGET_ENV, "lots")
    with pytest.raises(DataError, match=r"TSPANEL_MEMORY_BUDGET_MB='lots' is not a number; give the budget in mega"):
        load_dataset(parquet_world)


@pytest.mark.parametrize("storage", ["memory", "hybrid", "lazy"])
def test_chunked_validation_gives_the_same_table_as_one_pass(monkeypatch, parquet_world: Path, storage: str) -> None:
    one_pass = load_dataset(parquet_world, materialise=True)
    monkeypatch.setattr(source.chunks, "VALIDATION_CHUNK_ROWS", 700)  # 9 chunks
    size = source.estimate_size(source.scan_table(source.find_tables(parquet_world)["flags"]))
    assert size is not None
    budget = {"memory": size.total * 2, "hybrid": (size.hot + size.total) / 2, "lazy": size.hot / 2}[storage]
    monkeypatch.setenv(source.MEMORY_BUDGET_ENV, str(budget / 2**20))
    chunked = load_dataset(parquet_world)
    assert chunked.storage == storage
    assert chunked.flags.collect().equals(one_pass.flags.collect())
    facts = ("n_flags", "categories", "regions", "first_day", "last_day", "columns")
    assert [getattr(chunked, f) for f in facts] == [getattr(one_pass, f) for f in facts]
    assert chunked.tables[0].columns == one_pass.tables[0].columns
    assert chunked.tables[0].empty == one_pass.tables[0].empty


def test_the_lazy_typed_copy_is_removed_with_its_dataset(monkeypatch, parquet_world: Path, tmp_path: Path) -> None:
    monkeypatch.setattr(source.chunks, "VALIDATION_CHUNK_ROWS", 1000)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    lazy = load_dataset(parquet_world, materialise=False)
    (spill,) = tmp_path.glob("tspanel-flags-*")
    rows = pl.scan_parquet(parquet_world / "flags" / "*.parquet").select(pl.len()).collect().item()
    assert len(list(spill.glob("part-*.parquet"))) == math.ceil(rows / 1000)
    assert Dashboard(lazy, use_cache=False).refresh()["kpis"]["current"]["total_flags"] == lazy.n_flags
    del lazy
    gc.collect()
    assert not spill.exists()


def _flags_dir(tmp_path: Path, frames: list[pl.DataFrame]) -> Path:
    directory = tmp_path / "ds"
    (directory / "flags").mkdir(parents=True)
    for i, frame in enumerate(frames):
        frame.write_parquet(directory / "flags" / f"part-{i}.parquet")
    pl.DataFrame(REVIEWERS).write_parquet(directory / "reviewers.parquet")
    return directory


def _chunk(first: int, n: int) -> pl.DataFrame:
    rows = [
        {"flag_id": f"f{first + i}", "date": MON, "category": "spam", "severity": "low", "action": "allow",
         "ml_score": 0.5} for i in range(n)
    ]  # fmt: skip
    return pl.DataFrame(rows)


def test_problems_found_in_a_later_chunk_are_reported_for_the_whole_table(monkeypatch, tmp_path: Path) -> None:
    bad = _chunk(100, 3).with_columns(ml_score=pl.Series([0.5, 1.5, 0.5]))
    duplicate = _chunk(0, 1)  # f0 again, in another part file
    directory = _flags_dir(tmp_path, [_chunk(0, 4), _chunk(4, 4), bad, duplicate])
    monkeypatch.setattr(source.chunks, "VALIDATION_CHUNK_ROWS", 4)
    with pytest.raises(DataError) as chunked:
        load_dataset(directory, materialise=True)
    monkeypatch.setattr(source.chunks, "VALIDATION_CHUNK_ROWS", 1_000_000)
    with pytest.raises(DataError) as whole:
        load_dataset(directory, materialise=True)
    assert str(chunked.value) == str(whole.value)
    assert "column 'ml_score': 1 row has a value outside [0, 1] (first: '1.5')" in str(chunked.value)
    assert "column 'flag_id': 2 rows share their flag_id with another row (first: 'f0')" in str(chunked.value)


def test_a_duplicate_across_chunks_alone_is_caught(monkeypatch, tmp_path: Path) -> None:
    directory = _flags_dir(tmp_path, [_chunk(0, 4), _chunk(4, 4), _chunk(7, 2)])  # f7 twice, chunks 2 and 3
    monkeypatch.setattr(source.chunks, "VALIDATION_CHUNK_ROWS", 4)
    with pytest.raises(DataError, match=r"2 rows share their flag_id with another row \(first: 'f7'\)"):
        load_dataset(directory, materialise=True)


def test_a_dataset_collected_while_the_cache_is_busy_neither_deadlocks_nor_keeps_its_results(fresh_cache) -> None:
    """A garbage collection can run the dataset's finalizer inside the cache's own locked code."""
    import gc

    from tspanel.models.cache import dataset_token

    class Data:
        pass

    holder = [Data()]
    token = dataset_token(holder[0])
    fresh_cache.get_or_compute((token, "kpis"), lambda: 1)
    fresh_cache.get_or_compute(("other", "kpis"), lambda: 2)

    def collected_inside_the_cache() -> None:
        with fresh_cache._lock:  # what a collection triggered by an allocation in there looks like
            holder.clear()
            gc.collect()

    worker = threading.Thread(target=collected_inside_the_cache, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "the finalizer deadlocked on the cache's lock"
    assert fresh_cache.get_or_compute(("other", "kpis"), lambda: 3) == 2  # next use drops the dead dataset's
    assert (token, "kpis") not in fresh_cache and ("other", "kpis") in fresh_cache
