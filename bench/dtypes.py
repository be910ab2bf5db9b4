"""What each column-type choice costs: bytes in memory and the full-refresh time, measured.

    python bench/dtypes.py --flags 10000000 --runs 3     # prints a Markdown table

Each row swaps one column of the dashboard's in-memory flags to another type, rebuilds
the index (tspanel.source.rows) and times Dashboard.refresh() (cache bypassed; median of
round-robin runs, so other load on the machine affects every variant alike).
Columns the dashboard never queries (account_age_days) are measured in bytes only.
Bytes are real buffer sizes: a string is a 16-byte view plus its bytes when longer than
12 (Polars' `estimated_size` counts only the views), a Categorical a 4-byte code, an
Enum a 1- or 2-byte code.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from tspanel.models.dashboard import Dashboard
from tspanel.source import Dataset, load_dataset
from tspanel.source.rows import FlagRows, ScoreBlocks, _with_hours


def column_bytes(series: pl.Series) -> int:
    if series.dtype == pl.String:
        lengths = series.str.len_bytes()
        return 16 * series.len() + int(lengths.filter(lengths > 12).sum() or 0)
    return series.estimated_size()


def with_frame(dataset: Dataset, frame: pl.DataFrame) -> Dataset:
    frame, hours = _with_hours(frame)
    rows = FlagRows.from_sorted(frame, ScoreBlocks.build(frame, dataset.categories), hours)
    return dataclasses.replace(dataset, in_memory=rows)


def kpi_drift(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Largest difference of the score KPIs and medians between two refreshes."""
    keys = ("ml_score_first_week", "ml_score_last_week")
    diffs = [abs(a["kpis"]["current"][k] - b["kpis"]["current"][k]) for k in keys]
    left, right = (r["classifier"]["score_quantiles"]["median"] for r in (a, b))
    diffs += [abs(x - y) for x, y in zip(left, right, strict=True)]
    return max(diffs)


Variant = tuple[str, str, Callable[[pl.Series], pl.Series], bool, str]


def variants(dataset: Dataset) -> list[Variant]:
    """(column, type, conversion from the chosen type, timed?, note); the first per column is the choice."""
    text = pl.String
    return [
        ("category", "Enum (chosen)", lambda s: s, True, "codes of the categories in the data"),
        ("category", "Categorical (contract)", lambda s: s.cast(text).cast(pl.Categorical), True, ""),
        ("category", "String", lambda s: s.cast(text), True, ""),
        ("region", "Enum (chosen)", lambda s: s, True, ""),
        ("region", "Categorical (contract)", lambda s: s.cast(text).cast(pl.Categorical), True, ""),
        ("region", "String", lambda s: s.cast(text), True, ""),
        ("reviewer_id", "Enum (chosen)", lambda s: s, True, "nulls outside human review"),
        ("reviewer_id", "Categorical (contract)", lambda s: s.cast(text).cast(pl.Categorical), True, ""),
        ("reviewer_id", "String", lambda s: s.cast(text), True, ""),
        ("severity", "Enum (contract)", lambda s: s, True, ""),
        ("severity", "String", lambda s: s.cast(text), True, ""),
        ("action", "Enum (contract)", lambda s: s, True, ""),
        ("action", "String", lambda s: s.cast(text), True, ""),
        ("ml_score", "Float64 (contract)", lambda s: s, True, ""),
        ("ml_score", "Float32", lambda s: s.cast(pl.Float32), True, "drift"),
        ("resolution_hrs", "Float64 (contract)", lambda s: s, True, ""),
        ("resolution_hrs", "Float32", lambda s: s.cast(pl.Float32), True, ""),
        ("date", "Date (contract)", lambda s: s, False, "4-byte days; sorted, so a range is a slice"),
        ("date", "Datetime(us)", lambda s: s.cast(pl.Datetime("us")), False, ""),
        ("date", "String", lambda s: s.cast(text), False, "ISO text, as in CSV"),
        ("account_age_days", "Int32 (contract)", lambda s: s, False, "not read by the dashboard"),
        ("account_age_days", "Int64", lambda s: s.cast(pl.Int64), False, ""),
        ("account_age_days", "UInt16", lambda s: s.cast(pl.UInt16), False, "ages up to 179 years"),
    ]


def measure(dataset: Dataset, runs: int) -> list[dict[str, Any]]:
    """Bytes of every variant; refresh times taken round-robin (one refresh of each variant per
    round, median over the rounds) so that load from other processes hits every variant alike."""
    assert dataset.in_memory is not None
    base = dataset.in_memory.frame
    baseline = Dashboard(dataset, use_cache=False).refresh()
    rows: list[dict[str, Any]] = []
    boards: dict[int, Dashboard] = {}
    for column, label, convert, timed, note in variants(dataset):
        if column not in base.columns:
            continue
        series = convert(base[column])
        row: dict[str, Any] = {"column": column, "type": label, "mb": column_bytes(series) / 2**20, "note": note}
        if timed:
            variant = with_frame(dataset, base.with_columns(series.alias(column)))
            boards[len(rows)] = Dashboard(variant, use_cache=False)
            if note == "drift":
                drift = kpi_drift(baseline, boards[len(rows)].refresh())
                row["note"] = f"score KPIs and medians move by up to {drift:.1e}"
        rows.append(row)
    times: dict[int, list[float]] = {i: [] for i in boards}
    for round_ in range(runs + 1):
        for i, board in boards.items():
            start = time.perf_counter()
            board.refresh()
            if round_:  # the first round warms up
                times[i].append(time.perf_counter() - start)
    for i, measured in times.items():
        rows[i]["refresh_s"] = statistics.median(measured)
    for row in rows:
        timing = f", {row['refresh_s']:.3f} s" if "refresh_s" in row else ""
        print(f"dtypes: {row['column']} as {row['type']}: {row['mb']:.1f} MB{timing}", file=sys.stderr, flush=True)
    return rows


def markdown(rows: list[dict[str, Any]], flags: int) -> str:
    lines = [
        f"| column | type | MB at {flags:,} flags | full refresh (s) | note |",
        "|:--|:--|---:|---:|:--|",
    ]
    for row in rows:
        refresh = f"{row['refresh_s']:.3f}" if "refresh_s" in row else "–"
        lines.append(f"| {row['column']} | {row['type']} | {row['mb']:,.1f} | {refresh} | {row['note']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--data", type=Path, help="a dataset directory")
    source.add_argument("--flags", type=int, default=1_000_000, help="generate a world of about N flags")
    parser.add_argument("--runs", type=int, default=5, help="round-robin rounds (median)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tspanel-dtypes-") as tmp:
        path = args.data
        if path is None:
            from tspanel.synth import WorldConfig, write_world

            path = Path(tmp) / "world"
            write_world(WorldConfig(flags=args.flags), path, "parquet")
        dataset = load_dataset(path, materialise=True)
        print(markdown(measure(dataset, args.runs), dataset.n_flags), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
