"""Writing a world to disk in day-chunks, so a 10-million-flag world needs little memory.

Categorical and enum columns are written as plain strings: the bytes then depend only on the
config (not on the process's string cache), and any tool can read the files.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, Literal

import polars as pl

from tspanel.errors import TspanelError
from tspanel.schema import TABLES
from tspanel.synth.config import WorldConfig
from tspanel.synth.plan import attacks_frame, make_plan
from tspanel.synth.world import plan_chunks

Format = Literal["csv", "parquet"]
FORMATS: tuple[str, ...] = ("csv", "parquet")
CHUNK_ROWS = 500_000  # target rows per chunk (and per parquet part file): bounds memory
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def existing_dataset(out_dir: Path) -> list[Path]:
    """The table files or directories of a dataset already in `out_dir`."""
    if not out_dir.is_dir():
        return []
    found = []
    for table in TABLES:
        for candidate in (out_dir / f"{table.name}.csv", out_dir / f"{table.name}.parquet", out_dir / table.name):
            if candidate.exists():
                found.append(candidate)
    return found


def _plain(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))


def _write(frame: pl.DataFrame, path: Path, fmt: Format) -> None:
    frame = _plain(frame)
    if fmt == "csv":
        frame.write_csv(path, datetime_format=DATETIME_FORMAT)
    else:
        frame.write_parquet(path)


def _report(progress: Callable[[int, int], None] | None, chunks_done: int, chunk_days: int, days: int) -> None:
    if progress is not None:
        progress(min(chunks_done * chunk_days, days), days)


def chunk_days_for(expected_flags: float, days: int) -> int:
    """Days per chunk so that a chunk holds about CHUNK_ROWS flags."""
    per_day = max(expected_flags / max(days, 1), 1.0)
    return max(1, min(days, math.floor(CHUNK_ROWS / per_day)))


def write_world(
    config: WorldConfig,
    out_dir: Path,
    fmt: Format = "csv",
    progress: Callable[[int, int], None] | None = None,
    *,
    overwrite: bool = False,
    chunk_days: int | None = None,
) -> dict[str, Path]:
    """Write flags, reviewers and attacks of the world to `out_dir`; return table -> path.

    csv: one `flags.csv`, appended chunk by chunk; parquet: a directory `flags/` of part files.
    `progress(days_done, days_total)` is called after each chunk. Refuses to replace an existing
    dataset unless `overwrite`. `chunk_days` defaults to about a million flags per chunk; the
    csv bytes do not depend on it.
    """
    if fmt not in FORMATS:
        raise TspanelError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise TspanelError(f"{out_dir} exists and is not a directory; choose a directory to write into")
    existing = existing_dataset(out_dir)
    if existing and not overwrite:
        names = ", ".join(p.name for p in existing)
        raise TspanelError(
            f"{out_dir} already holds a dataset ({names}); choose an empty directory or allow overwriting it (--force)"
        )
    plan = make_plan(config)
    if chunk_days is None:
        chunk_days = chunk_days_for(plan.expected_flags, config.days)
    elif not isinstance(chunk_days, int) or chunk_days < 1:
        raise TspanelError(f"chunk_days must be a positive number of days (got {chunk_days!r})")
    for path in existing:
        if path.is_dir() and any(f.is_file() and f.suffix != ".parquet" for f in path.rglob("*")):
            raise TspanelError(
                f"{path} holds files other than parquet parts; not deleting it. "
                "Remove it yourself or write to another directory"
            )
    for path in existing:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)

    written: dict[str, Path] = {}
    if fmt == "csv":
        flags_path = out_dir / "flags.csv"
        sink: BinaryIO | None = flags_path.open("wb")

        def write_chunk(i: int, chunk: pl.DataFrame) -> None:
            assert sink is not None
            _plain(chunk).write_csv(sink, include_header=i == 0, datetime_format=DATETIME_FORMAT)
    else:
        flags_path = out_dir / "flags"
        flags_path.mkdir()
        sink = None

        def write_chunk(i: int, chunk: pl.DataFrame) -> None:
            _write(chunk, flags_path / f"part-{i:05d}.parquet", fmt)

    # Write chunk i in a thread while chunk i + 1 is generated: both release the GIL for most
    # of their work, so two cores are used. Chunks are written strictly in order.
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending: Future[None] | None = None
            for i, chunk in enumerate(plan_chunks(plan, chunk_days)):
                if pending is not None:
                    pending.result()
                    _report(progress, i, chunk_days, config.days)
                pending = pool.submit(write_chunk, i, chunk)
            if pending is not None:
                pending.result()
                _report(progress, config.days, 1, config.days)
    finally:
        if sink is not None:
            sink.close()
    written["flags"] = flags_path
    for name, frame in (("reviewers", plan.reviewers), ("attacks", attacks_frame(plan))):
        path = out_dir / f"{name}.{fmt}"
        _write(frame, path, fmt)
        written[name] = path
    return written
