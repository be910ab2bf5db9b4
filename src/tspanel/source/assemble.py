"""Turning checked tables into one Dataset: raise every problem together, or index and wrap."""

from __future__ import annotations

import polars as pl

from tspanel.source.dataset import Dataset, Storage, TableInfo
from tspanel.source.rows import index_flags
from tspanel.validate import TableResult, ValidatedTable, raise_problems, stripped_text


def with_cold_columns(memory: pl.DataFrame, raw: pl.LazyFrame, columns: tuple[str, ...]) -> pl.LazyFrame:
    """Every flag column: those held in memory, and the cold ones read from the files on demand.

    The cold columns get the loader's own conversion (text stripped, blank as missing);
    the files' row order is the order the chunks were validated in, so rows line up.
    """
    schema = raw.collect_schema()
    cold = [c for c in columns if c not in memory.columns]
    # stripped_text is validate's stage-0 cleaning: the same rule, not a copy of it.
    read = [stripped_text(c) if schema[c] == pl.String else pl.col(c).cast(pl.String).alias(c) for c in cold]
    return pl.concat([memory.lazy(), raw.select(read)], how="horizontal").select(columns)


def assemble(
    results: dict[str, TableResult],
    where: str,
    name: str,
    sources: dict[str, str],
    storage: Storage,
    raw_flags: pl.LazyFrame | None = None,
) -> Dataset:
    """The Dataset of checked tables; raises one DataError naming every problem of every table."""
    raise_problems(list(results.values()), where)
    flags = _validated(results["flags"])
    reviewers = _validated(results["reviewers"])
    attacks = _validated(results["attacks"]) if "attacks" in results else None
    stats = flags.stats
    categories = tuple(stats.get("categories") or ())
    regions = tuple(stats.get("regions") or ()) if "region" in flags.columns else ()
    flags_frame, rows, cold_files = flags.frame, None, None
    if storage != "lazy":
        memory = flags.frame.collect()  # already collected: this only unwraps it
        rows = index_flags(memory, categories, regions)
        if memory["date"].is_sorted():
            memory = memory.with_columns(pl.col("date").set_sorted())
        if storage == "hybrid" and raw_flags is not None:
            flags_frame = with_cold_columns(memory, raw_flags, flags.columns)
            cold_files = raw_flags.select([c for c in flags.columns if c not in memory.columns])
        else:
            flags_frame = memory.lazy()
    infos = tuple(
        TableInfo(
            table=key,
            source=sources[key],
            rows=table.rows,
            columns=table.columns,
            derived=table.derived,
            ignored=table.ignored,
            empty=table.empty,
        )
        for key, table in (("flags", flags), ("reviewers", reviewers), ("attacks", attacks))
        if table is not None
    )
    return Dataset(
        flags=flags_frame,
        reviewers=reviewers.frame,
        attacks=attacks.frame if attacks is not None else None,
        name=name,
        columns=frozenset(flags.columns),
        categories=categories,
        regions=regions,
        first_day=stats["first_day"],
        last_day=stats["last_day"],
        n_flags=flags.rows,
        tables=infos,
        in_memory=rows,
        storage=storage,
        cold_files=cold_files,
        engine="in-memory" if storage == "memory" else "streaming",
    )


def _validated(result: TableResult) -> ValidatedTable:
    assert result.table is not None  # raise_problems has raised otherwise
    return result.table
