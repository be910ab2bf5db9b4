"""In a real browser: a chart card's CSV button downloads the numbers behind the chart.

The cards are plain Panel columns with Panel's own FileDownload since the page-open work of
2026-12-02 (a Material card and button around each chart cost the browser ~1.3 s a page
open); the button must still be visible, styled as a text button, and download the data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

VIEWPORT = {"width": 1440, "height": 1400}

# The built-in world (seed 42): 42,255 flags by severity over its 90 days (counted from
# `tspanel generate` output with Polars, not through the dashboard).
SEVERITY_COUNTS = {"low": 13_507, "medium": 15_297, "high": 9_443, "critical": 4_008}


def test_the_severity_mix_card_downloads_its_counts(browser: Any, server: str, tmp_path: Path) -> None:
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(server, timeout=120_000)
        page.wait_for_selector("[data-kpi]", timeout=90_000)
        button = page.locator(".ts-chart-severity-mix .ts-download button").first
        button.scroll_into_view_if_needed(timeout=60_000)
        assert button.inner_text().strip().endswith("CSV")
        colour = button.evaluate("b => getComputedStyle(b).color")
        assert colour == "rgb(25, 118, 210)", colour  # the Material primary colour, not Panel's default
        with page.expect_download(timeout=60_000) as download:
            button.click()
        assert download.value.suggested_filename == "tspanel-severity-mix.csv"
        path = tmp_path / "severity.csv"
        download.value.save_as(path)
        rows = pl.read_csv(path)
        counts = dict(zip(rows["severity"].to_list(), rows["flags"].to_list(), strict=True))
        assert counts == SEVERITY_COUNTS
        assert sum(counts.values()) == 42_255
    finally:
        context.close()
