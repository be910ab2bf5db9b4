"""A filter that narrows a chart's axis labels or legend leaves its plot area where it was.

In the built-in world the daily-by-category legend lists six categories ("sexual content" the
longest) and week-over-week's axis names them; filtering to "self harm" leaves one legend entry
and one bar label. Before the charts kept their borders, that click widened the daily chart's
plot area by ~85 px and week-over-week's by ~50 px, and the browser laid the page out again.
"""

from __future__ import annotations

from typing import Any

from .dashboard import click_legend, opened, plot, query, wait_for, wait_for_query

LANDING = ("volume-by-category", "week-over-week", "volume-by-region", "severity-mix", "action-mix")

VISIBLE_LEGEND_JS = """
(name) => {
  const view = Bokeh.index.query_one(v => v.model && v.model.name === `ts-plot-${name}`);
  const legends = view.model.right.concat(view.model.center).filter(m => m.type === "Legend");
  return legends.flatMap(l => l.items.filter(i => i.visible).map(i => String(i.label.value)));
}
"""
WOW_LABELS_JS = """
() => Bokeh.index.query_one(v => v.model && v.model.name === "ts-plot-week-over-week").frame.y_range.factors
"""


def frames(page: Any) -> dict[str, tuple[float, float]]:
    widths = {}
    for name in LANDING:
        frame = plot(page, name)["frame"]
        widths[name] = (round(frame["left"]), round(frame["width"]))
    return widths


def test_a_category_filter_keeps_every_plot_area_in_place(browser: Any, server: str) -> None:
    with opened(browser, server) as (page, errors):
        for name in LANDING:
            wait_for(lambda name=name: (p := plot(page, name)) and p["colours"] > 10, f"{name} drawn")
        assert len(page.evaluate(VISIBLE_LEGEND_JS, "volume-by-category")) == 6
        before = frames(page)

        click_legend(page, "volume-by-category", "self harm")
        wait_for_query(page, lambda q: q.get("categories") == ["self_harm"], "the category filter in the URL")
        wait_for(
            lambda: page.evaluate(VISIBLE_LEGEND_JS, "volume-by-category") == ["self harm"],
            "one legend entry left",
        )
        wait_for(lambda: len(page.evaluate(WOW_LABELS_JS)) == 1, "one week-over-week bar left")
        page.wait_for_timeout(500)  # any re-layout the update caused has happened by now

        assert frames(page) == before
        assert query(page) == {"categories": ["self_harm"]}
        assert errors == []
