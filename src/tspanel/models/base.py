"""What every domain model shares: the dataset, the session's filters, and one collect."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import param
import polars as pl

from tspanel.models import timing
from tspanel.models.filters import Filters
from tspanel.schema import SLA_HOURS
from tspanel.source.dataset import Engine


@dataclass(frozen=True)
class Unavailable:
    """An output the dataset cannot support, with the reason shown in its place."""

    reason: str

    def __bool__(self) -> bool:
        return False


Finish = Callable[[pl.DataFrame], Any]


class DomainModel(param.Parameterized):
    """A dataset's LazyFrame plus the shared filters; outputs are small collected results.

    Subclasses list their outputs in :meth:`queries` as lazy queries (plus an optional
    finishing step on the small collected frame), so a dashboard can gather the queries
    of every model and run them in one :func:`polars.collect_all`, sharing the scan.
    """

    dataset = param.Parameter(doc="the tspanel.source.Dataset being explored", constant=True)
    filters = param.ClassSelector(class_=Filters, doc="the session's shared filters")

    def __init__(self, dataset: Any, filters: Filters | None = None, **params: Any) -> None:
        super().__init__(dataset=dataset, filters=filters or Filters(), **params)

    # --- what subclasses provide -------------------------------------------------
    def queries(self) -> dict[str, pl.LazyFrame | tuple[pl.LazyFrame, Finish] | Unavailable]:
        raise NotImplementedError

    # --- shared machinery ---------------------------------------------------------
    def compute(self, names: Iterable[str] | None = None) -> dict[str, Any]:
        """Collect the named outputs (default: all) in one pass over the data."""
        specs = self.queries()
        wanted = list(specs) if names is None else list(names)
        return collect_outputs({name: specs[name] for name in wanted}, engine=self.dataset.engine)

    def output(self, name: str) -> Any:
        return self.compute([name])[name]

    def collect(self, frame: pl.LazyFrame) -> pl.DataFrame:
        """``frame`` collected by the dataset's engine (tspanel.source.Dataset.engine)."""
        return frame.collect(engine=self.dataset.engine)

    @property
    def columns(self) -> frozenset[str]:
        return self.dataset.columns

    def has(self, *columns: str) -> bool:
        return all(c in self.dataset.columns for c in columns)

    def filtered(self, **kwargs: Any) -> pl.LazyFrame:
        """The flags restricted to the session's selection (see Filters.expr for the options).

        In memory this is the query index (tspanel.source.rows): the days are a zero-copy
        slice, only the list filters are evaluated row by row, and category, region and
        reviewer_id are Enums. In hybrid storage it lacks the text ids and hashes
        (source.COLD_COLUMNS); code that reads those filters ``self.dataset.flags`` instead.
        """
        rows = self.dataset.in_memory
        if rows is None:
            return self.filters.apply(self.dataset.flags, self.dataset.columns, **kwargs)
        skip = set(kwargs.get("skip", ()))
        start, end = self.filters.bounds(skip=skip, start=kwargs.get("start", ...), end=kwargs.get("end", ...))
        return self.filters.apply(rows.between(start, end), self.dataset.columns, skip={*skip, "dates"})

    # --- counts, sums and means over raw rows or a weighted rollup ------------------
    @property
    def weight(self) -> str | None:
        """The count column when the flags are a rollup (tspanel.rollup.dataset); None for raw rows."""
        return getattr(self.dataset, "weight", None)

    def count(self, where: pl.Expr | None = None) -> pl.Expr:
        """Flags (where ``where`` holds): rows of raw data, the summed count column of a rollup."""
        return tally(where, self.weight)

    def score_mean(self, where: pl.Expr | None = None) -> pl.Expr:
        """Mean ML score (of the flags where ``where`` holds); exact on a rollup (Σ score / n)."""
        if self.weight is None:
            score = pl.col("ml_score")
            return (score if where is None else score.filter(where)).mean()
        total, n = _sum("score_sum", where), _sum(self.weight, where)
        return pl.when(n > 0).then(total / n)

    def score_std(self, where: pl.Expr | None = None) -> pl.Expr:
        """Sample standard deviation of the ML score; on a rollup from Σ score and Σ score²."""
        if self.weight is None:
            score = pl.col("ml_score")
            return (score if where is None else score.filter(where)).std()
        s1, s2, n = _sum("score_sum", where), _sum("score_sq_sum", where), _sum(self.weight, where)
        return pl.when(n > 1).then(((s2 - s1 * s1 / n) / (n - 1)).clip(lower_bound=0).sqrt())

    def breaches(self, eligible: pl.Expr, hours: pl.Expr, sla_hours: float) -> pl.Expr:
        """Eligible flags resolved after more than ``sla_hours``.

        A rollup holds the exact count for the contract's SLA (``over_sla``); another SLA is
        read from the 1-hour resolution bins (exact for a whole number of hours but one edge:
        a case resolved in exactly that many hours counts as a breach).
        """
        if self.weight is not None and sla_hours == SLA_HOURS:
            return _sum("over_sla", eligible).cast(pl.Int64)
        return self.count(eligible & (hours > sla_hours))

    def per_flag(self, frame: pl.LazyFrame, *exprs: pl.Expr) -> pl.LazyFrame:
        """``frame.select(*exprs)`` with one row per flag: a rollup's rows repeated by their count.

        Only for small selections that a simulation needs case by case (the open backlog).
        """
        if self.weight is None:
            return frame.select(*exprs)
        weight = self.weight
        return (
            frame.select(*exprs, pl.col(weight).alias("_weight"))
            .with_columns(pl.exclude("_weight").repeat_by("_weight"))
            .drop("_weight")
            .explode(pl.all())
        )

    def resolution_hours(self) -> pl.Expr:
        """Hours to resolution (tspanel.models.timing), precomputed at load for in-memory data."""
        rows = self.dataset.in_memory
        if rows is not None and rows.hours is not None:
            return pl.col(rows.hours)
        return timing.resolution_hours(self.columns)

    def date_range(self) -> tuple[dt.date, dt.date]:
        """The selected days, clipped to the days the data covers."""
        first, last = self.dataset.first_day, self.dataset.last_day
        start = max(self.filters.start or first, first)
        end = min(self.filters.end or last, last)
        return start, end

    def n_days(self) -> int:
        start, end = self.date_range()
        return max((end - start).days + 1, 0)

    def day_grid(self) -> pl.LazyFrame:
        """Every selected day, so days without flags show as zero, not as a gap."""
        start, end = self.date_range()
        if end < start:
            return pl.LazyFrame(schema={"date": pl.Date})
        return pl.LazyFrame({"date": pl.date_range(start, end, "1d", eager=True)})

    def selected(self, name: str, universe: Iterable[str]) -> list[str]:
        """The values of list filter ``name`` that are active, or all of ``universe``."""
        chosen = getattr(self.filters, name)
        universe = list(universe)
        return [v for v in universe if v in chosen] if chosen else universe


def collect_outputs(
    specs: dict[str, pl.LazyFrame | tuple[pl.LazyFrame, Finish] | Unavailable],
    engine: Engine = "streaming",
) -> dict[str, Any]:
    """Run every lazy query in one ``collect_all`` and apply each finishing step.

    A spec's query may also be a list of queries (an output built from several small inputs,
    such as the staffing plan); its finishing step then gets the list of collected frames.
    All of them run in the same ``collect_all``: collecting them one by one afterwards costs
    a query's fixed overhead each and forgoes running them beside the others.
    ``engine``: the dataset's (tspanel.source.Dataset.engine).
    """
    lazy: dict[str, pl.LazyFrame | list[pl.LazyFrame]] = {}
    finish: dict[str, Any] = {}
    out: dict[str, Any] = {}
    for name, spec in specs.items():
        if isinstance(spec, Unavailable):
            out[name] = spec
        elif isinstance(spec, tuple):
            lazy[name], finish[name] = spec
        else:
            lazy[name] = spec
    queries: list[pl.LazyFrame] = []
    for query in lazy.values():
        queries.extend(query if isinstance(query, list) else [query])
    frames = iter(pl.collect_all(queries, engine=engine) if queries else [])
    for name, query in lazy.items():
        value: Any = [next(frames) for _ in query] if isinstance(query, list) else next(frames)
        out[name] = finish[name](value) if name in finish else value
    return {name: out[name] for name in specs}


def as_text(column: str) -> pl.Expr:
    """A Categorical/Enum key as String, for joining with label frames.

    Applied after aggregating, to a handful of rows: casting before a group_by or
    is_in makes a string per flag, 3-4x slower than comparing the codes.
    """
    return pl.col(column).cast(pl.String)


MAX_LEVELS_COMPARED = 16


def count_levels(
    frame: pl.LazyFrame,
    column: str,
    levels: Iterable[str],
    *,
    by: tuple[str, ...] = (),
    name: str = "flags",
    weight: str | None = None,
) -> pl.LazyFrame:
    """Rows per value of ``column`` (and of ``by``), long format, ``column`` as String.

    With a few known levels (severities, actions, a handful of categories), one comparison
    and sum per level is a single vectorised pass (at 10M flags: ~1 ms for four levels
    against ~30 ms for a hash group_by); grouping by a date-sorted ``by`` keeps Polars'
    sorted fast path. Levels absent from the data count 0; values outside ``levels`` are
    not counted. ``weight``: the count column of a rollup (see :func:`tally`).
    """
    levels = list(levels)
    if len(levels) > MAX_LEVELS_COMPARED:
        keys = [*by, column]
        counted = frame.group_by(keys).agg(tally(None, weight).cast(pl.Int64).alias(name)).with_columns(as_text(column))
        return counted.filter(pl.col(column).is_in(levels))
    sums = [tally(pl.col(column) == level, weight).cast(pl.Int64).alias(f"_level{i}") for i, level in enumerate(levels)]
    wide = frame.group_by(list(by)).agg(sums) if by else frame.select(sums)
    names = {f"_level{i}": level for i, level in enumerate(levels)}
    return wide.unpivot(index=list(by), variable_name="_level", value_name=name).select(
        *by, pl.col("_level").replace_strict(names, return_dtype=pl.String).alias(column), name
    )


def tally(where: pl.Expr | None = None, weight: str | None = None) -> pl.Expr:
    """Rows (where ``where`` holds), or with a ``weight`` column the sum of it: one helper for
    raw flags and a rollup, so a model counts the same way on both."""
    if weight is None:
        return pl.len() if where is None else where.sum()
    return _sum(weight, where).cast(pl.Int64)


def _sum(column: str, where: pl.Expr | None) -> pl.Expr:
    values = pl.col(column)
    return (values if where is None else values.filter(where)).sum()


def share(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator, null (never NaN or inf) when the denominator is zero."""
    return pl.when(denominator > 0).then(numerator / denominator).otherwise(None)


def first_value(frame: pl.DataFrame, column: str) -> Any:
    """The single value of a one-row aggregate, or None when there is nothing."""
    if frame.height == 0:
        return None
    value = frame[column][0]
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value
