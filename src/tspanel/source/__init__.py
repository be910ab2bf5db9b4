"""Where datasets come from: a directory of CSV/Parquet files, in-memory frames, or the synthetic world.

Every route goes through the same checks (tspanel.validate) and ends in the same
`Dataset`, so the rest of the app never has to ask how the data was stored.

How much of the flags stays in memory depends on their estimated size against a memory
budget (`budget.choose_storage`): everything, everything but the text ids and hashes
(hybrid), or nothing (lazy: queries scan a typed Parquet copy with predicate and
projection pushdown). Big Parquet flags are validated a million rows at a time
(`chunks`), so loading needs little more memory than what is kept. In-memory flags get a
query index (`rows`). See docs/performance.md.

One module per concern, in the order a load goes through them: `files` (finding a
table's files), `sniff` (looking at them before Polars reads them), `budget` (how much to
hold in memory), `chunks` (chunked validation and spill), `rows` (the in-memory index),
`assemble` (one Dataset from checked tables), `loaders` (the entry points) and `cache`
(one load per directory per process). The data layer imports nothing from
tspanel.models: the domain models build on it, never the reverse.
"""

from __future__ import annotations

from tspanel.source.budget import (
    COLD_COLUMNS,
    DEFAULT_MEMORY_BUDGET_MB,
    MEMORY_BUDGET_ENV,
    SizeEstimate,
    choose_storage,
    estimate_size,
    memory_budget,
)
from tspanel.source.cache import clear_dataset_cache, dataset_fingerprint, load_dataset_cached
from tspanel.source.chunks import VALIDATION_CHUNK_ROWS
from tspanel.source.dataset import Dataset, Storage, TableInfo
from tspanel.source.files import TableSource, find_table, find_tables
from tspanel.source.loaders import dataset_from_frames, default_world, load_dataset
from tspanel.source.rows import FlagRows, ScoreBlocks, index_flags
from tspanel.source.sniff import scan_table

__all__ = [
    "COLD_COLUMNS",
    "DEFAULT_MEMORY_BUDGET_MB",
    "MEMORY_BUDGET_ENV",
    "VALIDATION_CHUNK_ROWS",
    "Dataset",
    "FlagRows",
    "ScoreBlocks",
    "SizeEstimate",
    "Storage",
    "TableInfo",
    "TableSource",
    "choose_storage",
    "clear_dataset_cache",
    "dataset_fingerprint",
    "dataset_from_frames",
    "default_world",
    "estimate_size",
    "find_table",
    "find_tables",
    "index_flags",
    "load_dataset",
    "load_dataset_cached",
    "memory_budget",
    "scan_table",
]
