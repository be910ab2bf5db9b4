"""Count axes read as counts at any scale: whole numbers, thousands separated.

In the built-in world, APAC's critical self-harm flags are 0 to 3 a day; Bokeh's ticker put
ticks at halves on that range, which the "0,0" labels showed as "0 1 1 2 2 3 3". Unfiltered,
the severity mix counts 3,000 to 15,000 flags a level and its axis read "2000 4000 …".
"""

from __future__ import annotations

import re
from typing import Any

from .dashboard import plot, wait_for

SMALL = "?categories=self_harm&severities=critical&regions=APAC"
COUNT = re.compile(r"^\d{1,3}(,\d{3})*$")

TICK_LABELS_JS = """
([name, side]) => {
  const plot = Bokeh.index.query_one(v => v.model && v.model.name === `ts-plot-${name}`);
  const axis = Bokeh.index.query_one(v => v.model && v.parent === plot && plot.model[side].includes(v.model));
  const ticks = Array.from(axis.tick_coords.major[axis.dimension]);
  return axis.model.formatter.doFormat(ticks, {loc: 0});
}
"""


def open_page(browser: Any, url: str) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 1440, "height": 1600})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url, timeout=120_000)
    page.wait_for_selector("[data-kpi]", timeout=90_000)
    return context, page, errors


def test_a_daily_count_of_a_few_flags_has_whole_number_ticks(browser: Any, server: str) -> None:
    context, page, errors = open_page(browser, server + SMALL)
    try:
        wait_for(lambda: (p := plot(page, "volume-by-region")) and p["colours"] > 5, "the region chart drawn")
        assert page.evaluate(TICK_LABELS_JS, ["volume-by-region", "left"]) == ["0", "1", "2", "3"]
        assert errors == []
    finally:
        context.close()


def test_bar_lengths_are_counts_with_thousands_separators(browser: Any, server: str) -> None:
    context, page, errors = open_page(browser, server)
    try:
        for name in ("severity-mix", "action-mix"):
            wait_for(lambda name=name: (p := plot(page, name)) and p["colours"] > 5, f"{name} drawn")
            labels = page.evaluate(TICK_LABELS_JS, [name, "below"])
            assert all(COUNT.match(label) for label in labels), labels
            assert any("," in label for label in labels), labels  # thousands of flags a level
        assert errors == []
    finally:
        context.close()
