"""The values a session may filter on, read from the dataset once and shared by every session."""

from __future__ import annotations

import threading
import weakref
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


# Per dataset object, held weakly: the entry dies with its dataset. (A functools.cache
# keyed on the dataset kept every dataset ever loaded alive, with its spill files.)
_CHOICES: weakref.WeakKeyDictionary[Any, Choices] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def choices_for(dataset: Any) -> Choices:
    """Filter values of ``dataset``, computed once per dataset object (datasets are shared, never copied)."""
    with _LOCK:
        cached = _CHOICES.get(dataset)
    if cached is not None:
        return cached
    choices = _compute(dataset)
    with _LOCK:
        return _CHOICES.setdefault(dataset, choices)


def _compute(dataset: Any) -> Choices:
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
