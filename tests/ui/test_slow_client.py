"""A browser slower than the server's unused-session lifetime still gets a working page.

`tspanel serve` frees a session 5-7 s after its websocket closes (SESSION_LIFETIME). The
same rule applies to a session whose page was served but whose websocket has not opened
yet; here the page's scripts are held back for longer than that, so the session built for
the page is gone when the browser connects, and the server must build it again.
"""

from __future__ import annotations

import re
import time
from typing import Any

from tspanel.cli.serve import SESSION_LIFETIME

from .dashboard import cli_args, cli_kpis, click_bar, plot, wait_for_kpis, wait_for_query

LIFETIME_MS = SESSION_LIFETIME["unused_session_lifetime_milliseconds"]
CHECK_MS = SESSION_LIFETIME["check_unused_sessions_milliseconds"]
HOLD_SECONDS = (LIFETIME_MS + 2 * CHECK_MS) / 1000


def test_a_slow_browser_gets_a_working_page(browser: Any, server: str) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 1700})
    page = context.new_page()
    held: list[str] = []

    def slow_scripts(route: Any) -> None:
        if not held:  # the first script: nothing runs, so no websocket opens, until it arrives
            held.append(route.request.url)
            time.sleep(HOLD_SECONDS)
        route.continue_()

    page.route(re.compile(r".*\.js(\?.*)?$"), slow_scripts)
    try:
        page.goto(server, timeout=120_000)
        page.wait_for_selector("[data-kpi]", timeout=90_000)
        assert held, "no script was held back"
        wait_for_kpis(page, cli_kpis(*cli_args({})))
        category = plot(page, "week-over-week")["y_factors"][-1]
        click_bar(page, "week-over-week", category)  # the rebuilt session answers interactions
        chosen = wait_for_query(page, lambda q: "categories" in q, "a category in the URL")
        wait_for_kpis(page, cli_kpis(*cli_args(chosen)))
    finally:
        context.close()
