"""What the UI tests do to the dashboard page: read KPIs, find plots, brush and click like a user.

Plots are found through Bokeh's own view index by the figure name the app gives each
chart (``ts-plot-<key>``), and positions come from the plot's scales, so a drag or a
click lands on a given date or bar whatever the window size.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

TAB_PLOTS: dict[str, tuple[str, ...]] = {
    "volume": (
        "volume-by-category",
        "week-over-week",
        "escalation",
        "volume-by-region",
        "severity-mix",
        "action-mix",
    ),
    "classifier": ("score-drift", "score-distribution", "calibration"),
    "queue": ("intake", "utilisation", "resolution-time"),
    "attacks": ("attacks-volume",),
}
TAB_INDEX = {name: i for i, name in enumerate(TAB_PLOTS)}
# The built-in world (seed 42) the UI tests serve: 90 days.
WORLD_FIRST_DAY = "2026-08-24"
WORLD_LAST_DAY = "2026-11-21"
KPI_KEYS = (
    "total_flags",
    "auto_blocked",
    "human_review",
    "sla_breach_rate_pct",
    "coordinated_pct",
    "ml_score_last_week",
)

_PLOT_JS = """
(name) => {
  const view = Bokeh.index.query_one(v => v.model && v.model.name === `ts-plot-${name}`);
  if (view == null) return null;
  const rect = view.canvas_view.el.getBoundingClientRect();
  const frame = view.frame.bbox;
  let canvas;
  try {
    canvas = view.canvas_view.compose().canvas;
  } catch (error) {
    return null;  // a layer not laid out yet (0 px, a tab being shown): not drawn yet, callers wait
  }
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const colours = new Set();
  for (let i = 0; i < pixels.length; i += 4 * 97) colours.add(pixels.slice(i, i + 4).join(","));
  return {
    left: rect.left, top: rect.top, width: rect.width, height: rect.height, colours: colours.size,
    frame: {left: rect.left + frame.left, top: rect.top + frame.top, width: frame.width, height: frame.height},
    y_factors: view.frame.y_range.factors || null,
  };
}
"""

_FACTOR_Y_JS = """
([name, factor]) => {
  const view = Bokeh.index.query_one(v => v.model && v.model.name === `ts-plot-${name}`);
  const rect = view.canvas_view.el.getBoundingClientRect();
  return rect.top + view.frame.y_scale.compute(view.frame.y_range.synthetic(factor));
}
"""

_LEGEND_JS = """
([name, label]) => {
  const plot = Bokeh.index.query_one(v => v.model && v.model.name === `ts-plot-${name}`);
  for (const legend of Bokeh.index.query(v => v.entries !== undefined && v.plot_view === plot)) {
    for (const entry of legend.entries) {
      if (String(entry.label) === label) {
        const r = entry.el.getBoundingClientRect();
        return [r.left + r.width / 2, r.top + r.height / 2];
      }
    }
  }
  return null;
}
"""


@contextmanager
def opened(browser: Any, url: str, width: int = 1440, height: int = 1200) -> Iterator[tuple[Any, list[str]]]:
    """A page of ``url`` in a fresh browser context, once its KPI cards show; with the page's errors."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(url, timeout=120_000)
        page.wait_for_selector("[data-kpi]", timeout=90_000)
        yield page, errors
    finally:
        context.close()


def tspanel(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the `tspanel` CLI of this interpreter (the same code the server runs)."""
    return subprocess.run(
        [sys.executable, "-m", "tspanel", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def cli_kpis(*args: str) -> dict[str, Any]:
    """`tspanel kpis --json` with the given filter options: the numbers the page must show."""
    result = tspanel("kpis", "--json", *args)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    return {key: data[key] for key in KPI_KEYS}


def cli_args(query: dict[str, list[str]], last_day: str = WORLD_LAST_DAY) -> list[str]:
    """`tspanel kpis` options for what the cards show under a page's URL query.

    The cards cover the last N days of the selection (N = the query's period, 7 by
    default; "custom": the whole selection), so the CLI is asked for exactly those days.
    """
    args: list[str] = []
    start = query.get("start", [None])[0]
    end = query.get("end", [last_day])[0]
    period = query.get("period", ["7"])[0]
    if period != "custom":
        window_start = (dt.date.fromisoformat(end) - dt.timedelta(days=int(period) - 1)).isoformat()
        start = max(start, window_start) if start else window_start
    if start:
        args += ["--start", start]
    args += ["--end", end]
    for key, option in (("categories", "--category"), ("severities", "--severity"), ("regions", "--region")):
        if key in query:
            args += [option, *query[key][0].split(",")]
    return args


def page_kpis(page: Any) -> dict[str, Any]:
    """The raw numbers behind the KPI cards (their data-value hooks); None where the card shows n/a."""
    out: dict[str, Any] = {}
    cards = page.locator("[data-kpi]")
    for i in range(cards.count()):
        card = cards.nth(i)
        raw = card.get_attribute("data-value")
        out[card.get_attribute("data-kpi")] = None if raw == "" else json.loads(raw)
    return out


def same_numbers(shown: dict[str, Any], expected: dict[str, Any]) -> bool:
    if shown.keys() != expected.keys():
        return False
    for key, want in expected.items():
        got = shown[key]
        if (got is None) != (want is None):
            return False
        if got is not None and got != pytest.approx(want, rel=1e-9):
            return False
    return True


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll ``check`` until it returns something truthy (the page refreshes off the event loop)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def wait_for_kpis(page: Any, expected: dict[str, Any], timeout: float = 60.0) -> None:
    wait_for(lambda: same_numbers(page_kpis(page), expected), f"KPIs {expected}", timeout)


def query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.evaluate("() => window.location.href")).query)


def wait_for_query(page: Any, predicate: Callable[[dict[str, list[str]]], bool], what: str) -> dict[str, list[str]]:
    """The page's URL query once ``predicate`` holds for it."""

    def check() -> dict[str, list[str]] | None:
        current = query(page)
        return current if predicate(current) else None

    return wait_for(check, what)


def plot(page: Any, name: str) -> dict[str, Any] | None:
    return page.evaluate(_PLOT_JS, name)


def scroll_to(page: Any, name: str) -> None:
    """Bring a plot into the viewport (mouse events only reach what is on screen)."""
    page.evaluate(
        """(name) => Bokeh.index.query_one(v => v.model && v.model.name === `ts-plot-${name}`)
             .canvas_view.el.scrollIntoView({block: "center"})""",
        name,
    )
    page.wait_for_timeout(200)


def open_tab(page: Any, tab: str) -> None:
    page.get_by_role("tab").nth(TAB_INDEX[tab]).click()
    for name in TAB_PLOTS[tab]:
        wait_for(lambda name=name: (p := plot(page, name)) and p["width"] > 0 and p["colours"] > 10, f"{name} drawn")


def brush(page: Any, name: str, start: float, end: float) -> None:
    """Drag across a time-series plot from ``start`` to ``end`` (fractions of its frame width)."""
    scroll_to(page, name)
    frame = plot(page, name)["frame"]
    y = frame["top"] + frame["height"] / 2
    x0, x1 = frame["left"] + frame["width"] * start, frame["left"] + frame["width"] * end
    page.mouse.move(x0, y)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(x0 + (x1 - x0) * step / 10, y)
    page.mouse.up()


def click_bar(page: Any, name: str, factor: str) -> None:
    """Click the middle of the horizontal bar (row) of ``factor``."""
    scroll_to(page, name)
    frame = plot(page, name)["frame"]
    y = page.evaluate(_FACTOR_Y_JS, [name, factor])
    page.mouse.click(frame["left"] + frame["width"] / 2, y)


def click_legend(page: Any, name: str, label: str) -> None:
    """Click the legend entry ``label`` of a plot."""
    scroll_to(page, name)
    position = page.evaluate(_LEGEND_JS, [name, label])
    assert position is not None, f"no legend entry {label!r} on {name}"
    page.mouse.click(*position)
