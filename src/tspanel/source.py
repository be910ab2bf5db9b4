"""Where datasets come from: a directory of CSV/Parquet files, in-memory frames, or the synthetic world.

Every route goes through the same checks (tspanel.validate) and ends in the same
`Dataset`, so the rest of the app never has to ask how the data was stored.

How much of the flags stays in memory depends on their estimated size against a memory
budget (`choose_storage`): everything, everything but the text ids and hashes (hybrid),
or nothing (lazy: queries scan a typed Parquet copy with predicate and projection
pushdown). Big Parquet flags are validated a million rows at a time, so loading needs
little more memory than what is kept. In-memory flags get a query index
(tspanel.models.rows). See docs/performance.md.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from tspanel.errors import DataError
from tspanel.models.rows import FlagRows, index_flags
from tspanel.schema import ATTACKS, FLAGS, REVIEWERS, Table
from tspanel.validate import (
    TableResult,
    ValidatedTable,
    _stripped,
    check_table,
    format_problems,
    raise_problems,
)

Storage = Literal["memory", "hybrid", "lazy"]

_SNIFF_BYTES = 64 * 1024
_PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"

VALIDATION_CHUNK_ROWS = 1_000_000  # big Parquet flags are checked this many rows at a time
MEMORY_BUDGET_ENV = "TSPANEL_MEMORY_BUDGET_MB"
DEFAULT_MEMORY_BUDGET_MB = 1024  # and at most an eighth of the machine's RAM
_SAMPLE_ROWS = 10_000
_SPILL_ROW_GROUP = 250_000  # row groups of the lazy mode's typed copy: date statistics prune them


@dataclass(frozen=True, eq=False)
class TableSource:
    """One table's files on disk: a CSV file, a Parquet file, or a directory of Parquet part files."""

    table: Table
    kind: Literal["csv", "parquet", "parquet-dir"]
    path: Path
    files: tuple[Path, ...]

    @property
    def label(self) -> str:
        """How messages name this table: the file name, or 'flags/' for a directory."""
        return f"{self.path.name}/" if self.kind == "parquet-dir" else self.path.name


@dataclass(frozen=True, eq=False)
class TableInfo:
    """What the loader found and did for one table; `tspanel validate` prints it."""

    table: str
    source: str  # e.g. "flags.csv", "flags/ (12 parquet files)", "in memory"
    rows: int
    columns: tuple[str, ...]
    derived: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    empty: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Dataset:
    """A validated dataset in the contract's dtypes (see docs/data.md), shared by every view."""

    flags: pl.LazyFrame  # canonical dtypes, only the contract columns present
    reviewers: pl.LazyFrame
    attacks: pl.LazyFrame | None
    name: str
    columns: frozenset[str]  # flag columns present
    categories: tuple[str, ...]
    regions: tuple[str, ...]  # () when there is no region column
    first_day: dt.date
    last_day: dt.date
    n_flags: int
    tables: tuple[TableInfo, ...] = ()
    # The flags as the dashboard queries them, indexed in memory (tspanel.models.rows);
    # None when they are too big for the memory budget and every query scans the files.
    in_memory: FlagRows | None = None
    storage: Storage = "memory"  # see load_dataset

    def has(self, *columns: str) -> bool:
        """True when every named flag column is present (optional columns may be absent)."""
        return all(c in self.columns for c in columns)


# --------------------------------------------------------------------------- finding files


def _candidates(directory: Path, table: Table) -> list[Path]:
    files = [directory / f"{table.name}.csv", directory / f"{table.name}.parquet"]
    return [p for p in files if p.exists()] + [p for p in [directory / table.name] if p.is_dir()]


def _parquet_parts(folder: Path) -> tuple[Path, ...]:
    """Part files of a Parquet directory, skipping hidden and marker files (.crc, _SUCCESS)."""
    parts = [
        p
        for p in folder.rglob("*.parquet")
        if p.is_file() and not any(part.startswith((".", "_")) for part in p.relative_to(folder).parts)
    ]
    return tuple(sorted(parts))


def find_table(directory: Path, table: Table) -> TableSource | None:
    """The files holding a table; None when the dataset has no such table. Raises DataError when ambiguous."""
    found = _candidates(directory, table)
    if len(found) > 1:
        names = " and ".join(f"{p.name}/" if p.is_dir() else p.name for p in found)
        raise DataError(
            f"{directory}: both {names} exist, so it is unclear which holds the {table.name} table. "
            "Keep one and move the others out of the directory."
        )
    if not found:
        return None
    path = found[0]
    if path.is_dir():
        parts = _parquet_parts(path)
        if not parts:
            raise DataError(
                f"{path.name}/ holds no .parquet files. A table directory must contain Parquet part files "
                f"(e.g. {path.name}/part-0.parquet); for CSV use a single {table.name}.csv."
            )
        return TableSource(table, "parquet-dir", path, parts)
    kind: Literal["csv", "parquet"] = "csv" if path.suffix == ".csv" else "parquet"
    return TableSource(table, kind, path, (path,))


def _missing_table_message(directory: Path, table: Table) -> str:
    near = sorted(p.name for p in directory.iterdir() if p.name.lower().startswith(table.name))
    found = f" (found: {', '.join(near)})" if near else ""
    return (
        f"{directory}: no {table.name} table{found}. Expected {table.name}.csv, {table.name}.parquet "
        f"or a directory {table.name}/ of .parquet files; see docs/data.md."
    )


def find_tables(directory: Path) -> dict[str, TableSource]:
    """Locate every table of a dataset directory; all missing or ambiguous tables are reported together."""
    if not directory.exists():
        raise DataError(f"{directory}: no such directory. Give the path of a dataset directory (see docs/data.md).")
    if not directory.is_dir():
        raise DataError(
            f"{directory} is a file, not a directory. Give the directory that holds flags and reviewers files."
        )
    sources: dict[str, TableSource] = {}
    problems: list[str] = []
    for table in (FLAGS, REVIEWERS, ATTACKS):
        try:
            source = find_table(directory, table)
        except DataError as exc:
            problems.append(str(exc))
            continue
        if source is not None:
            sources[table.name] = source
        elif table.required:
            problems.append(_missing_table_message(directory, table))
    if problems:
        raise DataError(format_problems(problems, str(directory)))
    return sources


# --------------------------------------------------------------------------- reading files


def _sniff(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(_SNIFF_BYTES)


def _check_csv_file(path: Path) -> str | None:
    """A problem with the file as a whole (empty, binary, not CSV at all), before Polars reads it."""
    head = _sniff(path)
    if not head.strip():
        return f"{path.name} is empty (no header row). Export the table as CSV with a header row."
    if head.startswith(_PARQUET_MAGIC):
        return f"{path.name} is a Parquet file, not CSV. Rename it to {path.stem}.parquet."
    if head.startswith(_ZIP_MAGIC):
        return f"{path.name} is a zip archive (an Excel workbook?), not CSV. Export the sheet as CSV (UTF-8)."
    if b"\x00" in head:
        return f"{path.name} is binary, not CSV text. Export the table as CSV (UTF-8) or Parquet."
    return None


def _check_parquet_file(path: Path, label: str) -> str | None:
    size = path.stat().st_size
    if size == 0:
        return f"{label} is empty. Rewrite it as a Parquet file with the table's columns."
    if not _sniff(path).startswith(_PARQUET_MAGIC) or size < 12:
        return f"{label} is not a Parquet file. Rewrite it as Parquet, or save the table as CSV with a .csv name."
    return None


def _clean_header(names: list[str]) -> list[str]:
    return [name.strip() for name in names]


def _scan_parquet_parts(source: TableSource) -> pl.LazyFrame | list[str]:
    """One scan over all part files; part files may lack optional columns but must agree on types."""
    problems: list[str] = []
    merged: dict[str, pl.DataType] = {}
    first_seen: dict[str, Path] = {}
    for part in source.files:
        label = f"{source.label}{part.relative_to(source.path)}"
        if (problem := _check_parquet_file(part, label)) is not None:
            problems.append(problem)
            continue
        try:
            schema = pl.read_parquet_schema(part)
        except (pl.exceptions.PolarsError, OSError) as exc:
            problems.append(f"{label} could not be read ({str(exc).splitlines()[0]}). Rewrite it as Parquet.")
            continue
        for name, dtype in schema.items():
            if name in merged and merged[name] != dtype:
                problems.append(
                    f"{source.label}: column {name!r} is {str(merged[name]).lower()} in "
                    f"{first_seen[name].relative_to(source.path)} but {str(dtype).lower()} in "
                    f"{part.relative_to(source.path)}. Write every part file with the same column types."
                )
            merged.setdefault(name, dtype)
            first_seen.setdefault(name, part)
    if problems:
        return problems
    hive = any("=" in p for part in source.files for p in part.relative_to(source.path).parts[:-1])
    return pl.scan_parquet(
        list(source.files),
        schema=merged,
        missing_columns="insert",
        hive_partitioning=hive,
    )


def scan_table(source: TableSource) -> pl.LazyFrame | list[str]:
    """A lazy scan of a table's files, or the problems that stop it being read."""
    try:
        return _scan(source)
    except OSError as exc:  # unreadable file: permissions, a broken link
        return [f"{source.label} could not be read: {exc.strerror or exc}. Check the file's permissions."]


def _scan(source: TableSource) -> pl.LazyFrame | list[str]:
    if source.kind == "csv":
        if (problem := _check_csv_file(source.path)) is not None:
            return [problem]
        return pl.scan_csv(source.path, infer_schema=False, with_column_names=_clean_header)
    if source.kind == "parquet":
        if (problem := _check_parquet_file(source.path, source.label)) is not None:
            return [problem]
        return pl.scan_parquet(source.path)
    return _scan_parquet_parts(source)


def _describe_source(source: TableSource) -> str:
    if source.kind == "parquet-dir":
        n = len(source.files)
        return f"{source.label} ({n} parquet file{'s' if n != 1 else ''})"
    return source.label


# --------------------------------------------------------------------------- how much to hold in memory

# Text ids and hashes: two thirds of the memory of generated flags (a 16-character string
# takes 32 bytes), and no dashboard query reads them; detection does, from the files.
COLD_COLUMNS: tuple[str, ...] = tuple(c.name for c in FLAGS.columns if c.dtype == pl.String)
_FIXED_BYTES = {"date": 4, "int32": 4, "float64": 8, "boolean": 0.125, "categorical": 4}
_VIEW_BYTES = 16  # a Polars string is a 16-byte view; text longer than 12 bytes is stored besides


@dataclass(frozen=True)
class SizeEstimate:
    """Bytes the flags would take in memory in the contract's dtypes."""

    rows: int
    total: int
    hot: int  # without COLD_COLUMNS

    @property
    def cold(self) -> int:
        return self.total - self.hot


def memory_budget() -> int:
    """Bytes of flags the loader may hold in memory: $TSPANEL_MEMORY_BUDGET_MB, else
    1 GiB or an eighth of the machine's RAM, whichever is smaller."""
    text = os.environ.get(MEMORY_BUDGET_ENV, "").strip()
    if text:
        try:
            megabytes = float(text)
        except ValueError:
            raise DataError(
                f"{MEMORY_BUDGET_ENV}={text!r} is not a number; give the budget in megabytes, e.g. 2048"
            ) from None
        return max(int(megabytes * 2**20), 0)
    import psutil

    return min(DEFAULT_MEMORY_BUDGET_MB * 2**20, psutil.virtual_memory().total // 8)


def estimate_size(raw: pl.LazyFrame) -> SizeEstimate | None:
    """The in-memory size of the flags, from the row count and a sample of a few thousand rows.

    Parquet row counts come from the file footers, so nothing else is read. Text is
    measured on the sample (view plus out-of-line bytes); other types have fixed widths.
    None when the files cannot be read (the checks then say why).
    """
    try:
        rows = int(raw.select(pl.len()).collect().item())
        sample = raw.head(_SAMPLE_ROWS).collect()
    except (pl.exceptions.PolarsError, OSError):
        return None
    total = hot = 0.0
    for column in FLAGS.columns:
        if column.name not in sample.columns:
            continue
        if isinstance(column.dtype, pl.Enum):
            per_row = 1.0
        elif column.dtype == pl.String:
            length = sample[column.name].cast(pl.String, strict=False).str.len_bytes()
            long = length.filter(length > 12)
            per_row = _VIEW_BYTES + (float(long.sum()) / sample.height if sample.height else 0.0)
        else:
            per_row = _FIXED_BYTES.get(str(column.dtype).split("(")[0].lower(), 8)
        total += per_row
        hot += 0 if column.name in COLD_COLUMNS else per_row
    return SizeEstimate(rows, int(rows * total), int(rows * hot))


def choose_storage(source: TableSource, raw: pl.LazyFrame | list[str], materialise: bool | None) -> Storage:
    """memory: every column in memory; hybrid: all but COLD_COLUMNS in memory, those read from the
    files when asked for; lazy: every query scans the files. Parquet flags get the most that fits
    :func:`memory_budget`; CSV is always held in memory (a lazy CSV scan re-parses the text per query)."""
    if materialise is not None:
        return "memory" if materialise else "lazy"
    if source.kind == "csv" or isinstance(raw, list):
        return "memory"
    size = estimate_size(raw)
    if size is None:
        return "memory"
    budget = memory_budget()
    if size.total <= budget:
        return "memory"
    return "hybrid" if size.hot <= budget else "lazy"


# --------------------------------------------------------------------------- checking and assembling


def _check(raw: pl.LazyFrame | list[str], table: Table, label: str, materialise: bool) -> TableResult:
    if isinstance(raw, list):
        return TableResult(label, None, tuple(raw))
    return check_table(raw, table, label, materialise=materialise, require_rows=table is FLAGS)


def _check_in_chunks(raw: pl.LazyFrame, label: str, storage: Storage, spill: Path | None = None) -> TableResult:
    """Validate Parquet flags VALIDATION_CHUNK_ROWS rows at a time; keep what ``storage`` says.

    Checking the whole table at once holds the raw columns, their cleaned copies and the
    typed result together (3.1 GB peak for 10M flags whose typed table is 2.0 GB); chunk by
    chunk only one chunk's working copies exist beside what is kept: every column (memory),
    all but COLD_COLUMNS (hybrid), or none (lazy): then each typed chunk is written to
    ``spill`` as Parquet, so later queries read typed columns instead of converting the
    source's text again on every scan (4x faster refreshes at 10M flags).
    Uniqueness across chunks is checked on sorted 8-byte hashes of flag_id. Any problem
    sends the table through the whole-table check instead, so messages count rows and
    name row numbers exactly as for small files.
    """
    try:
        rows = int(raw.select(pl.len()).collect().item())
    except (pl.exceptions.PolarsError, OSError):
        rows = 0
    if rows == 0 or (rows <= 2 * VALIDATION_CHUNK_ROWS and storage != "hybrid"):
        return check_table(raw, FLAGS, label, materialise=storage == "memory", require_rows=True)
    if storage == "lazy" and spill is None:
        raise ValueError("lazy chunked validation needs a spill directory")
    drop = COLD_COLUMNS if storage == "hybrid" else ()
    parts: list[tuple[ValidatedTable, pl.DataFrame | Path]] = []
    ids = np.empty(rows, dtype=np.uint64)  # flag_id hashes, sorted in place below: no hash table
    filled = 0
    for i, offset in enumerate(range(0, rows, VALIDATION_CHUNK_ROWS)):
        part = check_table(raw.slice(offset, VALIDATION_CHUNK_ROWS), FLAGS, label, materialise=True)
        if part.table is None:  # report every problem of the whole table, with its row numbers
            return check_table(raw, FLAGS, label, materialise=False, require_rows=True)
        # Keep the chunk's facts but not its frame: whatever is not kept must be freed now.
        facts = dataclasses.replace(part.table, frame=pl.LazyFrame())
        frame = part.table.frame.collect()
        del part
        hashed = frame["flag_id"].hash().to_numpy()
        ids[filled : filled + len(hashed)] = hashed
        filled += len(hashed)
        if spill is not None:
            file = spill / f"part-{i:05d}.parquet"
            _with_empty_columns(frame, facts).write_parquet(file, row_group_size=_SPILL_ROW_GROUP)
            parts.append((facts, file))
        else:
            parts.append((facts, frame.drop([c for c in drop if c in frame.columns])))
        del frame
    ids = ids[:filled]
    ids.sort()
    if bool((ids[1:] == ids[:-1]).any()):
        whole = check_table(raw, FLAGS, label, materialise=False, require_rows=True)
        if whole.table is None:
            return whole  # otherwise two ids merely share a hash: the chunks stand
    del ids
    return TableResult(label, _merge_chunks(parts))  # empties `parts`


def _with_empty_columns(frame: pl.DataFrame, facts: ValidatedTable) -> pl.DataFrame:
    """The chunk with the optional columns it had no value in, as typed nulls: every spilled
    part file then has the same columns and types."""
    names = [c.name for c in FLAGS.columns if c.name in facts.columns or c.name in facts.empty]
    return frame.select(
        pl.col(c) if c in frame.columns else pl.lit(None, dtype=FLAGS.by_name[c].dtype).alias(c) for c in names
    )


def _merge_chunks(parts: list[tuple[ValidatedTable, pl.DataFrame | Path]]) -> ValidatedTable:
    """One validated table from chunks, as check_table would have returned it for the whole.

    In memory, each kept column becomes one contiguous buffer, built a column at a time
    while that column's chunks are released: the merge costs one column of extra memory,
    and a column-aligned frame never makes Polars re-align (copy) every column later.
    Lazily, the table is one scan of the spilled part files.
    """
    tables = [table for table, _ in parts]
    present = {c for table in tables for c in table.columns}
    columns = tuple(c.name for c in FLAGS.columns if c.name in present)
    stats: dict[str, Any] = {}
    if "first_day" in tables[0].stats:
        stats["first_day"] = min(t.stats["first_day"] for t in tables)
        stats["last_day"] = max(t.stats["last_day"] for t in tables)
    for key in ("categories", "regions"):
        if key in tables[0].stats:
            stats[key] = sorted({v for t in tables for v in (t.stats.get(key) or ())})
    merged = ValidatedTable(
        frame=pl.LazyFrame(),
        rows=sum(t.rows for t in tables),
        columns=columns,
        derived=tables[0].derived,
        ignored=tables[0].ignored,
        empty=tuple(c for c in tables[0].empty if all(c in t.empty for t in tables)),
        stats=stats,
    )
    frames = [frame for _, frame in parts]
    del parts[:], tables  # the chunk frames are now the only reference to the chunks' data
    files = [frame for frame in frames if isinstance(frame, Path)]
    if files:  # spilled part files: one scan of them all
        return dataclasses.replace(merged, frame=pl.scan_parquet(files).select(columns))
    eager = [frame for frame in frames if isinstance(frame, pl.DataFrame)]
    heights = [frame.height for frame in eager]  # a frame whose columns are all taken has height 0
    del frames
    series = []
    for name in (c for c in columns if any(c in frame.columns for frame in eager)):
        dtype = FLAGS.by_name[name].dtype
        pieces = [
            frame.drop_in_place(name) if name in frame.columns else pl.repeat(None, n, dtype=dtype, eager=True)
            for frame, n in zip(eager, heights, strict=True)
        ]
        series.append(pl.concat(pieces, rechunk=True).alias(name))
    return dataclasses.replace(merged, frame=pl.DataFrame(series).lazy())


def _with_cold_columns(memory: pl.DataFrame, raw: pl.LazyFrame, columns: tuple[str, ...]) -> pl.LazyFrame:
    """Every flag column: those held in memory, and the cold ones read from the files on demand.

    The cold columns get the loader's own conversion (text stripped, blank as missing);
    the files' row order is the order the chunks were validated in, so rows line up.
    """
    schema = raw.collect_schema()
    cold = [c for c in columns if c not in memory.columns]
    # _stripped is validate's stage-0 cleaning: the same rule, not a copy of it.
    read = [_stripped(c) if schema[c] == pl.String else pl.col(c).cast(pl.String).alias(c) for c in cold]
    return pl.concat([memory.lazy(), raw.select(read)], how="horizontal").select(columns)


def _assemble(
    results: dict[str, TableResult],
    where: str,
    name: str,
    sources: dict[str, str],
    storage: Storage,
    raw_flags: pl.LazyFrame | None = None,
) -> Dataset:
    raise_problems(list(results.values()), where)
    flags = _validated(results["flags"])
    reviewers = _validated(results["reviewers"])
    attacks = _validated(results["attacks"]) if "attacks" in results else None
    stats = flags.stats
    categories = tuple(stats.get("categories") or ())
    regions = tuple(stats.get("regions") or ()) if "region" in flags.columns else ()
    flags_frame, rows = flags.frame, None
    if storage != "lazy":
        memory = flags.frame.collect()  # already collected: this only unwraps it
        rows = index_flags(memory, categories, regions)
        if memory["date"].is_sorted():
            memory = memory.with_columns(pl.col("date").set_sorted())
        if storage == "hybrid" and raw_flags is not None:
            flags_frame = _with_cold_columns(memory, raw_flags, flags.columns)
        else:
            flags_frame = memory.lazy()
    infos = tuple(
        TableInfo(
            table=key,
            source=sources[key],
            rows=table.rows,
            columns=table.columns,
            derived=table.derived,
            ignored=table.ignored,
            empty=table.empty,
        )
        for key, table in (("flags", flags), ("reviewers", reviewers), ("attacks", attacks))
        if table is not None
    )
    return Dataset(
        flags=flags_frame,
        reviewers=reviewers.frame,
        attacks=attacks.frame if attacks is not None else None,
        name=name,
        columns=frozenset(flags.columns),
        categories=categories,
        regions=regions,
        first_day=stats["first_day"],
        last_day=stats["last_day"],
        n_flags=flags.rows,
        tables=infos,
        in_memory=rows,
        storage=storage,
    )


def _validated(result: TableResult) -> ValidatedTable:
    assert result.table is not None  # raise_problems has raised otherwise
    return result.table


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
            results[key] = _check_in_chunks(raw, source.label, storage, spill)
    described = {key: _describe_source(source) for key, source in sources.items()}
    try:
        dataset = _assemble(results, str(directory), str(path), described, storage, raw_flags)
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
    return _assemble(results, name, name, {key: "in memory" for key in results}, "memory")


@functools.cache
def default_world() -> Dataset:
    """The built-in synthetic world (seed 42), generated in memory once per process."""
    from tspanel.synth import WorldConfig, generate_world

    config = WorldConfig()
    world = generate_world(config)
    return dataset_from_frames(
        world.flags, world.reviewers, world.attacks, name=f"built-in synthetic world (seed {config.seed})"
    )


# --------------------------------------------------------------------------- process-wide cache

_cache_lock = threading.Lock()
_cache: dict[tuple[Path, bool | None], tuple[tuple[tuple[str, int, int], ...], Dataset]] = {}


def _stat_files(directory: Path) -> Iterator[tuple[str, int, int]]:
    for table in (FLAGS, REVIEWERS, ATTACKS):
        for candidate in (directory / f"{table.name}.csv", directory / f"{table.name}.parquet", directory / table.name):
            if candidate.is_file():
                files: tuple[Path, ...] = (candidate,)
            elif candidate.is_dir():
                files = tuple(sorted(p for p in candidate.rglob("*") if p.is_file()))
            else:
                continue
            for file in files:
                try:
                    stat = file.stat()
                except OSError:  # removed while we looked: the fingerprint changes either way
                    continue
                yield str(file.relative_to(directory)), stat.st_mtime_ns, stat.st_size


def dataset_fingerprint(path: str | Path) -> tuple[tuple[str, int, int], ...]:
    """(file, mtime, size) of every table file: changes whenever the data on disk does."""
    directory = Path(path).expanduser().resolve()
    return tuple(_stat_files(directory)) if directory.is_dir() else ()


def load_dataset_cached(path: str | Path, *, materialise: bool | None = None) -> Dataset:
    """load_dataset shared by every session of the process; reloads when a table file changes."""
    key = (Path(path).expanduser().resolve(), materialise)
    with _cache_lock:  # one load at a time: sessions opening together share the first one's result
        fingerprint = dataset_fingerprint(key[0])
        hit = _cache.get(key)
        if hit is not None and hit[0] == fingerprint:
            return hit[1]
        dataset = load_dataset(path, materialise=materialise)
        _cache[key] = (fingerprint, dataset)
        return dataset


def clear_dataset_cache() -> None:
    """Forget every cached dataset (tests; or to free memory)."""
    with _cache_lock:
        _cache.clear()
