"""The flags table when the dashboard serves a rollup: rows on demand from the database.

A rollup (tspanel.rollup.dataset) holds aggregates, not flags. For a PostgreSQL source the
rows are still in the database (``Dataset.row_source``): every page is one SQL query with
the session's filters pushed down as a WHERE clause, an ORDER BY and LIMIT/OFFSET, built
with sqlglot, so only a page crosses the wire; the count is a COUNT(*), and an export
streams the selection in Arrow batches. A rollup directory has no rows to show: the table
says where they are instead.

:class:`FlagsTable` picks this class by itself for a rollup (``FlagsTable(dataset)`` is a
``FlagsQuery`` then), so the flags panel and `tspanel flags` need no change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import polars as pl
from sqlglot import exp

from tspanel.csvsafe import safe_text_columns
from tspanel.errors import TspanelError
from tspanel.models.filters import LIST_FILTERS
from tspanel.models.flags import ID_COLUMNS, FlagsTable, Page, _display, table_columns
from tspanel.schema import ACTIONS, SEVERITIES

BATCH_ROWS = 50_000  # rows per Arrow batch of an export
NO_ROWS = (
    "this dashboard serves a rollup (aggregates only): the flags themselves are in the database or lake it was "
    "made from. Serve the database (tspanel serve --data postgresql://...) to list them here, or query the source."
)
# Enum columns sort in their declared order, as in FlagsTable (low..critical), not alphabetically.
_ORDERED = {"severity": SEVERITIES, "action": ACTIONS}


class FlagsQuery(FlagsTable):
    """FlagsTable's interface over a database table (``Dataset.row_source``): pages, counts, exports."""

    def _rows(self) -> Any:
        rows = getattr(self.dataset, "row_source", None)
        if rows is None:
            raise TspanelError(NO_ROWS)
        return rows

    @property
    def _table_columns(self) -> frozenset[str]:
        rows = getattr(self.dataset, "row_source", None)
        return frozenset(rows.columns) if rows is not None else frozenset()

    def shown_columns(self) -> list[str]:
        return table_columns(self._table_columns)

    @property
    def row_columns(self) -> frozenset[str]:
        return self._table_columns

    def check(self) -> None:
        self._rows()
        super().check()

    # --- SQL ------------------------------------------------------------------------------------
    def _derived(self) -> dict[str, exp.Expression]:
        """status and resolution_hrs, as tspanel.models.flags derives them (FlagsTable._derived)."""
        columns = self._table_columns
        out: dict[str, exp.Expression] = {}
        shown = self.shown_columns()
        if "resolution_hrs" in shown:
            stamps = None
            if {"resolved_at", "created_at"} <= columns:
                seconds = exp.Extract(
                    this=exp.var("EPOCH"), expression=exp.column("resolved_at") - exp.column("created_at")
                )
                stamps = exp.Div(this=seconds, expression=exp.Literal.number(3600))
            if "resolution_hrs" in columns:
                out["resolution_hrs"] = (
                    exp.func("COALESCE", exp.column("resolution_hrs"), stamps)
                    if stamps is not None
                    else exp.column("resolution_hrs")
                )
            elif stamps is not None:
                out["resolution_hrs"] = stamps
        if "status" in shown:
            known = [exp.column(c).is_(exp.null()).not_() for c in ("resolved_at", "resolution_hrs") if c in columns]
            review = exp.column("action").eq(exp.Literal.string("human_review"))
            out["status"] = exp.Case(
                ifs=[
                    exp.If(this=exp.and_(review, exp.or_(*known)), true=exp.Literal.string("resolved")),
                    exp.If(this=review, true=exp.Literal.string("open")),
                ]
            )
        return out

    def _where(self) -> exp.Expression | None:
        columns = self._table_columns
        terms: list[exp.Expression] = []
        start, end = self.filters.bounds(**self._days())  # the backlog drops the dates: its moment decides
        if start is not None:
            terms.append(exp.column("date") >= exp.cast(exp.Literal.string(start.isoformat()), "DATE"))
        if end is not None:
            terms.append(exp.column("date") <= exp.cast(exp.Literal.string(end.isoformat()), "DATE"))
        for name, column in LIST_FILTERS.items():
            values = getattr(self.filters, name)
            if values and column in columns:
                terms.append(exp.cast(exp.column(column), "TEXT").isin(*(exp.Literal.string(v) for v in values)))
        text = self.search.strip()
        if text:
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            ids = [
                exp.ILike(this=exp.cast(exp.column(c), "TEXT"), expression=exp.Literal.string(pattern))
                for c in ID_COLUMNS
                if c in columns
            ]
            terms.append(exp.or_(*ids))
        if self.status == "backlog":
            terms.append(self._backlog())
        elif self.status is not None:
            terms.append(self._derived()["status"].eq(exp.Literal.string(self.status)))
        return exp.and_(*terms) if terms else None

    def _opened(self) -> exp.Expression:
        """tspanel.models.timing.opened in SQL: created_at, else the day's midnight (UTC)."""
        day_start = exp.AtTimeZone(this=exp.cast(exp.column("date"), "TIMESTAMP"), zone=exp.Literal.string("UTC"))
        if "created_at" in self._table_columns:
            return exp.func("COALESCE", exp.column("created_at"), day_start)
        return day_start

    def _resolved(self) -> exp.Expression | None:
        """tspanel.models.timing.resolved in SQL: resolved_at, else opened + resolution_hrs, else None (open)."""
        columns = self._table_columns
        candidates: list[exp.Expression] = []
        if "resolved_at" in columns:
            candidates.append(exp.column("resolved_at"))
        if "resolution_hrs" in columns:
            hours = exp.Mul(
                this=exp.column("resolution_hrs"),
                expression=exp.Interval(this=exp.Literal.string("1"), unit=exp.var("HOUR")),
            )
            candidates.append(exp.Add(this=exp.paren(self._opened()), expression=hours))
        if not candidates:
            return None
        return candidates[0] if len(candidates) == 1 else exp.func("COALESCE", *candidates)

    def _backlog(self) -> exp.Expression:
        """FlagsTable._with_status's backlog in SQL: review cases opened by the moment and not
        resolved by it (the moment: midnight UTC after the last selected day)."""
        as_of = exp.cast(exp.Literal.string(self.backlog_time().isoformat()), "TIMESTAMPTZ")
        terms = [
            exp.column("action").eq(exp.Literal.string("human_review")),
            exp.LTE(this=self._opened(), expression=as_of.copy()),
        ]
        resolved = self._resolved()
        if resolved is not None:
            terms.append(exp.or_(resolved.is_(exp.null()), exp.GT(this=resolved, expression=as_of.copy())))
        return exp.and_(*terms)

    def _order_by(self) -> list[exp.Expression]:
        """ORDER BY the sort column (nulls last), then the date and flag id: a stable page order."""
        columns = self._table_columns
        keys: list[exp.Expression] = []
        if self.sort_by is not None:
            key = self._derived().get(self.sort_by, exp.column(self.sort_by))
            if self.sort_by in _ORDERED:
                levels = _ORDERED[self.sort_by]
                key = exp.Case(
                    ifs=[
                        exp.If(this=exp.column(self.sort_by).eq(exp.Literal.string(v)), true=exp.Literal.number(i))
                        for i, v in enumerate(levels)
                    ]
                )
            keys.append(exp.Ordered(this=key, desc=self.descending, nulls_first=False))
        ties = [c for c in ("date", "created_at", "flag_id") if c in columns]
        keys += [exp.Ordered(this=exp.column(c), desc=self.descending and self.sort_by is None) for c in ties]
        return keys

    def _select(self, *, limit: int | None = None, offset: int = 0) -> str:
        """The page query: the shown columns of the filtered, ordered rows."""
        rows = self._rows()
        derived = self._derived()
        items = [derived[c].as_(c) if c in derived else exp.column(c) for c in self.shown_columns()]
        query = exp.select(*items).from_(exp.to_table(rows.table))
        where = self._where()
        if where is not None:
            query = query.where(where)
        query = query.order_by(*self._order_by())
        if limit is not None:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        return query.sql(dialect="postgres")

    def _count_sql(self) -> str:
        query = exp.select(exp.Count(this=exp.Star()).as_("n")).from_(exp.to_table(self._rows().table))
        where = self._where()
        return (query.where(where) if where is not None else query).sql(dialect="postgres")

    def _run(self, sql: str) -> pl.DataFrame:
        from tspanel.rollup.engines import connect_postgres

        conn = connect_postgres(self._rows().url)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                frame = pl.from_arrow(cur.fetch_arrow_table())
        finally:
            conn.close()
        assert isinstance(frame, pl.DataFrame)
        return frame

    # --- FlagsTable's interface ----------------------------------------------------------------
    def count(self) -> int:
        self.check()
        return int(self._run(self._count_sql())["n"][0])

    def page_frame(self) -> Page:
        self.check()
        total = self.count()
        page = min(self.page, max(0, (total - 1) // self.page_size))
        frame = self._run(self._select(limit=self.page_size, offset=page * self.page_size))
        return Page(_display(frame), total, page, self.page_size)

    def export_frame(self, *, sorted_: bool = True, formulas: bool = False) -> pl.LazyFrame:
        """The whole selection as a lazy frame read from the database in batches; a ``head(n)`` on
        it becomes the query's LIMIT (the rows are never all fetched for the first n)."""
        self.check()
        from polars.io.plugins import register_io_source

        base = self._run(self._select(limit=0))  # the columns and their types, no rows
        schema = _display(base).schema

        def batches(
            with_columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None, batch_size: int | None
        ) -> Iterator[pl.DataFrame]:
            for frame in self._stream(n_rows, batch_size or BATCH_ROWS):
                frame = _display(frame)
                if predicate is not None:
                    frame = frame.filter(predicate)
                yield frame.select(with_columns) if with_columns is not None else frame

        frame = register_io_source(batches, schema=schema)
        return frame.with_columns(safe_text_columns(schema, formulas=formulas))

    def _stream(self, limit: int | None, batch_rows: int) -> Iterator[pl.DataFrame]:
        """The selection in record batches from one query (the driver streams PostgreSQL's COPY output)."""
        from tspanel.rollup.engines import connect_postgres

        conn = connect_postgres(self._rows().url)
        try:
            with conn.cursor() as cur:
                cur.execute(self._select(limit=limit))
                reader = cur.fetch_record_batch()
                for batch in reader:
                    frame = pl.from_arrow(batch)
                    assert isinstance(frame, pl.DataFrame)
                    for offset in range(0, max(frame.height, 1), batch_rows):
                        yield frame.slice(offset, batch_rows)
        finally:
            conn.close()


MAX_WINDOW_ROWS = 2_000_000  # rows one evidence window may fetch from a database


def window_rows(
    dataset: Any,
    first: dt.date,
    end: dt.date,
    category: str,
    regions: list[str] | None,
    wanted: list[str],
) -> pl.DataFrame:
    """The rows of one category over a few days, for the evidence view (tspanel.models.evidence).

    From the database of a rollup's source with the filters pushed down (counted first, and
    refused above MAX_WINDOW_ROWS rather than pulled); a rollup directory has no rows.
    """
    rows = getattr(dataset, "row_source", None)
    if rows is None:
        raise TspanelError(NO_ROWS)
    terms = [
        exp.column("date") >= exp.cast(exp.Literal.string(first.isoformat()), "DATE"),
        exp.column("date") <= exp.cast(exp.Literal.string(end.isoformat()), "DATE"),
        exp.cast(exp.column("category"), "TEXT").eq(exp.Literal.string(category)),
    ]
    if regions:
        terms.append(exp.cast(exp.column("region"), "TEXT").isin(*(exp.Literal.string(r) for r in regions)))
    where = exp.and_(*terms)
    table = exp.to_table(rows.table)
    query = FlagsQuery(dataset)
    count = query._run(exp.select(exp.Count(this=exp.Star()).as_("n")).from_(table).where(where).sql("postgres"))
    if int(count["n"][0]) > MAX_WINDOW_ROWS:
        raise TspanelError(
            f"{int(count['n'][0]):,} flags in {category} from {first} to {end}: more than the evidence view reads "
            f"from the database ({MAX_WINDOW_ROWS:,}); pick a region or fewer days"
        )
    columns = [c for c in wanted if c in rows.columns]
    frame = query._run(exp.select(*(exp.column(c) for c in columns)).from_(table).where(where).sql("postgres"))
    return frame.with_columns(pl.col("region").cast(pl.String)) if "region" in columns else frame
