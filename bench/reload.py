"""Memory over many reloads: does a DataWatcher give back the data it replaces?

Writes a synthetic world as Parquet into a temporary directory, then `--reloads` times appends
a new part file (a copy of the last day, one day later), lets the watcher reload it, runs a
dashboard refresh and the attention rules on the new data (what sessions and the alerter do),
and samples this process's RSS. The dataset grows by one day per reload, so a flat line is not
expected: the question is whether RSS tracks the data's size or piles up old copies.

    python bench/reload.py                       # 100 reloads of the 42k-flag world
    python bench/reload.py --no-grow             # the same size every time: RSS should stay flat
    python bench/reload.py --flags 1000000 --reloads 30
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
from pathlib import Path

import polars as pl
import psutil

from tspanel.models.attention import AttentionModel
from tspanel.models.dashboard import Dashboard
from tspanel.reload import DataWatcher
from tspanel.synth import WorldConfig, write_world


def append_day(flags_dir: Path, n: int, *, grow: bool = True) -> None:
    """A new part with a copy of the newest day, one day later (grow=False: rewrite the same part)."""
    last = pl.scan_parquet(flags_dir / "part-0*.parquet" if not grow else flags_dir / "*.parquet")
    newest = last.select(pl.col("date").max()).collect().item()
    day = last.filter(pl.col("date") == newest).collect()
    by = pl.duration(days=1)
    day = day.with_columns(
        pl.col("date", "created_at", "assigned_at", "resolved_at") + by,
        (pl.lit(f"R{n}-") + pl.col("flag_id")).alias("flag_id"),
    )
    day.write_parquet(flags_dir / (f"part-r{n:05d}.parquet" if grow else "part-r.parquet"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flags", type=int, default=None, help="world size (default: the built-in ~42k)")
    parser.add_argument("--reloads", type=int, default=100)
    parser.add_argument(
        "--no-grow",
        dest="grow",
        action="store_false",
        help="rewrite one part file each time instead of appending: the data keeps its size",
    )
    parser.add_argument("--json", type=Path, help="also write the samples here")
    args = parser.parse_args()
    process = psutil.Process()
    with tempfile.TemporaryDirectory(prefix="tspanel-reload-") as tmp:
        data = Path(tmp) / "data"
        write_world(WorldConfig(flags=args.flags), data, "parquet")
        watcher = DataWatcher(data)
        first_flags = watcher.dataset.n_flags
        samples = []
        started = time.perf_counter()
        for n in range(1, args.reloads + 1):
            append_day(data / "flags", n, grow=args.grow)
            t0 = time.perf_counter()
            assert watcher.check(), "the new part was not picked up"
            reload_s = time.perf_counter() - t0
            Dashboard(watcher.dataset).refresh()
            AttentionModel(watcher.dataset).items()
            gc.collect()
            samples.append(
                {
                    "reload": n,
                    "flags": watcher.dataset.n_flags,
                    "reload_s": round(reload_s, 3),
                    "rss_mb": round(process.memory_info().rss / 2**20, 1),
                }
            )
            if n == 1 or n % 10 == 0:
                s = samples[-1]
                print(f"reload {n:4d}: {s['flags']:>9,} flags, reload {s['reload_s']:.2f} s, RSS {s['rss_mb']:.0f} MB")
        total = time.perf_counter() - started
    print(
        f"{args.reloads} reloads in {total:.0f} s; flags {first_flags:,} -> {samples[-1]['flags']:,}; "
        f"RSS {samples[0]['rss_mb']:.0f} MB after the first, {samples[-1]['rss_mb']:.0f} MB after the last"
    )
    if args.json:
        args.json.write_text(json.dumps(samples, indent=1))


if __name__ == "__main__":
    main()
