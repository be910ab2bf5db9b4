"""Regenerate the README's screenshots (docs/img/*.png) from a running dashboard in real Chromium.

    python scripts/screenshots.py                 # serves the built-in world, writes docs/img/
    python scripts/screenshots.py --out /tmp/img  # somewhere else
    python scripts/screenshots.py --url http://127.0.0.1:5006/   # an already running server

The tests never write into the repository; this script is the one place that does, when
the pictures should change. Each tab is opened through the URL (``?tab=...``), waited for
until its charts have drawn and nothing is loading, and captured at 1440 px wide.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("TSPANEL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
TABS = ("volume", "classifier", "queue", "attacks")
VIEWPORT = {"width": 1440, "height": 1700}
TIMEOUT_S = 180

IDLE_JS = """
() => {
  const doc = window.Bokeh && Bokeh.documents && Bokeh.documents[0];
  if (!doc) return false;
  for (const m of doc.all_models) {
    if (m.loading === true) return false;
  }
  return true;
}
"""


@contextlib.contextmanager
def serving(data: str | None) -> Iterator[str]:
    """`tspanel serve` on 127.0.0.1 and a free port until the block ends."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "tspanel", "serve", "--no-show", "--address", "127.0.0.1", "--port", str(port)]
    if data:
        command += ["--data", data]
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + TIMEOUT_S
            while "press Ctrl+C" not in Path(log.name).read_text():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"tspanel serve did not start:\n{Path(log.name).read_text()}")
                time.sleep(0.3)
            yield f"http://127.0.0.1:{port}/"
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def capture(url: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for tab in TABS:
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(url + ("" if tab == "volume" else f"?tab={tab}"), timeout=TIMEOUT_S * 1000)
                page.wait_for_selector("[data-kpi]", timeout=TIMEOUT_S * 1000)
                if tab == "attacks":
                    page.wait_for_selector(".ts-attacks-tab", timeout=TIMEOUT_S * 1000)
                page.wait_for_function(IDLE_JS, timeout=TIMEOUT_S * 1000)
                page.wait_for_timeout(1500)  # the last plot draws after its data arrives
                path = out / f"{tab}.png"
                page.screenshot(path=str(path))
                written.append(path)
                print(f"screenshots: wrote {path}", file=sys.stderr)
                page.close()
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img", help="where to write (default: docs/img)")
    parser.add_argument("--url", help="a running dashboard to capture instead of starting one")
    parser.add_argument("--data", help="dataset directory to serve (default: the built-in world)")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"screenshots: no Chromium at {CHROMIUM} (apt-get install chromium)", file=sys.stderr)
        return 2
    if args.url:
        capture(args.url, args.out)
        return 0
    with serving(args.data) as url:
        capture(url, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
