"""The flags behind a selection: a table paged and sorted on the server, and its streaming export.

Every page is a Polars query with the session's filters pushed down: the selection is
filtered, its sort key sorted with a bounded top-k (``sort`` then ``slice``; a page past
the middle is taken from the other end of the reversed order), and only the page's rows
are gathered. The browser (or the CLI) never receives more than a page.

How rows are found depends on the dataset's storage (tspanel.source):

- memory: the query index (tspanel.models.rows) holds every column; the days are a
  zero-copy slice and a page is gathered by row position.
- hybrid: the index lacks the text ids and hashes; the page's positions are found in
  memory and only those rows' ids are read from the files (one read per run of
  consecutive rows). A text search reads the id columns once per search text.
- lazy: every query scans the typed Parquet copy with predicate and projection pushdown.

Columns are those the dataset has, from TABLE_COLUMNS; two are derived, never invented:
``status`` (human-review cases only: "resolved" when a resolution time or timestamp is
known, else "open", as of the end of the data) and ``resolution_hrs`` (the contract's
column, else resolved_at - created_at, as in tspanel.models.timing).
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import param
import polars as pl

from tspanel.csvsafe import safe_text_columns
from tspanel.errors import TspanelError
from tspanel.models import timing
from tspanel.models.base import DomainModel

TABLE_COLUMNS: tuple[str, ...] = (
    "flag_id",
    "date",
    "created_at",
    "category",
    "region",
    "severity",
    "action",
    "ml_score",
    "account_id",
    "account_age_days",
    "content_hash",
    "target_id",
    "reviewer_id",
    "status",
    "resolution_hrs",
)
ID_COLUMNS: tuple[str, ...] = ("flag_id", "account_id", "content_hash", "target_id")
# "open"/"resolved": as of the end of the data, among the selected days' flags. "backlog": the
# review cases open at the end of the selected days, whenever they were opened (what the
# queue's backlog counts, tspanel.models.queue), so a backlog bar opens exactly its cases.
STATUSES: tuple[str, ...] = ("open", "resolved", "backlog")
MIN_SEARCH_CHARS = 3  # shorter texts match most ids and would only slow the table down
MAX_PAGE_SIZE = 1_000
# Pages further than this from both ends sort the whole selection once and keep its order
# (4 bytes a row) for the next pages; nearer pages are a bounded top-k.
DEEP_PAGE_ROWS = 20_000
FETCH_THREADS = 4  # hybrid: page windows read at once (a global sort's page touches up to 50)
FETCH_GAP_ROWS = 20_000  # hybrid: page rows closer than this in the files are read in one slice
# Memory and hybrid storage: a sort of a selection this large reads its page from the dataset's
# sort order of that column, built once per process (4 bytes a flag) and shared by every session;
# smaller selections are a bounded top-k on their own rows, which is faster than a pass over all.
PERMUTATION_MIN_ROWS = 200_000
MAX_SORT_ORDERS = 6  # per dataset, the most recently used (column, direction) orders are kept
EXPORT_FORMATS: tuple[str, ...] = ("csv", "parquet")
_ROW = "_row"

ExportFormat = Literal["csv", "parquet"]

# Datasets whose created_at is never null and always on the row's date: sorting by time can
# then look only at the days a page falls on (checked once per dataset, in memory storage).
_TIME_IS_DAY: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
# Per dataset: (column, descending) -> every row's position in that sort order (see SortOrders).
_ORDERS: weakref.WeakKeyDictionary[Any, SortOrders] = weakref.WeakKeyDictionary()
_ORDERS_LOCK = threading.Lock()


class SortOrders:
    """A dataset's rows in the order of a sort column, built on first use and shared by all sessions.

    Sorting 10M rows takes about a second (many more for text read from the files in hybrid
    storage); a page of any selection of the data is then the selection's rows picked out of
    that order, a gather and a filter instead of a sort. Ties keep the data's order and nulls
    come last, as in FlagsTable's own sort, so both give the same pages.
    """

    def __init__(self) -> None:
        self._orders: dict[tuple[str, bool], pl.Series] = {}  # least recently used first
        self._lock = threading.Lock()  # one build per column, however many sessions ask at once

    def get(self, key: tuple[str, bool], build: Any) -> pl.Series:
        with self._lock:
            order = self._orders.pop(key, None)
            if order is None:
                order = build()
            self._orders[key] = order
            while len(self._orders) > MAX_SORT_ORDERS:  # bounded memory: 40 MB each at 10M flags
                self._orders.pop(next(iter(self._orders)))
            return order


def _sort_orders(dataset: Any) -> SortOrders:
    with _ORDERS_LOCK:
        if dataset not in _ORDERS:
            _ORDERS[dataset] = SortOrders()
        return _ORDERS[dataset]


@dataclass(frozen=True)
class Page:
    """One page of the selection, in display order, and where it sits in the whole."""

    frame: pl.DataFrame
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def first_row(self) -> int:
        """1-based number of the page's first row (0 when the selection is empty)."""
        return self.page * self.page_size + 1 if self.frame.height else 0


def table_columns(columns: frozenset[str]) -> list[str]:
    """The TABLE_COLUMNS this dataset supports (derived ones included when their inputs exist)."""
    out = []
    for name in TABLE_COLUMNS:
        if name == "status":
            if "action" in columns and ({"resolved_at", "resolution_hrs"} & columns):
                out.append(name)
        elif name == "resolution_hrs":
            if "resolution_hrs" in columns or {"resolved_at", "created_at"} <= columns:
                out.append(name)
        elif name in columns:
            out.append(name)
    return out


def status_expr(columns: frozenset[str]) -> pl.Expr:
    """open/resolved for human-review cases (as of the end of the data); null for other actions."""
    known = timing.resolved(columns).is_not_null()
    review = pl.col("action") == "human_review"
    return pl.when(review & known).then(pl.lit("resolved")).when(review).then(pl.lit("open")).otherwise(None)


class FlagsTable(DomainModel):
    """The flags matching the session's filters, one page at a time, plus the whole selection's export."""

    sort_by = param.String(default=None, allow_None=True, doc="column to sort by (None: the data's order)")
    descending = param.Boolean(default=False, doc="sort from the largest value")
    page = param.Integer(default=0, bounds=(0, None), doc="0-based page number")
    page_size = param.Integer(default=50, bounds=(1, MAX_PAGE_SIZE), doc="rows per page")
    search = param.String(default="", doc="text found in a flag, account, content or target id (case-insensitive)")
    status = param.Selector(
        default=None,
        objects=[None, *STATUSES],
        doc="only open or only resolved review cases, or the backlog at the end of the selected days",
    )

    def __new__(cls, dataset: Any = None, *args: Any, **params: Any) -> FlagsTable:
        """A rollup holds aggregates, not flags: FlagsTable(rollup) is a FlagsQuery (rows on demand
        from the database, tspanel.models.flags_query), so callers need not know the source."""
        if cls is FlagsTable and getattr(dataset, "weight", None) is not None:
            from tspanel.models.flags_query import FlagsQuery

            return super().__new__(FlagsQuery)
        return super().__new__(cls)

    def __init__(self, dataset: Any, filters: Any = None, **params: Any) -> None:
        super().__init__(dataset, filters, **params)
        self._search_rows: tuple[Any, pl.Series] | None = None  # hybrid storage: positions matching a search
        self._order: tuple[Any, pl.Series] | None = None  # the last deep-paged order (4 bytes a selected flag)
        self._values: tuple[Any, pl.Series] | None = None  # the last deep-paged key values, sorted

    # --- what the table shows -------------------------------------------------------
    def shown_columns(self) -> list[str]:
        return table_columns(self.columns)

    @property
    def row_columns(self) -> frozenset[str]:
        """The columns of the rows the table lists (a database source lists its table's, not the rollup's)."""
        return self.columns

    def check(self) -> None:
        """Raise TspanelError (a message for the user) for a sort column or search the data cannot serve."""
        shown = self.shown_columns()
        if self.sort_by is not None and self.sort_by not in shown:
            raise TspanelError(f"cannot sort by {self.sort_by!r}; choose one of {', '.join(shown)}")
        text = self.search.strip()
        if text and len(text) < MIN_SEARCH_CHARS:
            raise TspanelError(f"search text {text!r} is too short: give at least {MIN_SEARCH_CHARS} characters")
        if text and not any(c in self.row_columns for c in ID_COLUMNS):
            raise TspanelError("this dataset has no flag, account, content or target ids to search")
        if self.status == "backlog" and "action" not in self.row_columns:
            raise TspanelError("this dataset has no moderation actions, so it has no review backlog")
        if self.status in ("open", "resolved") and "status" not in shown:
            raise TspanelError("this dataset has no resolution times or timestamps, so open and resolved are unknown")

    # --- the selection ----------------------------------------------------------------
    def _storage(self) -> str:
        return "lazy" if self.dataset.in_memory is None else self.dataset.storage

    def _derived(self, frame_columns: frozenset[str]) -> list[pl.Expr]:
        shown = self.shown_columns()
        exprs = []
        if "status" in shown:
            exprs.append(status_expr(self.columns).alias("status"))
        if "resolution_hrs" in shown:
            rows = self.dataset.in_memory
            # The index's precomputed hours where the frame has them; else the definition itself
            # (the full flags plan of hybrid storage lacks the index's helper column).
            in_index = rows is not None and rows.hours is not None and rows.hours in frame_columns
            hours = pl.col(rows.hours) if in_index else timing.resolution_hours(self.columns)
            exprs.append(hours.alias("resolution_hrs"))
        return exprs

    def _search_expr(self, schema: pl.Schema | None = None) -> pl.Expr | None:
        """Any id containing the search text, ignoring case; ``schema``: the columns' types when they
        may not be text (hybrid storage's columns as the files hold them), cast to text first."""
        text = self.search.strip()
        if not text:
            return None
        pattern = "(?i)" + re.escape(text)
        names = self._id_names()
        ids = [pl.col(c) if schema is None or schema[c] == pl.String else pl.col(c).cast(pl.String) for c in names]
        return pl.any_horizontal([c.str.contains(pattern) for c in ids])

    def _id_names(self) -> list[str]:
        return [c for c in ID_COLUMNS if c in self.columns]

    def _indexed(self) -> pl.LazyFrame:
        """Memory and hybrid storage: the index's rows of the selected days, with their positions."""
        rows = self.dataset.in_memory
        first, stop = self._day_rows()
        frame = rows.frame.slice(first, stop - first).lazy().with_row_index(_ROW, offset=first)
        return self.filters.apply(frame, self.columns, skip={"dates"})

    def _day_rows(self) -> tuple[int, int]:
        """Memory and hybrid storage: the first row of the selected days and the row after the last."""
        rows = self.dataset.in_memory
        start, end = self.filters.bounds(**self._days())
        lo = 0 if start is None else bisect.bisect_left(rows.days, start)
        hi = len(rows.days) if end is None else bisect.bisect_right(rows.days, end)
        return rows.starts[lo], rows.starts[max(hi, lo)]

    def _hybrid_search_rows(self) -> pl.Series:
        """Positions of the rows whose ids match the search, read from the files once per search
        text and range of days (only the selected days' rows are read)."""
        first, stop = self._day_rows()
        key = (self.search.strip(), first, stop)
        if self._search_rows is None or self._search_rows[0] != key:
            ids = self._id_names()
            files = self.dataset.cold_files
            if files is not None and set(ids) <= set(files.collect_schema().names()):
                # The ids as the files hold them: the flags plan strips every id first (4x slower).
                source, expr = files, self._search_expr(files.collect_schema())
            else:
                source, expr = self.dataset.flags, self._search_expr()
            assert expr is not None
            days = source.slice(first, stop - first).select(ids).with_row_index(_ROW, offset=first)
            self._search_rows = (key, days.filter(expr).select(_ROW).pipe(self.collect)[_ROW])
        return self._search_rows[1]

    def selection(self) -> pl.LazyFrame:
        """The selected rows (filters, search, status) with every column the query may need.

        Memory and hybrid storage add their row position as ``_row``; hybrid rows lack the
        text ids (they are fetched per page by :meth:`page_frame`).
        """
        storage = self._storage()
        if storage == "lazy":  # the row number breaks ties, so every page of a sort is stable
            frame = self.filters.apply(self.dataset.flags.with_row_index(_ROW), self.columns, **self._days())
        else:
            frame = self._indexed()
        schema = frame.collect_schema()
        frame = frame.with_columns(self._derived(frozenset(schema.names())))
        search = self._search_expr()
        if search is not None:
            if storage == "hybrid":
                frame = frame.filter(pl.col(_ROW).is_in(self._hybrid_search_rows().implode()))
            else:
                frame = frame.filter(search)
        return self._with_status(frame)

    def _days(self) -> dict[str, Any]:
        """Date overrides for Filters: the backlog looks at cases opened before the selected days
        too, and the moment it is taken (not the dates) decides which cases it holds."""
        return {"start": None, "end": None} if self.status == "backlog" else {}

    def backlog_time(self) -> dt.datetime:
        """The backlog's moment: midnight UTC after the last selected day (as the queue model's)."""
        _, end = self.date_range()
        return dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)

    def _with_status(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        if self.status is None:
            return frame
        if self.status != "backlog":
            return frame.filter(pl.col("status") == self.status)
        as_of = pl.lit(self.backlog_time())
        opened, resolved = timing.opened(self.columns), timing.resolved(self.columns)
        return frame.filter(
            (pl.col("action") == "human_review") & (opened < as_of) & (resolved.is_null() | (resolved > as_of))
        )

    def _files_selection(self) -> pl.LazyFrame:
        """Hybrid storage: the selection from the full flags plan (text ids read from the files).

        Its ``_row`` is the position in the files, the same as in the index (checked per page)."""
        frame = self.filters.apply(self.dataset.flags.with_row_index(_ROW), self.columns, **self._days())
        frame = frame.with_columns(self._derived(frozenset()))
        search = self._search_expr()
        if search is not None:
            frame = frame.filter(search)
        return self._with_status(frame)

    # --- counting and paging ----------------------------------------------------------------
    def count(self) -> int:
        """How many flags the selection holds."""
        self.check()
        return int(self.selection().select(pl.len()).pipe(self.collect).item())

    def _sort_key(self, schema: pl.Schema) -> pl.Expr:
        column = self.sort_by or _ROW
        dtype = schema.get(column)
        # Enum codes sort in their declared order (severities low..critical; the index's
        # categories, regions and reviewers alphabetically); a Categorical is sorted as text.
        return pl.col(column).cast(pl.String) if dtype == pl.Categorical else pl.col(column)

    def _ordered(self, frame: pl.LazyFrame, offset: int, length: int, total: int) -> pl.LazyFrame:
        """Rows offset..offset+length of the selection (``_row`` ascending) in display order.

        Nulls sort last; the sort is stable, so ties keep the data's order. A page past the
        middle is the start of the reversed order (reversed rows, flipped sort), so the last
        page costs what the first does: a bounded top-k either way.
        """
        back = max(total - offset - length, 0)
        take = max(min(length, total - offset), 0)
        from_end = offset + length / 2 > total / 2 and total > length
        if self.sort_by is None:
            if self.descending:
                return frame.slice(back, take).reverse()
            return frame.slice(offset, length)
        key = self._sort_key(frame.collect_schema())
        if from_end:
            flipped = frame.reverse().sort(key, descending=not self.descending, nulls_last=False, maintain_order=True)
            return flipped.slice(back, take).reverse()
        return frame.sort(key, descending=self.descending, nulls_last=True, maintain_order=True).slice(offset, length)

    def _time_sorted(self) -> bool:
        """Sorting by date, or by a created_at that always falls on its row's date (memory, hybrid)."""
        if self.sort_by == "date":
            return True
        if self.sort_by != "created_at" or self.dataset.in_memory is None:
            return False
        if self.dataset not in _TIME_IS_DAY:
            frame = self.dataset.in_memory.frame
            same = frame.select(
                (pl.col("created_at").is_not_null() & (pl.col("created_at").dt.date() == pl.col("date"))).all()
            )
            _TIME_IS_DAY[self.dataset] = bool(same.item())
        return _TIME_IS_DAY[self.dataset]

    def _time_positions(self, frame: pl.LazyFrame, offset: int, length: int) -> pl.Series:
        """A page of a sort by time: the selection's flags per day give the days the page falls on,
        and only those days' rows are sorted, however deep the page."""
        days = (
            frame.group_by("date").agg(pl.len().alias("n")).sort("date", descending=self.descending).pipe(self.collect)
        )
        wanted, skip, seen = [], 0, 0
        for day, n in days.iter_rows():
            if seen + n > offset and seen < offset + length:
                if not wanted:
                    skip = offset - seen
                wanted.append(day)
            seen += n
        key = [self.sort_by] if self.sort_by != "date" else []
        window = frame.filter(pl.col("date").is_in(wanted))
        ordered = window.sort(
            ["date", *key, _ROW], descending=[self.descending] * (1 + len(key)) + [False], nulls_last=True
        )
        return ordered.slice(skip, length).select(_ROW).pipe(self.collect)[_ROW]

    def _deep_positions(self, frame: pl.LazyFrame, offset: int, length: int) -> pl.Series:
        """A page far from both ends of the sort.

        Numbers and times: the sorted key values alone (a plain sort, several times faster than
        sorting positions) give the page's first and last value, and only the rows between
        those values are sorted with their positions. Other keys (and pages starting in the
        nulls) sort the whole selection once and keep its order for the next pages.
        """
        state = (self.filters.key(), self.sort_by, self.descending, self.search.strip(), self.status)
        dtype = frame.collect_schema()[self.sort_by]
        if dtype.is_numeric() or dtype.is_temporal():
            if self._values is None or self._values[0] != state:
                values = frame.select(self.sort_by).pipe(self.collect).to_series()
                self._values = (state, values.sort(descending=self.descending, nulls_last=True))
            found = _between_values(frame, self._values[1], self.sort_by, self.descending, offset, length)
            if found is not None:
                return found
        if self._order is None or self._order[0] != state:
            sort_key = self._sort_key(frame.collect_schema())
            order = frame.sort(sort_key, descending=self.descending, nulls_last=True, maintain_order=True)
            self._order = (state, order.select(_ROW).pipe(self.collect)[_ROW])
        return self._order[1].slice(offset, length)

    def sort_order(self) -> pl.Series:
        """Every row's position (memory and hybrid storage) in this table's sort order, whole dataset."""
        column, descending = self.sort_by, self.descending
        rows = self.dataset.in_memory

        def build() -> pl.Series:
            if column in rows.frame.columns:
                values = rows.frame.lazy().select(column)
            else:  # hybrid: an id column, read from the files once (same row order as the index)
                values = self.dataset.flags.select(column)
            key = self._sort_key(values.collect_schema())
            # A stable sort keeps ties in the data's order (4x faster than sorting on the row number too).
            order = values.select(pl.arg_sort_by(key, descending=descending, nulls_last=True, maintain_order=True))
            return order.pipe(self.collect).to_series().cast(pl.UInt32)

        return _sort_orders(self.dataset).get((column, descending), build)

    def _permuted_positions(self, selection: pl.LazyFrame, total: int, offset: int, length: int) -> pl.Series:
        """A page of a large selection from the dataset's sort order: no sort, whatever the page.

        The selection's rows are marked, then the order is walked from the nearer end in growing
        chunks until the page's rows are found (the first page of a tenth of the data reads a
        few hundred thousand positions, not ten million).
        """
        order = self.sort_order()
        n = order.len()
        if total == n:  # everything selected
            return order.slice(offset, length)
        mask = np.zeros(n, dtype=bool)
        mask[selection.select(_ROW).pipe(self.collect).to_series().to_numpy()] = True
        ordered = order.to_numpy()
        from_end = offset + length / 2 > total / 2
        need = total - offset if from_end else offset + length
        found: list[np.ndarray] = []
        have, done, step = 0, 0, 1 << 16
        while have < need and done < n:
            chunk = ordered[max(n - done - step, 0) : n - done] if from_end else ordered[done : done + step]
            hits = chunk[mask[chunk]]
            found.append(hits)
            have += len(hits)
            done += len(chunk)
            step *= 2
        if from_end:
            hits = np.concatenate(found[::-1]) if found else np.empty(0, dtype=np.uint32)
            first = offset - (total - len(hits))  # hits are the selection's last len(hits) rows, in order
        else:
            hits = np.concatenate(found) if found else np.empty(0, dtype=np.uint32)
            first = offset
        return pl.Series(_ROW, hits[first : first + length], dtype=pl.UInt32)

    def page_frame(self) -> Page:
        """The current page (sort_by, descending, page, page_size), and the selection's size."""
        self.check()
        shown = self.shown_columns()
        selection = self.selection()
        total = int(selection.select(pl.len()).pipe(self.collect).item())
        page = min(self.page, max(0, (total - 1) // self.page_size))
        offset = page * self.page_size
        storage = self._storage()
        if storage == "lazy":
            frame = self._ordered(selection, offset, self.page_size, total).select(shown).pipe(self.collect)
            return Page(_display(frame), total, page, self.page_size)
        key = [] if self.sort_by is None else [self.sort_by]
        if key and key[0] not in selection.collect_schema():  # hybrid, sorted by an id: read from the files
            selection = self._files_selection()
        narrow = selection.select(_ROW, *key)
        if key and self._time_sorted():
            narrow = selection.select(_ROW, *{"date", *key})
            positions = self._time_positions(narrow, offset, self.page_size)
        elif key and total >= PERMUTATION_MIN_ROWS:
            positions = self._permuted_positions(selection, total, offset, self.page_size)
        elif key and min(offset, total - offset - self.page_size) > DEEP_PAGE_ROWS:
            positions = self._deep_positions(narrow, offset, self.page_size)
        else:
            positions = self._ordered(narrow, offset, self.page_size, total).select(_ROW).pipe(self.collect)[_ROW]
        rows = self.dataset.in_memory.frame[positions]
        derived = self._derived(frozenset(rows.columns))
        rows = rows.with_columns(derived) if derived else rows
        if storage == "hybrid":
            rows = _with_cold(rows, self.dataset.flags, positions, [c for c in shown if c not in rows.columns])
        return Page(_display(rows.select(shown)), total, page, self.page_size)

    # --- export -------------------------------------------------------------------------------
    def export_frame(self, *, sorted_: bool = True, formulas: bool = False) -> pl.LazyFrame:
        """The whole selection with the table's columns, as a lazy query (ids read from the files
        in hybrid storage); text NUL-free, formulas neutralised when ``formulas``."""
        self.check()
        shown = self.shown_columns()
        frame = self._files_selection() if self._storage() == "hybrid" else self.selection()
        if sorted_ and self.sort_by is not None:
            key = self._sort_key(frame.collect_schema())
            frame = frame.sort([key, pl.col(_ROW)], descending=[self.descending, False], nulls_last=True)
        elif sorted_ and self.descending:
            frame = frame.reverse()
        frame = frame.select(shown)
        coded = [c for c, t in frame.collect_schema().items() if t == pl.Categorical or t == pl.Enum]
        frame = frame.with_columns([pl.col(c).cast(pl.String) for c in coded])
        return frame.with_columns(safe_text_columns(frame.collect_schema(), formulas=formulas))

    def export(self, out: str | Path | IO[bytes], fmt: ExportFormat = "csv", *, limit: int | None = None) -> int:
        """Stream the selection into a file or a binary stream with Polars' sinks (bounded memory).

        CSV cells that a spreadsheet would run as a formula get a leading apostrophe; NUL bytes
        are removed from text in every format. Returns the number of rows written.
        """
        if fmt not in EXPORT_FORMATS:
            raise TspanelError(f"unknown export format {fmt!r}; choose {' or '.join(EXPORT_FORMATS)}")
        frame = self.export_frame(formulas=fmt == "csv")
        if limit is not None:
            frame = frame.head(limit)
        target = Path(out) if isinstance(out, str | Path) else out
        if fmt == "csv":
            frame.sink_csv(target)
        else:
            frame.sink_parquet(target)
        total = self.count()
        return total if limit is None else min(total, limit)


def _display(frame: pl.DataFrame) -> pl.DataFrame:
    """Enum and Categorical columns as plain text: what a table or a JSON answer shows."""
    casts = [pl.col(c).cast(pl.String) for c, t in frame.schema.items() if t == pl.Categorical or t == pl.Enum]
    return frame.with_columns(casts) if casts else frame


def _between_values(
    frame: pl.LazyFrame, values: pl.Series, column: str, descending: bool, offset: int, length: int
) -> pl.Series | None:
    """Positions of display rows offset..offset+length from the sorted key ``values``: the rows whose
    key lies between the page's first and last value, sorted with their positions (ties in data
    order). None when the page touches a null or NaN (the caller sorts everything instead)."""
    length = min(length, values.len() - offset)
    if length <= 0:
        return None
    first, last = values[offset], values[offset + length - 1]
    if first is None or last is None or first != first or last != last:  # null or NaN
        return None
    before = int((values > first).sum() if descending else (values < first).sum())
    low, high = (last, first) if descending else (first, last)
    window = frame.filter(pl.col(column).is_between(low, high)).sort(
        [column, _ROW], descending=[descending, False], nulls_last=True
    )
    return window.slice(offset - before, length).select(_ROW).collect()[_ROW]


def _windows(positions: list[int], gap: int) -> list[tuple[int, int]]:
    """(start, length) windows covering the positions; positions less than ``gap`` apart share one."""
    windows: list[tuple[int, int]] = []
    for p in sorted(set(positions)):
        if windows and p - (windows[-1][0] + windows[-1][1]) < gap:
            windows[-1] = (windows[-1][0], p - windows[-1][0] + 1)
        else:
            windows.append((p, 1))
    return windows


def _with_cold(rows: pl.DataFrame, flags: pl.LazyFrame, positions: pl.Series, cold: list[str]) -> pl.DataFrame:
    """Hybrid storage: the page's rows with the text columns read from the files.

    The index and the files hold the rows in the same order (the loader keeps a date-sorted
    source's order); the page's dates are compared with the files' to make sure of it.
    """
    if not cold:
        return rows
    if rows.height == 0:
        return rows.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in cold])
    wanted = positions.to_list()
    # One read per window of nearby rows: a file is read a row group at a time anyway. Each
    # window is collected on its own: collect_all over these plans ran ~100x slower (measured).
    # Windows are read on a few threads (Polars releases the GIL while it reads and decodes).
    windows = _windows(wanted, FETCH_GAP_ROWS)

    def read(window: tuple[int, int]) -> pl.DataFrame:
        return flags.slice(window[0], window[1]).select(["date", *cold]).collect()

    if len(windows) > 1:
        with ThreadPoolExecutor(max_workers=FETCH_THREADS) as pool:
            parts = list(pool.map(read, windows))
    else:
        parts = [read(w) for w in windows]
    numbers = [pl.int_range(start, start + n, eager=True, dtype=pl.UInt32) for start, n in windows]
    fetched = pl.concat(parts).with_columns(pl.concat(numbers).alias(_ROW))
    by_row = fetched.join(pl.DataFrame({_ROW: wanted}).with_row_index("_order"), on=_ROW).sort("_order")
    if not by_row["date"].equals(rows["date"]):
        raise TspanelError(
            "the flags files are not in date order, so their ids cannot be matched to the in-memory index; "
            "sort the flags by date, or set TSPANEL_MEMORY_BUDGET_MB high enough to hold them in memory"
        )
    return rows.with_columns(by_row.select(cold))
