"""The page's logout control (issue 18, item 4) in real Chromium: log in, log out, the page is gone."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from serving import free_port, serving

PASSWORD = "ui-logout-password-9"


@pytest.fixture(scope="module")
def secured_url(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("logout")
    users = tmp / "users.json"
    users.write_text(json.dumps({"dana": PASSWORD}))
    port = free_port()
    env = {**os.environ, "TSPANEL_COOKIE_SECRET": "ui-logout-secret-Hq93mZ4rT8wLp2vN6xKc1B"}
    with serving(["--basic-auth", str(users)], port, tmp / "serve.log", env):
        yield f"http://127.0.0.1:{port}/"


def test_the_page_has_a_logout_link_that_ends_the_login(browser: Any, secured_url: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(secured_url, timeout=120_000)
        page.fill("input[name=username]", "dana")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_selector("[data-kpi]", timeout=120_000)
        old_cookies = context.cookies()
        link = page.get_by_text("Log out")
        link.wait_for(timeout=30_000)
        link.click()
        page.wait_for_url("**/logout*", timeout=60_000)
        # The copied cookies of the old login no longer open the dashboard.
        replay = browser.new_context()
        replay.add_cookies(old_cookies)
        again = replay.new_page()
        again.goto(secured_url, timeout=120_000)
        assert "/login" in again.url
        replay.close()
    finally:
        context.close()
