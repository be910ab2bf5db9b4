"""Reading a table's files: a look at the first bytes before Polars reads them, then a lazy scan.

A wrong file (empty, an Excel workbook, Parquet named .csv) gets a message that says what
to do, instead of a Polars parse error.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tspanel.source.files import TableSource

_SNIFF_BYTES = 64 * 1024
_PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"


def _sniff(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(_SNIFF_BYTES)


def check_csv_file(path: Path) -> str | None:
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


def check_parquet_file(path: Path, label: str) -> str | None:
    """A problem with a Parquet file as a whole (empty, not Parquet), before Polars reads it."""
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
        if (problem := check_parquet_file(part, label)) is not None:
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
        if (problem := check_csv_file(source.path)) is not None:
            return [problem]
        return pl.scan_csv(source.path, infer_schema=False, with_column_names=_clean_header)
    if source.kind == "parquet":
        if (problem := check_parquet_file(source.path, source.label)) is not None:
            return [problem]
        return pl.scan_parquet(source.path)
    return _scan_parquet_parts(source)
