"""`tspanel serve --data postgresql://...` in a real Chromium: the page is served from the database's rollup.

The built-in world is loaded into a throwaway PostgreSQL server with `tspanel load-db`; the
server computes the rollup there. Numbers stated here: the last 7 days (2026-11-15 to
2026-11-21) hold 3,541 flags, all 90 days 42,255.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from pg_server import find_bindir, postgres_server
from serving import free_port, serving

from .dashboard import opened, page_kpis, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(
        find_bindir() is None, reason="PostgreSQL binaries (initdb, pg_ctl) absent: apt-get install postgresql"
    ),
]
pytest.importorskip("adbc_driver_postgresql", reason="needs the postgres extra: pip install '.[postgres]'")

LAST_7_DAYS = 3541
ALL_DAYS = 42255
SECRET = "hunter2"


@pytest.fixture(scope="module")
def db_server(chromium_path: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    with postgres_server() as url:
        loaded = subprocess.run(
            [sys.executable, "-m", "tspanel", "load-db", url], capture_output=True, text=True, timeout=300
        )
        assert loaded.returncode == 0, loaded.stderr
        port = free_port()
        log = tmp_path_factory.mktemp("serve-db") / "serve.log"
        secret_url = url.replace("tspanel@", f"tspanel:{SECRET}@")  # trust auth: the password is ignored
        with serving(["--address", "127.0.0.1", "--data", secret_url], port, log):
            yield f"http://127.0.0.1:{port}/", log


def test_the_dashboard_is_served_from_the_database(browser: Any, db_server: tuple[str, Any]) -> None:
    base, log = db_server
    with opened(browser, base) as (page, errors):
        assert page_kpis(page)["total_flags"] == LAST_7_DAYS
        page.get_by_role("button", name="Selected dates").click()
        wait_for(lambda: page_kpis(page)["total_flags"] == ALL_DAYS, "every flag of the database on the cards")
        assert page_kpis(page)["sla_breach_rate_pct"] == pytest.approx(100 * 1229 / 6850)
        assert errors == []
        text = log.read_text()
        assert "serving postgresql://tspanel:***@127.0.0.1:" in text
        assert "(42,255 flags)" in text
        assert SECRET not in text and SECRET not in page.content()
