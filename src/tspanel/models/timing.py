"""When a case opened and closed, from whichever time columns a dataset has.

Shared by the queue model and the KPIs so the SLA means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from tspanel.schema import UTC, resolution_hours

__all__ = ["opened", "resolution_hours", "resolved"]


def _noon(day: str) -> pl.Expr:
    """A rollup's day (open_day, resolved_day) as its noon, UTC: between the midnights a backlog is
    counted at, so "opened < midnight M" and "resolved > M" are exact, and ages are within 12 h."""
    return pl.col(day).cast(pl.Datetime("us")).dt.replace_time_zone("UTC") + pl.duration(hours=12)


def opened(columns: Collection[str]) -> pl.Expr:
    """When the case entered the queue; day-level data starts at the day's midnight (UTC)."""
    if "open_day" in columns:  # a rollup (tspanel.rollup.dataset)
        return _noon("open_day")
    day_start = pl.col("date").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return pl.col("created_at").fill_null(day_start) if "created_at" in columns else day_start


def resolved(columns: Collection[str]) -> pl.Expr:
    """When it left the queue: resolved_at, else opened + resolution_hrs, else unknown (open)."""
    if "resolved_day" in columns:  # a rollup
        return _noon("resolved_day")
    candidates: list[pl.Expr] = []
    if "resolved_at" in columns:
        candidates.append(pl.col("resolved_at"))
    if "resolution_hrs" in columns:
        micros = (pl.col("resolution_hrs") * 3.6e9).round().cast(pl.Int64)
        candidates.append(opened(columns) + pl.duration(microseconds=micros))
    return pl.coalesce(candidates) if candidates else pl.lit(None, dtype=UTC)
