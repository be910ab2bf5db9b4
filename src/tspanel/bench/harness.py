"""One benchmark run: load, full and filtered refreshes, memory, payload, and the pandas/DuckDB yardsticks.

Everything is measured in one process, in this order, so that `peak_rss_mb` is the
dashboard's own peak (load plus refreshes) before pandas and DuckDB copy the data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import math
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from tspanel.errors import TspanelError

ENGINES: tuple[str, ...] = ("polars", "pandas", "duckdb")
INSTALL_HINT = "pip install 'tspanel[bench]'"
MAX_COMPARED_FLAGS = 20_000_000  # pandas and DuckDB each copy every row: beyond this they crowd out RAM
Progress = Callable[[str], None]
STORAGE = {
    "memory": "in memory",
    "hybrid": "in memory except the text ids and hashes, which stay in the files",
    "lazy": "lazy Parquet scan: bigger than the memory budget",
}


@dataclass(frozen=True)
class BenchConfig:
    """What to measure: a dataset directory, or a synthetic world of ``flags`` flags (default: the built-in size)."""

    data: Path | None = None
    flags: int | None = None
    runs: int = 5
    engines: tuple[str, ...] = ENGINES
    seed: int = 42


def missing_engines(engines: tuple[str, ...]) -> list[str]:
    """The comparison engines asked for whose package cannot be imported."""
    missing = []
    for name in engines:
        if name == "polars":
            continue
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _median_time(fn: Callable[[], Any], runs: int) -> tuple[float, list[float]]:
    times = [_timed(fn)[0] for _ in range(runs)]
    return statistics.median(times), times


@contextlib.contextmanager
def _dataset_dir(config: BenchConfig, progress: Progress, out: dict[str, Any]) -> Iterator[Path]:
    """The dataset to load: --data as given, else a synthetic world written to a temporary directory.

    The world goes through Parquet on disk even when small, so `load_s` always measures
    the loader users run (files -> validated, indexed dataset).
    """
    if config.data is not None:
        yield config.data
        return
    from tspanel.synth import WorldConfig, expected_flags, write_world

    world = WorldConfig(seed=config.seed, flags=config.flags)
    with tempfile.TemporaryDirectory(prefix="tspanel-bench-") as tmp:
        target = Path(tmp) / "world"
        progress(f"generating about {expected_flags(world):,.0f} flags (seed {config.seed}) in {target}")
        out["generate_s"], _ = _timed(lambda: write_world(world, target, "parquet"))
        yield target


def _filter_changes(dataset: Any, runs: int) -> list[dict[str, Any]]:
    """The selections of the filter-change runs: a click on each category in turn, then the
    last four weeks brushed with it (what a reviewer lead does first)."""
    brush = max(dataset.first_day, dataset.last_day - dt.timedelta(days=27))
    changes = []
    for i in range(runs):
        category = dataset.categories[i % len(dataset.categories)]
        change: dict[str, Any] = {"categories": [category]}
        if i % 2:
            change.update(start=brush, end=dataset.last_day)
        changes.append(change)
    return changes


def _key_numbers(result: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A few outputs every engine must reproduce, as plain numbers, to prove the comparison is honest."""
    kpis = result["kpis"]["current"]
    quantiles = result["classifier"]["score_quantiles"]
    medians = quantiles["median"] if isinstance(quantiles, pl.DataFrame) else quantiles["median"].to_numpy()
    # pandas and DuckDB also keep the earlier weekday-mean arithmetic as "staffing"; their
    # "staffing_plan" is what QueueModel's "staffing" is: the forecast and queue re-simulation.
    plan = result["queue"].get("staffing_plan", result["queue"]["staffing"])
    return {
        "reviewers_needed": float(plan["reviewers_needed"] or 0),
        "forecast_cases_7d": float(plan["forecast_cases_7d"] or 0.0),
        "expected_breach_pct_at_roster": float(plan.get("expected_breach_pct_at_roster") or 0.0),
        "total_flags": int(kpis["total_flags"]),
        "sla_breaches": int(kpis["sla_breaches"]),
        "ml_score_last_week": float(kpis["ml_score_last_week"] or 0.0),
        "backlog": int(result["queue"]["backlog"]["total"]),
        "median_score_sum": float(sum(medians)),
    }


def run_bench(config: BenchConfig, progress: Progress = lambda message: None) -> dict[str, Any]:
    """Measure everything; returns the JSON-ready result (see docs/performance.md for each key)."""
    from tspanel.models.dashboard import Dashboard
    from tspanel.models.filters import Filters
    from tspanel.source import load_dataset, memory_budget

    if config.runs < 1:
        raise TspanelError(f"--runs must be at least 1 (got {config.runs})")
    unknown = [name for name in config.engines if name not in ENGINES]
    if unknown:
        raise TspanelError(f"unknown engine(s) {', '.join(unknown)}; choose from {', '.join(ENGINES)}")
    if missing := missing_engines(config.engines):
        names = " and ".join(missing)
        kept = ",".join(name for name in config.engines if name not in missing)
        raise TspanelError(
            f"the {names} comparison needs the bench extra, which is not installed: {INSTALL_HINT} "
            f"(from a checkout: pip install -e '.[bench]'), or leave it out with --engines {kept}"
        )

    out: dict[str, Any] = {"runs": config.runs}
    with _dataset_dir(config, progress, out) as directory:
        progress(f"loading {directory}")
        out["load_s"], dataset = _timed(lambda: load_dataset(directory))
        in_memory = dataset.in_memory is not None
        out.update(
            dataset=str(config.data) if config.data is not None else f"synthetic world (seed {config.seed})",
            flags=dataset.n_flags,
            days=(dataset.last_day - dataset.first_day).days + 1,
            in_memory=in_memory,
            storage=dataset.storage,
            memory_budget_mb=round(memory_budget() / 2**20),
        )
        progress(f"loaded {dataset.n_flags:,} flags in {out['load_s']:.2f} s ({STORAGE[dataset.storage]})")

        board = Dashboard(dataset, use_cache=False)
        warmup, result = _timed(board.refresh)
        out["first_refresh_s"] = warmup
        progress(f"first full refresh {warmup:.3f} s; timing {config.runs} more")
        out["refresh_s"], out["refresh_runs_s"] = _median_time(board.refresh, config.runs)
        progress(f"full refresh: median {out['refresh_s']:.3f} s")

        filtered: list[float] = []
        for change in _filter_changes(dataset, config.runs):
            filtered.append(_timed(Dashboard(dataset, Filters(**change), use_cache=False).refresh)[0])
        out["filter_refresh_s"], out["filter_refresh_runs_s"] = statistics.median(filtered), filtered
        progress(f"refresh after a filter change: median {out['filter_refresh_s']:.3f} s")

        shared = Dashboard(dataset)
        shared.refresh()
        out["cached_refresh_s"], _ = _timed(Dashboard(dataset).refresh)  # a second session, same filters
        out["peak_rss_mb"] = round(peak_rss_mb(), 1)
        out["rss_mb"] = round(rss_mb(), 1)

        from tspanel.bench.payload import payload_breakdown

        breakdown = payload_breakdown(result)
        out["payload_bytes"] = sum(breakdown.values())
        out["payload_largest"] = dict(sorted(breakdown.items(), key=lambda kv: -kv[1])[:3])
        progress(f"peak RSS {out['peak_rss_mb']:,.0f} MB; payload {out['payload_bytes'] / 1024:,.0f} kB per refresh")

        out.update(_compare(dataset, result, config, in_memory, progress))
    out["conditions"] = conditions()
    return out


def _compare(dataset: Any, result: dict[str, Any], config: BenchConfig, in_memory: bool, progress: Progress) -> dict:
    """pandas and DuckDB on the same rows, same outputs: times and ratios (engine time / Polars time).

    The timed runs go round-robin (Polars, pandas, DuckDB, Polars, ...) so that load from
    other processes on the machine hits every engine alike; the ratios divide by the
    Polars median of these same rounds (`polars_round_robin_s`).
    """
    from tspanel.models.dashboard import Dashboard

    out: dict[str, Any] = {f"{name}_refresh_s": None for name in ENGINES if name != "polars"}
    out.update({f"{name}_ratio": None for name in ENGINES if name != "polars"})
    others = [name for name in config.engines if name != "polars"]
    if not others:
        return out
    if not in_memory or dataset.n_flags > MAX_COMPARED_FLAGS:
        why = "the flags are a lazy scan" if not in_memory else f"more than {MAX_COMPARED_FLAGS:,} flags"
        out["engines_skipped"] = f"{why}: pandas and DuckDB would each need a full in-memory copy; skipped"
        progress(out["engines_skipped"])
        return out
    computes: dict[str, Callable[[], Any]] = {"polars": Dashboard(dataset, use_cache=False).refresh}
    agree = _load_engines(dataset, others, _key_numbers(result), computes, out, progress)
    rounds = config.runs if max(out[f"{name}_load_s"] for name in others) < 60 else 1
    times: dict[str, list[float]] = {name: [] for name in computes}
    progress(f"timing {rounds} round(s) of {', '.join(computes)} in turn")
    for _ in range(rounds):
        for name, compute in computes.items():
            times[name].append(_timed(compute)[0])
    polars = statistics.median(times["polars"])
    out["polars_round_robin_s"] = polars
    for name in others:
        seconds = statistics.median(times[name])
        out[f"{name}_refresh_s"], out[f"{name}_refresh_runs_s"] = seconds, times[name]
        out[f"{name}_ratio"] = seconds / polars if polars else None
        progress(f"{name}: full refresh median {seconds:.3f} s ({out[f'{name}_ratio']:.1f}x the Polars time)")
    out["engines_agree"] = agree
    return out


def _load_engines(
    dataset: Any,
    names: list[str],
    expected: dict[str, Any],
    computes: dict[str, Callable[[], Any]],
    out: dict[str, Any],
    progress: Progress,
) -> bool:
    """Load the tables into each engine (adding its refresh to ``computes``); True when every
    engine's first refresh reproduces the Polars key numbers. The collected Polars copy is
    dropped on return: each engine holds its own."""
    from tspanel.bench.workload import Workload

    work = Workload.of(dataset)
    flags, reviewers = dataset.flags.collect(), dataset.reviewers.collect()
    agree = True
    for name in names:
        progress(f"{name}: loading the tables")
        out[f"{name}_load_s"], computes[name] = _timed(lambda name=name: _engine(name, flags, reviewers, work))
        first, answer = _timed(computes[name])
        agree = agree and _same_numbers(_key_numbers(answer), expected)
        progress(f"{name}: first full refresh {first:.3f} s")
    return agree


def _engine(name: str, flags: pl.DataFrame, reviewers: pl.DataFrame, work: Any) -> Callable[[], Any]:
    """Load the tables into the engine; returns the full refresh to time."""
    if name == "pandas":
        from tspanel.bench import pandas_impl

        frames = pandas_impl.prepare(flags, reviewers)
        return lambda: pandas_impl.refresh(*frames, work)
    from tspanel.bench import duckdb_impl

    con = duckdb_impl.prepare(flags, reviewers)
    return lambda: duckdb_impl.refresh(con, work)


def _same_numbers(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], rel_tol=1e-9, abs_tol=1e-12) for k in a)


def conditions() -> dict[str, Any]:
    """The machine and its load while the benchmark ran (other work on the cores skews timings)."""
    import psutil

    versions = {"python": platform.python_version(), "polars": pl.__version__}
    for name in ("pandas", "duckdb"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = module.__version__
    return {
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(terse=True),
        "versions": versions,
        "polars_threads": pl.thread_pool_size(),
    }
