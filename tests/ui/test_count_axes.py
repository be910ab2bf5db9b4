"""Count axes read as counts at any scale: whole numbers, thousands separated.

In the built-in world, APAC's critical self-harm flags are 0 to 3 a day; Bokeh's ticker put
ticks at halves on that range, which the "0,0" labels showed as "0 1 1 2 2 3 3". Unfiltered,
the severity mix counts 3,000 to 15,000 flags a level and its axis read "2000 4000 …".
"""

from __future__ import annotations

import re
from typing import Any

from .dashboard import opened, plot, wait_for

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


def test_a_daily_count_of_a_few_flags_has_whole_number_ticks(browser: Any, server: str) -> None:
    with opened(browser, server + SMALL, height=1600) as (page, errors):
        wait_for(lambda: (p := plot(page, "volume-by-region")) and p["colours"] > 5, "the region chart drawn")
        assert page.evaluate(TICK_LABELS_JS, ["volume-by-region", "left"]) == ["0", "1", "2", "3"]
        assert errors == []


def test_bar_lengths_are_counts_with_thousands_separators(browser: Any, server: str) -> None:
    with opened(browser, server, height=1600) as (page, errors):
        for name in ("severity-mix", "action-mix"):
            wait_for(lambda name=name: (p := plot(page, name)) and p["colours"] > 5, f"{name} drawn")
            labels = page.evaluate(TICK_LABELS_JS, [name, "below"])
            assert all(COUNT.match(label) for label in labels), labels
            assert any("," in label for label in labels), labels  # thousands of flags a level
        assert errors == []
