"""The investigation views without a browser: attention strip, flags panel, evidence (tests/ui has the browser).

The hand-made dataset of tests/test_app.py: 14 days, each with 2 spam flags (score 0.9)
and 1 fraud flag (score 0.5), so 42 flags, 14 of them fraud; its 7-day mean score 0.767
is under the classifier's alert line (0.78), its only attention item. With every score at
0.9 the same days need no attention at all.
"""

from __future__ import annotations

import polars as pl

from test_app import flag_rows, make_dataset
from tspanel.ui.flags import page_html
from tspanel.ui.session import DashboardSession


def test_a_quiet_dataset_says_nothing_needs_attention():
    rows = [{**row, "ml_score": 0.9} for row in flag_rows()]
    session = DashboardSession(make_dataset(rows))
    assert session.attention.items == []
    assert "Nothing needs attention" in session.attention.pane.object


def test_an_attention_item_opens_its_view_through_the_url():
    session = DashboardSession(make_dataset())
    assert [item.kind for item in session.attention.items] == ["classifier"]
    assert "Classifier alert: 7-day mean score 0.767" in session.attention.pane.object
    session.attention.pane.click(0)
    assert session.open_tab == "classifier"
    assert session.history.search == "?tab=classifier"


def test_show_flags_opens_the_table_on_the_selection_and_follows_it():
    session = DashboardSession(make_dataset())
    panel = session.flags_panel
    assert not panel.is_open
    session.active.show_flags.clicks += 1
    assert panel.is_open and 'data-total="42"' in panel.summary.object
    session.filters.categories = ["fraud"]
    assert 'data-total="14"' in panel.summary.object
    assert panel.table.object.count("<tr>") == 1 + 14
    panel.sort.value = "ml_score"
    exported = pl.read_csv(panel.export("csv"))
    assert exported.height == 14 and set(exported["category"]) == {"fraud"}


def test_page_cells_are_escaped():
    html = page_html(pl.DataFrame({"account_id": ["<script>alert(1)</script>"], "ml_score": [0.5]}))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_selection_too_large_for_the_browser_points_to_the_cli(monkeypatch):
    monkeypatch.setattr("tspanel.ui.flags.MAX_DOWNLOAD_ROWS", 20)
    session = DashboardSession(make_dataset())
    panel = session.flags_panel
    panel.show()  # 42 flags > 20: downloads off, the CLI named
    assert panel.csv.disabled and panel.parquet.disabled
    assert "tspanel flags" in panel.error.object and panel.error.visible
    session.filters.categories = ["fraud"]  # 14 flags: downloads back
    assert not panel.csv.disabled and not panel.error.visible


def test_a_search_too_short_replaces_the_rows_with_its_message():
    session = DashboardSession(make_dataset())
    panel = session.flags_panel
    panel.show()
    assert panel.table.object.count("<tr>") > 1
    panel.search.value = "ab"
    assert "too short: give at least 3 characters" in panel.error.object and panel.error.visible
    assert panel.table.object == "" and panel.summary.object == ""  # not the previous search's rows
    assert panel.csv.disabled and panel.next.disabled
    panel.search.value = ""
    assert 'data-total="42"' in panel.summary.object and not panel.error.visible
