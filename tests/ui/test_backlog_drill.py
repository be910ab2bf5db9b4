"""In a real browser: a click on the critical bar of the review backlog lists exactly its open cases.

The built-in world (seed 42) up to 2026-11-14: 4 critical review cases are open at the end of
that day, stated here from `tspanel flags --end 2026-11-14 --severity critical --status
backlog --format json` (count 4, the ids below; all resolved later, so "open now" would miss them).
"""

from __future__ import annotations

from typing import Any

from .dashboard import click_bar, plot, query, wait_for
from .test_investigation import flags_total, open_page

OPEN_CRITICAL = 4
OPEN_CRITICAL_IDS = ["F20261114-000458", "F20261114-000493", "F20261114-000495", "F20261114-000503"]


def critical_selected(page: Any) -> dict[str, list[str]] | None:
    current = query(page)
    return current if current.get("severities") == ["critical"] else None


def test_the_critical_backlog_bar_lists_its_open_cases(browser: Any, server: str) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 1400})
    page = open_page(context, server + "?tab=queue&end=2026-11-14")
    try:
        name = "backlog-severity"
        wait_for(lambda: (p := plot(page, name)) and p["width"] > 0, "the backlog bars drawn", timeout=120_000)
        assert plot(page, name)["y_factors"] == ["low", "medium", "high", "critical"]
        # The critical bar is short (4 of ~1,000 cases): a click anywhere on its row selects it. The
        # attention strip above grows when its items arrive and may move the chart under the mouse
        # between measuring and clicking: a drill-down is not a toggle, so clicking again is safe.
        got: dict[str, list[str]] = {}
        for _ in range(3):
            click_bar(page, name, "critical")
            try:
                got = wait_for(lambda: critical_selected(page), "critical in the URL", timeout=20)
                break
            except AssertionError:
                continue
        assert got.get("severities") == ["critical"], "three clicks on the critical bar selected nothing"
        assert got.get("end") == ["2026-11-14"] and got.get("tab") == ["queue"]
        panel = ".ts-session-flags"
        assert wait_for(lambda: flags_total(page, panel) == OPEN_CRITICAL, "the open critical cases") is True
        rows = page.locator(f"{panel} .ts-flags-table tbody tr")
        assert rows.count() == OPEN_CRITICAL
        ids = [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())]
        assert ids == OPEN_CRITICAL_IDS
        # The panel says which cases it lists (the status picker shows the backlog choice).
        assert page.locator(panel).get_by_text("Open at the end of the selected days").first.is_visible()
        assert query(page).get("severities") == ["critical"]
        assert page.errors == []
    finally:
        page.close()
        context.close()
