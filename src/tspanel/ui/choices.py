"""The values a session may filter on, read from the dataset once and shared by every session."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import polars as pl

from tspanel.schema import ACTIONS, SEVERITIES


@dataclass(frozen=True)
class Choices:
    """Every allowed value of every list filter, and reviewer labels for display."""

    categories: tuple[str, ...]
    regions: tuple[str, ...]
    severities: tuple[str, ...]
    actions: tuple[str, ...]
    reviewers: tuple[str, ...]
    reviewer_names: dict[str, str]

    def allowed(self, name: str) -> tuple[str, ...]:
        return getattr(self, name)

    def reviewer_label(self, reviewer_id: str) -> str:
        name = self.reviewer_names.get(reviewer_id)
        return f"{name} ({reviewer_id})" if name and name != reviewer_id else reviewer_id


@functools.cache
def choices_for(dataset: Any) -> Choices:
    """Filter values of ``dataset`` (cached per dataset object: datasets are shared, never copied)."""
    reviewers = dataset.reviewers.collect()
    ids = [str(v) for v in reviewers["reviewer_id"].cast(pl.String).to_list()]
    names: dict[str, str] = {}
    if "name" in reviewers.columns:
        for rid, name in zip(ids, reviewers["name"].cast(pl.String).to_list(), strict=True):
            if name:
                names[rid] = name
    return Choices(
        categories=tuple(dataset.categories),
        regions=tuple(dataset.regions),
        severities=SEVERITIES,
        actions=ACTIONS,
        reviewers=tuple(sorted(ids)),
        reviewer_names=names,
    )
