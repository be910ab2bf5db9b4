"""Tiny hand-made datasets for the domain-model tests: the expected values are worked out by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from tspanel.source import Dataset, dataset_from_frames

MON = dt.date(2026, 3, 2)  # a Monday

DEFAULTS: dict[str, Any] = {
    "category": "spam",
    "severity": "low",
    "action": "allow",
    "ml_score": 0.5,
}


def day(n: int) -> dt.date:
    return MON + dt.timedelta(days=n)


def make_dataset(rows: list[dict[str, Any]], reviewers: list[dict[str, Any]] | None = None) -> Dataset:
    """Flags from ``rows`` (missing required values take DEFAULTS; ids are numbered)."""
    full = [{"flag_id": f"f{i}", **DEFAULTS, **row} for i, row in enumerate(rows)]
    columns = sorted({key for row in full for key in row})
    flags = pl.DataFrame([{c: row.get(c) for c in columns} for row in full])
    reviewers = reviewers or [{"reviewer_id": "r1", "capacity_per_day": 10.0}]
    return dataset_from_frames(flags, pl.DataFrame(reviewers), name="hand-made")
