"""Flags table benchmark: opening the table (count + first page) and each page or sort, p50/p95.

Run from the repository root:

    tspanel generate /tmp/flags-1m --flags 1000000 --format parquet
    tspanel generate /tmp/flags-10m --flags 10000000 --format parquet
    python bench/table.py --data builtin /tmp/flags-1m /tmp/flags-10m [--repeats 15] [--json out.json]

Each dataset is loaded as `tspanel serve` loads it (storage chosen by the memory budget),
then every scenario runs --repeats times on a fresh FlagsTable (no result is reused between
runs; hybrid storage keeps the positions matching a search text, as a session would).
The first run of each scenario is reported apart (``first``): it pays the dataset's sort
order of the column, built once per process and shared by every session. Scenarios:
opening the table on everything and on an alert's day x category; pages in the data's
order at random offsets; sorted pages (first, middle, last) by ML score, time, severity
and id columns; an id search. Timings are wall-clock of the model calls, what a
session waits for before the page is sent.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from tspanel.models.filters import Filters
from tspanel.models.flags import FlagsTable
from tspanel.source import default_world, load_dataset

ALERT_DAY = dt.date(2026, 11, 18)  # the generated worlds' last attack (spam), seed 42
ALERT_CATEGORY = "spam"


def _time(fn: Callable[[], Any], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def scenarios(dataset: Any, rng: random.Random) -> dict[str, tuple[Callable[[], Any], int]]:
    """name -> (one run, repeats divisor: costly scenarios run fewer times)."""
    total = dataset.n_flags
    size = 50
    last = (total - 1) // size

    def open_all() -> None:
        table = FlagsTable(dataset, Filters())
        table.page_frame()  # counts the selection and fetches the first page

    def open_alert() -> None:
        FlagsTable(dataset, Filters(start=ALERT_DAY, end=ALERT_DAY, categories=[ALERT_CATEGORY])).page_frame()

    def page_random() -> None:
        FlagsTable(dataset, Filters(), page=rng.randint(0, last)).page_frame()

    def sorted_page(column: str, where: str, descending: bool = True) -> Callable[[], None]:
        page = {"first": 0, "middle": last // 2, "last": last}[where]
        return lambda: FlagsTable(dataset, Filters(), sort_by=column, descending=descending, page=page).page_frame()

    kept = FlagsTable(dataset, Filters(), sort_by="ml_score", descending=True, page=last // 2)

    def next_deep_page() -> None:
        kept.page = rng.randint(last // 3, 2 * last // 3)  # the order sorted for the first deep page is kept
        kept.page_frame()

    def sorted_in_category() -> None:
        filters = Filters(categories=[ALERT_CATEGORY])
        FlagsTable(dataset, filters, sort_by="ml_score", descending=True, page=rng.randint(0, 50)).page_frame()

    def search() -> None:
        FlagsTable(dataset, Filters(), search="u00a").page_frame()

    return {
        "open: everything (count + first page)": (open_all, 1),
        "open: alert day x category": (open_alert, 1),
        "page: data order, random page": (page_random, 1),
        "sort: ML score desc, first page": (sorted_page("ml_score", "first"), 1),
        "sort: ML score desc, middle page (first visit)": (sorted_page("ml_score", "middle"), 1),
        "sort: ML score desc, last page": (sorted_page("ml_score", "last"), 1),
        "sort: ML score desc, another middle page": (next_deep_page, 1),
        "sort: time desc, first page": (sorted_page("created_at", "first"), 1),
        "sort: severity, middle page": (sorted_page("severity", "middle", False), 1),
        "sort: one category by ML score, random page": (sorted_in_category, 1),
        "sort: account id desc, first page": (sorted_page("account_id", "first"), 3),
        "sort: flag id, middle page": (sorted_page("flag_id", "middle", False), 3),
        "search: id text": (search, 3),
    }


def run(path: str, repeats: int, only: list[str] | None = None) -> dict[str, Any]:
    start = time.perf_counter()
    dataset = default_world() if path == "builtin" else load_dataset(path)
    load_s = time.perf_counter() - start
    print(
        f"{dataset.name}: {dataset.n_flags:,} flags, {dataset.storage} storage, loaded in {load_s:.1f} s",
        file=sys.stderr,
    )
    rng = random.Random(14)
    results = {}
    for name, (fn, divisor) in scenarios(dataset, rng).items():
        if only and not any(text in name for text in only):
            continue
        # Warm-up, timed on its own: first-touch costs (page cache) and the dataset's shared sort
        # order of a column (built by the first sort of a large selection, once per process).
        (first,) = _time(fn, 1)
        times = _time(fn, max(3, repeats // divisor))
        results[name] = {
            "first_ms": first,
            "p50_ms": statistics.median(times),
            "p95_ms": _p95(times),
            "runs": len(times),
        }
        print(
            f"  {name:<48} first {first:7.0f} ms  p50 {results[name]['p50_ms']:7.0f} ms  "
            f"p95 {results[name]['p95_ms']:7.0f} ms",
            file=sys.stderr,
        )
    return {
        "dataset": dataset.name,
        "flags": dataset.n_flags,
        "storage": dataset.storage,
        "load_s": load_s,
        "scenarios": results,
    }


def markdown(runs: list[dict[str, Any]]) -> str:
    header = "| scenario | " + " | ".join(f"{r['flags']:,} flags ({r['storage']}) p50 / p95 ms" for r in runs) + " |"
    lines = [header, "|---" * (len(runs) + 1) + "|"]
    for name in runs[0]["scenarios"]:
        cells = [f"{r['scenarios'][name]['p50_ms']:.0f} / {r['scenarios'][name]['p95_ms']:.0f}" for r in runs]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", default=["builtin"], help="dataset directories, or 'builtin'")
    parser.add_argument("--repeats", type=int, default=15, help="runs per scenario (default 15)")
    parser.add_argument("--json", metavar="FILE", help="also write the results here")
    parser.add_argument(
        "--only", nargs="+", metavar="TEXT", help="run only the scenarios whose name contains one of the TEXTs"
    )
    args = parser.parse_args(argv)
    runs = [run(path, args.repeats, args.only) for path in args.data]
    print(markdown(runs))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(runs, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
