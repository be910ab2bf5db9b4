"""Attack alerts under a category selection: detected once for every category, then picked.

A category toggle must not re-run detection (seconds at 1M flags, on every toggle, for the
attention strip), and a category's alerts must not depend on which others are selected.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from tspanel.cli._common import open_dataset
from tspanel.models.attacks import AttacksModel
from tspanel.models.cache import RESULTS
from tspanel.models.filters import Filters

SPAM_ALERT_DAYS = [  # the built-in world's spam alerts (default method and threshold)
    dt.date(2026, 9, 23),
    dt.date(2026, 9, 24),
    dt.date(2026, 10, 11),
    dt.date(2026, 10, 12),
    dt.date(2026, 10, 27),
    dt.date(2026, 11, 18),
]


def _days(frame: pl.DataFrame, category: str) -> list[dt.date]:
    return frame.filter(pl.col("category").cast(pl.String) == category).sort("date")["date"].to_list()


def test_a_category_toggle_reuses_one_detection_and_keeps_each_categorys_alerts() -> None:
    dataset = open_dataset(None)
    everything = AttacksModel(dataset, Filters()).alerts()
    assert everything.height == 9
    assert _days(everything, "spam") == SPAM_ALERT_DAYS

    misses = RESULTS.misses
    spam = AttacksModel(dataset, Filters(categories=["spam"])).alerts()
    both = AttacksModel(dataset, Filters(categories=["spam", "harassment"])).alerts()
    assert RESULTS.misses == misses, "a category selection ran the detectors again"

    assert set(spam["category"].cast(pl.String)) == {"spam"}
    assert spam.sort("date")["date"].to_list() == SPAM_ALERT_DAYS
    assert _days(both, "spam") == SPAM_ALERT_DAYS
    assert set(both["category"].cast(pl.String)) <= {"spam", "harassment"}


def test_the_legacy_method_still_judges_the_selected_total() -> None:
    """zscore-legacy watches one series, the selection's total: it must see only the selected categories."""
    dataset = open_dataset(None)
    everything = AttacksModel(dataset, Filters(), method="zscore-legacy").alerts()
    spam = AttacksModel(dataset, Filters(categories=["spam"]), method="zscore-legacy").alerts()
    assert (everything.height, spam.height) == (6, 9)


def test_a_selection_without_flags_has_no_alerts_rather_than_an_error() -> None:
    """A region with no flags (e.g. from an old shared link) used to raise ColumnNotFoundError."""
    dataset = open_dataset(None)
    assert AttacksModel(dataset, Filters(regions=["nowhere"])).alerts().height == 0
