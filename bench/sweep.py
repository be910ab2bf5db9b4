"""Sweep `tspanel bench` over dataset sizes; write the table into docs/performance.md and the plot.

    python bench/sweep.py                 # 42k, 1M, 10M flags, and 10M all in memory (~15 min on 2 cores)
    python bench/sweep.py --with-50m      # and 50M flags, lazy and hybrid (~30 min more, 2 GB of disk)
    python bench/sweep.py --sizes 0,1000000,10000000@4096 --runs 3
    python bench/sweep.py --sizes 0,1000000 --merge --skip-dtypes   # rerun some sizes, keep the others

A size N@MB runs with TSPANEL_MEMORY_BUDGET_MB=MB (0: the built-in world).

Each size runs `tspanel bench --flags N --json` in its own process, so every peak-memory
figure is that size's alone. The dtype table comes from bench/dtypes.py at the largest
in-memory size. Results land between the `<!-- sweep -->` and `<!-- dtypes -->` markers
of docs/performance.md, in docs/img/performance.png and in bench/sweep-results.json.
Needs the bench extra (pandas, duckdb) and matplotlib.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tspanel.bench.docblocks import replace_block

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "performance.md"
PLOT = REPO / "docs" / "img" / "performance.png"
RESULTS = REPO / "bench" / "sweep-results.json"
DEFAULT_SIZES = "0,1000000,10000000,10000000@4096"  # 0: the built-in world (about 42,000 flags)
SIZES_50M = "50000000,50000000@4096"
NOTE: dict[str, Any] = {"textcoords": "offset points", "xytext": (4, -10), "fontsize": 7}
DTYPES_MAX_FLAGS = 12_000_000  # bench/dtypes.py holds every variant of the table at once


def parse_sizes(text: str) -> list[tuple[int | None, int | None]]:
    """ "N" or "N@MB" items: flags (None for the built-in world) and a memory budget in MB (None: default)."""
    sizes = []
    for item in text.split(","):
        flags, _, budget = item.strip().partition("@")
        sizes.append((int(float(flags)) or None, int(budget) if budget else None))
    return sizes


def dataset_dir(flags: int, keep: Path) -> Path:
    """A generated world of about `flags` flags under `keep`, written once and reused."""
    path = keep / f"flags-{flags}"
    if not (path / "flags").is_dir():
        command = [sys.executable, "-m", "tspanel", "generate", str(path), "--flags", str(flags), "--format", "parquet"]
        print(f"sweep: {' '.join(command[2:])}", file=sys.stderr, flush=True)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return path


def run_size(flags: int | None, budget_mb: int | None, runs: int, engines: str, keep: Path | None) -> dict[str, Any]:
    command = [sys.executable, "-m", "tspanel", "bench", "--runs", str(runs), "--engines", engines, "--json"]
    if flags is not None:
        command[4:4] = ["--data", str(dataset_dir(flags, keep))] if keep is not None else ["--flags", str(flags)]
    env = dict(os.environ)
    if budget_mb is not None:
        env["TSPANEL_MEMORY_BUDGET_MB"] = str(budget_mb)
    budget = f" (budget {budget_mb} MB)" if budget_mb is not None else ""
    print(f"sweep: {' '.join(command[2:])}{budget}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=env)
    result = json.loads(done.stdout)
    result["wall_s"] = time.perf_counter() - started
    result["requested_flags"] = flags
    return result


def _s(value: float | None) -> str:
    return "–" if value is None else (f"{value:.3f}" if value < 10 else f"{value:.1f}")


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}×"


def table(results: list[dict[str, Any]]) -> str:
    header = (
        "| flags | held (budget MB) | load (s) | full refresh (s) | filter refresh (s) | cached (ms) "
        "| peak RSS (MB) | payload (kB) | pandas (s) | pandas / Polars | DuckDB (s) | DuckDB / Polars | load avg |\n"
        "|---:|:--|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = []
    for r in results:
        rows.append(
            f"| {r['flags']:,} | {r['storage']} ({r['memory_budget_mb']:,}) | {_s(r['load_s'])} "
            f"| {_s(r['refresh_s'])} | {_s(r['filter_refresh_s'])} "
            f"| {r['cached_refresh_s'] * 1000:.1f} | {r['peak_rss_mb']:,.0f} | {r['payload_bytes'] / 1024:,.0f} "
            f"| {_s(r['pandas_refresh_s'])} | {_x(r['pandas_ratio'])} | {_s(r['duckdb_refresh_s'])} "
            f"| {_x(r['duckdb_ratio'])} | {r['conditions']['load_average_1m']} |"
        )
    return header + "\n".join(rows) + "\n"


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    default = min(r["memory_budget_mb"] for r in results)
    line = [r for r in results if r["memory_budget_mb"] == default]  # the default budget: one line
    extra = [r for r in results if r["memory_budget_mb"] != default]  # larger budgets: points
    flags = [r["flags"] for r in line]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4), dpi=120)
    series = [
        ("Polars (tspanel), full refresh", "refresh_s", "o-", "#1f6feb"),
        ("Polars, after a filter change", "filter_refresh_s", "o--", "#58a6ff"),
        ("pandas", "pandas_refresh_s", "s-", "#d1242f"),
        ("DuckDB SQL", "duckdb_refresh_s", "^-", "#bf8700"),
    ]
    for label, key, style, colour in series:
        points = [(r["flags"], r[key]) for r in line if r.get(key) is not None]
        if points:
            left.plot(*zip(*points, strict=True), style, label=label, color=colour)
    markers = {"memory": ("D", "#8250df"), "hybrid": ("P", "#bf3989"), "lazy": ("X", "#57606a")}
    for r in extra:
        label = f"Polars, {r['storage']} ({r['memory_budget_mb']:,} MB budget)"
        marker, colour = markers[r["storage"]]
        left.plot([r["flags"]], [r["refresh_s"]], marker, color=colour, label=label)
    for r in line:  # how the default budget held each size
        left.annotate(r["storage"], (r["flags"], r["refresh_s"]), **NOTE)
    left.axhline(1.0, color="grey", lw=0.8, ls=":")
    left.text(flags[0], 1.08, "1 s", color="grey", fontsize=8)
    left.set(xscale="log", yscale="log", xlabel="flags", ylabel="seconds (median)")
    left.set_title(f"Refresh: every chart of the four tabs ({default:,} MB budget)", fontsize=10)
    left.legend(fontsize=7)
    left.grid(True, which="both", alpha=0.2)
    right.plot(flags, [r["peak_rss_mb"] for r in line], "o-", color="#1f6feb", label="peak RSS (MB)")
    payload = [r["payload_bytes"] / 1024 for r in line]
    right.plot(flags, payload, "o--", color="#2da44e", label="payload per refresh (kB)")
    for r in extra:
        marker, colour = markers[r["storage"]]
        label = f"peak RSS, {r['storage']} ({r['memory_budget_mb']:,} MB budget)"
        right.plot([r["flags"]], [r["peak_rss_mb"]], marker, color=colour, label=label)
    for r in line:
        right.annotate(r["storage"], (r["flags"], r["peak_rss_mb"]), **NOTE)
    right.axhline(2560, color="grey", lw=0.8, ls=":")
    right.text(flags[0], 2800, "2.5 GB", color="grey", fontsize=8)
    right.set(xscale="log", yscale="log", xlabel="flags")
    right.set_title("Memory and bytes sent to the browser", fontsize=10)
    right.legend(fontsize=7)
    right.grid(True, which="both", alpha=0.2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def write_docs(results: list[dict[str, Any]], runs: int, dtypes: str | None) -> None:
    plot(results, PLOT)
    doc = DOC.read_text() if DOC.exists() else "# Performance\n"
    cond = results[-1]["conditions"]
    note = (
        f"Measured {results[-1].get('date', time.strftime('%Y-%m-%d'))} by `python bench/sweep.py` on "
        f"{cond['cpus']} CPUs, {cond['memory_gb']} GB RAM, {cond['platform']}; Polars "
        f"{cond['versions'].get('polars')}, pandas {cond['versions'].get('pandas')}, DuckDB "
        f"{cond['versions'].get('duckdb')}. Medians of {runs} runs. Raw results: bench/sweep-results.json.\n\n"
    )
    doc = replace_block(doc, "sweep", note + table(results))
    if dtypes:
        doc = replace_block(doc, "dtypes", dtypes)
    DOC.write_text(doc)
    wrote = ", ".join(str(p.relative_to(REPO)) for p in (DOC, PLOT, RESULTS))
    print(f"sweep: wrote {wrote}", file=sys.stderr)


def run_dtypes(results: list[dict[str, Any]], keep: Path | None) -> str | None:
    """bench/dtypes.py at the largest size of at most DTYPES_MAX_FLAGS held in memory."""
    sized = [r for r in results if r["storage"] != "lazy" and r["requested_flags"] and r["flags"] <= DTYPES_MAX_FLAGS]
    if not sized:
        return None
    biggest = max(sized, key=lambda r: r["flags"])["requested_flags"]
    where = ["--data", str(dataset_dir(biggest, keep))] if keep else ["--flags", str(biggest)]
    command = [sys.executable, str(REPO / "bench" / "dtypes.py"), *where, "--runs", "7"]
    print(f"sweep: {' '.join(command[1:])}", file=sys.stderr, flush=True)
    return subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"comma-separated N or N@MB (default {DEFAULT_SIZES})")
    parser.add_argument("--with-50m", action="store_true", help=f"add {SIZES_50M}")
    parser.add_argument("--runs", type=int, default=5, help="timed refreshes per engine and size (median)")
    parser.add_argument("--engines", default="polars,pandas,duckdb")
    parser.add_argument("--skip-dtypes", action="store_true", help="do not rerun bench/dtypes.py")
    parser.add_argument("--no-write", action="store_true", help="print the table; leave the docs alone")
    parser.add_argument(
        "--keep-data",
        type=Path,
        metavar="DIR",
        help="generate each size once into DIR and reuse it (two budgets of one size share the files)",
    )
    parser.add_argument(
        "--merge", action="store_true", help="replace only the sizes run in bench/sweep-results.json, keep the rest"
    )
    parser.add_argument(
        "--replot", action="store_true", help="rewrite the docs and plot from bench/sweep-results.json; run nothing"
    )
    args = parser.parse_args(argv)
    if args.replot:
        write_docs(json.loads(RESULTS.read_text()), args.runs, None)
        return 0
    sizes = parse_sizes(args.sizes + ("," + SIZES_50M if args.with_50m else ""))
    results: list[dict[str, Any]] = json.loads(RESULTS.read_text()) if args.merge and RESULTS.exists() else []
    for flags, budget in sizes:
        result = run_size(flags, budget, args.runs, args.engines, args.keep_data)
        result["date"] = time.strftime("%Y-%m-%d")
        same = (result["requested_flags"], result["memory_budget_mb"])
        results = [r for r in results if (r.get("requested_flags"), r["memory_budget_mb"]) != same] + [result]
        results.sort(key=lambda r: (r["flags"], r["memory_budget_mb"]))
        if not args.no_write:  # saved as it goes: a long sweep interrupted keeps what it measured
            RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table(results))
    dtypes = None if args.skip_dtypes else run_dtypes(results, args.keep_data)
    if dtypes:
        print(dtypes)
    if not args.no_write:
        write_docs(results, args.runs, dtypes)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
