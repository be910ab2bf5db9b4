"""`tspanel validate DIR`: check a dataset against the contract before pointing the dashboard at it."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tspanel.cli._common import data_source, plural

if TYPE_CHECKING:  # the loader imports Polars: keep `tspanel --help` fast
    from tspanel.source import Dataset

# What each optional flag column adds to the dashboard; shown so a user knows what an export is missing.
ENABLES: dict[str, str] = {
    "reviewer_id": "per-reviewer workload",
    "resolution_hrs": "SLA breach rate and resolution times",
    "coordinated_flag": "ground truth for scoring attack detection",
    "attack_id": "ground truth: which attack a flag belongs to",
    "created_at": "intraday burst signal for attack detection",
    "region": "region filter and regional-concentration signal",
    "account_id": "distinct-account counts in attack detection",
    "account_age_days": "young-account signal for attack detection",
    "content_hash": "duplicate-content signal for attack detection",
    "target_id": "shared-target signal for attack detection",
    "assigned_at": "time to assignment",
    "resolved_at": "resolution times from timestamps (with created_at)",
    "appealed": "appeal rate",
    "appeal_overturned": "overturn rate of appealed decisions",
}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "validate",
        help="check a dataset directory against the data contract and summarise it",
        description="Load a dataset directory (flags, reviewers and optionally attacks, as .csv, .parquet "
        "or a directory of .parquet files) with the same strict checks the dashboard uses. Prints rows per "
        "table, the date range and which optional columns are present; on bad data prints every problem "
        "found and exits with status 2. The contract is described in docs/data.md.",
    )
    parser.add_argument(
        "directory",
        type=data_source,
        metavar="DIR|URL",
        help="the dataset directory to check, or postgresql://USER@HOST/DB: its flags, reviewers and attacks "
        "tables are checked in the database (column types and values by one aggregate query, ids unique)",
    )
    parser.add_argument(
        "--table", default=None, help="with a database URL: the table holding the flags (default: flags)"
    )
    parser.set_defaults(func=run)


def summary_lines(dataset: Dataset) -> list[str]:
    """The human-readable summary of a loaded dataset."""
    days = (dataset.last_day - dataset.first_day).days + 1
    lines = [f"{dataset.name}: valid dataset"]
    width = max(len(info.source) for info in dataset.tables)
    for info in dataset.tables:
        line = f"  {info.table:<10} {info.source:<{width}}  {plural(info.rows, 'row'):>12}"
        if info.table == "flags":
            line += f"  {dataset.first_day} to {dataset.last_day} ({plural(days, 'day')})"
        lines.append(line)
    if not any(info.table == "attacks" for info in dataset.tables):
        lines.append("  attacks    none (optional: known attacks let the detector be scored)")
    lines.append(f"Categories ({len(dataset.categories)}): {', '.join(dataset.categories)}")
    if dataset.regions:
        lines.append(f"Regions ({len(dataset.regions)}): {', '.join(dataset.regions)}")

    present = [c for c in ENABLES if dataset.has(c)]
    absent = [c for c in ENABLES if not dataset.has(c)]
    lines.append("Optional flag columns present:" + ("" if present else " none"))
    lines += [f"  {c:<18} {ENABLES[c]}" for c in present]
    if absent:
        lines.append("Optional flag columns absent (add them to enable):")
        lines += [f"  {c:<18} {ENABLES[c]}" for c in absent]

    for info in dataset.tables:
        if info.derived:
            lines.append(f"Derived in {info.table}: {', '.join(info.derived)}")
        if info.empty:
            lines.append(f"Ignored in {info.source} (no values): {', '.join(info.empty)}")
        if info.ignored:
            lines.append(f"Ignored in {info.source} (not in the contract): {', '.join(info.ignored)}")
    return lines


def reference_notes(dataset: Dataset) -> list[str]:
    """Ids in flags that the other tables do not know: allowed, but usually an export mistake."""
    import polars as pl

    pairs = [("reviewer_id", dataset.reviewers, "reviewers")]
    if dataset.attacks is not None:
        pairs.append(("attack_id", dataset.attacks, "attacks"))
    notes = []
    for column, other, table in pairs:
        if not dataset.has(column):
            continue
        known = other.select(pl.col(column).cast(pl.String))
        unknown = (
            dataset.flags.select(pl.col(column).cast(pl.String))
            .drop_nulls()
            .unique(maintain_order=True)
            .join(known, on=column, how="anti", maintain_order="left")
            .collect()[column]
        )
        if len(unknown):
            first = ", ".join(repr(v) for v in unknown.head(5))
            n = len(unknown)
            values = "value" if n == 1 else "values"
            notes.append(f"Note: {n} {column} {values} in flags not in the {table} table (first: {first}).")
    return notes


def run(args: argparse.Namespace) -> int:
    from tspanel.rollup import sources

    if sources.is_database_url(args.directory):
        return _database(args.directory, args.table or "flags")
    if args.table is not None:
        from tspanel.errors import TspanelError

        raise TspanelError(
            "--table names the flags table of a database URL; a dataset directory has flags.csv/.parquet"
        )
    dataset = sources.load_source(args.directory)
    if dataset.weight is not None:  # a rollup: the columns its signals were computed from count too
        import dataclasses

        dataset = dataclasses.replace(dataset, columns=dataset.columns | dataset.rolled.columns)
    print("\n".join(summary_lines(dataset) + reference_notes(dataset)))
    return 0


def _database(url: str, table: str) -> int:
    """The contract checked in the database; the summary lists the table's own columns."""
    import dataclasses

    from tspanel.rollup import sources

    dataset = sources.load_postgres(url, table, check_unique=True)
    rows = dataset.row_source
    print("\n".join(summary_lines(dataclasses.replace(dataset, columns=frozenset(rows.columns)))))
    print(f"The rollup the dashboard reads: {dataset.tables[0].source}; the rows stay in the database.")
    return 0
