"""Cast a raw table to the data contract and check every value, in one place.

Raw tables come from CSV (every column a string) or Parquet (typed columns).
Each contract column is converted once with non-strict casts, so a value that
does not convert becomes null instead of an exception; every kind of bad row is
then a boolean mask, and all masks of a table are counted in one aggregate
query. A user sees every problem of a file at once, with counts and the first
offending values, instead of a traceback or a half-loaded dataset.

The query is built in stages so that each conversion is computed once:
stage 0 strips text columns (blank text becomes missing); stage 1 adds
`__typed_<col>` (converted value) and `__blank_<col>` (no input value) next to
the raw columns; stage 2 adds one `__mask_<i>` per check and the derived columns
(date from created_at, the attack span). The aggregates and the typed table are
both selected from stage 2, and `pl.collect_all` runs the shared stages once.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from tspanel.errors import DataError
from tspanel.schema import ATTACKS, FLAGS, UTC, Column, Table

MAX_SHOWN = 5
_MAX_VALUE_CHARS = 40
_INT32_MAX = 2**31 - 1
_DUPLICATED_HEADER = re.compile(r"^(?P<name>.+)_duplicated_\d+$")  # how Polars renames a repeated header

BOOLEAN_WORDS: Mapping[str, bool] = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}

_Phrase = tuple[str, str]  # what bad rows have, singular and plural: ("has a negative value", "have ...")

DATE_RANGE_ENV = "TSPANEL_DATE_RANGE"
DEFAULT_DATE_RANGE = (dt.date(1970, 1, 1), dt.date(2100, 12, 31))
# What TSPANEL_DATE_RANGE may widen the range to: the charts convert days to pandas'
# nanosecond timestamps (1677-09-22 .. 2262-04-11), and the KPIs compare a range with the
# period of equal length before it, which must stay a valid date too.
DATE_LIMITS = (dt.date(1678, 1, 1), dt.date(2261, 12, 31))


MAX_SPAN_ENV = "TSPANEL_MAX_SPAN_DAYS"
DEFAULT_MAX_SPAN_DAYS = 3_660  # about ten years of daily charts; detection over it takes seconds


def max_span_days() -> int:
    """The most days the flags may span, first to last: $TSPANEL_MAX_SPAN_DAYS, else 3,660.

    Why: every view has a point per day and detection scores every day, so a dataset
    spanning a century (1970 to 2100, within the plausible range) makes each chart a
    47,000-point line and `tspanel detect` take minutes. A longer span is refused with
    this number in the message, instead of loading into views nobody can use.
    """
    text = os.environ.get(MAX_SPAN_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_SPAN_DAYS
    try:
        days = int(text)
        if days < 1:
            raise ValueError
    except ValueError:
        raise DataError(f"{MAX_SPAN_ENV}={text!r} is not a positive whole number of days, e.g. 7300") from None
    return days


def span_problem(label: str, first: dt.date, last: dt.date, rows: tuple[int, int] | None = None) -> str | None:
    """The message for flags spanning more than max_span_days(), or None when they do not."""
    days, limit = (last - first).days + 1, max_span_days()
    if days <= limit:
        return None
    at = (f" (row {rows[0]})", f" (row {rows[1]})") if rows else ("", "")
    return (
        f"{label}: the flags span {days:,} days, from {first}{at[0]} to {last}{at[1]}; daily charts and "
        f"detection are unusable beyond {limit:,} days. Load a shorter period, fix the dates of these rows, "
        f"or set {MAX_SPAN_ENV} to a larger number of days to accept it."
    )


def plausible_dates() -> tuple[dt.date, dt.date]:
    """The first and last day a dataset's dates may fall on: $TSPANEL_DATE_RANGE, else 1970-01-01..2100-12-31.

    Why a bound at all: a sentinel such as 9999-12-31 ("never") or 0001-01-01 is a valid
    date, but a dataset spanning it has millions of days, which overflows date arithmetic
    and makes every daily view unusable. Rows outside the range are named, not dropped.
    """
    text = os.environ.get(DATE_RANGE_ENV, "").strip()
    if not text:
        return DEFAULT_DATE_RANGE
    usage = f"give FIRST..LAST, e.g. {DATE_RANGE_ENV}=2000-01-01..2099-12-31"
    first_text, sep, last_text = text.partition("..")
    try:
        if not sep:
            raise ValueError
        first, last = dt.date.fromisoformat(first_text.strip()), dt.date.fromisoformat(last_text.strip())
    except ValueError:
        raise DataError(f"{DATE_RANGE_ENV}={text!r} is not a date range; {usage}") from None
    if first > last:
        raise DataError(f"{DATE_RANGE_ENV}={text!r}: the first day is after the last; {usage}")
    lo, hi = DATE_LIMITS
    if first < lo or last > hi:
        raise DataError(f"{DATE_RANGE_ENV}={text!r} reaches beyond {lo}..{hi}, the days the charts can show; {usage}")
    return first, last


@dataclass(frozen=True)
class ValidatedTable:
    """A table that meets the contract, and what the loader did to get it there."""

    frame: pl.LazyFrame  # canonical dtypes, contract columns only
    rows: int
    columns: tuple[str, ...]
    derived: tuple[str, ...] = ()  # computed from other columns (e.g. date from created_at)
    ignored: tuple[str, ...] = ()  # not in the contract
    empty: tuple[str, ...] = ()  # optional columns without a single value, dropped
    stats: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TableResult:
    """The outcome of checking one table: the table, or the problems that stop it loading."""

    label: str
    table: ValidatedTable | None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Check:
    """One kind of bad row: a mask over stage-1 columns, what to show of those rows, how to say it."""

    column: str
    mask: pl.Expr
    shown: pl.Expr | None  # values to list; None lists row numbers instead
    describe: Callable[[int, list[Any]], str]
    with_rows: bool = False  # list (row number, value) pairs: for rows to find, not values to replace


@dataclass
class _Plan:
    clean: list[pl.Expr] = field(default_factory=list)  # stage 0: text columns, stripped
    convert: dict[str, pl.Expr] = field(default_factory=dict)  # stage 1: __typed_<col>
    blank: dict[str, pl.Expr] = field(default_factory=dict)  # stage-1 expression: the row has no value
    derive: dict[str, pl.Expr] = field(default_factory=dict)  # stage 2: __typed_<col> filled from others
    checks: list[_Check] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)

    @property
    def columns(self) -> set[str]:
        return set(self.convert) | set(self.derive)


def _typed(name: str) -> pl.Expr:
    return pl.col(f"__typed_{name}")


def _blank_col(name: str) -> pl.Expr:
    return pl.col(f"__blank_{name}")


# --------------------------------------------------------------------------- wording


def _rows_have(n: int) -> str:
    return "1 row has" if n == 1 else f"{n} rows have"


def _show(value: Any) -> str:
    text = str(value)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 1] + "…"
    return repr(text)


def _first(sample: Sequence[Any], rows: bool) -> str:
    if rows:
        return "first: " + ", ".join(f"row {r}" for r in sample[:MAX_SHOWN])
    return "first: " + ", ".join(_show(v) for v in sample[:MAX_SHOWN])


def _outside(where: str) -> _Phrase:
    return f"has a value {where}", f"have values {where}"


def _not_a(singular: str, plural: str, hint: str = "") -> _Phrase:
    article = "an" if singular[0] in "aeiou" else "a"
    return f"has a value that is not {article} {singular}{hint}", f"have values that are not {plural}{hint}"


def _type_name(dtype: pl.DataType) -> str:
    return str(dtype).lower()


# --------------------------------------------------------------------------- conversion


def stripped_text(name: str) -> pl.Expr:
    """A text column stripped of surrounding blanks, with blank text as missing (as an empty CSV cell).

    Public because the loader reads hybrid storage's cold columns with the same rule.
    """
    stripped = pl.col(name).str.strip_chars()
    return pl.when(stripped.str.len_bytes() == 0).then(None).otherwise(stripped).alias(name)


def parse_timestamp(text: pl.Expr) -> pl.Expr:
    """ISO 8601 text to a UTC timestamp: offsets are converted, naive times are taken as UTC."""
    spaced = text.str.replace("T", " ", literal=True, n=1)  # the first T of an ISO timestamp is the separator
    return pl.coalesce(
        spaced.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us", time_zone="UTC"),
        spaced.str.to_datetime("%Y-%m-%d %H:%M:%S%.f%#z", strict=False, time_unit="us").dt.convert_time_zone("UTC"),
        spaced.str.to_datetime("%Y-%m-%d %H:%M", strict=False, time_unit="us", time_zone="UTC"),
        spaced.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
    )


def _datetime_to_utc(expr: pl.Expr, dtype: pl.Datetime) -> pl.Expr:
    expr = expr.dt.replace_time_zone("UTC") if dtype.time_zone is None else expr.dt.convert_time_zone("UTC")
    return expr.dt.cast_time_unit("us")


def _is_text(dtype: pl.DataType) -> bool:
    return dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)


def _convert(col: Column, dtype: pl.DataType, value: pl.Expr) -> tuple[pl.Expr, _Phrase | None] | str:
    """The typed value (null where the input does not convert) and what such rows have; or a type complaint."""
    target = col.dtype
    if dtype == target:  # typed input (Parquet, in-memory frames): nothing to convert
        return value, None
    if dtype == pl.Null:  # a Parquet column written without a single value
        return pl.lit(None, dtype=target), None
    if isinstance(target, pl.Enum) or target in (pl.String, pl.Categorical):
        if not (_is_text(dtype) or dtype.is_integer()):
            return f"has type {_type_name(dtype)}; expected text"
        text = value.cast(pl.String)
        if isinstance(target, pl.Enum):
            return text.cast(target, strict=False), _outside("outside " + ", ".join(target.categories))
        return text.cast(target), None
    if target == pl.Float64 or target.is_integer():
        if dtype.is_numeric():
            number = value.cast(pl.Float64)
        elif dtype == pl.String:
            number = value.cast(pl.Float64, strict=False)
        else:
            return f"has type {_type_name(dtype)}; expected a number"
        if target == pl.Float64:
            return pl.when(number.is_finite()).then(number), _not_a("number", "numbers")
        whole = number.is_finite() & (number == number.round()) & (number.abs() <= _INT32_MAX)
        return pl.when(whole).then(number).cast(target, strict=False), _not_a("whole number", "whole numbers")
    if target == pl.Boolean:
        if dtype == pl.Boolean:
            return value, None
        if dtype.is_integer():
            return pl.when(value.is_in([0, 1])).then(value == 1), _outside("other than 0 or 1")
        if dtype == pl.String:
            flag = value.str.to_lowercase().replace_strict(dict(BOOLEAN_WORDS), default=None, return_dtype=pl.Boolean)
            return flag, _not_a("true/false value", "true/false values", " (use true, false, 1, 0, yes or no)")
        return f"has type {_type_name(dtype)}; expected true/false"
    if target == pl.Date:
        if dtype == pl.Date:
            return value, None
        if isinstance(dtype, pl.Datetime):
            return _datetime_to_utc(value, dtype).dt.date(), None
        if dtype == pl.String:
            day = pl.coalesce(value.str.to_date("%Y-%m-%d", strict=False), parse_timestamp(value).dt.date())
            return day, _not_a("date", "dates", " (use YYYY-MM-DD)")
        return f"has type {_type_name(dtype)}; expected a date"
    if target == UTC:
        if isinstance(dtype, pl.Datetime):
            return _datetime_to_utc(value, dtype), None
        if dtype == pl.Date:
            return value.cast(pl.Datetime("us")).dt.replace_time_zone("UTC"), None
        if dtype == pl.String:
            hint = " (use ISO 8601, e.g. 2026-01-31T13:45:00Z)"
            return parse_timestamp(value), _not_a("timestamp", "timestamps", hint)
        return f"has type {_type_name(dtype)}; expected a timestamp"
    raise AssertionError(f"no conversion to {target}")  # pragma: no cover - the contract uses the types above


# --------------------------------------------------------------------------- checks

_FIX_ROWS = "Fix or remove these rows."


def _value_check(column: str, mask: pl.Expr, shown: pl.Expr, what: _Phrase, fix: str = _FIX_ROWS) -> _Check:
    """Rows whose value is wrong; the message lists the first distinct offending values."""

    def describe(n: int, sample: list[Any]) -> str:
        phrase = f"1 row {what[0]}" if n == 1 else f"{n} rows {what[1]}"
        return f"column {column!r}: {phrase} ({_first(sample, rows=False)}). {fix}"

    return _Check(column, mask, shown, describe)


def _blank_check(column: str, blank: pl.Expr, hint: str) -> _Check:
    """Rows without a value in a required column; lists row numbers, since there is no value to show."""

    def describe(n: int, rows: list[Any]) -> str:
        return (
            f"column {column!r}: {_rows_have(n)} no value{hint} ({_first(rows, rows=True)}). "
            "Fill them in or remove these rows."
        )

    return _Check(column, blank, None, describe)


def _range_check(col: Column, shown: pl.Expr) -> _Check | None:
    typed, lo, hi = _typed(col.name), col.minimum, col.maximum
    if lo is not None and hi is not None:
        mask, what = (typed < lo) | (typed > hi), _outside(f"outside [{lo:g}, {hi:g}]")
    elif lo == 0:
        mask, what = typed < 0, ("has a negative value", "have negative values")
    elif lo is not None:
        mask, what = typed < lo, _outside(f"below {lo:g}")
    elif hi is not None:
        mask, what = typed > hi, _outside(f"above {hi:g}")
    else:
        return None
    return _value_check(col.name, mask.fill_null(False), shown, what)


def _unique_check(column: str, shown: pl.Expr) -> _Check:
    typed = _typed(column)

    def describe(n: int, sample: list[Any]) -> str:
        return (
            f"column {column!r}: {n} rows share their {column} with another row ({_first(sample, rows=False)}). "
            f"Each {column} must be unique; remove or renumber the duplicates."
        )

    return _Check(column, typed.is_not_null() & typed.is_duplicated(), shown, describe)


def _date_range_check(column: str, day: pl.Expr, shown: pl.Expr, bounds: tuple[dt.date, dt.date]) -> _Check:
    """Rows whose day falls outside the plausible range; names their row numbers and values."""
    first, last = bounds

    def describe(n: int, sample: list[Any]) -> str:
        listed = ", ".join(f"row {item['row']} ({_show(item['value'])})" for item in sample[:MAX_SHOWN])
        return (
            f"column {column!r}: {_rows_have(n)} a date outside {first}..{last}, the plausible range "
            f"(first: {listed}). Fix or remove these rows; a sentinel for 'unknown' such as 9999-12-31 "
            f"belongs in an empty cell. To accept other days, set {DATE_RANGE_ENV}=FIRST..LAST."
        )

    mask = ((day < first) | (day > last)).fill_null(False)
    return _Check(column, mask, shown, describe, with_rows=True)


def _add_date_checks(plan: _Plan, table: Table, bounds: tuple[dt.date, dt.date]) -> None:
    """Bound every date and timestamp column, given or derived, to the plausible range."""
    for col in table.columns:
        if col.name not in plan.convert or col.dtype not in (pl.Date, UTC):
            continue
        if col.name in plan.derived or (table is ATTACKS and col.name == "end_date"):
            continue  # derived entirely from columns checked themselves; an attack's end: below
        typed = _typed(col.name)
        day = typed if col.dtype == pl.Date else typed.dt.date()
        plan.checks.append(_date_range_check(col.name, day, pl.col(col.name), bounds))
    if table is ATTACKS and "end_date" in plan.derive:  # given, filled from duration_days, or both
        shown = pl.col("start_date") if "end_date" in plan.derived else pl.col("end_date")
        plan.checks.append(_date_range_check("end_date", plan.derive["end_date"], shown, bounds))
    elif table is ATTACKS and "end_date" in plan.convert:
        plan.checks.append(_date_range_check("end_date", _typed("end_date"), pl.col("end_date"), bounds))


# --------------------------------------------------------------------------- planning


def _plan(schema: pl.Schema, table: Table, bounds: tuple[dt.date, dt.date] = DEFAULT_DATE_RANGE) -> _Plan:
    plan = _Plan()
    for name in schema.names():
        if _is_duplicate_header(name, schema):
            original = name[: name.rindex("_duplicated_")]
            plan.problems.append(f"column {original!r} appears more than once in the header. Keep one of them.")

    for col in table.columns:
        if col.name not in schema:
            continue
        dtype = schema[col.name]
        if dtype == pl.String:
            plan.clean.append(stripped_text(col.name))
        converted = _convert(col, dtype, pl.col(col.name))
        if isinstance(converted, str):
            plan.problems.append(f"column {col.name!r} {converted}. Rewrite the file with the types in docs/data.md.")
            continue
        typed, what = converted
        shown = pl.col(col.name)
        plan.convert[col.name] = typed
        plan.blank[col.name] = _blank_col(col.name)
        if what is not None:
            plan.checks.append(_value_check(col.name, ~_blank_col(col.name) & _typed(col.name).is_null(), shown, what))
        if (range_check := _range_check(col, shown)) is not None:
            plan.checks.append(range_check)
        if col.unique:
            plan.checks.append(_unique_check(col.name, shown))
    if table is FLAGS:
        _derive_date(plan, schema)
    elif table is ATTACKS:
        _derive_attack_span(plan, bounds)
    _add_date_checks(plan, table, bounds)

    missing = [c for c in table.required_columns if c not in plan.columns and c not in schema]
    if missing:
        found = ", ".join(schema.names()) or "none"
        noun = "column" if len(missing) == 1 else "columns"
        listing = ", ".join(
            f"'{m}'" + (" (or 'created_at' to derive it from)" if table is FLAGS and m == "date" else "")
            for m in missing
        )
        plan.problems.append(
            f"missing required {noun} {listing} (columns found: {found}). "
            "Add or rename them; see docs/data.md for the contract."
        )
    for name in table.required_columns:
        if name in plan.blank:
            hint = " (and no created_at to derive it from)" if table is FLAGS and name == "date" else ""
            plan.checks.append(_blank_check(name, plan.blank[name], hint))
    order = {c.name: i for i, c in enumerate(table.columns)}
    plan.checks.sort(key=lambda check: order[check.column])  # stable sort: problems read column by column
    return plan


def _derive_date(plan: _Plan, schema: pl.Schema) -> None:
    """date is the UTC day of created_at wherever the file gives no date."""
    if "created_at" not in plan.convert:
        return
    from_created = _typed("created_at").dt.date()
    if "date" in plan.convert:
        plan.derive["date"] = pl.coalesce(_typed("date"), from_created)
        plan.blank["date"] = _blank_col("date") & _blank_col("created_at")
    elif "date" not in schema:
        plan.derive["date"] = from_created
        plan.blank["date"] = _blank_col("created_at")
        plan.derived.append("date")


def _derive_attack_span(plan: _Plan, bounds: tuple[dt.date, dt.date]) -> None:
    """Fill whichever of duration_days and end_date is missing (end_date = start_date + duration_days - 1).

    A duration longer than the plausible range of dates is refused before it is added to a
    date, so the sum never overflows.
    """
    has_duration, has_end = "duration_days" in plan.convert, "end_date" in plan.convert
    if not (has_duration or has_end):
        plan.problems.append(
            "needs a 'duration_days' or an 'end_date' column (the last day of the attack, inclusive). Add one."
        )
        return
    if "start_date" not in plan.convert:  # reported as a missing column
        return
    start, duration, end = _typed("start_date"), _typed("duration_days"), _typed("end_date")
    span = ((end - start).dt.total_days() + 1).cast(pl.Int32)
    longest = (bounds[1] - bounds[0]).days + 1
    end_from_duration = start + pl.duration(days=pl.when(duration <= longest).then(duration) - 1)
    if has_duration:
        too_long = (duration > longest).fill_null(False)
        what = _outside(f"above {longest:,} days (the plausible range of dates)")
        plan.checks.append(_value_check("duration_days", too_long, pl.col("duration_days"), what))
    if has_end:
        ident = pl.col("attack_id") if "attack_id" in plan.convert else pl.lit(None, pl.String)
        fix = "Fix these attacks (attack_id shown)."
        backwards = (end < start).fill_null(False)
        what = ("has an end_date before its start_date", "have an end_date before their start_date")
        plan.checks.append(_value_check("end_date", backwards, ident, what, fix))
        if has_duration:
            mismatch = (span != duration).fill_null(False) & ~backwards
            what = ("has an end_date other than start_date + duration_days - 1",) * 2
            plan.checks.append(_value_check("end_date", mismatch, ident, what, fix))
    if not has_duration:
        plan.derive["duration_days"] = span
        plan.blank["duration_days"] = _blank_col("end_date")
        plan.derived.append("duration_days")
    elif not has_end:
        plan.derive["end_date"] = end_from_duration
        plan.blank["end_date"] = _blank_col("duration_days")
        plan.derived.append("end_date")
    else:  # both columns given: fill the gaps row by row
        plan.derive["duration_days"] = pl.coalesce(duration, span)
        plan.derive["end_date"] = pl.coalesce(end, end_from_duration)
        neither = _blank_col("duration_days") & _blank_col("end_date")
        plan.blank["duration_days"] = plan.blank["end_date"] = neither

    def describe(n: int, rows: list[Any]) -> str:
        return (
            f"{_rows_have(n)} neither duration_days nor end_date ({_first(rows, rows=True)}). "
            "Give one of them for every attack."
        )

    plan.checks.append(_Check("end_date", plan.blank["duration_days"], None, describe))


# --------------------------------------------------------------------------- running


def _flag_stats(columns: set[str]) -> dict[str, pl.Expr]:
    stats: dict[str, pl.Expr] = {}
    if "date" in columns:
        stats["first_day"] = _typed("date").min()
        stats["last_day"] = _typed("date").max()
        stats["first_row"] = _typed("date").arg_min() + 1  # row numbers, for a message about the span
        stats["last_row"] = _typed("date").arg_max() + 1
    for name, key in (("category", "categories"), ("region", "regions")):
        if name in columns:
            stats[key] = _typed(name).drop_nulls().unique().cast(pl.String).sort().implode()
    return stats


def _is_duplicate_header(name: str, schema: pl.Schema) -> bool:
    match = _DUPLICATED_HEADER.match(name)
    return bool(match and match["name"] in schema)


def read_failure(label: str, exc: BaseException) -> str:
    """A message for a file Polars could not read, saying what to do rather than echoing internals."""
    text = str(exc).strip()
    lower = text.lower()
    if "utf-8" in lower or "utf8" in lower:
        reason = "it is not UTF-8 text. Save it as CSV with UTF-8 encoding, or as Parquet."
    elif "more fields than defined" in lower:
        reason = (
            "some rows have more fields than the header. Check that the separator is a comma "
            "and that values containing commas are quoted."
        )
    elif "parquet" in lower and ("specification" in lower or "magic" in lower or "footer" in lower):
        reason = "it is not a valid Parquet file. Rewrite it, or save the table as CSV."
    else:
        first = text.splitlines()[0] if text else type(exc).__name__
        reason = f"{first}. Check that it is a valid CSV or Parquet file."
    return f"{label} could not be read: {reason}"


def check_table(
    raw: pl.LazyFrame,
    table: Table,
    label: str,
    *,
    materialise: bool = True,
    require_rows: bool = False,
) -> TableResult:
    """Check a raw table against the contract and cast it, gathering every problem found.

    With materialise=False the typed frame stays a lazy query over the source
    (for data larger than memory); the checks still read all the data once.
    """
    try:
        schema = raw.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        return TableResult(label, None, (read_failure(label, exc),))
    plan = _plan(schema, table, plausible_dates())
    contract = [c.name for c in table.columns if c.name in plan.columns]
    optional = [n for n in contract if not table.by_name[n].required and n not in plan.derived]
    ignored = tuple(n for n in schema.names() if n not in table.by_name and not _is_duplicate_header(n, schema))
    stats = _flag_stats(plan.columns) if table is FLAGS else {}

    stage1 = raw.with_columns(*plan.clean).with_columns(
        *[typed.alias(f"__typed_{n}") for n, typed in plan.convert.items()],
        *[pl.col(n).is_null().alias(f"__blank_{n}") for n in plan.convert],
    )
    # Masks see the converted values as read; the derived columns replace them in the same step.
    stage2 = stage1.with_columns(
        *[check.mask.fill_null(False).alias(f"__mask_{i}") for i, check in enumerate(plan.checks)],
        *[expr.alias(f"__typed_{n}") for n, expr in plan.derive.items()],
    )
    row_number = pl.int_range(1, pl.len() + 1)
    aggregates: list[pl.Expr] = [pl.len().alias("_rows")]
    for i, check in enumerate(plan.checks):
        mask = pl.col(f"__mask_{i}")
        if check.shown is None:
            sample = row_number.filter(mask).head(MAX_SHOWN)
        elif check.with_rows:
            pair = pl.struct(row_number.alias("row"), check.shown.cast(pl.String).alias("value"))
            sample = pair.filter(mask).head(MAX_SHOWN)
        else:  # filter before casting to text, so the cast touches a handful of values, not the column
            sample = check.shown.filter(mask).unique(maintain_order=True).head(MAX_SHOWN).cast(pl.String)
        aggregates += [mask.sum().alias(f"_n{i}"), sample.implode().alias(f"_s{i}")]
    aggregates += [(~plan.blank[n]).any().alias(f"_has_{n}") for n in optional]
    aggregates += [expr.alias(f"_stat_{key}") for key, expr in stats.items()]
    typed_query = stage2.select([_typed(n).alias(n) for n in contract])

    queries = [stage2.select(aggregates)]
    if materialise and not plan.problems:
        queries.append(typed_query)
    try:
        results = pl.collect_all(queries)
    except (pl.exceptions.PolarsError, OSError) as exc:
        return TableResult(label, None, (read_failure(label, exc),))
    row = results[0].row(0, named=True)

    problems = [f"{label}: {p}" for p in plan.problems]
    for i, check in enumerate(plan.checks):
        if n := int(row[f"_n{i}"] or 0):
            problems.append(f"{label}: {check.describe(n, list(row[f'_s{i}'] or []))}")
    rows = int(row["_rows"])
    if require_rows and rows == 0 and not problems:
        problems.append(f"{label} has no data rows; a dataset needs at least one row of {table.name}.")
    if not problems and row.get("_stat_first_day") is not None:
        rows_at = (int(row["_stat_first_row"]), int(row["_stat_last_row"]))
        if (problem := span_problem(label, row["_stat_first_day"], row["_stat_last_day"], rows_at)) is not None:
            problems.append(problem)
    if problems:
        return TableResult(label, None, tuple(problems))

    empty = tuple(n for n in optional if not row[f"_has_{n}"])
    frame = results[1].lazy() if len(results) > 1 else typed_query
    if empty:
        frame = frame.drop(empty)
    validated = ValidatedTable(
        frame=frame,
        rows=rows,
        columns=tuple(n for n in contract if n not in empty),
        derived=tuple(plan.derived),
        ignored=ignored,
        empty=empty,
        stats={key: row[f"_stat_{key}"] for key in stats},
    )
    return TableResult(label, validated)


def raise_problems(results: Sequence[TableResult], where: str) -> None:
    """Raise one DataError listing every problem of every table, if there is any."""
    problems = [p for r in results for p in r.problems]
    if problems:
        raise DataError(format_problems(problems, where))


def format_problems(problems: Sequence[str], where: str) -> str:
    if len(problems) == 1:
        return problems[0]
    lines = "\n".join(f"  - {p}" for p in problems)
    return f"{where} has {len(problems)} problems; fix them all, then load it again:\n{lines}"
