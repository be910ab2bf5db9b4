"""What a load produces: the Dataset every view shares, and what was found per table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from tspanel.source.rows import FlagRows

# memory: every flag column in memory; hybrid: all but the text ids and hashes;
# lazy: every query scans the files (see tspanel.source.budget).
Storage = Literal["memory", "hybrid", "lazy"]
# The Polars engine a dashboard refresh collects with (tspanel.models.base.collect_outputs).
Engine = Literal["in-memory", "streaming"]


@dataclass(frozen=True, eq=False)
class TableInfo:
    """What the loader found and did for one table; `tspanel validate` prints it."""

    table: str
    source: str  # e.g. "flags.csv", "flags/ (12 parquet files)", "in memory"
    rows: int
    columns: tuple[str, ...]
    derived: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    empty: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Dataset:
    """A validated dataset in the contract's dtypes (see docs/data.md), shared by every view.

    Not hashable by value (eq=False): caches key on identity and must hold it weakly, so
    a dataset that is reloaded or dropped is freed (tspanel.ui.choices, models.cache).
    """

    flags: pl.LazyFrame  # canonical dtypes, only the contract columns present
    reviewers: pl.LazyFrame
    attacks: pl.LazyFrame | None
    name: str
    columns: frozenset[str]  # flag columns present
    categories: tuple[str, ...]
    regions: tuple[str, ...]  # () when there is no region column
    first_day: dt.date
    last_day: dt.date
    n_flags: int
    tables: tuple[TableInfo, ...] = ()
    # The flags as the dashboard queries them, indexed in memory (tspanel.source.rows);
    # None when they are too big for the memory budget and every query scans the files.
    in_memory: FlagRows | None = None
    storage: Storage = "memory"  # see load_dataset
    # A rollup (tspanel.rollup.dataset) instead of rows: each row of ``flags`` stands for the
    # number of flags in this count column (None: one row per flag).
    weight: str | None = None
    # A rollup's detection signals (tspanel.detect.signals.RolledShares): the shares that are
    # not additive, so cannot be summed from ``flags``.
    rolled: Any = None
    # Where the rows of a rollup are, for the flags table (tspanel.models.flags_query); None
    # when ``flags`` are the rows, or when the rows are nowhere this process can query.
    row_source: Any = None
    # Hybrid storage: the cold (text) columns as the files hold them, row for row with ``flags``
    # (not stripped, maybe not text). A substring search scans these directly: stripping and
    # blank-to-missing cannot change whether a stripped, non-empty text is found, and they made
    # the scan 4x slower (10 s instead of 2.5 s for four id columns of 10M flags).
    cold_files: pl.LazyFrame | None = None
    # "in-memory" when every row a refresh reads is in RAM: Polars 2's default, the streaming
    # engine, costs ~1-2 ms to start each query, and a refresh runs ~25 small aggregates (at 1M
    # flags 36 ms instead of 65-70 ms a refresh, at 2,000 flags 6 ms instead of 40 ms;
    # docs/performance.md). "streaming" (Polars' default) when queries scan files: it bounds memory.
    engine: Engine = "streaming"

    def has(self, *columns: str) -> bool:
        """True when every named flag column is present (optional columns may be absent)."""
        return all(c in self.columns for c in columns)
