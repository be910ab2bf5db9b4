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


# --------------------------------------------------------------------------- planning


def _plan(schema: pl.Schema, table: Table) -> _Plan:
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
        _derive_attack_span(plan)

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


def _derive_attack_span(plan: _Plan) -> None:
    """Fill whichever of duration_days and end_date is missing (end_date = start_date + duration_days - 1)."""
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
    end_from_duration = start + pl.duration(days=duration - 1)
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
    plan = _plan(schema, table)
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
