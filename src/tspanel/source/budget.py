"""How much of the flags to hold in memory: their estimated size against a memory budget."""

from __future__ import annotations

import os
from dataclasses import dataclass

import polars as pl

from tspanel.errors import DataError
from tspanel.schema import FLAGS
from tspanel.source.dataset import Storage
from tspanel.source.files import TableSource

MEMORY_BUDGET_ENV = "TSPANEL_MEMORY_BUDGET_MB"
DEFAULT_MEMORY_BUDGET_MB = 1024  # and at most an eighth of the machine's RAM
_SAMPLE_ROWS = 10_000

# Text ids and hashes: two thirds of the memory of generated flags (a 16-character string
# takes 32 bytes), and no dashboard query reads them; detection does, from the files.
COLD_COLUMNS: tuple[str, ...] = tuple(c.name for c in FLAGS.columns if c.dtype == pl.String)
_FIXED_BYTES = {"date": 4, "int32": 4, "float64": 8, "boolean": 0.125, "categorical": 4}
_VIEW_BYTES = 16  # a Polars string is a 16-byte view; text longer than 12 bytes is stored besides


@dataclass(frozen=True)
class SizeEstimate:
    """Bytes the flags would take in memory in the contract's dtypes."""

    rows: int
    total: int
    hot: int  # without COLD_COLUMNS

    @property
    def cold(self) -> int:
        return self.total - self.hot


def memory_budget() -> int:
    """Bytes of flags the loader may hold in memory: $TSPANEL_MEMORY_BUDGET_MB, else
    1 GiB or an eighth of the machine's RAM, whichever is smaller."""
    text = os.environ.get(MEMORY_BUDGET_ENV, "").strip()
    if text:
        try:
            megabytes = float(text)
        except ValueError:
            raise DataError(
                f"{MEMORY_BUDGET_ENV}={text!r} is not a number; give the budget in megabytes, e.g. 2048"
            ) from None
        return max(int(megabytes * 2**20), 0)
    import psutil

    return min(DEFAULT_MEMORY_BUDGET_MB * 2**20, psutil.virtual_memory().total // 8)


def estimate_size(raw: pl.LazyFrame) -> SizeEstimate | None:
    """The in-memory size of the flags, from the row count and a sample of a few thousand rows.

    Parquet row counts come from the file footers, so nothing else is read. Text is
    measured on the sample (view plus out-of-line bytes); other types have fixed widths.
    None when the files cannot be read (the checks then say why).
    """
    try:
        rows = int(raw.select(pl.len()).collect().item())
        sample = raw.head(_SAMPLE_ROWS).collect()
    except (pl.exceptions.PolarsError, OSError):
        return None
    total = hot = 0.0
    for column in FLAGS.columns:
        if column.name not in sample.columns:
            continue
        if isinstance(column.dtype, pl.Enum):
            per_row = 1.0
        elif column.dtype == pl.String:
            length = sample[column.name].cast(pl.String, strict=False).str.len_bytes()
            long = length.filter(length > 12)
            per_row = _VIEW_BYTES + (float(long.sum()) / sample.height if sample.height else 0.0)
        else:
            per_row = _FIXED_BYTES.get(str(column.dtype).split("(")[0].lower(), 8)
        total += per_row
        hot += 0 if column.name in COLD_COLUMNS else per_row
    return SizeEstimate(rows, int(rows * total), int(rows * hot))


def choose_storage(source: TableSource, raw: pl.LazyFrame | list[str], materialise: bool | None) -> Storage:
    """memory: every column in memory; hybrid: all but COLD_COLUMNS in memory, those read from the
    files when asked for; lazy: every query scans the files. Parquet flags get the most that fits
    :func:`memory_budget`; CSV is always held in memory (a lazy CSV scan re-parses the text per query)."""
    if materialise is not None:
        return "memory" if materialise else "lazy"
    if source.kind == "csv" or isinstance(raw, list):
        return "memory"
    size = estimate_size(raw)
    if size is None:
        return "memory"
    budget = memory_budget()
    if size.total <= budget:
        return "memory"
    return "hybrid" if size.hot <= budget else "lazy"
