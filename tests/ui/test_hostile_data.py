"""A dataset whose strings are HTML/JS payloads: the page shows them as text and runs none of them.

Categories, regions, reviewer ids, names and teams, attack patterns, and the account,
content and target ids (columns of the flags table) are replaced by payloads; the dashboard
is served from that data and visited in Chromium. Any executed payload would open a dialog,
set ``window.__pwned`` or request the image ``x``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from serving import free_port, serving

PWNED = '<img src=x onerror="window.__pwned=1">'
PAYLOADS: tuple[str, ...] = (
    "<img src=x onerror=alert(1)>",
    "<script>alert(2)</script>",
    "javascript:alert(3)",
    '"><svg onload=alert(4)>',
    '=HYPERLINK("http://x")',
    PWNED,
)
ID_COLUMNS: tuple[str, ...] = ("account_id", "content_hash", "target_id")
REGION_PAYLOADS: tuple[str, ...] = ("<b onmouseover=alert(5)>EMEA</b>", PWNED + "AMER", "APAC<script>alert(6)</script>")


def _swap(values: list[str], payloads: tuple[str, ...]) -> dict[str, str]:
    """Each distinct value gets a payload (numbered once the payloads run out, to stay distinct)."""
    return {v: payloads[i % len(payloads)] + ("" if i < len(payloads) else f" #{i}") for i, v in enumerate(values)}


def hostile_dataset(out: Path) -> Path:
    data = out / "hostile"
    subprocess.run(
        [sys.executable, "-m", "tspanel", "generate", str(data), "--flags", "3000", "--format", "csv", "-q"],
        check=True,
    )
    flags = pl.read_csv(data / "flags.csv", infer_schema=False)
    reviewers = pl.read_csv(data / "reviewers.csv", infer_schema=False)
    attacks = pl.read_csv(data / "attacks.csv", infer_schema=False)
    categories = _swap(sorted(flags["category"].unique().to_list()), PAYLOADS)
    regions = _swap(sorted(flags["region"].unique().to_list()), REGION_PAYLOADS)
    reviewer_ids = _swap(sorted(reviewers["reviewer_id"].to_list()), tuple(f"R{p}" for p in PAYLOADS))
    ids = {c: _swap(sorted(flags[c].drop_nulls().unique().to_list()), PAYLOADS) for c in ID_COLUMNS}
    flags.with_columns(
        pl.col("category").replace_strict(categories),
        pl.col("region").replace_strict(regions),
        pl.col("reviewer_id").replace(reviewer_ids),
        *(pl.col(c).replace(mapping) for c, mapping in ids.items()),
    ).write_csv(data / "flags.csv")
    reviewers.with_columns(
        pl.col("reviewer_id").replace_strict(reviewer_ids),
        pl.lit(PAYLOADS[1]).alias("name"),
        pl.col("team").replace_strict(regions, default=PAYLOADS[0]),
    ).write_csv(data / "reviewers.csv")
    attacks.with_columns(
        pl.col("category").replace_strict(categories),
        pl.col("region").replace_strict(regions, default=PAYLOADS[0]),
        pl.lit(PAYLOADS[0]).alias("pattern"),
    ).write_csv(data / "attacks.csv")
    return data


@pytest.fixture(scope="module")
def hostile_server(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("hostile")
    data = hostile_dataset(tmp)
    port = free_port()
    with serving(["--data", str(data)], port, tmp / "serve.log"):
        yield f"http://127.0.0.1:{port}/"


def test_payloads_show_as_text_and_never_run(browser: Any, hostile_server: str) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 1500})
    page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []
    image_x: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.on("request", lambda r: image_x.append(r.url) if r.url.rstrip("/").endswith("/x") else None)
    try:
        page.goto(hostile_server, timeout=120_000)
        page.wait_for_selector("[data-kpi]", timeout=90_000)
        for i in range(4):  # every tab renders its labels, tables and legends
            page.get_by_role("tab").nth(i).click()
            page.wait_for_timeout(1500)
        page.get_by_role("tab").nth(0).click()
        page.wait_for_timeout(1000)

        # The payloads are on the page as literal text (Playwright's text search pierces shadow DOM).
        for text in ("<script>alert(2)</script>", "<img src=x onerror=alert(1)>", '=HYPERLINK("http://x")'):
            assert page.get_by_text(text, exact=False).count() > 0, f"{text!r} not shown as text"

        assert dialogs == []
        assert page.evaluate("() => window.__pwned") is None
        assert image_x == [], f"an injected <img> was created: {image_x}"
        assert errors == []

        # The detectors work: the same payload, injected as HTML on purpose, is caught.
        page.evaluate(f"() => {{ document.body.insertAdjacentHTML('beforeend', {PWNED!r}); }}")
        page.wait_for_function("() => window.__pwned === 1", timeout=10_000)
        assert image_x, "the deliberate <img src=x> should have been requested"
    finally:
        context.close()


def test_the_flags_table_shows_payloads_as_text_and_its_csv_neutralises_formulas(
    browser: Any, hostile_server: str, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 1500}, accept_downloads=True)
    page = context.new_page()
    dialogs: list[str] = []
    image_x: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: image_x.append(r.url) if r.url.rstrip("/").endswith("/x") else None)
    try:
        page.goto(hostile_server, timeout=120_000)
        page.wait_for_selector("[data-kpi]", timeout=90_000)
        page.locator(".ts-show-flags button").first.click()
        table = page.locator(".ts-session-flags .ts-flags-table")
        table.wait_for(timeout=60_000)
        text = table.inner_text()  # every account, content and target id is a payload (see hostile_dataset)
        for payload in ("<script>alert(2)</script>", "<img src=x onerror=alert(1)>", '=HYPERLINK("http://x")'):
            assert payload in text, f"{payload!r} not shown as text in the flags table"
        total = int(page.locator(".ts-session-flags .ts-flags-summary").first.get_attribute("data-total"))
        with page.expect_download(timeout=60_000) as download:
            page.locator(".ts-session-flags .ts-flags-csv button").first.click()
        path = tmp_path / "flags.csv"
        download.value.save_as(path)
        rows = pl.read_csv(path, infer_schema=False)
        assert rows.height == total > 2000  # the whole selection (3,000 generated flags), not a page
        cells = [v for c in ID_COLUMNS for v in rows[c].drop_nulls().to_list()]
        assert any(v.startswith("'=HYPERLINK") for v in cells)
        assert not any(v.startswith("=") for v in cells), "a formula reached the downloaded CSV"
        assert dialogs == []
        assert page.evaluate("() => window.__pwned") is None
        assert image_x == []
    finally:
        context.close()
