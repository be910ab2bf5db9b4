"""The rollup engines at scale: wall time, rows/s, peak RSS and output size of `tspanel rollup`.

For each size, generates a Parquet world (`tspanel generate --flags N --format parquet`, kept in
--data-dir so the next run reuses it), runs `tspanel rollup --engine E` in a subprocess per engine,
samples the RSS of the whole process tree (Spark's JVM is a child of the Python driver) and times
the phases from the command's own progress lines (Spark: session start, then the facts and the
signals query). When Polars and Spark both ran at a size, their outputs are compared day by day
(keys and counts exactly, float sums to a relative 1e-9) and their KPI totals printed.

With two sizes the table ends with a linear fit per engine, wall = fixed + N / throughput: the
fixed part (process, JVM and plan start) and the per-row part, which is what a cluster divides.

    python bench/rollup.py                                  # 200k and 1M flags, polars and spark
    python bench/rollup.py --flags 10000000 100000000 --data-dir /tmp/rollup-bench --json out.json \
        --spark-conf spark.driver.memory=6g
    python bench/rollup.py --flags 1000000 --engines polars --polars-engine in-memory
    python bench/rollup.py --compare DIR/rollup-polars-100000000 DIR/rollup-spark-100000000

Timings depend on the machine's load: the load average is recorded with every run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import polars as pl
import psutil

from tspanel.rollup import spec

ENGINES = ("polars", "spark")
SUM_COLUMNS = ("score_sum", "score_sq_sum", "hours_sum")
# Phases of a run, from the first progress line that starts with each prefix (tspanel.cli.rollup).
PHASES = {
    "spark": (
        ("starting Spark", "start"),
        ("Spark: computing the facts", "facts"),
        ("Spark: computing the signals", "signals"),
    ),
    "polars": (("loading and validating", "load"), ("Polars: computing", "rollup")),
}


def sample_tree(proc: psutil.Process, cpu: dict[int, float]) -> int:
    """Resident bytes of a process and all its descendants (Spark's JVM is one); records each
    process's CPU seconds (user + system) in ``cpu`` by pid, so the run's CPU time survives their exit."""
    total = 0
    for p in (proc, *proc.children(recursive=True)):
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
            times = p.cpu_times()
            cpu[p.pid] = max(cpu.get(p.pid, 0.0), times.user + times.system)
    return total


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def tspanel(*args: str) -> list[str]:
    return [sys.executable, "-m", "tspanel", *args]


def generate(flags: int, data_dir: Path, seed: int) -> tuple[Path, float | None]:
    """A Parquet world of about `flags` flags in data_dir (reused if there); seconds it took, or None."""
    world = data_dir / f"world-{flags}-seed{seed}"
    if (world / "flags").is_dir() and (world / "reviewers.parquet").is_file():
        return world, None
    started = time.perf_counter()
    subprocess.run(
        tspanel("generate", str(world), "--flags", str(flags), "--seed", str(seed), "--format", "parquet", "--force"),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return world, time.perf_counter() - started


def run_rollup(engine: str, world: Path, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One `tspanel rollup` run: wall seconds, phase seconds, peak tree RSS, output bytes and rows."""
    if out.exists():
        shutil.rmtree(out)
    cmd = tspanel("rollup", "--engine", engine, str(world), str(out))
    if engine == "spark":
        cmd[4:4] = ["--master", args.master, *(x for kv in args.spark_conf for x in ("--conf", kv))]
    else:
        cmd[4:4] = ["--polars-engine", args.polars_engine]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    marks: dict[str, float] = {}
    errors: list[str] = []

    def read_progress() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            for prefix, name in PHASES[engine]:
                if line.startswith(prefix) and name not in marks:
                    marks[name] = time.perf_counter() - started
            errors.append(line)

    reader = threading.Thread(target=read_progress, daemon=True)
    reader.start()
    peak = 0
    cpu: dict[int, float] = {}
    while proc.poll() is None:
        peak = max(peak, sample_tree(ps, cpu))
        time.sleep(0.2)
    wall = time.perf_counter() - started
    cpu_s = sum(cpu.values())
    reader.join()
    if proc.returncode != 0:  # e.g. out of memory: recorded, and the other runs go on
        tail = "".join(errors[-5:]).strip()
        print(f"{' '.join(cmd)} failed ({proc.returncode}) after {wall:.0f} s:\n{tail}", file=sys.stderr)
        return {
            "engine": engine,
            "failed": proc.returncode,
            "wall_s": round(wall, 1),
            "peak_rss_mb": round(peak / 2**20),
        }
    about = json.loads((out / "rollup.json").read_text())
    names = [name for _, name in PHASES[engine]]
    phases = {}
    for i, name in enumerate(names):
        if name in marks:
            end = marks.get(names[i + 1], wall) if i + 1 < len(names) else wall
            phases[name] = round(end - marks[name], 1)
    return {
        "engine": engine,
        "flags": about["flags"],
        "wall_s": round(wall, 1),
        "rows_per_s": round(about["flags"] / wall),
        "cpu_s": round(cpu_s, 1),
        "rows_per_cpu_s": round(about["flags"] / cpu_s) if cpu_s else None,
        "phases_s": phases,
        "peak_rss_mb": round(peak / 2**20),
        "out_mb": round(dir_bytes(out) / 2**20, 1),
        "facts_rows": about["facts_rows"],
        "signals_rows": about["signals_rows"],
        "load_before": round(load_before, 1),
        "load_after": round(os.getloadavg()[0], 1),
    }


def kpis(out: Path) -> dict[str, int]:
    facts = pl.scan_parquet(out / "facts.parquet")
    row = (
        facts.select(pl.col("n", "over_sla", "coordinated", "appealed", "overturned").sum())
        .collect()
        .row(0, named=True)
    )
    return {k: int(v) for k, v in row.items()}


def compare(left: Path, right: Path) -> dict[str, Any]:
    """Two rollup directories hold the same rows: day by day, so memory stays bounded at any size."""
    days = pl.scan_parquet(left / "facts.parquet").select(pl.col("day").unique()).collect()["day"].sort()
    other_days = pl.scan_parquet(right / "facts.parquet").select(pl.col("day").unique()).collect()["day"].sort()
    if not days.equals(other_days):
        return {"same": False, "why": "different days"}
    for name, keys in (("facts", spec.FACT_KEYS), ("signals", spec.SIGNAL_KEYS)):
        for day in days:
            a, b = (
                pl.scan_parquet(d / f"{name}.parquet")
                .filter(pl.col("day") == day)
                .collect()
                .sort(list(keys), nulls_last=True)
                for d in (left, right)
            )
            sums = [c for c in SUM_COLUMNS if c in a.columns]
            if a.drop(sums).equals(b.drop(sums)) is False:
                return {"same": False, "why": f"{name} differ on {day}"}
            for column in sums:
                x, y = a[column].to_numpy(), b[column].to_numpy()
                scale = max(1.0, float(abs(x).max()) if len(x) else 1.0)
                if len(x) and float(abs(x - y).max()) > 1e-9 * scale:
                    return {"same": False, "why": f"{name}.{column} differs on {day}"}
    return {"same": True, "days": len(days), "kpis_left": kpis(left), "kpis_right": kpis(right)}


def fit(results: list[dict[str, Any]], engine: str, measure: str = "wall_s") -> dict[str, float] | None:
    """measure = fixed + flags / rate through the smallest and largest size of an engine.

    On wall time: the start-up (process, JVM, plan) and the marginal rows/s; on CPU time (less
    sensitive to a shared machine): the start-up CPU and the marginal rows per CPU second,
    which is what a cluster multiplies by its cores.
    """
    runs = sorted((r for r in results if r["engine"] == engine and "failed" not in r), key=lambda r: r["flags"])
    if len(runs) < 2 or runs[-1]["flags"] == runs[0]["flags"]:
        return None
    small, large = runs[0], runs[-1]
    per_row = (large[measure] - small[measure]) / (large["flags"] - small["flags"])
    fixed = small[measure] - per_row * small["flags"]
    return {"fixed": round(fixed, 1), "marginal_rows_per_s": round(1 / per_row) if per_row > 0 else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flags", type=int, nargs="+", default=[200_000, 1_000_000], metavar="N", help="world sizes")
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--master", default="local[2]", help="Spark master (default: local[2])")
    parser.add_argument(
        "--spark-conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="passed to tspanel rollup --conf (repeatable; e.g. spark.driver.memory=6g for 100M flags)",
    )
    parser.add_argument(
        "--polars-engine",
        choices=("streaming", "in-memory"),
        default="streaming",
        help="Polars' engine for the rollup (tspanel rollup --polars-engine; default: streaming)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-dir", type=Path, help="keep generated worlds and rollups here (default: a temp dir)")
    parser.add_argument("--no-compare", dest="compare", action="store_false", help="skip the Polars = Spark check")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--compare",
        dest="compare_dirs",
        nargs=2,
        type=Path,
        metavar=("LEFT", "RIGHT"),
        help="only compare two rollup directories written earlier (e.g. by runs of different sizes' sessions)",
    )
    args = parser.parse_args()
    if args.compare_dirs:
        check = compare(*args.compare_dirs)
        print(json.dumps(check))
        raise SystemExit(0 if check["same"] else 1)

    results: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="tspanel-rollup-bench-") as tmp:
        root = args.data_dir or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        for flags in args.flags:
            world, gen_s = generate(flags, root, args.seed)
            if gen_s is not None:
                print(f"generated {world} in {gen_s:.1f} s ({dir_bytes(world / 'flags') / 2**20:.0f} MB)", flush=True)
            outs = {}
            for engine in args.engines:
                outs[engine] = root / f"rollup-{engine}-{flags}"
                result = run_rollup(engine, world, outs[engine], args)
                result["generate_s"] = None if gen_s is None else round(gen_s, 1)
                result["flags_asked"] = flags
                results.append(result)
                print(json.dumps(result), flush=True)
            ok = [r["engine"] for r in results if r["flags_asked"] == flags and "failed" not in r]
            if args.compare and set(ok) == set(ENGINES):
                check = {"flags": flags, **compare(outs["polars"], outs["spark"])}
                checks.append(check)
                print(json.dumps(check), flush=True)

    print(
        f"\n{'engine':<8} {'flags':>12} {'wall s':>8} {'rows/s':>11} {'CPU s':>8} {'rows/CPU s':>11} "
        f"{'peak RSS MB':>12} {'out MB':>8} "
        f"{'fact rows':>11} {'load':>9}  phases (s)"
    )
    for r in results:
        if "failed" in r:
            print(
                f"{r['engine']:<8} {r['flags_asked']:>12,} FAILED (exit {r['failed']}) after {r['wall_s']} s, "
                f"peak RSS {r['peak_rss_mb']:,} MB"
            )
            continue
        phases = ", ".join(f"{k} {v}" for k, v in r["phases_s"].items())
        print(
            f"{r['engine']:<8} {r['flags']:>12,} {r['wall_s']:>8} {r['rows_per_s']:>11,} {r['cpu_s']:>8} "
            f"{r['rows_per_cpu_s'] or 0:>11,} {r['peak_rss_mb']:>12,} "
            f"{r['out_mb']:>8} {r['facts_rows']:>11,} {r['load_before']:>4}-{r['load_after']:<4}  {phases}"
        )
    fits = {}
    for engine in args.engines:
        for measure in ("wall_s", "cpu_s"):
            if f := fit(results, engine, measure):
                fits[f"{engine} {measure}"] = f
                print(
                    f"{engine}: {measure} = {f['fixed']} fixed + flags / {f['marginal_rows_per_s'] or 'n/a'} "
                    "(two-point fit)"
                )
    for check in checks:
        print(
            f"{check['flags']:,} flags: Polars and Spark rollups {'identical' if check['same'] else 'DIFFER'}"
            + (f" ({check.get('why')})" if not check["same"] else f", KPI totals {check['kpis_left']}")
        )
    if args.json:
        args.json.write_text(json.dumps({"results": results, "fits": fits, "checks": checks}, indent=2) + "\n")
    if any(not c["same"] for c in checks):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
