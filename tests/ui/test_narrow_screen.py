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


MULTISIGNAL = (
    "volume excess per category/region that also looks coordinated (young accounts, shared "
    "content/targets, repeat accounts, one region, bursts); volume alone on the legacy layout"
)


def test_at_1024_px_the_attack_tab_controls_fit_and_the_method_is_explained(browser: Any, server: str) -> None:
    """The summary's download button was cut off at the card's right edge; the method select's
    options carried their descriptions and were cut off at any width."""
    with opened(browser, server + "?tab=attacks", width=1024, height=900) as (page, errors):
        method = page.get_by_role("combobox", name="Detection method")
        wait_for(lambda: method.count() == 1 and method.is_visible(), "the attacks tab built", timeout=150)
        download = page.get_by_role("button", name="Download (Markdown)")
        download.scroll_into_view_if_needed()
        card = page.locator(".ts-chart-summary").first.bounding_box()
        box = download.bounding_box()
        assert card["x"] <= box["x"] and box["x"] + box["width"] <= card["x"] + card["width"]
        assert method.inner_text().strip() == "multisignal"
        # The known attacks' table ran past its card (beside the alerts' one): it now sits under it.
        known = page.locator(".ts-chart-attacks-known").first
        last_cell = known.locator("tbody tr").last.locator("td").last
        wait_for(lambda: last_cell.count() == 1 and last_cell.inner_text().strip() == "EMEA", "the known attacks")
        last_cell.scroll_into_view_if_needed()
        card, cell = known.bounding_box(), last_cell.bounding_box()
        assert card["x"] <= cell["x"] and cell["x"] + cell["width"] <= card["x"] + card["width"]
        alerts = page.locator(".ts-chart-attacks-alerts").first.bounding_box()
        assert card["y"] >= alerts["y"] + alerts["height"]  # stacked, not squeezed side by side
        help_text = page.locator(".ts-method-help div").last
        assert help_text.text_content() == MULTISIGNAL
        method.click()
        page.locator("li", has_text="zscore-legacy").click()
        wait_for(
            lambda: (
                help_text.text_content()
                == "the earlier version: total volume > 7-day rolling mean + 1.5 sd (window includes the day)"
            ),
            "the legacy method's description",
        )
        assert errors == []
