"""The ways to get a Dataset: a directory of files, in-memory frames, or the built-in world."""

from __future__ import annotations

import functools
import shutil
import tempfile
import weakref
from pathlib import Path

import polars as pl

from tspanel.schema import ATTACKS, FLAGS, REVIEWERS, Table
from tspanel.source.assemble import assemble
from tspanel.source.budget import choose_storage
from tspanel.source.chunks import check_in_chunks
from tspanel.source.dataset import Dataset, Storage
from tspanel.source.files import find_tables
from tspanel.source.sniff import scan_table
from tspanel.validate import TableResult, check_table


def _check(raw: pl.LazyFrame | list[str], table: Table, label: str, materialise: bool) -> TableResult:
    if isinstance(raw, list):
        return TableResult(label, None, tuple(raw))
    return check_table(raw, table, label, materialise=materialise, require_rows=table is FLAGS)


def load_dataset(path: str | Path, *, materialise: bool | None = None) -> Dataset:
    """Load and validate a dataset directory; raises DataError naming every problem found.

    Validation always runs in full, at load. What stays in memory depends on the flags'
    estimated size against :func:`memory_budget` (see :func:`choose_storage`): all of them
    (queries never re-read the files), all but the text ids and hashes (hybrid: the
    dashboard never reads those; detection reads them from the files), or nothing (every
    query scans the Parquet files, reading only the columns and row groups it needs).
    ``materialise`` forces memory (True) or lazy scans of every table (False).
    """
    directory = Path(path).expanduser()
    sources = find_tables(directory)
    results: dict[str, TableResult] = {}
    storage: Storage = "memory"
    raw_flags: pl.LazyFrame | None = None
    spill: Path | None = None
    for key, source in sources.items():
        raw = scan_table(source)
        if source.table is not FLAGS:
            results[key] = _check(raw, source.table, source.label, materialise is not False)
            continue
        storage = choose_storage(source, raw, materialise)
        if isinstance(raw, list) or source.kind == "csv":
            results[key] = _check(raw, FLAGS, source.label, storage != "lazy")
        else:
            raw_flags = raw
            spill = Path(tempfile.mkdtemp(prefix="tspanel-flags-")) if storage == "lazy" else None
            results[key] = check_in_chunks(raw, source.label, storage, spill)
    described = {key: source.describe() for key, source in sources.items()}
    try:
        dataset = assemble(results, str(directory), str(path), described, storage, raw_flags)
    except BaseException:
        if spill is not None:
            shutil.rmtree(spill, ignore_errors=True)
        raise
    if spill is not None:
        if any(spill.iterdir()):  # the typed copy lives as long as the dataset (and the process)
            weakref.finalize(dataset, shutil.rmtree, spill, ignore_errors=True)
        else:
            spill.rmdir()
    return dataset


def dataset_from_frames(
    flags: pl.DataFrame | pl.LazyFrame,
    reviewers: pl.DataFrame | pl.LazyFrame,
    attacks: pl.DataFrame | pl.LazyFrame | None = None,
    *,
    name: str,
) -> Dataset:
    """A Dataset from in-memory frames, with the same checks and casts as files get."""
    frames = {"flags": flags, "reviewers": reviewers, "attacks": attacks}
    results: dict[str, TableResult] = {}
    for table in (FLAGS, REVIEWERS, ATTACKS):
        frame = frames[table.name]
        if frame is None:
            continue
        results[table.name] = _check(frame.lazy(), table, f"{table.name} (in memory)", True)
    return assemble(results, name, name, {key: "in memory" for key in results}, "memory")


@functools.cache
def default_world() -> Dataset:
    """The built-in synthetic world (seed 42), generated in memory once per process.

    Cached for the process on purpose: it is one dataset that never changes.
    """
    from tspanel.synth import WorldConfig, generate_world

    config = WorldConfig()
    world = generate_world(config)
    return dataset_from_frames(
        world.flags, world.reviewers, world.attacks, name=f"built-in synthetic world (seed {config.seed})"
    )
