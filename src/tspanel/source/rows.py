"""The flags as the dashboard queries them when they are held in memory: an index built once at load.

The loader owns it (it is built from the validated table, before any domain model exists).

- rows in date order with where each day starts, so a date range is a zero-copy slice
  (and Polars' sorted fast path groups by date without hashing);
- category, region and reviewer_id as Enums, whose 1-2 byte codes group and compare
  about three times faster than Categorical's 4-byte codes;
- ml_score sorted within per-category blocks, so a category's quantiles are read at
  their rank instead of being selected from every row;
- the SLA's hours to resolution computed once, not in every query.

Measured in docs/performance.md. Every column not recoded is shared with the loaded
flags, so the index costs the Enum codes and the score blocks (about 20 bytes a flag).
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass

import polars as pl

from tspanel.schema import resolution_hours

HOURS_COLUMN = "_resolution_hours"
# The flag columns the dashboard's list filters restrict (tspanel.models.filters.LIST_FILTERS
# maps its parameters onto these; a test keeps the two in step). Named here so the data
# layer needs nothing from the domain layer.
FILTER_COLUMNS: tuple[str, ...] = ("category", "region", "severity", "action", "reviewer_id")


@dataclass(frozen=True, eq=False)
class ScoreBlocks:
    """ml_score and the filter columns in one block per category, each block sorted by score.

    A filter keeps a block sorted, so Polars takes its quantiles by position (7 ms instead
    of 175 ms for 10M flags), for one more copy of these few narrow columns.
    """

    frame: pl.DataFrame
    blocks: dict[str, tuple[int, int]]  # category -> (first row, rows)

    @classmethod
    def build(cls, flags: pl.DataFrame, categories: tuple[str, ...]) -> ScoreBlocks:
        keep = ["date", *FILTER_COLUMNS]
        columns = ["ml_score", *(c for c in keep if c in flags.columns and c != "category")]
        # A sort per category (in parallel) is 2.5x faster than sorting on (category, ml_score).
        parts = pl.collect_all(
            [flags.lazy().filter(pl.col("category") == c).select(columns).sort("ml_score") for c in categories]
        )
        blocks: dict[str, tuple[int, int]] = {}
        first = 0
        for category, part in zip(categories, parts, strict=True):
            blocks[category] = (first, part.height)
            first += part.height
        frame = pl.concat(parts, rechunk=True) if parts else flags.select(columns).clear()
        return cls(frame, blocks)

    def block(self, category: str) -> pl.LazyFrame:
        """The category's rows in ascending score (empty for an unknown category)."""
        first, n = self.blocks.get(category, (0, 0))
        return self.frame.slice(first, n).with_columns(pl.col("ml_score").set_sorted()).lazy()


@dataclass(frozen=True, eq=False)
class FlagRows:
    """In-memory flags in date order, with the first row of each day (see the module docstring)."""

    frame: pl.DataFrame  # date-sorted, with the sorted flag set
    days: tuple[dt.date, ...]  # every day that has flags, ascending
    starts: tuple[int, ...]  # first row of each day, then the row count
    scores: ScoreBlocks | None = None
    hours: str | None = None  # the column holding timing.resolution_hours(), if there is one

    @classmethod
    def from_sorted(cls, frame: pl.DataFrame, scores: ScoreBlocks | None = None, hours: str | None = None) -> FlagRows:
        """Index a frame already sorted by date."""
        frame = frame.with_columns(pl.col("date").set_sorted())
        runs = frame["date"].rle().struct.unnest()  # one (len, value) per day: no group_by over the rows
        starts = [0]
        for n in runs["len"].to_list():
            starts.append(starts[-1] + n)
        return cls(frame, tuple(runs["value"].to_list()), tuple(starts), scores, hours)

    def between(self, start: dt.date | None, end: dt.date | None) -> pl.LazyFrame:
        """The rows of days start..end (inclusive; None leaves that side open)."""
        lo = 0 if start is None else bisect.bisect_left(self.days, start)
        hi = len(self.days) if end is None else bisect.bisect_right(self.days, end)
        first, stop = self.starts[lo], self.starts[max(hi, lo)]
        if first == 0 and stop == self.frame.height:
            return self.frame.lazy()
        return self.frame.slice(first, stop - first).lazy()

    @property
    def height(self) -> int:
        return self.frame.height


def index_flags(frame: pl.DataFrame, categories: tuple[str, ...], regions: tuple[str, ...]) -> FlagRows:
    """Build the index from flags in the contract's dtypes (sorted by date here if they are not)."""
    if frame["date"].is_sorted():
        frame = frame.with_columns(pl.col("date").set_sorted())
    else:
        frame = frame.sort("date", maintain_order=True)
    codes: list[pl.Expr] = [pl.col("category").cast(pl.Enum(categories))]
    if "region" in frame.columns and regions:
        codes.append(pl.col("region").cast(pl.Enum(regions)))
    if "reviewer_id" in frame.columns:
        reviewers = frame["reviewer_id"].drop_nulls().unique().cast(pl.String).sort()
        codes.append(pl.col("reviewer_id").cast(pl.Enum(reviewers)))
    frame, hours = _with_hours(frame.with_columns(codes))
    return FlagRows.from_sorted(frame, ScoreBlocks.build(frame, categories), hours)


def _with_hours(frame: pl.DataFrame) -> tuple[pl.DataFrame, str | None]:
    """Hours to resolution once, for every SLA query.

    When resolution_hrs is known wherever both timestamps are (the generator's data) it
    already is the answer and nothing is added; otherwise HOURS_COLUMN holds
    resolution_hrs filled from resolved_at - created_at.
    """
    columns = set(frame.columns)
    stamps = {"resolved_at", "created_at"} <= columns
    if "resolution_hrs" not in columns and not stamps:
        return frame, None
    if not stamps:
        return frame, "resolution_hrs"
    if "resolution_hrs" in columns:
        stamped = pl.col("resolved_at").is_not_null() & pl.col("created_at").is_not_null()
        if not frame.select((pl.col("resolution_hrs").is_null() & stamped).any()).item():
            return frame, "resolution_hrs"
    return frame.with_columns(resolution_hours(columns).alias(HOURS_COLUMN)), HOURS_COLUMN
