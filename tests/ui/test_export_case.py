"""In a real browser: an alert row's "Export case" downloads the case for investigators.

Built-in world (seed 42): the spam alert of 2026-11-18 has 678 flags (`tspanel flags --start
2026-11-18 --end 2026-11-18 --category spam --format json`) and its evidence names the content
hash 498c124474427bf1 (`tspanel detect --explain 2026-11-18 spam`).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from .dashboard import wait_for
from .test_investigation import open_page

ATTACK_DAY = "2026-11-18"
ATTACK_FLAGS = 678
SHARED_HASH = "498c124474427bf1"
STEM = "case-2026-11-18-spam"


def test_export_case_downloads_the_alert_its_evidence_and_its_flags(browser: Any, server: str, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 1400}, accept_downloads=True)
    page = open_page(context, server + "?tab=attacks")
    try:
        row = page.locator(".ts-alert-rows tbody tr", has_text=ATTACK_DAY).first
        row.wait_for(timeout=120_000)
        row.click()
        page.locator(".ts-evidence-head[data-flags]").wait_for(timeout=60_000)
        button = page.locator(".ts-export-case button").first
        button.wait_for(timeout=30_000)
        wait_for(button.is_enabled, "the export enabled once the evidence is in")
        with page.expect_download(timeout=120_000) as download:
            button.click()
        assert download.value.suggested_filename == f"{STEM}.zip"
        path = tmp_path / "case.zip"
        download.value.save_as(path)
        with zipfile.ZipFile(path) as archive:
            case = json.loads(archive.read(f"{STEM}/{STEM}.json"))
            flags = list(csv.DictReader(io.StringIO(archive.read(f"{STEM}/{STEM}-flags.csv").decode("utf-8"))))
        assert case["selection"] == {"category": "spam", "start": ATTACK_DAY, "end": ATTACK_DAY}
        assert len(case["flag_ids"]) == case["flag_count"] == ATTACK_FLAGS
        content = next(item for item in case["evidence"]["items"] if item["kind"] == "content")
        assert SHARED_HASH in content["statement"]
        assert len(flags) == ATTACK_FLAGS and {f["flag_id"] for f in flags} == set(case["flag_ids"])
        assert page.errors == []
    finally:
        page.close()
        context.close()
