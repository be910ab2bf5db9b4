"""Filter choices are computed once per dataset, and die with it (issue #19: a functools.cache leak)."""

from __future__ import annotations

import gc
import weakref

import polars as pl

from tspanel.source import dataset_from_frames
from tspanel.ui.choices import choices_for

FLAGS = pl.DataFrame(
    {
        "flag_id": ["f1", "f2", "f3"],
        "date": ["2026-01-01", "2026-01-02", "2026-01-02"],
        "category": ["spam", "fraud", "spam"],
        "severity": ["low", "high", "low"],
        "action": ["allow", "auto_block", "human_review"],
        "ml_score": [0.5, 0.9, 0.7],
        "region": ["EMEA", "AMER", "EMEA"],
    }
)
REVIEWERS = pl.DataFrame({"reviewer_id": ["R2", "R1"], "capacity_per_day": [40.0, 30.0], "name": ["Bo", "Al"]})


def _dataset():
    return dataset_from_frames(FLAGS, REVIEWERS, name="tiny")


def test_choices_are_read_once_per_dataset() -> None:
    dataset = _dataset()
    choices = choices_for(dataset)
    assert choices.categories == ("fraud", "spam")
    assert choices.regions == ("AMER", "EMEA")
    assert choices.reviewers == ("R1", "R2")
    assert choices.reviewer_label("R1") == "Al (R1)"
    assert choices_for(dataset) is choices
    assert choices_for(_dataset()) is not choices  # another dataset object: its own choices


def test_a_dropped_dataset_is_freed() -> None:
    dataset = _dataset()
    choices_for(dataset)
    ref = weakref.ref(dataset)
    del dataset
    gc.collect()
    assert ref() is None
