"""The page on a 1024 px screen: every tab label readable, charts with room to draw.

At 1024 px the sidebar leaves ~710 px for the tabs, and the four labels at Material's default
size needed 774 px: the last one was cut ("ATTACK DETEC…") behind a scroll arrow. The daily
chart once had a ~70 px plot area beside its legend at this width.
"""

from __future__ import annotations

from typing import Any

from .dashboard import opened, plot, wait_for

LABELS = ["FLAG VOLUME & TRENDS", "CLASSIFIER HEALTH", "REVIEWER QUEUE", "ATTACK DETECTION & SUMMARY"]


def test_at_1024_px_every_tab_label_shows_whole_and_the_daily_chart_has_room(browser: Any, server: str) -> None:
    with opened(browser, server, width=1024, height=900) as (page, errors):
        tabs = page.get_by_role("tab")
        wait_for(lambda: tabs.count() == 4, "four tabs")
        page.wait_for_timeout(500)  # the labels' font and the tab bar's scroll buttons settle
        assert [tabs.nth(i).inner_text().strip() for i in range(4)] == LABELS
        bar = page.locator(".MuiTabs-scroller").first.bounding_box()
        for i in range(4):
            box = tabs.nth(i).bounding_box()
            assert bar["x"] - 0.5 <= box["x"] and box["x"] + box["width"] <= bar["x"] + bar["width"] + 0.5, LABELS[i]
        assert page.locator(".MuiTabs-scrollButtons:not(.Mui-disabled)").count() == 0  # nothing to scroll to

        wait_for(lambda: (p := plot(page, "volume-by-category")) and p["colours"] > 10, "the daily chart drawn")
        assert plot(page, "volume-by-category")["frame"]["width"] >= 300
        assert errors == []
