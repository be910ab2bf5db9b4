"""The fast update (ui.charts.patch_plot) draws exactly what HoloViews' full update draws.

A filter change that keeps a chart's layers (its series) pushes the new values, or new rows
(a brush, a clicked bar), into the existing data sources; these tests render two sessions over the built-in
world, one taking the fast path and one forced through the full update, and require the same
glyph data and axis ranges after each change, and that the fast path kept the plot's models.
The refresh's batch re-collects the document's models only when one was added or removed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.models import Column, Div

import tspanel.ui.charts as charts
from tspanel.source import default_world
from tspanel.ui.session import DashboardSession, _frozen_models


def drawn(session: DashboardSession, tab: str) -> dict[str, tuple]:
    """Per chart: every glyph source's data and visibility, the legend entries, the x and y ranges."""
    out = {}
    for key, chart in getattr(session, tab).charts.charts.items():
        if chart.pane is None:
            continue
        figure = next(iter(chart.pane._plots.values()))[0].state
        sources = [
            ({k: np.asarray(v).tolist() for k, v in r.data_source.data.items()}, r.visible)
            for r in figure.renderers
            if hasattr(r, "data_source")
        ]
        legends = [
            [
                (str(item.label), [figure.renderers.index(r) for r in item.renderers])
                for item in legend.items
                if item.visible
            ]
            for legend in figure.legend
        ]

        def span(r):
            return getattr(r, "start", None), getattr(r, "end", None), tuple(getattr(r, "factors", ()) or ())

        out[key] = (sources, legends, span(figure.x_range), span(figure.y_range))
    return out


def sources(session: DashboardSession, key: str) -> list[int]:
    figure = next(iter(session.volume.charts[key].pane._plots.values()))[0].state
    return [id(r.data_source) for r in figure.renderers if hasattr(r, "data_source")]


@pytest.mark.parametrize("tab", ["volume", "classifier", "queue"])
def test_the_fast_update_draws_what_the_full_update_draws(tab, monkeypatch):
    dataset = default_world()
    fast, full = DashboardSession(dataset), DashboardSession(dataset)
    for session in (fast, full):
        session.page.get_root(Document())
        session.tabs.active = ("volume", "classifier", "queue").index(tab)
    patched: list[tuple[str, bool]] = []
    real_patch = charts.Chart._patch

    def counting(self, previous, frame):
        done = real_patch(self, previous, frame)
        patched.append((self.spec.key, done))
        return done

    region, category = fast.choices.regions[0], fast.choices.categories[0]
    brushed = {"start": dataset.first_day + dt.timedelta(days=30), "end": dataset.first_day + dt.timedelta(days=44)}
    changes = [
        {"severities": ["high", "critical"]},
        {"regions": [region]},
        {"severities": []},
        {"regions": []},
        {"categories": [category]},  # a clicked bar: fewer rows and series
        {"categories": []},
        brushed,  # a brush: other dates
        {"start": dataset.first_day + dt.timedelta(days=40)},  # a one-day selection
        {"start": dataset.first_day, "end": dataset.last_day},
    ]
    fast_by_change = []
    for change in changes:
        monkeypatch.setattr(charts.Chart, "_patch", counting)
        patched.clear()
        fast.filters.param.update(**change)
        fast_by_change.append({key for key, done in patched if done})
        monkeypatch.setattr(charts.Chart, "_patch", lambda self, previous, frame: False)
        full.filters.param.update(**change)
        assert drawn(fast, tab) == drawn(full, tab), change
    assert sum(map(len, fast_by_change)) >= 4  # the fast path was taken, not just tried
    if tab == "volume":
        # Rows that change (a clicked bar, a brush) take the fast path too when the series stay.
        assert {"week-over-week", "severity-mix", "action-mix"} <= fast_by_change[4]
        # Series the selection drops (one region, one category) are hidden in place, and come back.
        assert "volume-by-region" in fast_by_change[1] and "volume-by-region" in fast_by_change[3]
        assert "volume-by-category" in fast_by_change[4] and "volume-by-category" in fast_by_change[5]
        assert [len(legend) for legend in drawn(fast, tab)["volume-by-category"][1]] == [6]
        assert {"volume-by-category", "escalation", "volume-by-region"} <= fast_by_change[6]
    if tab == "classifier":
        # The drift chart's two lines and two reference lines, and calibration's points when a
        # severity filter leaves fewer of them, are updated in place too.
        assert all({"score-drift", "calibration"} <= keys for keys in fast_by_change[:4]), fast_by_change
    if tab == "queue":
        # The staffing curve's headcounts and marked points move with the region and category
        # (its dashed target line has no data source and stays as drawn); the severity changes
        # (0 and 2) leave it as it was: the plan is for the whole queue.
        assert all("staffing-curve" in fast_by_change[i] for i in (1, 3, 4)), fast_by_change
        assert not any("staffing-curve" in fast_by_change[i] for i in (0, 2)), fast_by_change
        assert all("utilisation" in keys for keys in fast_by_change), fast_by_change


def test_a_patched_chart_takes_its_new_axis_limits():
    """Utilisation's value axis reaches past the busiest reviewer (ylim from the data): a reviewer
    at 300% of capacity must widen it on the fast path as on the full one."""
    import polars as pl

    dataset = default_world()
    fast, full = DashboardSession(dataset), DashboardSession(dataset)
    for session in (fast, full):
        session.page.get_root(Document())
        session.tabs.active = 2
    output = fast.dashboard.refresh({"queue"})["queue"]["utilisation"]
    busy = output.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(300.0).otherwise(pl.col("utilisation_pct")).alias("utilisation_pct")
    )
    fast.queue.charts["utilisation"].update(busy)
    full.queue.charts["utilisation"]._patch = lambda previous, frame: False
    full.queue.charts["utilisation"].update(busy)
    assert fast.queue.charts["utilisation"]._sent is not None
    shown = drawn(fast, "queue")["utilisation"]
    assert shown == drawn(full, "queue")["utilisation"]
    assert shown[2][1] == 315.0, shown[2:]  # the value axis (horizontal bars: x) ends at 1.05 x 300%


def test_a_severity_toggle_keeps_the_daily_charts_models():
    session = DashboardSession(default_world())
    session.page.get_root(Document())
    before = sources(session, "volume-by-category")
    data_before, _, _, (_, top_before, _) = drawn(session, "volume")["volume-by-category"]
    session.filters.severities = ["critical"]
    assert sources(session, "volume-by-category") == before  # same ColumnDataSources, new data
    data_after, _, _, (_, top_after, _) = drawn(session, "volume")["volume-by-category"]
    assert data_after != data_before
    assert 0 < top_after < top_before  # the value axis follows the smaller numbers


def test_a_batch_walks_the_documents_models_only_when_one_was_added(monkeypatch):
    document = Document()
    column = Column(Div(text="first"))
    document.add_root(column)
    walks: list[int] = []
    real = document.models.recompute
    monkeypatch.setattr(document.models, "recompute", lambda: (walks.append(1), real())[1])
    with _frozen_models(document):
        column.children[0].text = "changed"  # a property: no model added or removed
    assert walks == []
    with _frozen_models(document):
        with _frozen_models(document):
            column.children = [*column.children, Div(text="added")]
        assert walks == []  # the outer batch walks, once
    assert walks == [1]
    assert len(document.models) == 3  # the column and its two Divs
