"""Shared fixtures: dataset directories on disk."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[1]
LEGACY_SAMPLE = REPO / "data" / "legacy_sample"

# A valid minimal table of each kind, as CSV text.
FLAGS_CSV = (
    "flag_id,date,category,severity,action,ml_score\n"
    "f1,2026-01-01,spam,low,allow,0.5\n"
    "f2,2026-01-02,fraud,high,auto_block,0.9\n"
)
REVIEWERS_CSV = "reviewer_id,capacity_per_day\nR1,40\n"

Table = str | bytes | pl.DataFrame | None
MakeDataset = Callable[..., Path]


@pytest.fixture(scope="session")
def generated_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3,000-flag synthetic world written as CSV by `tspanel generate` (for servers under test)."""
    out = tmp_path_factory.mktemp("generated") / "data"
    subprocess.run(
        [sys.executable, "-m", "tspanel", "generate", str(out), "--flags", "3000", "--format", "csv", "-q"],
        check=True,
    )
    return out


@pytest.fixture
def legacy_dir() -> Path:
    """data/legacy_sample: 48 flags in the earlier Streamlit layout (see its README.md)."""
    return LEGACY_SAMPLE


@pytest.fixture
def make_dataset(tmp_path: Path) -> MakeDataset:
    """Write a dataset directory and return its path.

    Each table is CSV text (str or bytes, written as NAME.csv), a DataFrame (written as
    NAME.parquet) or None (not written). flags and reviewers default to small valid tables.
    """
    counter = iter(range(1_000_000))

    def make(flags: Table = FLAGS_CSV, reviewers: Table = REVIEWERS_CSV, attacks: Table = None) -> Path:
        directory = tmp_path / f"dataset{next(counter)}"
        directory.mkdir()
        for name, table in (("flags", flags), ("reviewers", reviewers), ("attacks", attacks)):
            if isinstance(table, pl.DataFrame):
                table.write_parquet(directory / f"{name}.parquet")
            elif isinstance(table, str):
                (directory / f"{name}.csv").write_text(table, encoding="utf-8")
            elif isinstance(table, bytes):
                (directory / f"{name}.csv").write_bytes(table)
        return directory

    return make


@pytest.fixture
def append_day() -> Callable[[Path, Path], None]:
    """Add a part holding the last day's flags again, one day later, moved in whole (as an export job would)."""

    def append(data: Path, tmp: Path) -> None:
        flags = pl.read_parquet(data / "flags")
        last = flags.filter(pl.col("date") == flags["date"].max())
        day = last.with_columns(
            pl.col("date", "created_at", "assigned_at", "resolved_at") + pl.duration(days=1),
            ("N" + pl.col("flag_id")).alias("flag_id"),
        )
        staged = tmp / "part-00001.parquet"
        day.write_parquet(staged)
        os.replace(staged, data / "flags" / "part-00001.parquet")

    return append
