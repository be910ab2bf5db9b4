"""Large selections page through the dataset's shared sort order (tspanel.models.flags.SortOrders).

Forced here on small data (PERMUTATION_MIN_ROWS = 0): the hand-made flags of
test_flags_table give the orders worked out by hand there, and on the built-in world every
page must equal the bounded top-k's page for the same sort, filters and search.
"""

from __future__ import annotations

import pytest

from test_flags_table import REVIEWERS, _flags, _ids, dataset  # noqa: F401  (the hand-made flags)
from tspanel.models.filters import Filters
from tspanel.models.flags import FlagsTable
from tspanel.source import dataset_from_frames, default_world


@pytest.fixture
def orders(monkeypatch):
    monkeypatch.setattr("tspanel.models.flags.PERMUTATION_MIN_ROWS", 0)


def test_ties_keep_the_data_order_and_nulls_come_last(orders, dataset):  # noqa: F811
    table = FlagsTable(dataset, Filters(), page_size=4, sort_by="ml_score", descending=True)
    pages = []
    for page in range(3):
        table.page = page
        pages += _ids(table)
    assert pages == ["f1", "f6", "f2", "f8", "f3", "f7", "f9", "f4", "f5", "f0"]
    table.param.update(sort_by="resolution_hrs", descending=True, page=0, page_size=10)
    assert _ids(table) == ["f4", "f1", "f8", "f9", "f0", "f2", "f3", "f5", "f6", "f7"]
    table.param.update(descending=False, search="acc-aa")  # f0, f3, f9; nulls last in data order
    assert _ids(table) == ["f9", "f0", "f3"]


CASES = [
    ({}, "ml_score", True, ""),
    ({}, "ml_score", False, ""),
    ({"categories": ["spam"]}, "ml_score", True, ""),
    ({"severities": ["high", "critical"]}, "severity", False, ""),
    ({}, "account_id", True, ""),
    ({}, "resolution_hrs", True, ""),
    ({"regions": ["EMEA"]}, "flag_id", False, "F2026"),
]


@pytest.mark.parametrize(("filters", "column", "descending", "search"), CASES)
def test_pages_equal_the_top_k_pages(monkeypatch, filters, column, descending, search):
    world = default_world()
    table = FlagsTable(world, Filters(**filters), sort_by=column, descending=descending, search=search)
    total = table.count()
    assert total > 1_000
    for page in (0, 1, total // 100, total // 50 - 1):
        table.page = page
        monkeypatch.setattr("tspanel.models.flags.PERMUTATION_MIN_ROWS", 10**12)
        expected = _ids(table)
        monkeypatch.setattr("tspanel.models.flags.PERMUTATION_MIN_ROWS", 0)
        assert _ids(table) == expected, (page, total)


def test_only_the_most_recently_used_orders_are_kept(orders, monkeypatch):
    from tspanel.models import flags

    monkeypatch.setattr(flags, "MAX_SORT_ORDERS", 2)
    memory = dataset_from_frames(_flags(), REVIEWERS, name="hand-made")
    table = FlagsTable(memory, Filters(), page_size=3)
    for column in ("ml_score", "severity", "ml_score", "resolution_hrs"):
        table.sort_by = column
        table.page_frame()
    kept = flags._sort_orders(memory)._orders
    assert list(kept) == [("ml_score", False), ("resolution_hrs", False)]
