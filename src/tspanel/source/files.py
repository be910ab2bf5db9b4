"""Finding a dataset's tables in a directory: which file or directory of part files holds each."""

from __future__ import annotations

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
