"""Where a refresh spends its time: every output of Dashboard.refresh() timed on its own.

    python bench/outputs.py --data DIR [--runs 15] [--category spam]

Prints one line per output (best of --runs, so load from other processes matters less),
their sum, and the whole refresh (one collect_all). Profile before changing a query.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tspanel.models.base import collect_outputs
from tspanel.models.dashboard import Dashboard
from tspanel.models.filters import Filters
from tspanel.source import load_dataset


def best(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="a dataset directory")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--category", action="append", default=[], help="profile with this category selected")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    dataset = load_dataset(args.data)
    storage = getattr(dataset, "storage", "memory")  # getattr: also profiles trees older than storage modes
    print(f"loaded {dataset.n_flags:,} flags ({storage}) in {time.perf_counter() - started:.1f} s")
    board = Dashboard(dataset, Filters(categories=args.category))
    if "use_cache" in board.param:
        board.use_cache = False
    rows = []
    for model_name, model in board.models().items():
        for name, spec in model.queries().items():
            rows.append((best(lambda spec=spec, name=name: collect_outputs({name: spec}), args.runs), model_name, name))
    print("| output | best of runs (ms) |\n|:--|---:|")
    for seconds, model_name, name in sorted(rows, reverse=True):
        print(f"| {model_name}.{name} | {seconds * 1000:.1f} |")
    print(f"| sum of the outputs alone | {sum(r[0] for r in rows) * 1000:.1f} |")
    print(f"| Dashboard.refresh() (one collect_all) | {best(board.refresh, args.runs) * 1000:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
