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
"""

from __future__ import annotations

from typing import Any

import polars as pl

from tspanel.detect.signals import rolled_shares
from tspanel.errors import TspanelError
from tspanel.rollup.engines import Rollup
from tspanel.schema import ACTIONS, SEVERITIES
from tspanel.source.dataset import Dataset, TableInfo

WEIGHT = "n"


def _enum(column: str, facts: pl.DataFrame, levels: tuple[str, ...] | None = None) -> pl.Expr:
    """A key as an Enum (1-2 byte codes group and compare faster than text, as in tspanel.source.rows)."""
    levels = levels or tuple(sorted(facts[column].drop_nulls().unique().to_list()))
    return pl.col(column).cast(pl.Enum(levels))


def facts_as_flags(facts: pl.DataFrame) -> pl.DataFrame:
    """The facts under the flag columns' names (see the module docstring)."""
    return facts.select(
        pl.col("day").alias("date"),
        _enum("category", facts),
        _enum("region", facts),
        _enum("severity", facts, SEVERITIES),
        _enum("action", facts, ACTIONS),
        _enum("reviewer_id", facts),
        ((pl.col("score_bin").cast(pl.Float64) + 0.5) / 100).alias("ml_score"),
        (pl.col("hours_bin").cast(pl.Float64) + 0.5).alias("resolution_hrs"),
        "open_day",
        "resolved_day",
        pl.col("coordinated").alias("coordinated_flag"),
        "appealed",
        pl.col("overturned").alias("appeal_overturned"),
        WEIGHT,
        "score_sum",
        "score_sq_sum",
        "over_sla",
    )


def _present(facts: pl.DataFrame) -> frozenset[str]:
    """The flag columns the rollup stands for: the required ones, and the optional ones it holds."""
    columns = {"date", "category", "severity", "action", "ml_score", "open_day", "resolved_day"}
    optional = {
        "region": "region",
        "reviewer_id": "reviewer_id",
        "resolution_hrs": "hours_bin",
        "coordinated_flag": "coordinated",
        "appealed": "appealed",
        "appeal_overturned": "overturned",
    }
    columns |= {name for name, source in optional.items() if facts[source].null_count() < facts.height}
    return frozenset(columns)


def dataset_from_rollup(
    rollup: Rollup,
    *,
    name: str,
    reviewers: pl.DataFrame | pl.LazyFrame | None = None,
    attacks: pl.DataFrame | pl.LazyFrame | None = None,
    row_source: Any = None,
    source: str = "rollup",
) -> Dataset:
    """A Dataset whose flags are the rollup's facts, weighted by ``n`` (module docstring)."""
    facts = rollup.facts
    if facts.height == 0 or int(facts[WEIGHT].sum()) == 0:
        raise TspanelError(f"{source}: the rollup holds no flags")
    flags = facts_as_flags(facts).sort("date")
    columns = _present(facts)
    categories = tuple(sorted(facts["category"].drop_nulls().unique().to_list()))
    regions = tuple(sorted(facts["region"].drop_nulls().unique().to_list())) if "region" in columns else ()
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
    info = TableInfo(
        table="flags", source=f"{source} ({facts.height:,} fact rows)", rows=n_flags, columns=tuple(sorted(columns))
    )
    return Dataset(
        flags=flags.with_columns(pl.col("date").set_sorted()).lazy(),
        reviewers=reviewers.lazy(),
        attacks=None if attacks is None else attacks.lazy(),
        name=name,
        columns=columns,
        categories=categories,
        regions=regions,
        first_day=facts["day"].min(),
        last_day=facts["day"].max(),
        n_flags=n_flags,
        tables=(info, *infos),
        storage="memory",
        weight=WEIGHT,
        rolled=rolled_shares(rollup.signals),
        row_source=row_source,
    )
