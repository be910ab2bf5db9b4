"""From the page to the flags behind it, in a real browser: the attention strip, alert rows, the flags table.

Numbers are the built-in world's (seed 42, 2026-08-24 to 2026-11-21), stated here:
`tspanel flags --start 2026-11-18 --end 2026-11-18 --category spam --format json` counts
678 flags; `tspanel detect --explain 2026-11-18 spam` names the content hash
498c124474427bf1 shared by 50 accounts; `tspanel kpis --attention` lists five items
(SLA breach rate, the spam attack of 2026-11-18, classifier warning, backlog, spam growth).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .dashboard import query, wait_for, wait_for_query

VIEWPORT = {"width": 1440, "height": 1400}
ATTACK_DAY = "2026-11-18"
ATTACK_FLAGS = 678
SHARED_HASH = "498c124474427bf1"
PAGE_ROWS = 50
ATTENTION_TITLES = (
    "SLA breach rate 50.5%",
    "Coordinated attack alert: spam on 2026-11-18",
    "Classifier warning",
    "Open backlog 1,182 cases",
    "spam up 43% week over week",
)


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


def flags_total(page: Any, panel: str) -> int | None:
    """The total the (visible) flags panel ``panel`` shows, from its data-total hook."""
    summary = page.locator(f"{panel} .ts-flags-summary[data-total]")
    if summary.count() == 0 or not summary.first.is_visible():
        return None
    return int(summary.first.get_attribute("data-total"))


def test_an_alert_row_shows_its_evidence_and_its_flags(context: Any, server: str) -> None:
    page = open_page(context, server + "?tab=attacks")
    try:
        row = page.locator(".ts-alert-rows tbody tr", has_text=ATTACK_DAY).first
        row.wait_for(timeout=120_000)
        row.click()
        got = wait_for_query(
            page, lambda q: q.get("start") == [ATTACK_DAY] and q.get("end") == [ATTACK_DAY], "the alert's day"
        )
        assert got.get("categories") == ["spam"] and got.get("tab") == ["attacks"]
        evidence = page.locator(".ts-evidence-head[data-flags]")
        evidence.wait_for(timeout=60_000)
        assert evidence.get_attribute("data-flags") == str(ATTACK_FLAGS)
        content = page.locator('.ts-evidence li[data-kind="content"]')
        assert SHARED_HASH in content.inner_text()
        assert content.get_attribute("data-suspicious") == "true"
        panel = ".ts-alert-flags"
        assert wait_for(lambda: flags_total(page, panel) == ATTACK_FLAGS, "the alert's flags") is True
        # The browser holds one page of rows, never the selection.
        assert page.locator(f"{panel} .ts-flags-table tbody tr").count() == PAGE_ROWS
        page.locator(f"{panel} .ts-flags-page-next").first.click()
        wait_for(
            lambda: "Flags 51–100 of 678" in page.locator(f"{panel} .ts-flags-summary").first.inner_text(), "page 2"
        )
        assert page.errors == []
    finally:
        page.close()


def test_the_attention_strip_lists_the_worlds_problems_one_click_from_their_views(context: Any, server: str) -> None:
    page = open_page(context, server)
    try:
        items = page.locator(".ts-attention-item")
        wait_for(lambda: items.count() == len(ATTENTION_TITLES), "five attention items", timeout=120_000)
        texts = [items.nth(i).inner_text() for i in range(items.count())]
        for title in ATTENTION_TITLES:
            assert any(title in text for text in texts), (title, texts)
        # The strip sits above the KPI cards.
        assert items.first.bounding_box()["y"] < page.locator("[data-kpi]").first.bounding_box()["y"]

        items.filter(has_text="Coordinated attack alert").first.click()
        got = wait_for_query(page, lambda q: q.get("tab") == ["attacks"], "the attack's view")
        assert got.get("start") == [ATTACK_DAY] and got.get("end") == [ATTACK_DAY]
        assert got.get("categories") == ["spam"]

        # "Show flags" on the selection strip opens the table on that selection.
        page.locator(".ts-show-flags button").first.click()
        panel = ".ts-session-flags"
        assert wait_for(lambda: flags_total(page, panel) == ATTACK_FLAGS, "the selection's flags") is True
        assert page.locator(f"{panel} .ts-flags-table tbody tr").count() == PAGE_ROWS
        # At 1440 px the table's columns are wider than the card: it scrolls inside the card (it ran
        # ~350 px past the card and the page's right edge), its header row staying in view.
        card = page.locator(f"{panel}").first.bounding_box()
        scroll = page.locator(f"{panel} .ts-flags-scroll").first
        box = scroll.bounding_box()
        assert card["x"] <= box["x"] and box["x"] + box["width"] <= card["x"] + card["width"]
        assert box["x"] + box["width"] <= VIEWPORT["width"]
        assert scroll.evaluate("e => e.scrollWidth > e.clientWidth && e.scrollHeight > e.clientHeight")
        assert box["height"] <= 0.7 * VIEWPORT["height"] + 1
        scroll.evaluate("e => { e.scrollTop = 400; }")
        header = page.locator(f"{panel} .ts-flags-table th").first.bounding_box()
        assert box["y"] - 1 <= header["y"] <= box["y"] + 1  # sticky: the header row stays at the top

        page.go_back()  # the view came through the URL: back returns to the landing page's view
        wait_for(lambda: query(page).get("tab") is None, "back to the landing view")
        assert page.errors == []
    finally:
        page.close()
