"""Fresh data in a running `tspanel serve`: an open page follows new Parquet parts, and survives a bad one.

A small synthetic world (seed 42, 30 days, ~3,000 flags) is written as Parquet into tmp_path
and served with ``--reload-interval 2``. An open page, filtered to spam over the whole range,
must show a new day's flags after a part file is appended, with its filters kept, and must
keep showing them, with a banner, when a corrupt part arrives. Numbers are those of that world
(read once with Polars when the test was written).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from serving import free_port, serving

from .dashboard import page_kpis, query, wait_for

RELOAD_SECONDS = 2
SPAM_BEFORE = 1593  # spam flags in the 30-day world
SPAM_AFTER = 1593 + 146  # plus the last day's 146 spam flags, copied one day later
FLAGS_BEFORE, FLAGS_AFTER = 3030, 3030 + 180
AS_OF_BEFORE = "2026-09-22 23:43 UTC"  # the newest created_at
AS_OF_AFTER = "2026-09-23 23:43 UTC"


def header(page: Any) -> dict[str, Any]:
    """The header's freshness line and dataset line, and the banner's text while it is visible."""

    def text(selector: str) -> str | None:
        found = page.locator(selector)
        return found.first.text_content() if found.count() else None

    status = page.locator(".ts-freshness")
    banner = page.locator(".ts-reload-error")
    return {
        "as_of": status.first.get_attribute("data-as-of") if status.count() else None,
        "status": text(".ts-freshness"),
        "about": text(".ts-dataset"),
        "banner": banner.first.text_content() if banner.count() and banner.first.is_visible() else None,
    }


def test_an_open_page_follows_new_data_and_keeps_serving_through_a_bad_part(
    browser: Any, tmp_path: Path, append_day: Any
) -> None:
    data = tmp_path / "data"
    made = subprocess.run(
        [sys.executable, "-m", "tspanel", "generate", str(data), "--format", "parquet", "--days", "30",
         "--flags", "3000", "-q"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    port = free_port()
    log = tmp_path / "serve.log"
    args = ["--data", str(data), "--reload-interval", str(RELOAD_SECONDS)]
    with serving(args, port, log):
        assert f"looking for new data every {RELOAD_SECONDS} s" in log.read_text()
        context = browser.new_context(viewport={"width": 1440, "height": 1200})
        page = context.new_page()
        try:
            page.goto(f"http://127.0.0.1:{port}/?categories=spam&period=custom", timeout=120_000)
            page.wait_for_selector("[data-kpi]", timeout=90_000)
            wait_for(lambda: page_kpis(page).get("total_flags") == SPAM_BEFORE, f"{SPAM_BEFORE} spam flags")
            before = header(page)
            assert before["as_of"] == AS_OF_BEFORE
            assert f"data as of {AS_OF_BEFORE} · loaded " in before["status"]
            assert f"2026-08-24 → 2026-09-22 · {FLAGS_BEFORE:,} flags" in before["about"]
            assert before["banner"] is None

            append_day(data, tmp_path)
            wait_for(
                lambda: page_kpis(page).get("total_flags") == SPAM_AFTER,
                f"{SPAM_AFTER} spam flags after the new part",
                timeout=RELOAD_SECONDS * 10,
            )
            after = wait_for(lambda: (h := header(page))["as_of"] == AS_OF_AFTER and h, f"data as of {AS_OF_AFTER}")
            assert f"2026-08-24 → 2026-09-23 · {FLAGS_AFTER:,} flags" in after["about"]
            assert after["status"] != before["status"]  # loaded at a new time
            assert query(page)["categories"] == ["spam"]  # the filter is kept, in the URL too
            assert query(page)["period"] == ["custom"]

            (data / "flags" / "part-00002.parquet").write_bytes(b"this is not parquet")
            banner = wait_for(lambda: header(page)["banner"], "the bad-data banner", timeout=RELOAD_SECONDS * 10)
            assert banner.startswith("New data in data could not be loaded: ")
            assert "part-00002.parquet" in banner
            assert banner.endswith(f"still showing data as of {AS_OF_AFTER}.")
            assert page_kpis(page)["total_flags"] == SPAM_AFTER  # the last good data keeps serving
            assert header(page)["as_of"] == AS_OF_AFTER

            # A new tab opened now gets the last good data, with the banner.
            other = context.new_page()
            other.goto(f"http://127.0.0.1:{port}/?categories=spam&period=custom", timeout=120_000)
            other.wait_for_selector("[data-kpi]", timeout=90_000)
            wait_for(lambda: page_kpis(other).get("total_flags") == SPAM_AFTER, "the new tab's total")
            assert header(other)["banner"] == banner

            (data / "flags" / "part-00002.parquet").unlink()  # fixed: the banner goes at the next reload
            wait_for(lambda: header(page)["banner"] is None, "the banner to clear", timeout=RELOAD_SECONDS * 10)
            assert page_kpis(page)["total_flags"] == SPAM_AFTER
        finally:
            context.close()
    text = log.read_text()
    assert "Traceback" not in text, text
    assert "was rejected" in text  # the server's log says so too
