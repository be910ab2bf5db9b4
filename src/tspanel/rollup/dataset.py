"""A rollup as the dashboard's Dataset: the domain models read it exactly as they read rows.

The facts are renamed into the flag columns the models query, each row weighted by its
count ``n`` (Dataset.weight); the models count, sum and average through one helper
(tspanel.models.base.tally), so a KPI is the same expression on rows and on a rollup:

- ``date``, ``category``, ``region``, ``severity``, ``action``, ``reviewer_id``: the keys, exact;
- ``ml_score``: the midpoint of the 0.01 score bin (quantiles: within the bin width); means and
  standard deviations come from ``score_sum`` and ``score_sq_sum``, exact;
- ``resolution_hrs``: the midpoint of the 1-hour bin (the 4-hour histogram is exact); the SLA
  breaches are the exact ``over_sla``;
- ``open_day``, ``resolved_day``: the queue's days (tspanel.models.timing reads them at noon, so
  the backlog at any midnight is exact, and ages are within 12 hours);
- ``coordinated_flag``, ``appealed``, ``appeal_overturned``: counts, so their sums are the
  flags' sums.

The detector's non-additive signals come from the signals table (Dataset.rolled).

Memory (docs/rollup.md, "Serving memory"): the served facts are held compact, built batch by
batch (:class:`FactsBuilder`) so that no second full copy ever exists: keys as Enums (1-2 byte
codes), the bins as UInt8, the counts in the smallest unsigned type that holds them (UInt8 and
UInt16 sums widen to Int64 in Polars, so totals cannot overflow; larger counts stay Int64), the
score sums Float64 (exact means need them). ``ml_score`` and ``resolution_hrs`` are computed from
the bins in the lazy plan, only by the queries that read them. At 10M flags: 3.3M fact rows in
~150 MB instead of ~290 MB.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tspanel.detect.signals import rolled_shares
from tspanel.errors import TspanelError
from tspanel.rollup.engines import Rollup
from tspanel.schema import ACTIONS, SEVERITIES
from tspanel.source.dataset import Dataset, TableInfo

WEIGHT = "n"
KEYS = ("category", "region", "severity", "action", "reviewer_id")
FIXED_LEVELS: dict[str, tuple[str, ...]] = {"severity": SEVERITIES, "action": ACTIONS}
# fact measure -> flag column it stands for, held as the smallest unsigned integer that fits
COUNTS = {
    "n": WEIGHT,
    "coordinated": "coordinated_flag",
    "appealed": "appealed",
    "overturned": "appeal_overturned",
    "over_sla": "over_sla",
}
SUMS = ("score_sum", "score_sq_sum")
# The flag columns the models see, in order (ml_score and resolution_hrs computed from the bins).
FLAG_COLUMNS = (
    "date",
    *KEYS,
    "ml_score",
    "resolution_hrs",
    "open_day",
    "resolved_day",
    "coordinated_flag",
    "appealed",
    "appeal_overturned",
    WEIGHT,
    "score_sum",
    "score_sq_sum",
    "over_sla",
)
_UNSIGNED = ((255, pl.UInt8), (65_535, pl.UInt16))


def _count_type(maximum: int | None) -> pl.DataType:
    """UInt8/UInt16 when the values fit (their sums widen to Int64 in Polars), else Int64.

    Not UInt32/Int32: their sums stay 32-bit in Polars and could overflow at a billion flags.
    """
    for limit, dtype in _UNSIGNED:
        if (maximum or 0) <= limit:
            return dtype()
    return pl.Int64()


class FactsBuilder:
    """Normalised fact batches (tspanel.rollup.engines.FACT_SCHEMA) -> one compact frame.

    Each batch is compacted as it arrives (keys as UInt16 codes of a growing dictionary), so
    the memory held is the compact facts plus one batch; :meth:`finish` turns the codes into
    Enums with sorted levels (as the models' level lists are) chunk by chunk, without a copy
    of the whole.
    """

    def __init__(self, levels: dict[str, tuple[str, ...]] | None = None) -> None:
        # ``levels``: the Enum levels to keep (an incremental refresh joins the new days to kept
        # facts); a value outside them raises NewLevel.
        self._fixed = levels
        self._codes: dict[str, dict[str, int]] = {
            key: {value: i for i, value in enumerate((levels or {}).get(key, ()))} for key in KEYS
        }
        self._chunks: list[pl.DataFrame] = []
        self._maxima: dict[str, int] = dict.fromkeys(COUNTS, 0)

    def add(self, batch: pl.DataFrame) -> None:
        if batch.height == 0:
            return
        exprs: list[pl.Expr] = [pl.col("day").alias("date")]
        for key in KEYS:
            codes = self._codes[key]
            for value in batch[key].drop_nulls().unique().to_list():
                if value not in codes and self._fixed is not None:
                    raise NewLevel(f"{key} {value!r} is new")
                codes.setdefault(value, len(codes))
            if len(codes) > 65_536:
                raise TspanelError(f"the rollup has more than 65,536 distinct {key} values; too many to serve")
            exprs.append(pl.col(key).replace_strict(codes, default=None, return_dtype=pl.UInt16).alias(key))
        exprs += [
            pl.col("score_bin").cast(pl.UInt8),
            pl.col("hours_bin").cast(pl.UInt8),
            pl.col("open_day"),
            pl.col("resolved_day"),
        ]
        for measure in COUNTS:
            self._maxima[measure] = max(self._maxima[measure], int(batch[measure].max() or 0))
            exprs.append(pl.col(measure).cast(pl.Int64).alias(COUNTS[measure]))
        exprs += [pl.col(name).cast(pl.Float64) for name in SUMS]
        chunk = batch.select(exprs)
        # narrow the counts now (the batch's own maximum); finish() widens a chunk if a later batch needs it
        self._chunks.append(chunk.with_columns(self._narrow(chunk)))

    @staticmethod
    def _narrow(chunk: pl.DataFrame) -> list[pl.Expr]:
        return [pl.col(c).cast(_count_type(int(chunk[c].max() or 0))) for c in COUNTS.values()]

    def finish(self) -> pl.DataFrame:
        """The compact facts, sorted by date if every batch came sorted by day (one chunk per batch)."""
        levels: dict[str, tuple[str, ...]] = {}
        remap: dict[str, pl.Series] = {}
        for key in KEYS:
            codes = self._codes[key]
            fixed = FIXED_LEVELS.get(key, ())
            ordered = (*fixed, *sorted(v for v in codes if v not in fixed)) if fixed else tuple(sorted(codes))
            if self._fixed is not None:
                ordered = self._fixed[key]
            levels[key] = ordered or ("",)
            position = {value: i for i, value in enumerate(levels[key])}
            table = np.zeros(max(len(codes), 1), dtype=np.uint32)
            for value, code in codes.items():
                table[code] = position[value]
            remap[key] = pl.Series(table)
        types = {COUNTS[m]: _count_type(self._maxima[m]) for m in COUNTS}
        # a flag opens on its day (created_at's date is the date) in every source seen so far:
        # then open_day is not held, the view reads the date (4 bytes a row less)
        same_day = all(bool((chunk["open_day"] == chunk["date"]).all()) for chunk in self._chunks)
        enums = {key: pl.Series(levels[key], dtype=pl.Enum(levels[key])) for key in KEYS}
        out: list[pl.DataFrame] = []
        while self._chunks:
            chunk = self._chunks.pop(0)
            columns = []
            for key in KEYS:
                codes = chunk[key]
                columns.append(enums[key].gather(remap[key].gather(codes)).alias(key))
            columns += [chunk[c].cast(dtype) for c, dtype in types.items()]
            chunk = chunk.with_columns(columns)
            out.append(chunk.drop("open_day") if same_day else chunk)
            del chunk
        if not out:
            if self._fixed is not None:  # an incremental refresh whose days have no flags left
                return pl.DataFrame(schema={**FACTS_SCHEMA, **{k: pl.Enum(levels[k]) for k in KEYS}, **types})
            raise TspanelError("the rollup holds no flags")
        return pl.concat(out, rechunk=False)


class NewLevel(Exception):
    """A key value outside the levels a FactsBuilder was given."""


# the compact facts' columns (keys and counts typed by FactsBuilder.finish)
FACTS_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    **dict.fromkeys(KEYS, pl.String()),
    "score_bin": pl.UInt8(),
    "hours_bin": pl.UInt8(),
    "open_day": pl.Date(),
    "resolved_day": pl.Date(),
    **dict.fromkeys(COUNTS.values(), pl.Int64()),
    **dict.fromkeys(SUMS, pl.Float64()),
}


def levels_of(facts: pl.DataFrame) -> dict[str, tuple[str, ...]]:
    """The Enum levels of compact facts' keys."""
    return {key: tuple(facts.schema[key].categories) for key in KEYS}  # type: ignore[attr-defined]


def concat_facts(first: pl.DataFrame, then: pl.DataFrame) -> pl.DataFrame:
    """Two compact frames with the same levels, one after the other (no copy but of a count column
    whose type must widen to the other's)."""
    if then.height == 0:
        return first
    if ("open_day" in first.columns) != ("open_day" in then.columns):  # see FactsBuilder.finish
        first, then = (f if "open_day" in f.columns else f.with_columns(open_day=pl.col("date")) for f in (first, then))
    order = [pl.UInt8(), pl.UInt16(), pl.Int64()]
    wide = {c: max(first.schema[c], then.schema[c], key=order.index) for c in COUNTS.values()}
    first = first.with_columns(pl.col(c).cast(t) for c, t in wide.items() if first.schema[c] != t)
    then = then.with_columns(pl.col(c).cast(t) for c, t in wide.items() if then.schema[c] != t)
    return pl.concat([first, then.select(first.columns)], rechunk=False)


def compact_facts(
    facts: pl.DataFrame | Iterable[pl.DataFrame],
    *,
    batch_rows: int = 500_000,
    levels: dict[str, tuple[str, ...]] | None = None,
) -> pl.DataFrame:
    """Normalised facts (one frame, or an iterable of batches) as the compact served facts
    (``levels``: see FactsBuilder)."""
    builder = FactsBuilder(levels)
    if isinstance(facts, pl.DataFrame):
        whole = facts
        facts = [whole.slice(offset, batch_rows) for offset in range(0, max(whole.height, 1), batch_rows)]
    for batch in facts:
        builder.add(batch)
    return builder.finish()


def flags_view(facts: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """The compact facts under the flag columns' names (see the module docstring).

    ``ml_score`` and ``resolution_hrs`` are computed from the bins in the plan: a query that
    does not read them never materialises them.
    """
    lazy = facts.lazy()
    held = lazy.collect_schema().names()  # a Parquet scan reads only the file's footer
    return lazy.select(
        *(c for c in FLAG_COLUMNS[:6]),
        ((pl.col("score_bin").cast(pl.Float64) + 0.5) / 100).alias("ml_score"),
        (pl.col("hours_bin").cast(pl.Float64) + 0.5).alias("resolution_hrs"),
        pl.col("open_day") if "open_day" in held else pl.col("date").alias("open_day"),
        *FLAG_COLUMNS[9:],
    )


def facts_as_flags(facts: pl.DataFrame) -> pl.DataFrame:
    """The (normalised) facts under the flag columns' names, collected: for inspection and tests."""
    return flags_view(compact_facts(facts)).collect()


SPILL_ENV = "TSPANEL_ROLLUP_SPILL_ROWS"
# Above this many fact rows (about 6M flags of the synthetic world) the served facts go to disk:
# the server then stays under 500 MB at 10M flags (docs/rollup.md, "Serving memory").
DEFAULT_SPILL_ROWS = 2_000_000


def spill_rows() -> int:
    """Fact rows above which a served rollup is kept on disk ($TSPANEL_ROLLUP_SPILL_ROWS; 0: never;
    unset: DEFAULT_SPILL_ROWS)."""
    value = os.environ.get(SPILL_ENV, "").strip().replace("_", "")
    if not value:
        return DEFAULT_SPILL_ROWS
    if not value.isdigit():
        raise TspanelError(f"${SPILL_ENV} must be a number of fact rows (0: keep them in memory), not {value!r}")
    return int(value)


def spill(facts: pl.DataFrame) -> tuple[pl.LazyFrame, Path]:
    """The compact facts written to a Parquet file in a private temporary directory, scanned lazily.

    Why: the process then holds no facts between refreshes, only what a query decodes (the
    day-sorted row groups let a date filter skip most of the file). Returns the scan and the
    directory, for the caller to remove with the Dataset. Costs: every refresh decodes what it reads.
    """
    folder = Path(tempfile.mkdtemp(prefix="tspanel-rollup-"))
    path = folder / "facts.parquet"
    facts.write_parquet(path, row_group_size=100_000, statistics=True, compression="lz4")
    return pl.scan_parquet(path), folder


def _present(facts: pl.DataFrame) -> frozenset[str]:
    """The flag columns the rollup stands for: the required ones, and the optional ones it holds."""
    columns = {"date", "category", "severity", "action", "ml_score", "open_day", "resolved_day"}
    optional = {
        "region": "region",
        "reviewer_id": "reviewer_id",
        "resolution_hrs": "hours_bin",
        "coordinated_flag": "coordinated_flag",
        "appealed": "appealed",
        "appeal_overturned": "appeal_overturned",
    }
    columns |= {name for name, source in optional.items() if facts[source].null_count() < facts.height}
    return frozenset(columns)


def _levels(facts: pl.DataFrame, column: str) -> tuple[str, ...]:
    """The values present in an Enum key (its levels are exactly those, sorted; see FactsBuilder)."""
    present = facts[column].drop_nulls().unique().cast(pl.String).to_list()
    return tuple(sorted(present))


def dataset_from_rollup(
    rollup: Rollup,
    *,
    name: str,
    reviewers: pl.DataFrame | pl.LazyFrame | None = None,
    attacks: pl.DataFrame | pl.LazyFrame | None = None,
    row_source: Any = None,
    source: str = "rollup",
) -> Dataset:
    """A Dataset whose flags are the rollup's facts, weighted by ``n`` (module docstring).

    ``rollup.facts`` is either normalised (tspanel.rollup.engines.normalise) or already compact
    (:func:`compact_facts`, as tspanel.rollup.sources builds it batch by batch).
    """
    facts = rollup.facts
    if facts.height == 0:
        raise TspanelError(f"{source}: the rollup holds no flags")
    if "score_bin" in facts.columns and facts.schema["category"] == pl.String:
        facts = compact_facts(facts)
    if int(facts[WEIGHT].sum()) == 0:
        raise TspanelError(f"{source}: the rollup holds no flags")
    if not facts["date"].is_sorted():
        facts = facts.sort("date")
    facts = facts.with_columns(pl.col("date").set_sorted())
    columns = _present(facts)
    categories = _levels(facts, "category")
    regions = _levels(facts, "region") if "region" in columns else ()
    infos = [
        TableInfo(table=key, source=f"{key} table", rows=frame.lazy().select(pl.len()).collect().item(), columns=())
        for key, frame in (("reviewers", reviewers), ("attacks", attacks))
        if frame is not None
    ]
    if reviewers is None:
        reviewers = pl.DataFrame(
            schema={"reviewer_id": pl.String, "name": pl.String, "team": pl.String, "capacity_per_day": pl.Int64}
        )
    n_flags = int(facts[WEIGHT].sum())
    first_day, last_day = facts["date"].min(), facts["date"].max()
    info = TableInfo(
        table="flags", source=f"{source} ({facts.height:,} fact rows)", rows=n_flags, columns=tuple(sorted(columns))
    )
    flags, folder = flags_view(facts), None
    threshold = spill_rows()
    if threshold and facts.height > threshold:
        scan, folder = spill(facts)
        flags = flags_view(scan)
    dataset = Dataset(
        flags=flags,
        reviewers=reviewers.lazy(),
        attacks=None if attacks is None else attacks.lazy(),
        name=name,
        columns=columns,
        categories=categories,
        regions=regions,
        first_day=first_day,
        last_day=last_day,
        n_flags=n_flags,
        tables=(info, *infos),
        storage="memory",
        weight=WEIGHT,
        rolled=rolled_shares(rollup.signals),
        row_source=row_source,
        engine="in-memory" if folder is None else "streaming",
    )
    if folder is not None:  # removed with the Dataset (or at exit)
        weakref.finalize(dataset, shutil.rmtree, folder, True)
        _SPILLED[dataset] = scan
    return dataset


_SPILLED: weakref.WeakKeyDictionary[Dataset, pl.LazyFrame] = weakref.WeakKeyDictionary()


def spilled_facts(dataset: Dataset) -> pl.LazyFrame | None:
    """The compact facts of a spilled rollup Dataset, scanned (None when they are in memory)."""
    return _SPILLED.get(dataset)
