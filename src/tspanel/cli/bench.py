"""`tspanel bench`: measure load, refresh, memory and payload here, against pandas and DuckDB."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tspanel.cli._common import data_directory
from tspanel.errors import TspanelError


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "bench",
        help="measure load, refresh time, memory and chart payload; compare with pandas and DuckDB",
        description="Benchmark the dashboard on this machine: the time to load a dataset, a full refresh "
        "(every chart of the four tabs, result cache bypassed; median of --runs), a refresh after a filter "
        "change, the peak memory, and the bytes one refresh sends to the browser. The same outputs are "
        "computed with pandas and with DuckDB SQL in the same run and reported as ratios "
        "(engine time / Polars time). Progress goes to stderr. See docs/performance.md.",
        epilog="pandas and DuckDB are optional: pip install 'tspanel[bench]'. How much of the flags is held "
        "in memory follows $TSPANEL_MEMORY_BUDGET_MB (default 1024): see docs/performance.md.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--data", type=data_directory, metavar="DIR", help="dataset directory to measure (see docs/data.md)"
    )
    source.add_argument(
        "--flags",
        type=_positive,
        metavar="N",
        help="generate a synthetic world of about N flags into a temporary Parquet directory and measure it "
        "(default without --data: the built-in world, about 42,000 flags)",
    )
    parser.add_argument(
        "--runs",
        type=_positive,
        default=5,
        metavar="K",
        help="timed refreshes per engine; the median is reported (default 5)",
    )
    parser.add_argument(
        "--engines",
        default="polars,pandas,duckdb",
        metavar="LIST",
        help="comma-separated engines to run (default: polars,pandas,duckdb; polars always runs)",
    )
    parser.add_argument("--seed", type=int, default=42, help="seed of the generated world (default 42)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.set_defaults(func=run)


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f} s"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}x"


def format_table(result: dict[str, Any]) -> str:
    from tspanel.bench.harness import STORAGE

    rows = [
        ("Dataset", f"{result['dataset']}: {result['flags']:,} flags over {result['days']} days"),
        ("Held", STORAGE[result["storage"]]),
        ("Load", _seconds(result["load_s"])),
        ("Full refresh (median)", _seconds(result["refresh_s"])),
        ("Refresh after a filter change", _seconds(result["filter_refresh_s"])),
        ("Same refresh, second session (cached)", _seconds(result["cached_refresh_s"])),
        ("Peak memory (RSS)", f"{result['peak_rss_mb']:,.0f} MB"),
        ("Chart payload per refresh", f"{result['payload_bytes'] / 1024:,.1f} kB"),
        ("pandas full refresh", f"{_seconds(result['pandas_refresh_s'])} ({_ratio(result['pandas_ratio'])} Polars)"),
        ("DuckDB full refresh", f"{_seconds(result['duckdb_refresh_s'])} ({_ratio(result['duckdb_ratio'])} Polars)"),
    ]
    if "engines_agree" in result:
        rows.append(("Engines agree on key outputs", "yes" if result["engines_agree"] else "NO"))
    width = max(len(label) for label, _ in rows)
    lines = [f"  {label:<{width}}  {value}" for label, value in rows]
    cond = result["conditions"]
    lines.append(f"  ({cond['cpus']} CPUs, load average {cond['load_average_1m']} during the run)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from tspanel.bench import BenchConfig, run_bench

    engines = tuple(dict.fromkeys(["polars", *(e.strip().lower() for e in args.engines.split(",") if e.strip())]))
    if args.data is not None and not args.data.exists():
        raise TspanelError(f"--data {args.data}: no such directory")

    def progress(message: str) -> None:
        print(f"bench: {message}", file=sys.stderr, flush=True)

    config = BenchConfig(data=args.data, flags=args.flags, runs=args.runs, engines=engines, seed=args.seed)
    result = run_bench(config, progress)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print(format_table(result))
    return 0
