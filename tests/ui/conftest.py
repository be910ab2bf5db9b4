"""Real-browser fixtures: one `tspanel serve` subprocess and one headless Chromium for the session.

The browser is Debian's Chromium at /usr/bin/chromium driven by Playwright (which
cannot download its own browsers here); without it every test here is skipped with
the reason. The server listens on 127.0.0.1 only, on a free port, and is stopped at
the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from serving import free_port, serving

CHROMIUM = Path(os.environ.get("TSPANEL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_SECONDS = 120


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.ui)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium) to run UI tests")
    return CHROMIUM


@pytest.fixture(scope="session")
def server(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`tspanel serve --no-show --port <free>` on the built-in world; yields its base URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "serve.log"
    with serving(["--address", "127.0.0.1"], port, log):
        yield f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="session")
def browser(chromium_path: Path) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the UI tests need the playwright package")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
