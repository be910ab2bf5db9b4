"""A slow, then failing, weekly-summary call in one session holds up no other session.

`tspanel serve` talks to a loopback Messages API server (the real `anthropic` SDK over
HTTP) that keeps the summary request waiting until the test lets it go, then answers
500. While session A waits for Claude, session B opens and cross-filters, and its
KPIs must equal `tspanel kpis`; only then is A's call released, and A must fall back
to the offline summary and say why.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from messages_server import MessagesServer, error
from serving import free_port, serving

from .dashboard import cli_args, cli_kpis, click_bar, open_tab, plot, wait_for, wait_for_kpis, wait_for_query

KEY = "sk-ant-api03-TSPANEL-UI-TEST-KEY-0b9d-never-print-me"
FAST = {"retry-after": "0.05"}  # the SDK's retries after the release come at once
VIEWPORT = {"width": 1440, "height": 1700}
WRITING = "Writing the weekly summary"


@pytest.fixture(scope="module")
def claude() -> Iterator[MessagesServer]:
    with MessagesServer(api_key=KEY) as server:
        yield server


@pytest.fixture(scope="module")
def server_url(chromium_path: Any, claude: MessagesServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("slow-summary") / "serve.log"
    env = {**os.environ, "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": claude.base_url}
    with serving(["--address", "127.0.0.1"], port, log, env=env):
        yield f"http://127.0.0.1:{port}/"
    assert KEY not in log.read_text()  # the server never logs the key


def open_page(browser: Any, url: str) -> Any:
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.goto(url, timeout=120_000)
    page.wait_for_selector("[data-kpi]", timeout=90_000)
    return page


def status(page: Any) -> str:
    return page.locator(".ts-summary-status").inner_text()


def test_a_slow_failing_summary_does_not_block_another_session(
    browser: Any, server_url: str, claude: MessagesServer
) -> None:
    release = threading.Event()
    claude.script(error(500, "boom", headers=FAST, hold=release))
    try:
        a = open_page(browser, server_url)
        open_tab(a, "attacks")
        a.get_by_role("button", name="Generate weekly summary").click()
        wait_for(lambda: len(claude.requests) == 1, "session A's request to reach the Messages API")
        assert WRITING in status(a)

        # Session B opens and cross-filters while A's request is held.
        b = open_page(browser, server_url)
        wait_for_kpis(b, cli_kpis(*cli_args({})))
        category = plot(b, "week-over-week")["y_factors"][-1]
        click_bar(b, "week-over-week", category)
        chosen = wait_for_query(b, lambda q: "categories" in q, "a category in B's URL")
        assert chosen["categories"] == [category]
        wait_for_kpis(b, cli_kpis(*cli_args(chosen)))

        assert len(claude.requests) == 1 and not release.is_set()
        assert WRITING in status(a)  # A is still waiting for its summary
    finally:
        release.set()

    # Released: the SDK retries twice (500 is retryable), then A falls back and says why.
    wait_for(lambda: "written by rules (offline)" in status(a), "A's offline fallback", timeout=90)
    assert "Claude API unavailable (server error, HTTP 500); showing the offline summary." in status(a)
    assert len(claude.requests) == 3
    assert a.get_by_role("button", name="Generate weekly summary").is_enabled()
    assert a.locator(".ts-summary h2").count() >= 3  # the offline report itself is on the page
    for page in (a, b):
        page.context.close()
