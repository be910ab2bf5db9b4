"""The view in a real browser: the landing trend, the URL holding the whole view, the selection messages.

Numbers are the built-in world's (seed 42, 2026-08-24 to 2026-11-21), stated here:
its last 7 days (2026-11-15 to 2026-11-21) hold 3,541 flags, the 7 before 5,059; the
day 2026-10-01 holds 314 flags; no low-severity self-harm flag was sent to human review
that day.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .dashboard import TAB_INDEX, page_kpis, query, wait_for, wait_for_query

VIEWPORT = {"width": 1440, "height": 1200}
LAST_7_DAYS = 3541
WEEK_BEFORE = 5059
ONE_DAY = "2026-10-01"
ONE_DAY_FLAGS = 314
NOTHING = f"?start={ONE_DAY}&end={ONE_DAY}&categories=self_harm&severities=low&actions=human_review"


@pytest.fixture(scope="module")
def context(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    yield context
    context.close()


def open_page(context: Any, url: str) -> Any:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    page.goto(url, timeout=120_000)
    page.wait_for_selector("[data-kpi]", timeout=90_000)
    return page


def period_header(page: Any) -> str:
    return page.locator(".ts-period").first.inner_text()


def active_tab(page: Any) -> int | None:
    """The selected tab's index; None while the tabs are still being drawn (e.g. just after a reload)."""
    tabs = page.get_by_role("tab")
    return next((i for i in range(tabs.count()) if tabs.nth(i).get_attribute("aria-selected") == "true"), None)


def test_the_landing_cards_compare_the_last_7_days_with_the_7_before(context: Any, server: str) -> None:
    page = open_page(context, server)
    try:
        assert page_kpis(page)["total_flags"] == LAST_7_DAYS
        header = period_header(page)
        assert "Last 7 days: 2026-11-15 → 2026-11-21" in header
        assert "against the 7 days before (2026-11-08 → 2026-11-14)" in header
        total = page.locator('[data-kpi="total_flags"] .ts-kpi-change')
        # (3,541 - 5,059) / 5,059 = -30.0 %
        assert float(total.get_attribute("data-change")) == LAST_7_DAYS - WEEK_BEFORE
        assert "−30.0%" in total.inner_text() and "vs previous 7 days" in total.inner_text()
        assert page.locator(".ts-kpi-change[data-change='']").count() == 0  # every card has its change
        # The period selector: the selected dates (all 90 days) have nothing before them: said once.
        page.get_by_role("button", name="Selected dates").click()
        wait_for(lambda: page_kpis(page)["total_flags"] == 42255, "every flag on the cards")
        assert page.locator("[data-note='none']").count() == 1
        assert "no earlier 90-day period in the data to compare with" in period_header(page)
        assert page.get_by_text("no earlier 90-day period").count() == 1
        assert query(page) == {"period": ["custom"]}
        assert page.errors == []
    finally:
        page.close()


def test_the_url_round_trips_tab_method_threshold_and_period(context: Any, server: str) -> None:
    url = f"{server}?categories=spam&tab=attacks&method=zscore-legacy&threshold=2.5&period=28"
    page = open_page(context, url)
    try:
        wait_for(lambda: active_tab(page) == TAB_INDEX["attacks"], "the attacks tab selected")
        wait_for(lambda: page.locator(".ts-attacks-tab").count() == 1, "the attacks tab built", timeout=150)
        method = page.get_by_role("combobox", name="Detection method")
        wait_for(lambda: "zscore-legacy" in method.inner_text(), "the URL's method shown")
        slider = page.locator(".ts-attacks-tab input[type=range]")
        assert float(slider.first.get_attribute("value")) == 2.5
        assert "Last 28 days: 2026-10-25 → 2026-11-21" in period_header(page)
        assert page.get_by_role("button", name="28 days").get_attribute("aria-pressed") == "true"
        # Another tab goes into the URL, the rest stays; a reload reproduces it; back returns.
        page.get_by_role("tab").nth(TAB_INDEX["queue"]).click()
        moved = wait_for_query(page, lambda q: q.get("tab") == ["queue"], "the queue tab in the URL")
        assert moved == {
            "categories": ["spam"],
            "tab": ["queue"],
            "method": ["zscore-legacy"],
            "threshold": ["2.5"],
            "period": ["28"],
        }
        # Back returns to the attacks tab with the URL's method; forward to the queue again.
        page.go_back()
        wait_for(lambda: active_tab(page) == TAB_INDEX["attacks"], "back on the attacks tab")
        wait_for(lambda: query(page).get("tab") == ["attacks"], "the attacks tab in the URL")
        method = page.get_by_role("combobox", name="Detection method")
        wait_for(lambda: "zscore-legacy" in method.inner_text(), "the method again")
        page.go_forward()
        wait_for(lambda: active_tab(page) == TAB_INDEX["queue"], "forward on the queue tab")
        # A reload reproduces the view from the URL alone.
        page.reload()
        page.wait_for_selector("[data-kpi]", timeout=90_000)
        wait_for(lambda: active_tab(page) == TAB_INDEX["queue"], "the queue tab selected after the reload")
        assert "Last 28 days" in period_header(page)
        assert query(page) == moved
        assert page.errors == []
    finally:
        page.close()


def test_an_empty_and_a_one_day_selection_say_so(context: Any, server: str) -> None:
    page = open_page(context, f"{server}?start={ONE_DAY}&end={ONE_DAY}")
    try:
        notice = page.locator(".ts-notice")
        wait_for(lambda: notice.count() == 1 and notice.is_visible(), "the one-day message")
        assert notice.get_attribute("data-kind") == "one-day"
        assert f"One day selected ({ONE_DAY}): {ONE_DAY_FLAGS} flags." in notice.inner_text()
        assert page_kpis(page)["total_flags"] == ONE_DAY_FLAGS
        assert "1 selected day" in period_header(page)

        page.goto(server + NOTHING, timeout=120_000)
        page.wait_for_selector("[data-kpi]", timeout=90_000)
        notice = page.locator(".ts-notice")
        wait_for(lambda: notice.count() == 1 and notice.is_visible(), "the empty-selection message")
        assert notice.get_attribute("data-kind") == "empty"
        assert "No flags match these filters." in notice.inner_text()
        assert page_kpis(page)["total_flags"] == 0
        # One click back to every flag.
        page.locator(".ts-notice-reset button").click()
        wait_for(lambda: page_kpis(page)["total_flags"] == LAST_7_DAYS, "every flag again")
        assert query(page) == {}
        wait_for(lambda: not page.locator(".ts-notice").is_visible(), "the message gone")
        assert page.errors == []
    finally:
        page.close()


def test_a_drop_down_closes_after_a_pick_and_on_escape(context: Any, server: str) -> None:
    page = open_page(context, server)
    try:
        categories = page.get_by_role("combobox", name="Categories")
        categories.click()
        menu = page.get_by_role("listbox")
        wait_for(lambda: menu.count() == 1, "the menu open")
        menu.get_by_text("Self harm", exact=True).click()  # the vocabulary's name, not self_harm
        wait_for_query(page, lambda q: q.get("categories") == ["self_harm"], "the pick in the URL")
        wait_for(lambda: menu.count() == 0, "the menu closed after the pick")
        wait_for(lambda: page.get_by_text("Category: Self harm", exact=True).count() == 1, "the chip in words")
        categories.click()
        wait_for(lambda: menu.count() == 1, "the menu open again")
        page.keyboard.press("Escape")
        wait_for(lambda: menu.count() == 0, "the menu closed on Escape")
        # Nothing invisible swallows the next click: a tab click lands.
        page.get_by_role("tab").nth(TAB_INDEX["classifier"]).click()
        wait_for_query(page, lambda q: q.get("tab") == ["classifier"], "the tab click to land")
        assert page.errors == []
    finally:
        page.close()


def test_a_click_on_a_filter_chip_removes_that_filter(context: Any, server: str) -> None:
    page = open_page(context, server + "?categories=self_harm&severities=high")
    try:
        chips = page.locator(".ts-active-filters .MuiChip-root")
        wait_for(lambda: chips.count() == 2, "a chip per active filter")
        assert [chips.nth(i).inner_text().split("\n")[0].strip() for i in range(2)] == [
            "Category: Self harm",
            "Severity: High",
        ]
        page.get_by_text("Category: Self harm", exact=True).click()
        wait_for_query(page, lambda q: q == {"severities": ["high"]}, "the category to leave the URL")
        wait_for(lambda: chips.count() == 1, "one chip left")
        assert chips.first.inner_text().split("\n")[0].strip() == "Severity: High"
        assert page.errors == []
    finally:
        page.close()
