"""Staffing benchmark: forecast backtest errors, the built-in recommendation, generation timings.

Run from the repository root:

    python bench/staffing.py              # the figures quoted in docs/staffing.md (about a minute)
    python bench/staffing.py --seeds 2    # fewer extra worlds
    python bench/staffing.py --big 10000000   # also time generating a 10M-flag world (no writing)

Forecast errors: rolling weekly origins over each world's daily human-review arrivals (train
on everything before the origin, forecast the 7 days after it), both methods, nothing tuned
per world. Worlds: the built-in one (seed 42), `--seeds` other seeds, and the same seeds with
no attacks (the organic process alone). Timings are wall and CPU seconds; on a shared machine
wall time depends on the neighbours, CPU time much less.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import polars as pl

from tspanel.models.dashboard import Dashboard
from tspanel.models.forecast import backtest
from tspanel.source import dataset_from_frames
from tspanel.synth import WorldConfig, generate_world
from tspanel.synth.plan import make_plan
from tspanel.synth.world import plan_chunks
from tspanel.synth.write import chunk_days_for


def daily_reviews(flags: pl.DataFrame) -> np.ndarray:
    days = flags.filter(pl.col("action") == "human_review").group_by("date").len().sort("date")
    return days["len"].to_numpy().astype(np.float64)


def timed(fn: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def forecast_table(seeds: int) -> list[dict[str, Any]]:
    worlds = [("built-in (seed 42)", WorldConfig())]
    worlds += [(f"seed {s}", WorldConfig(seed=s)) for s in range(1, seeds + 1)]
    worlds += [(f"seed {s}, no attacks", WorldConfig(seed=s, n_attacks=0)) for s in range(1, seeds + 1)]
    rows = []
    for name, config in worlds:
        bt = backtest(daily_reviews(generate_world(config).flags))
        for row in bt.errors.iter_rows(named=True):
            rows.append({"world": name, **row, "chosen": row["method"] == bt.best})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=4, help="other seeds besides 42 (default 4)")
    parser.add_argument("--big", type=int, default=0, help="also time generating a world of this many flags")
    args = parser.parse_args()

    world, wall, cpu = timed(lambda: generate_world(WorldConfig()))
    print(f"default world: {world.flags.height:,} flags generated in {wall:.2f} s wall, {cpu:.2f} s CPU")

    rows = forecast_table(args.seeds)
    print("\n| world | method | origins | MAPE per day | MASE | MAPE of the weekly total | chosen |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        fmt = lambda v, d=1: "n/a" if v is None else f"{v:.{d}f}"  # noqa: E731
        print(
            f"| {r['world']} | {r['method']} | {r['origins']} | {fmt(r['mape_pct'])}% | {fmt(r['mase'], 2)} "
            f"| {fmt(r['weekly_mape_pct'])}% | {'yes' if r['chosen'] else ''} |"
        )
    by_method = pl.DataFrame(rows).group_by("method").agg(pl.col("mape_pct").mean(), pl.col("mase").mean())
    for method, mape, mase in by_method.sort("method").iter_rows():
        print(f"mean over worlds, {method}: MAPE {mape:.1f}%, MASE {mase:.2f}")

    dataset = dataset_from_frames(world.flags, world.reviewers, world.attacks, name="built-in")
    staffing, wall, cpu = timed(lambda: Dashboard(dataset).queue.staffing())
    print(f"\nbuilt-in recommendation ({wall:.2f} s wall, {cpu:.2f} s CPU):\n{staffing['arithmetic']}\n")
    with pl.Config(tbl_rows=30):
        print(staffing["curve"])

    if args.big:
        config = WorldConfig(flags=args.big)

        def generate_big() -> int:
            plan = make_plan(config)
            return sum(chunk.height for chunk in plan_chunks(plan, chunk_days_for(plan.expected_flags, config.days)))

        n, wall, cpu = timed(generate_big)
        print(f"\n{n:,} flags generated (queue included, not written) in {wall:.1f} s wall, {cpu:.1f} s CPU")


if __name__ == "__main__":
    main()
