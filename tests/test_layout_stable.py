"""A filter change sends the browser new data, never a change that re-lays out the page.

In Chromium a Bokeh property change of ``visible``, ``stylesheets`` or ``css_classes`` on a
layout component makes BokehJS lay out the whole page again (~0.1 s each, measured with the
DevTools profiler on the built-in world); a first filter click used to send five of them (the
filter strip shown, and the stylesheets of four HTML panes re-sent with their new text) and
took 1.0 s to settle against 0.6 s now. A new or dropped model makes the server walk the
page's ~1,000 models (~25 ms). This renders a session into a document and records every
change event Bokeh emits for a run of filter clicks.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from bokeh.document import Document

from tspanel.source import default_world
from tspanel.ui.session import DashboardSession
from tspanel.ui.volume import VolumeTab

LAYOUT_PROPERTIES = {"visible", "stylesheets", "css_classes", "children", "styles", "sizing_mode"}
# Hidden series of a chart: the glyph and its legend entry are hidden in place (no layout).
IN_PLACE = {"GlyphRenderer", "LegendItem"}


def test_filter_clicks_change_data_and_text_only():
    dataset = default_world()
    session = DashboardSession(dataset)
    document = Document()
    document.add_root(session.page.get_root(document))
    models = {m.id for m in document.models}
    events: list = []
    document.on_change(events.append)
    changes = [
        {"severities": ["high"]},  # the first filter: the strip gets its first chip
        {"categories": ["fraud"]},  # fewer series on the daily charts
        {"regions": ["EMEA"]},
        {"start": dataset.first_day + dt.timedelta(days=30)},  # a brushed start
        {"severities": [], "categories": [], "regions": [], "start": None},  # reset
    ]
    for change in changes:
        events.clear()
        session.filters.param.update(**change)
        changed = {(type(e.model).__name__, e.attr) for e in events if hasattr(e, "attr")}
        assert changed, change  # the click did reach the charts and cards
        layout = {(kind, attr) for kind, attr in changed if attr in LAYOUT_PROPERTIES and kind not in IN_PLACE}
        assert layout == set(), change
        assert {("HTML", "text"), ("ColumnDataSource", "data")} <= changed, change
        assert {m.id for m in document.models} == models, change  # no model added or dropped
    assert session.active.chips.visible and session.active.empty.visible


def test_the_week_over_week_table_keeps_a_row_for_every_category():
    frame = pl.DataFrame(
        {"category": ["fraud"], "this_week": [66], "previous_week": [71], "change": [-5], "change_pct": [-7.04]}
    )
    html = VolumeTab._wow_table(frame, ("fraud", "spam", "harassment"))
    assert html.count("<tr") == 1 + 3  # the header, fraud, and two kept (hidden) rows
    assert html.count("class='ts-pad'") == 2
    assert ">fraud<" in html and "spam" not in html
