"""Where a full refresh's time goes, per engine: the engine's own work and the shared staffing plan.

Run from the repository root, on a dataset directory (e.g. one `tspanel bench --flags N` would
generate; `python -c "from tspanel.synth import WorldConfig, write_world; ..."` writes one):

    python bench/refresh_split.py --data DIR            # 7 rounds, Polars / pandas / DuckDB in turn
    python bench/refresh_split.py --data DIR --runs 15
    python bench/refresh_split.py --data DIR --engines polars,pandas   # without DuckDB

Why: since issue #15 every refresh's staffing output re-simulates next week's queue
(tspanel.models.staffing; its loops compiled by numba since the second pass of #19). Every
engine of `tspanel bench` computes that plan (pandas and DuckDB measure its inputs themselves,
then call the same forecast and simulation), so its time is the same on every engine and caps
the ratio of full refreshes.
This prints, per engine, the median full refresh, the median time inside the shared forecast and
simulation, the rest (the engine's own work: every aggregate and the simulation's inputs) and the
CPU time, then both ratios. The rounds run round-robin so that load from other processes hits
every engine alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tspanel.bench import duckdb_impl, pandas_impl
from tspanel.bench.workload import Workload
from tspanel.models import forecast, staffing
from tspanel.models.dashboard import Dashboard
from tspanel.source import load_dataset

SHARED = [0.0]  # seconds spent in the shared forecast and simulation since the last reset


def _count_time(module: Any, name: str) -> None:
    """Wrap module.name so its time adds to SHARED (every engine calls it through the module)."""
    original = getattr(module, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            SHARED[0] += time.perf_counter() - start

    setattr(module, name, timed)


def split(data: Path, runs: int, engines: tuple[str, ...] = ("pandas", "duckdb")) -> dict[str, Any]:
    _count_time(staffing, "plan_staffing")
    _count_time(forecast, "forecast_next_week")
    dataset = load_dataset(data)
    flags, reviewers, work = dataset.flags.collect(), dataset.reviewers.collect(), Workload.of(dataset)
    refreshes: dict[str, Callable[[], Any]] = {"polars": Dashboard(dataset, use_cache=False).refresh}
    if "pandas" in engines:
        frames = pandas_impl.prepare(flags, reviewers)
        refreshes["pandas"] = lambda: pandas_impl.refresh(*frames, work)
    if "duckdb" in engines:
        con = duckdb_impl.prepare(flags, reviewers)
        refreshes["duckdb"] = lambda: duckdb_impl.refresh(con, work)
    del flags
    for refresh in refreshes.values():
        refresh()  # warm-up
    samples: dict[str, dict[str, list[float]]] = {name: {"total": [], "shared": [], "cpu": []} for name in refreshes}
    for _ in range(runs):
        for name, refresh in refreshes.items():
            SHARED[0] = 0.0
            cpu, wall = time.process_time(), time.perf_counter()
            refresh()
            samples[name]["total"].append(time.perf_counter() - wall)
            samples[name]["cpu"].append(time.process_time() - cpu)
            samples[name]["shared"].append(SHARED[0])
    out: dict[str, Any] = {"flags": dataset.n_flags, "runs": runs}
    for name, s in samples.items():
        own = [t - shared for t, shared in zip(s["total"], s["shared"], strict=True)]
        out[name] = {
            "refresh_s": statistics.median(s["total"]),
            "shared_plan_s": statistics.median(s["shared"]),
            "own_work_s": statistics.median(own),
            "cpu_s": statistics.median(s["cpu"]),
        }
    for name in (n for n in ("pandas", "duckdb") if n in refreshes):
        out[f"{name}_ratio"] = out[name]["refresh_s"] / out["polars"]["refresh_s"]
        out[f"{name}_own_work_ratio"] = out[name]["own_work_s"] / out["polars"]["own_work_s"]
        out[f"{name}_cpu_ratio"] = out[name]["cpu_s"] / out["polars"]["cpu_s"]
    out["load_average_1m"] = round(os.getloadavg()[0], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a dataset directory (load_dataset)")
    parser.add_argument("--runs", type=int, default=7, help="round-robin rounds (default 7)")
    parser.add_argument(
        "--engines", default="pandas,duckdb", help="engines to compare with Polars (default pandas,duckdb)"
    )
    args = parser.parse_args()
    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip() and e.strip() != "polars")
    unknown = sorted(set(engines) - {"pandas", "duckdb"})
    if unknown:
        parser.error(f"unknown engine(s) {unknown}; choose from pandas, duckdb")
    print(json.dumps(split(args.data, args.runs, engines), indent=1))


if __name__ == "__main__":
    main()
