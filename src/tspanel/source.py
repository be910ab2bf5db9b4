"""Where datasets come from: a directory of CSV/Parquet files, in-memory frames, or the synthetic world.

Every route goes through the same checks (tspanel.validate) and ends in the same
`Dataset`, so the rest of the app never has to ask how the data was stored.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from tspanel.errors import DataError
from tspanel.schema import ATTACKS, FLAGS, REVIEWERS, Table
from tspanel.validate import TableResult, ValidatedTable, check_table, format_problems, raise_problems

_SNIFF_BYTES = 64 * 1024
_PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"


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


# --------------------------------------------------------------------------- assembling


def _check(raw: pl.LazyFrame | list[str], table: Table, label: str, materialise: bool) -> TableResult:
    if isinstance(raw, list):
        return TableResult(label, None, tuple(raw))
    return check_table(raw, table, label, materialise=materialise, require_rows=table is FLAGS)


def _assemble(results: dict[str, TableResult], where: str, name: str, sources: dict[str, str]) -> Dataset:
    raise_problems(list(results.values()), where)
    flags = _validated(results["flags"])
    reviewers = _validated(results["reviewers"])
    attacks = _validated(results["attacks"]) if "attacks" in results else None
    stats = flags.stats
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
        flags=flags.frame,
        reviewers=reviewers.frame,
        attacks=attacks.frame if attacks is not None else None,
        name=name,
        columns=frozenset(flags.columns),
        categories=tuple(stats.get("categories") or ()),
        regions=tuple(stats.get("regions") or ()) if "region" in flags.columns else (),
        first_day=stats["first_day"],
        last_day=stats["last_day"],
        n_flags=flags.rows,
        tables=infos,
    )


def _validated(result: TableResult) -> ValidatedTable:
    assert result.table is not None  # raise_problems has raised otherwise
    return result.table


def load_dataset(path: str | Path, *, materialise: bool = True) -> Dataset:
    """Load and validate a dataset directory; raises DataError naming every problem found.

    The tables are read, checked and collected into memory once, so later
    queries never re-read the files. materialise=False keeps them as lazy
    scans instead (meant for Parquet datasets larger than memory: every query
    then re-reads the files); validation still runs in full at load.
    """
    directory = Path(path).expanduser()
    sources = find_tables(directory)
    results: dict[str, TableResult] = {}
    for key, source in sources.items():
        results[key] = _check(scan_table(source), source.table, source.label, materialise)
    described = {key: _describe_source(source) for key, source in sources.items()}
    return _assemble(results, str(directory), str(path), described)


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
    return _assemble(results, name, name, {key: "in memory" for key in results})


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
_cache: dict[tuple[Path, bool], tuple[tuple[tuple[str, int, int], ...], Dataset]] = {}


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


def load_dataset_cached(path: str | Path, *, materialise: bool = True) -> Dataset:
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
