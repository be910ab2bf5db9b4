"""Finding a dataset's tables in a directory: which file or directory of part files holds each."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tspanel.errors import DataError
from tspanel.schema import ATTACKS, FLAGS, REVIEWERS, Table
from tspanel.validate import format_problems


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

    def describe(self) -> str:
        """The source as `tspanel validate` lists it, e.g. "flags/ (12 parquet files)"."""
        if self.kind == "parquet-dir":
            n = len(self.files)
            return f"{self.label} ({n} parquet file{'s' if n != 1 else ''})"
        return self.label


def _kind_of(path: Path) -> str | None:
    """What is at ``path`` ('file', 'dir', None when nothing); raises DataError for what cannot be read.

    A named pipe (FIFO) or device would block the first read forever, and a symbolic-link
    loop makes every path function fail, so both are refused here by name.
    """
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DataError(f"{path}: a symbolic link loop (a link leading back to itself). Fix the link.") from None
        if os.path.lexists(path):
            reason = "a broken symbolic link" if path.is_symlink() else (exc.strerror or str(exc))
            raise DataError(f"{path}: cannot be read ({reason}). Fix or remove it.") from None
        return None
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    what = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "not a regular file"
    raise DataError(f"{path.name} is {what}; a table must be a regular file (or a directory of Parquet files).")


def dataset_directory(path: str | Path) -> Path:
    """``path`` as a dataset directory; raises DataError when it is missing, a file or unreadable."""
    directory = Path(path).expanduser()
    kind = _kind_of(directory)
    if kind is None:
        raise DataError(f"{directory}: no such directory. Give the path of a dataset directory (see docs/data.md).")
    if kind != "dir":
        raise DataError(
            f"{directory} is a file, not a directory. Give the directory that holds flags and reviewers files."
        )
    return directory


def _candidates(directory: Path, table: Table) -> list[Path]:
    found = []
    for path in (directory / f"{table.name}.csv", directory / f"{table.name}.parquet"):
        if _kind_of(path) is not None:
            found.append(path)
    if _kind_of(directory / table.name) == "dir":
        found.append(directory / table.name)
    return found


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
    if _kind_of(path) == "dir":
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
    directory = dataset_directory(directory)
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
