"""Run the rollup (tspanel.rollup.spec) on Polars, PostgreSQL or Spark, into the same two frames.

Every engine runs the same SQL text (transpiled per dialect) where the data lives and
returns only the rollup; :func:`normalise` then gives every engine's output one schema and
one row order, so outputs compare equal row for row.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from tspanel.errors import TspanelError
from tspanel.rollup import spec

Progress = Callable[[str], None]

_FACT_TYPES: dict[str, pl.DataType] = {
    "day": pl.Date(),
    **dict.fromkeys(("category", "region", "severity", "action", "reviewer_id"), pl.String()),
    "score_bin": pl.Int16(),
    "hours_bin": pl.Int16(),
    "open_day": pl.Date(),
    "resolved_day": pl.Date(),
    **dict.fromkeys(("n", "hours_n", "over_sla", "coordinated", "appealed", "overturned"), pl.Int64()),
    **dict.fromkeys(("score_sum", "score_sq_sum", "hours_sum"), pl.Float64()),
}
_SIGNAL_TYPES: dict[str, pl.DataType] = {
    "day": pl.Date(),
    "category": pl.String(),
    **dict.fromkeys(spec.SIGNAL_MEASURES, pl.Int64()),
}
FACT_SCHEMA = pl.Schema({c: _FACT_TYPES[c] for c in (*spec.FACT_KEYS, *spec.FACT_MEASURES)})
SIGNAL_SCHEMA = pl.Schema({c: _SIGNAL_TYPES[c] for c in (*spec.SIGNAL_KEYS, *spec.SIGNAL_MEASURES)})
REQUIRED = ("date", "category", "severity", "action", "ml_score")  # the contract's, bar flag_id (not read)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")


@dataclass(frozen=True)
class Rollup:
    """The two rollup tables (see tspanel.rollup.spec for what they hold)."""

    facts: pl.DataFrame
    signals: pl.DataFrame


def conform(frame: pl.DataFrame, schema: pl.Schema, keys: tuple[str, ...] | None) -> pl.DataFrame:
    """``frame`` in ``schema``'s types, sorted by ``keys`` (None or empty: left in its order)."""
    exprs = []
    for name, dtype in schema.items():
        column = pl.col(name)
        if isinstance(frame.schema[name], pl.Decimal):  # PostgreSQL's NUMERIC sums
            column = column.cast(pl.Float64)
        if name == "resolved_day":  # days since 1970-01-01 in SQL (the portable form)
            column = column.cast(pl.Int32)
        exprs.append(column.cast(dtype).alias(name))
    out = frame.select(exprs)
    return out.sort(list(keys), nulls_last=True) if keys else out


def normalise(facts: pl.DataFrame, signals: pl.DataFrame) -> Rollup:
    """Each engine's result in one schema and one row order (by every key)."""
    return Rollup(
        facts=conform(facts, FACT_SCHEMA, spec.FACT_KEYS),
        signals=conform(signals, SIGNAL_SCHEMA, spec.SIGNAL_KEYS),
    )


# --- Polars -------------------------------------------------------------------------
POLARS_ENGINES: tuple[str, ...] = ("streaming", "in-memory")


BATCH_ROWS = 4_000_000  # flags per Polars batch: bounds the rollup's working set (about 1 GB at this size)


def day_batches(days: pl.DataFrame, rows: int = BATCH_ROWS) -> list[tuple[Any, Any]]:
    """Runs of consecutive days (``date``, ``n`` sorted by date) of at most ``rows`` flags each.

    A day larger than ``rows`` is a batch of its own: the rollup is keyed by day, so no batch
    splits one.
    """
    batches: list[tuple[Any, Any]] = []
    first = last = None
    total = 0
    for day, n in days.select("date", "n").iter_rows():
        if first is not None and total + n > rows:
            batches.append((first, last))
            first, total = None, 0
        if first is None:
            first = day
        last, total = day, total + n
    if first is not None:
        batches.append((first, last))
    return batches


def rollup_polars(
    flags: pl.LazyFrame,
    columns: Collection[str],
    engine: str = "streaming",
    *,
    batch_rows: int = BATCH_ROWS,
    progress: Progress | None = None,
) -> Rollup:
    """The rollup of a loaded dataset's flags, by Polars' SQL engine, a run of days at a time.

    Every table of the rollup is keyed by day, so the flags are rolled up in batches of whole
    days (``batch_rows`` flags at most, unless one day holds more) and the batches concatenated:
    the result is the same as one pass, and the working set is one batch's. One pass over 100M
    flags needed more than this 24 GB machine (the top-content counts group by day x category x
    content hash). ``streaming`` (the default) also reads each batch in pieces.
    """
    if engine not in POLARS_ENGINES:
        raise TspanelError(f"unknown Polars engine {engine!r}; choose from {', '.join(POLARS_ENGINES)}")
    days = flags.group_by("date").agg(pl.len().alias("n")).sort("date").collect()
    batches = day_batches(days, batch_rows) or [(None, None)]
    facts_sql = spec.transpile(spec.facts_sql(columns), "polars")
    signals_sql = spec.transpile(spec.signals_sql(columns), "polars")
    facts: list[pl.DataFrame] = []
    signals: list[pl.DataFrame] = []
    for i, (first, last) in enumerate(batches, 1):
        if progress is not None and len(batches) > 1:
            progress(f"Polars: days {first} to {last} (batch {i} of {len(batches)})")
        batch = flags if first is None else flags.filter(pl.col("date").is_between(first, last))
        ctx = pl.SQLContext(flags=batch)
        part_facts, part_signals = pl.collect_all(
            [ctx.execute(facts_sql), ctx.execute(signals_sql)],
            engine=engine,  # type: ignore[arg-type]
        )
        facts.append(conform(part_facts, FACT_SCHEMA, ()))
        signals.append(conform(part_signals, SIGNAL_SCHEMA, ()))
    return normalise(pl.concat(facts), pl.concat(signals))


# --- PostgreSQL -----------------------------------------------------------------------
def _check_table(table: str) -> str:
    if not _IDENTIFIER.fullmatch(table):
        raise TspanelError(f"--table {table!r} is not a table name; use NAME or SCHEMA.NAME (letters, digits, _)")
    return table


def connect_postgres(uri: str) -> Any:
    """An ADBC connection to PostgreSQL in UTC (days and hours are UTC, as in the data contract)."""
    try:
        from adbc_driver_postgresql import dbapi
    except ImportError as exc:
        raise TspanelError('the postgres engine needs the postgres extra: pip install "tspanel[postgres]"') from exc
    try:
        conn = dbapi.connect(uri)
    except Exception as exc:  # the driver's errors name the host, never the password
        raise TspanelError(f"cannot connect to PostgreSQL at {mask_uri(uri)}: {_first_line(exc)}") from None
    with conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
    return conn


def column_types(conn: Any, table: str) -> dict[str, str]:
    """Column name -> information_schema data_type of ``table``."""
    schema, _, name = table.rpartition(".")
    query = (
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 "
        "AND table_schema = COALESCE(NULLIF($2, ''), current_schema()) ORDER BY ordinal_position"
    )
    with conn.cursor() as cur:
        cur.execute(query, (name, schema))
        return {row[0]: row[1] for row in cur.fetchall()}


def table_columns(conn: Any, table: str) -> list[str]:
    """The columns of ``table`` (``NAME`` or ``SCHEMA.NAME``), in order; empty when it does not exist."""
    return list(column_types(conn, table))


def _contract_columns(conn: Any, uri: str, table: str) -> list[str]:
    """The table's columns, after checking it exists and has the contract's required ones."""
    columns = table_columns(conn, table)
    if not columns:
        raise TspanelError(f"PostgreSQL at {mask_uri(uri)} has no table {table!r}; load one or pass --table")
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise TspanelError(f"table {table!r} lacks the required column(s) {', '.join(missing)} (docs/data.md)")
    return columns


def rollup_postgres(uri: str, table: str = "flags", progress: Progress | None = None) -> Rollup:
    """The rollup computed inside PostgreSQL; only the grouped rows cross the wire (as Arrow)."""
    table = _check_table(table)
    conn = connect_postgres(uri)
    try:
        columns = _contract_columns(conn, uri, table)
        from adbc_driver_manager.dbapi import Error

        frames = []
        for name, build in (("facts", spec.facts_sql), ("signals", spec.signals_sql)):
            if progress:
                progress(f"PostgreSQL: computing the {name} rollup of {table}")
            with conn.cursor() as cur:
                try:
                    cur.execute(spec.transpile(build(columns, table), "postgres"))
                    frames.append(pl.from_arrow(cur.fetch_arrow_table()))
                except Error as exc:  # e.g. a column of another type than the contract's
                    raise TspanelError(
                        f"PostgreSQL could not compute the rollup of {table!r}: {_first_line(exc)}"
                    ) from None
    finally:
        conn.close()
    return normalise(*frames)


def serving_rollup_postgres(
    uri: str, table: str = "flags", progress: Progress | None = None, *, since: dt.date | None = None
) -> tuple[Iterator[pl.DataFrame], pl.DataFrame]:
    """The rollup computed inside PostgreSQL, for serving: the facts as normalised batches in day
    order (never the whole result at once: the caller compacts each batch as it arrives), and
    the signals (small). The iterator holds the connection until it is exhausted or closed.

    Why batches: reading the 10M-flag facts whole (Arrow table, then Polars, then normalise's
    cast and sort) peaked at 2.1 GB for a 3.3M-row result; batch by batch the peak is the
    compact result plus one batch (docs/rollup.md, "Serving memory").
    ``since``: only the days from this one on (an incremental refresh, tspanel.rollup.sources).
    """
    table = _check_table(table)
    conn = connect_postgres(uri)
    try:
        columns = _contract_columns(conn, uri, table)
        source = table if since is None else f"(SELECT * FROM {table} WHERE date >= DATE '{since.isoformat()}') AS days"
        if progress:
            progress(f"PostgreSQL: computing the signals rollup of {table}")
        signals = conform(_fetch(conn, spec.signals_sql(columns, source), table), SIGNAL_SCHEMA, spec.SIGNAL_KEYS)
    except BaseException:
        conn.close()
        raise
    if progress:
        progress(f"PostgreSQL: computing the facts rollup of {table}")
    return _fact_batches(conn, columns, table, source), signals


def day_signatures(conn: Any, table: str) -> pl.DataFrame:
    """Per day of ``table``: its rows and a hash over every column of every row (one scan).

    Why a hash of whole rows: a moderation tool updates old rows (a case resolved days after it
    was opened), which a count or a max(created_at) per day would miss.
    """
    sql = (
        "SELECT date AS day, COUNT(*) AS n, CAST(SUM(hashtextextended(CAST(f AS TEXT), 0)) AS TEXT) AS signature "
        f"FROM {_check_table(table)} AS f GROUP BY date"
    )
    from adbc_driver_manager.dbapi import Error

    with conn.cursor() as cur:
        try:
            cur.execute(sql)
            frame = pl.from_arrow(cur.fetch_arrow_table())
        except Error as exc:
            raise TspanelError(f"PostgreSQL could not read the days of {table!r}: {_first_line(exc)}") from None
    assert isinstance(frame, pl.DataFrame)
    return frame.select(pl.col("day").cast(pl.Date), pl.col("n").cast(pl.Int64), "signature").sort("day")


def _fetch(conn: Any, neutral_sql: str, table: str) -> pl.DataFrame:
    from adbc_driver_manager.dbapi import Error

    with conn.cursor() as cur:
        try:
            cur.execute(spec.transpile(neutral_sql, "postgres"))
            frame = pl.from_arrow(cur.fetch_arrow_table())
        except Error as exc:
            raise TspanelError(f"PostgreSQL could not compute the rollup of {table!r}: {_first_line(exc)}") from None
    assert isinstance(frame, pl.DataFrame)
    return frame


def _fact_batches(conn: Any, columns: Collection[str], table: str, source: str) -> Iterator[pl.DataFrame]:
    """The facts of ``source``, ordered by day, one normalised Arrow batch at a time; closes ``conn``."""
    from adbc_driver_manager.dbapi import Error

    sql = f"SELECT * FROM ({spec.transpile(spec.facts_sql(columns, source), 'postgres')}) AS facts ORDER BY day"
    try:
        with conn.cursor() as cur:
            try:
                cur.execute(sql)
                reader = cur.fetch_record_batch()
                for batch in reader:
                    frame = pl.from_arrow(batch)
                    assert isinstance(frame, pl.DataFrame)
                    yield conform(frame, FACT_SCHEMA, None)
            except Error as exc:
                raise TspanelError(
                    f"PostgreSQL could not compute the rollup of {table!r}: {_first_line(exc)}"
                ) from None
    finally:
        conn.close()


def load_postgres(uri: str, frame: pl.DataFrame | pl.LazyFrame, table: str = "flags", *, replace: bool = True) -> int:
    """Write a table of a dataset (its flags, by default into ``flags``) into PostgreSQL.

    For tests, demos and `tspanel load-db`; ``replace=False`` refuses to touch an existing table.
    """
    table = _check_table(table)
    frame = frame.lazy().with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String)).collect()
    conn = connect_postgres(uri)
    try:
        if not replace and table_columns(conn, table):
            raise TspanelError(f"table {table!r} already exists at {mask_uri(uri)}; pass --replace to replace it")
        with conn.cursor() as cur:
            cur.adbc_ingest(table, frame.to_arrow(), mode="replace" if replace else "create")
        conn.commit()
    finally:
        conn.close()
    return frame.height


# --- Spark ------------------------------------------------------------------------------
def spark_session(master: str = "local[2]", conf: dict[str, str] | None = None) -> Any:
    """A SparkSession in UTC (days and hours are UTC, as in the data contract).

    ``conf`` is passed to Spark as given (``--conf`` of `tspanel rollup`), after the defaults,
    so it can override them: e.g. ``spark.driver.memory=4g`` for 100M flags in ``local`` mode.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise TspanelError('the spark engine needs the spark extra: pip install "tspanel[spark]"') from exc
    builder = SparkSession.builder.master(master).appName("tspanel-rollup")
    builder = builder.config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
    builder = builder.config("spark.ui.showConsoleProgress", "false")  # our own progress lines instead
    if master.startswith("local"):
        builder = builder.config("spark.sql.shuffle.partitions", "4")
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:
        raise TspanelError(f"cannot start Spark (master {master}; it needs Java 17): {_first_line(exc)}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def parquet_flags(data: Path) -> Path:
    """The flags table of a Parquet dataset directory: flags.parquet or a flags/ directory of parts."""
    for candidate in (data / "flags.parquet", data / "flags"):
        if candidate.exists():
            return candidate
    if (data / "flags.csv").exists():
        raise TspanelError(f"{data}: the spark engine reads Parquet; flags.csv is CSV (convert it to flags.parquet)")
    raise TspanelError(f"{data}: no flags.parquet or flags/ directory of Parquet files (docs/data.md)")


# Polars dtype -> Spark SQL type, to give Spark's own output the normalised schema.
_SPARK_TYPES = {
    pl.Date(): "DATE",
    pl.String(): "STRING",
    pl.Int16(): "SMALLINT",
    pl.Int64(): "BIGINT",
    pl.Float64(): "DOUBLE",
}


def _spark_view(session: Any, path: Path | str) -> list[str]:
    """Register the Parquet flags as the view ``tspanel_flags``; return their columns."""
    frame = session.read.parquet(str(path))
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise TspanelError(f"{path} lacks the required column(s) {', '.join(missing)} (docs/data.md)")
    frame.createOrReplaceTempView("tspanel_flags")
    return list(frame.columns)


@contextmanager
def _spark_errors(path: Path | str) -> Iterator[None]:
    """Spark's and py4j's errors as a TspanelError naming ``path`` (no Java stack for the user)."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    try:
        yield
    except (PySparkException, Py4JJavaError) as exc:  # unreadable Parquet, a column of another type
        java = getattr(exc, "java_exception", None)
        reason = _first_line(java.getMessage()) if java is not None else _first_line(exc)
        raise TspanelError(f"Spark could not compute the rollup of {path}: {reason}") from None


def _to_polars(result: Any) -> pl.DataFrame:
    arrow = result.toArrow() if hasattr(result, "toArrow") else pa.Table.from_pandas(result.toPandas())
    return pl.from_arrow(arrow)


def rollup_spark(session: Any, path: Path | str, progress: Progress | None = None) -> Rollup:
    """The rollup of a Parquet flags table, computed by Spark; collected to the driver as Arrow.

    For small and medium data (tests, a few million flags): the facts cross to the driver. At
    scale use :func:`write_facts_spark`, which leaves them to Spark's own Parquet writer.
    """
    with _spark_errors(path):
        columns = _spark_view(session, path)
        frames = []
        for name, build in (("facts", spec.facts_sql), ("signals", spec.signals_sql)):
            if progress:
                progress(f"Spark: computing the {name} rollup of {path}")
            frames.append(_to_polars(session.sql(spec.transpile(build(columns, "tspanel_flags"), "spark"))))
    return normalise(*frames)


def spark_normalised_facts_sql(columns: Collection[str]) -> str:
    """The facts in Spark's dialect with normalise()'s column types and row order, for Spark to write."""
    casts = []
    for name, dtype in FACT_SCHEMA.items():
        if name == "resolved_day":  # days since 1970-01-01 in the portable SQL
            casts.append(f"DATE_FROM_UNIX_DATE(CAST({name} AS INT)) AS {name}")
        else:
            casts.append(f"CAST({name} AS {_SPARK_TYPES[dtype]}) AS {name}")
    order = ", ".join(f"{k} ASC NULLS LAST" for k in spec.FACT_KEYS)
    inner = spec.transpile(spec.facts_sql(columns, "tspanel_flags"), "spark")
    return f"SELECT {', '.join(casts)} FROM ({inner}) AS facts ORDER BY {order}"


def write_facts_spark(session: Any, path: Path | str, target: Path, progress: Progress | None = None) -> pl.DataFrame:
    """Spark computes the facts and writes them itself to the file ``target`` (sorted, one file),
    so they never cross to the driver; returns the signals (small), normalised.

    Why: at 100M flags the facts hold ~35M rows, beyond the driver's default result size.
    """
    with _spark_errors(path):
        columns = _spark_view(session, path)
        if progress:
            progress(f"Spark: computing the facts rollup of {path} (written by Spark)")
        facts = session.sql(spark_normalised_facts_sql(columns))
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".spark-") as tmp:
            parts = Path(tmp) / "facts"
            facts.coalesce(1).write.parquet(str(parts))  # after the sort: one file, in order
            (written,) = parts.glob("part-*.parquet")
            written.replace(target)
        if progress:
            progress(f"Spark: computing the signals rollup of {path}")
        signals = _to_polars(session.sql(spec.transpile(spec.signals_sql(columns, "tspanel_flags"), "spark")))
    return conform(signals, SIGNAL_SCHEMA, spec.SIGNAL_KEYS)


# --- shared -----------------------------------------------------------------------------
def mask_uri(uri: str) -> str:
    """A database URL with its password replaced, safe to print."""
    masked = re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", uri)
    return re.sub(r"([?&]password=)[^&\s\"']*", r"\1***", masked, flags=re.IGNORECASE)


def _first_line(exc: BaseException | str) -> str:
    """The first line of an error, with any database password in it masked (drivers echo the URL)."""
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", mask_uri(line), flags=re.IGNORECASE)
