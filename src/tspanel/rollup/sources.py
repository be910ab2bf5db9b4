"""The dashboard's other sources: a rollup directory, or a PostgreSQL database (rollup computed there).

``--data`` takes a dataset directory (rows, tspanel.source), a rollup directory written by
`tspanel rollup` (facts.parquet, signals.parquet) or a ``postgresql://`` URL. For a database
the rollup's GROUP BY runs in PostgreSQL and only the rollup crosses the wire; the reviewers
and attacks tables (small) are read whole and checked like files. The flags table is checked
against the data contract by one aggregate query in the database (never by reading its rows).

A database URL may hold a password: it is shown masked everywhere (``mask_uri``); better,
leave it out and use libpq's PGPASSWORD or ~/.pgpass, which the driver reads.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from tspanel.errors import DataError, TspanelError
from tspanel.rollup.dataset import (
    NewLevel,
    compact_facts,
    concat_facts,
    dataset_from_rollup,
    levels_of,
    spilled_facts,
)
from tspanel.rollup.engines import (
    Rollup,
    _check_table,
    _first_line,
    column_types,
    connect_postgres,
    day_signatures,
    mask_uri,
    table_columns,
)
from tspanel.rollup.fetch import fetch_rollup
from tspanel.rollup.output import FILES, SIDE_FILES, fact_batches, read_rollup, read_signals
from tspanel.rollup.spec import SIGNAL_KEYS
from tspanel.schema import ATTACKS, FLAGS, REVIEWERS, Column, Table
from tspanel.serving.memory import return_freed_memory
from tspanel.source.dataset import Dataset

DATABASE_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(data: Any) -> bool:
    return isinstance(data, str) and data.startswith(DATABASE_SCHEMES)


def is_rollup_dir(data: Any) -> bool:
    """A directory written by `tspanel rollup` (facts.parquet and signals.parquet)."""
    if data is None or is_database_url(data):
        return False
    path = Path(data).expanduser()
    return all((path / name).is_file() for name in FILES[:2])


def describe(data: Any) -> str:
    """The source as it may be printed: a database URL with its password masked."""
    return mask_uri(data) if is_database_url(data) else str(data)


@dataclass(frozen=True)
class DatabaseRows:
    """Where a database source's rows are, for queries on demand (tspanel.models.flags_query)."""

    url: str
    table: str
    columns: tuple[str, ...]  # the contract columns the table has

    def __repr__(self) -> str:  # a Dataset's repr must never show the password
        return f"DatabaseRows({mask_uri(self.url)!r}, {self.table!r})"

    @property
    def label(self) -> str:
        return f"{mask_uri(self.url)} (table {self.table})"


# --- loading --------------------------------------------------------------------------
def load_source(data: str | Path) -> Dataset:
    """A Dataset from a dataset directory, a rollup directory or a postgresql:// URL."""
    if is_database_url(data):
        return load_postgres(str(data))
    if is_rollup_dir(data):
        return load_rollup_dir(Path(data).expanduser())
    from tspanel.source import load_dataset

    return load_dataset(data)


def load_rollup_dir(path: Path) -> Dataset:
    """A rollup directory as the dashboard's Dataset; reviewers and attacks when written beside it."""
    if not is_rollup_dir(path):
        read_rollup(path)  # its message: what is missing
    signals = read_signals(path)
    rollup = Rollup(facts=compact_facts(fact_batches(path)), signals=signals)
    return_freed_memory()
    reviewers = _side_table(path / "reviewers.parquet", REVIEWERS)
    attacks = _side_table(path / "attacks.parquet", ATTACKS)
    dataset = dataset_from_rollup(
        rollup, name=f"{path} (rollup)", reviewers=reviewers, attacks=attacks, source=str(path)
    )
    del rollup
    return_freed_memory()
    return dataset


def _side_table(path: Path, table: Table) -> pl.DataFrame | None:
    if not path.is_file():
        return None
    return _checked(pl.scan_parquet(path), table, str(path))


def _checked(frame: pl.LazyFrame, table: Table, label: str) -> pl.DataFrame:
    """A small table through the loader's own contract check (tspanel.validate)."""
    from tspanel.validate import check_table, raise_problems

    result = check_table(frame, table, label, materialise=True, require_rows=False)
    raise_problems([result], label)
    assert result.table is not None
    return result.table.frame.collect()


def load_postgres(url: str, table: str = "flags", *, check_unique: bool = False) -> Dataset:
    """The rollup of a PostgreSQL flags table as the dashboard's Dataset (the rows stay in the database).

    Checks first, all in the database: the flags table's columns and values against the
    contract (one aggregate query), and the reviewers and attacks tables read whole.
    """
    return _load_postgres(url, table, check_unique=check_unique, track_days=False)[0]


@dataclass(frozen=True, eq=False)
class PostgresState:
    """What a served database's last load saw, so a reload recomputes only the days that moved."""

    table: str
    signatures: pl.DataFrame | None  # day, n, signature (engines.day_signatures); None: not read
    facts: pl.DataFrame | pl.LazyFrame  # compact (tspanel.rollup.dataset), in memory or spilled
    signals: pl.DataFrame
    dataset: Dataset  # held so that a spilled file (removed with its dataset) outlives the next reload


def _changed_since(previous: PostgresState, now: pl.DataFrame) -> dt.date | bool | None:
    """The first day whose rows differ from the last load's (None: no day did; True: reload all)."""
    joined = previous.signatures.join(now, on="day", how="full", coalesce=True, suffix="_now")
    moved = joined.filter(
        pl.col("n").ne_missing(pl.col("n_now")) | pl.col("signature").ne_missing(pl.col("signature_now"))
    )
    if moved.height == 0:
        return None
    first = moved["day"].min()
    return first if isinstance(first, dt.date) else True


def _load_postgres(
    url: str,
    table: str = "flags",
    *,
    check_unique: bool = False,
    previous: PostgresState | None = None,
    track_days: bool = True,
) -> tuple[Dataset, PostgresState]:
    """:func:`load_postgres`, incremental by day when ``previous`` (the last load of the same table) is given.

    The days are compared by :func:`tspanel.rollup.engines.day_signatures` (rows and a hash of
    every row, one scan); the facts of the days before the first changed one are kept (a
    zero-copy slice: they are sorted by day), the days from it on are computed again in the
    database. A new key value (a category, a reviewer) in those days means a full load.
    ``track_days=False`` (a one-off command) skips the per-day hashes: the next load is whole.
    """
    table = _check_table(table)
    shown = mask_uri(url)
    conn = connect_postgres(url)
    try:
        columns = table_columns(conn, table)
        if not columns:
            raise TspanelError(
                f"PostgreSQL at {shown} has no table {table!r}; load one (tspanel load-db) or name it with --table"
            )
        problems = flag_problems(conn, table, column_types(conn, table), check_unique=check_unique)
        reviewers = _read_table(conn, "reviewers", REVIEWERS, problems)
        attacks = _read_table(conn, "attacks", ATTACKS, problems)
        if problems:
            raise DataError(
                f"{shown}: the tables do not meet the data contract (docs/data.md):\n  " + "\n  ".join(problems)
            )
        signatures = day_signatures(conn, table) if track_days else None
    finally:
        conn.close()
    rollup = None
    if previous is not None and previous.table == table and previous.signatures is not None and signatures is not None:
        since = _changed_since(previous, signatures)
        if since is None:
            rollup = Rollup(facts=_collected(previous.facts), signals=previous.signals)
        elif since is not True:
            rollup = _incremental(url, table, previous, since)
    if rollup is None:
        rollup = _fetched(url, table)
    return_freed_memory()
    present = tuple(c.name for c in FLAGS.columns if c.name in columns)
    dataset = dataset_from_rollup(
        rollup,
        name=f"{shown} (table {table})",
        reviewers=reviewers,
        attacks=attacks,
        row_source=DatabaseRows(url, table, present),
        source=f"PostgreSQL table {table}",
    )
    facts = spilled_facts(dataset)
    if facts is None:
        facts = rollup.facts
    state = PostgresState(table=table, signatures=signatures, facts=facts, signals=rollup.signals, dataset=dataset)
    del rollup  # spilled to disk ($TSPANEL_ROLLUP_SPILL_ROWS): the facts in memory go now
    return_freed_memory()
    return dataset, state


def _fetched(
    url: str, table: str, *, since: dt.date | None = None, levels: dict[str, tuple[str, ...]] | None = None
) -> Rollup:
    """The database's rollup (from ``since`` on), fetched by a child process (tspanel.rollup.fetch)
    and compacted here batch by batch from its files."""
    folder = fetch_rollup(url, table, since)
    try:
        return Rollup(facts=compact_facts(fact_batches(folder), levels=levels), signals=read_signals(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _collected(facts: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    return facts if isinstance(facts, pl.DataFrame) else facts.collect()


def _incremental(url: str, table: str, previous: PostgresState, since: dt.date) -> Rollup | None:
    """The last load's facts before ``since`` plus the database's facts from ``since`` on; None
    when the new days hold a key value the kept facts' Enums lack (then everything is reloaded)."""
    old = previous.facts
    if isinstance(old, pl.LazyFrame):
        kept = old.filter(pl.col("date") < since).collect()
    else:  # sorted by day: the rows before ``since`` are a prefix, sliced without a copy
        kept = old.slice(0, int(old["date"].search_sorted(since, side="left")))
    try:
        fresh_rollup = _fetched(url, table, since=since, levels=levels_of(kept))
    except NewLevel:
        return None
    fresh, signals = fresh_rollup.facts, fresh_rollup.signals
    facts = concat_facts(kept, fresh)
    signals = pl.concat([previous.signals.filter(pl.col("day") < since), signals]).sort(list(SIGNAL_KEYS))
    return Rollup(facts=facts, signals=signals)


def side_tables(url: str) -> dict[str, pl.DataFrame | None]:
    """The reviewers and attacks tables of a database, checked (for `tspanel rollup` to write beside it)."""
    conn = connect_postgres(url)
    problems: list[str] = []
    try:
        tables = {  # absent tables are left out here: the rollup serves without them
            "reviewers": _read_table(conn, "reviewers", REVIEWERS, problems, required=False),
            "attacks": _read_table(conn, "attacks", ATTACKS, problems),
        }
    finally:
        conn.close()
    if problems:
        raise DataError(f"{mask_uri(url)}: " + "; ".join(problems))
    return tables


def _read_table(
    conn: Any, name: str, table: Table, problems: list[str], *, required: bool | None = None
) -> pl.DataFrame | None:
    """A small side table read whole and checked; None when an optional one is absent."""
    if not table_columns(conn, name):
        if table.required if required is None else required:
            problems.append(f"no {name} table (required; tspanel load-db writes one)")
        return None
    from tspanel.validate import check_table

    with conn.cursor() as cur:
        cur.execute(f"SELECT * FROM {name}")
        frame = pl.from_arrow(cur.fetch_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    result = check_table(frame.lazy(), table, f"{name} table", materialise=True, require_rows=False)
    if result.table is None:
        problems.extend(result.problems)
        return None
    return result.table.frame.collect()


# --- the contract, checked in the database -------------------------------------------------
_TEXT = {"text", "character varying", "character", "USER-DEFINED"}
_NUMBER = {"double precision", "real", "numeric", "integer", "bigint", "smallint"}
_INTEGER = {"integer", "bigint", "smallint"}
_STAMP = {"timestamp with time zone", "timestamp without time zone"}


def _accepts(column: Column, sql_type: str) -> bool:
    """Whether a database column of ``sql_type`` can hold the contract column."""
    dtype = column.dtype
    if isinstance(dtype, pl.Enum):
        return sql_type in _TEXT
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Categorical):
        return True  # ids and names: anything the database can cast to text
    if dtype == pl.Date:
        return sql_type == "date"
    if dtype == pl.Float64:
        return sql_type in _NUMBER
    if dtype == pl.Int32:
        return sql_type in _INTEGER
    if dtype == pl.Boolean:
        return sql_type == "boolean"
    if isinstance(dtype, pl.Datetime):
        return sql_type in _STAMP
    return True


def contract_sql(table: str, types: dict[str, str], *, check_unique: bool = False) -> tuple[str, list[str]]:
    """One aggregate query checking the flags' values against the contract, and what each result means.

    Built with sqlglot from tspanel.schema.FLAGS, so the database is checked by the same rules
    as files: required values present, allowed values, bounds (and unique ids with ``check_unique``).
    """
    from sqlglot import exp

    checks: list[tuple[exp.Expression, str]] = [(exp.Count(this=exp.Star()), "rows")]
    for column in FLAGS.columns:
        if column.name not in types or not _accepts(column, types[column.name]):
            continue
        col = exp.column(column.name)
        if column.required:
            checks.append((_count_if(col.is_(exp.null())), f"{column.name}: {{}} rows without a value (required)"))
        if column.allowed:
            outside = exp.not_(exp.cast(col, "VARCHAR").isin(*column.allowed))
            checks.append(
                (_count_if(outside), f"{column.name}: {{}} rows with a value outside {', '.join(column.allowed)}")
            )
        bounds = []
        if column.minimum is not None:
            bounds.append(col < exp.Literal.number(column.minimum))
        if column.maximum is not None:
            bounds.append(col > exp.Literal.number(column.maximum))
        if bounds:
            where = (
                f"[{column.minimum:g}, {column.maximum:g}]" if column.maximum is not None else f">= {column.minimum:g}"
            )
            checks.append((_count_if(exp.or_(*bounds)), f"{column.name}: {{}} rows outside {where}"))
        if column.unique and check_unique:
            duplicates = exp.Count(this=col) - exp.Count(this=exp.Distinct(expressions=[col]))
            checks.append((duplicates, f"{column.name}: {{}} duplicate values (must be unique)"))
    select = exp.select(*(e.as_(f"c{i}") for i, (e, _) in enumerate(checks))).from_(exp.to_table(table))
    return select.sql(dialect="postgres"), [label for _, label in checks]


def _count_if(condition: Any) -> Any:
    from sqlglot import exp

    return exp.Sum(
        this=exp.Case(ifs=[exp.If(this=condition, true=exp.Literal.number(1))], default=exp.Literal.number(0))
    )


def flag_problems(conn: Any, table: str, types: dict[str, str], *, check_unique: bool = False) -> list[str]:
    """Every way the flags table breaks the contract: columns, types and values (counted in the database)."""
    problems = [
        f"flags: required column {c.name!r} is missing" for c in FLAGS.columns if c.required and c.name not in types
    ]
    problems += [
        f"flags: column {c.name!r} is {types[c.name]}; the contract needs {_wanted(c)}"
        for c in FLAGS.columns
        if c.name in types and not _accepts(c, types[c.name])
    ]
    sql, labels = contract_sql(table, types, check_unique=check_unique)
    from adbc_driver_manager.dbapi import Error

    with conn.cursor() as cur:
        try:
            cur.execute(sql)
            row = cur.fetchone()
        except Error as exc:
            raise TspanelError(f"PostgreSQL could not check the table {table!r}: {_first_line(exc)}") from None
    if int(row[0] or 0) == 0:
        problems.append(f"flags: the table {table!r} has no rows")
    for value, label in zip(row[1:], labels[1:], strict=True):
        if value:
            problems.append("flags: " + label.format(f"{int(value):,}"))
    return problems


def _wanted(column: Column) -> str:
    dtype = column.dtype
    if isinstance(dtype, pl.Enum):
        return "text"
    if isinstance(dtype, pl.Datetime):
        return "a timestamp"
    return {pl.Date: "a date", pl.Float64: "a number", pl.Int32: "an integer", pl.Boolean: "a boolean"}.get(
        dtype, "text"
    )


# --- fingerprints, for reloading --------------------------------------------------------------
def postgres_fingerprint(url: str, tables: Collection[str] = ("flags", "reviewers", "attacks")) -> Any:
    """The tables' change counters (pg_stat_user_tables): cheap, and they move with every write."""
    conn = connect_postgres(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables "
                "WHERE relid IN (SELECT to_regclass(t) FROM unnest($1::text[]) AS t) ORDER BY relname",
                ("{" + ",".join(tables) + "}",),
            )
            return tuple(tuple(row) for row in cur.fetchall())
    finally:
        conn.close()


def source_fingerprint(data: str | Path) -> Any:
    """Changes whenever the data behind ``data`` does (files' mtimes and sizes, or database counters)."""
    if is_database_url(data):
        return postgres_fingerprint(str(data))
    path = Path(data).expanduser()
    if is_rollup_dir(path):
        out = []
        for name in (*FILES, *SIDE_FILES):
            try:
                stat = (path / name).stat()
            except OSError:
                continue
            out.append((name, stat.st_mtime_ns, stat.st_size))
        return tuple(out)
    from tspanel.source import dataset_fingerprint

    return dataset_fingerprint(path)


_lock = threading.Lock()
_cache: dict[str, tuple[Any, Dataset, PostgresState | None]] = {}


def load_source_cached(data: str | Path) -> Dataset:
    """:func:`load_source` shared by the process's sessions; loaded again when the fingerprint moves.

    A database is reloaded incrementally by day (:func:`_load_postgres`): only the days from
    the first one whose rows changed are computed again.
    """
    if not is_database_url(data) and not is_rollup_dir(data):
        from tspanel.source import load_dataset_cached

        return load_dataset_cached(data)
    key = str(data)
    with _lock:
        try:
            fingerprint = source_fingerprint(data)
        except OSError as exc:
            raise TspanelError(f"{describe(data)}: cannot read it ({exc.strerror or exc})") from None
        hit = _cache.get(key)
        if hit is not None and hit[0] == fingerprint:
            return hit[1]
        state = None
        if is_database_url(data):
            dataset, state = _load_postgres(str(data), previous=None if hit is None else hit[2])
        else:
            dataset = load_source(data)
        _cache[key] = (fingerprint, dataset, state)
        return dataset


def clear_source_cache() -> None:
    with _lock:
        _cache.clear()
