"""The dashboard in a real browser: it loads cleanly, shows the CLI's numbers, and cross-filters.

One server and one page for the module (the tests run in order and build on each
other's state). Screenshots of each tab go to the test's tmp_path, never into the
repository (scripts/screenshots.py regenerates docs/img).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .dashboard import (
    TAB_PLOTS,
    brush,
    cli_args,
    cli_kpis,
    click_bar,
    click_legend,
    open_tab,
    page_kpis,
    plot,
    query,
    same_numbers,
    wait_for,
    wait_for_kpis,
    wait_for_query,
)

VIEWPORT = {"width": 1440, "height": 1700}


@pytest.fixture(scope="module")
def console(browser: Any) -> list[str]:
    return []


@pytest.fixture(scope="module")
def page(browser: Any, server: str, console: list[str]) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.on("console", lambda msg: console.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: console.append(f"uncaught: {exc}"))
    page.goto(server, timeout=120_000)
    page.wait_for_selector("[data-kpi]", timeout=90_000)
    yield page
    context.close()


def test_every_tab_draws_its_charts_without_console_errors(page: Any, console: list[str], tmp_path: Path) -> None:
    tabs = [page.get_by_role("tab").nth(i).inner_text().strip().lower() for i in range(4)]
    assert tabs == [
        "flag volume & trends",
        "classifier health",
        "reviewer queue",
        "attack detection & summary",
    ]
    for tab, plots in TAB_PLOTS.items():
        open_tab(page, tab)  # waits until every chart of the tab has drawn (sized and not blank)
        for name in plots:
            drawn = plot(page, name)
            assert drawn["width"] > 200 and drawn["height"] > 150, name
        if tab == "attacks":
            assert page.locator(".ts-attacks-tab").first.is_visible()
        page.wait_for_timeout(400)  # let hover/animations settle before the picture
        page.screenshot(path=str(tmp_path / f"{tab}.png"))
        assert (tmp_path / f"{tab}.png").stat().st_size > 10_000
    open_tab(page, "volume")
    assert console == []


def test_headline_numbers_equal_the_cli(page: Any) -> None:
    expected = cli_kpis("--start", "2026-11-15")  # the landing cards: the world's last 7 days
    shown = page_kpis(page)
    assert same_numbers(shown, expected), (shown, expected)
    assert shown["total_flags"] > 0


def test_brushing_and_clicking_filter_every_kpi_and_live_in_the_url(page: Any, browser: Any, console: list[str]):
    before = page_kpis(page)

    # Brush the middle of the daily-volume chart: the filters take the brushed days.
    brush(page, "volume-by-category", 0.35, 0.7)
    dates = wait_for_query(page, lambda q: {"start", "end"} <= q.keys(), "dates in the URL")
    assert dates["start"][0] < dates["end"][0]
    brushed = cli_kpis(*cli_args(dates))
    wait_for_kpis(page, brushed)
    assert brushed["total_flags"] < before["total_flags"]

    # Click the top bar of the week-over-week chart: its category is toggled everywhere.
    factors = plot(page, "week-over-week")["y_factors"]
    category = factors[-1]  # the top row
    click_bar(page, "week-over-week", category)
    chosen = wait_for_query(page, lambda q: "categories" in q, "a category in the URL")
    assert chosen["categories"] == [category] and chosen["start"] == dates["start"]
    filtered = cli_kpis(*cli_args(chosen))
    wait_for_kpis(page, filtered)
    assert filtered["total_flags"] < brushed["total_flags"]
    # The active-filter strip: a chip for the dates and one for the category.
    assert page.locator(".ts-active-filters .MuiChip-root").count() == 2

    # The URL reproduces the view in a new page.
    url = page.evaluate("() => window.location.href")
    other = page.context.new_page()
    try:
        other.goto(url, timeout=120_000)
        other.wait_for_selector("[data-kpi]", timeout=90_000)
        wait_for_kpis(other, filtered)
    finally:
        other.close()

    # Back: the brushed view again; forward: the category again.
    page.go_back()
    wait_for(lambda: "categories" not in query(page), "the category to leave the URL")
    wait_for_kpis(page, brushed)
    page.go_forward()
    wait_for_kpis(page, filtered)

    # Reset clears every filter.
    page.locator(".ts-reset button").click()
    wait_for_kpis(page, before)
    assert query(page) == {}

    # A legend entry filters too: a region of the daily-by-region chart.
    click_legend(page, "volume-by-region", "EMEA")
    region = wait_for_query(page, lambda q: "regions" in q, "a region in the URL")
    assert region == {"regions": ["EMEA"]}
    wait_for_kpis(page, cli_kpis(*cli_args({}), "--region", "EMEA"))
    assert console == []
