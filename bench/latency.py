"""Interactive latency in a real browser: page open and filter-click-to-settled, at 42k, 1M and 10M flags.

Run from the repository root (about 2 minutes per size on two cores):

    python bench/latency.py                          # 42k (built-in world), 1M and 10M flags
    python bench/latency.py --sizes 42k,1m           # a subset
    python bench/latency.py --json out.json --write-doc   # and rewrite the table in docs/performance.md
    python bench/latency.py --profile 1m             # also sample the server with py-spy during the clicks
    python bench/latency.py --sizes 1m --tab queue   # the page opened on another tab: severity toggles there

For each size it serves the dataset (``tspanel serve`` in a subprocess on 127.0.0.1; 1M and
10M are written once by ``tspanel generate DIR --flags N --format parquet`` into
``--data-dir``), opens the page in Debian's Chromium (/usr/bin/chromium) driven by
Playwright, and then makes ``--clicks`` filter changes of three kinds, in turn: a sidebar
toggle (a severity button), a chart click (the top bar of the week-over-week chart) and a
brush (a drag across the daily-volume chart); every fourth action resets the filters. With
``--tab classifier|queue|attacks`` the page opens on that tab (``?tab=``) and the actions are
sidebar toggles and resets only (the chart click and the brush act on the volume tab's charts).

What is measured, in the browser's own clock (performance.now()):

* page open: from navigation start to settled, and not before BokehJS has rendered every view
  of the page (its ``document_ready`` event, sent once all the page's views have finished);
* click to settled: from the mouse action to settled;
* settled: no loading overlay in the document, and no websocket message either way for
  ``--quiet`` seconds; the time is that of the browser's first frame painted after the last
  message received or sent (a plot sends its new size after a re-layout; the quiet wait is not
  counted). Before 2026-12-02 it was the time of the last message received, and a page open
  could count as settled during a pause of more than ``--quiet`` between two charts' renders:
  page opens read 1-2 s short, clicks up to ~0.5 s short (the re-layout after the last message);
  and a brush's clock started before the drag instead of at the release;
* messages per click: Bokeh protocol messages received between the action and settled (each
  is a header, a metadata and a content frame plus one frame per binary array), and the raw
  websocket frames received and sent;
* server CPU per click: user + system CPU seconds of the server process (psutil).

The machine is shared and two-core: figures vary run to run, so each is quoted as p50/p95.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "performance.md"
ADDRESS = "127.0.0.1"  # never anything else
CHROMIUM = Path(os.environ.get("TSPANEL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
SIZES: dict[str, int | None] = {"42k": None, "1m": 1_000_000, "10m": 10_000_000}
START_SECONDS = 600
SETTLE_TIMEOUT = 120.0
VIEWPORT = {"width": 1440, "height": 1100}

# Counts every websocket frame and when it arrived, before the page's own scripts run.
FRAME_COUNTER_JS = """
(() => {
  const Native = window.WebSocket;
  window.__ts = {received: [], messages: 0, sent: 0, lastSent: 0, painted: 0, ready: 0};
  // The first frame after a message: BokehJS applies the message in this task and paints in
  // the next animation frame; a timeout queued from that frame runs once it is painted.
  const painted = () => requestAnimationFrame(() => setTimeout(() => {
    window.__ts.painted = Math.max(window.__ts.painted, performance.now());
  }, 0));
  window.WebSocket = function (...args) {
    const ws = new Native(...args);
    ws.addEventListener("message", (event) => {
      window.__ts.received.push(performance.now());
      painted();
      // A Bokeh message is a header frame, a metadata frame, a content frame and one frame per
      // binary buffer (array): count the headers to count messages.
      if (typeof event.data === "string" && event.data.includes('"msgtype"')) window.__ts.messages += 1;
    });
    const send = ws.send.bind(ws);
    ws.send = (data) => {
      window.__ts.sent += 1;
      // What the browser sends on its own after a change (a plot's new size after a re-layout)
      // is part of the change: settled waits for it too.
      window.__ts.lastSent = performance.now();
      painted();
      // BokehJS sends document_ready once every view of the page has rendered.
      if (typeof data === "string" && data.includes('"document_ready"') && !window.__ts.ready) {
        window.__ts.ready = performance.now();
      }
      return send(data);
    };
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();
"""

STATE_JS = """
() => {
  const doc = window.Bokeh && Bokeh.documents && Bokeh.documents[0];
  let loading = 0;
  if (doc) {
    for (const m of doc.all_models) {
      if (m.loading === true || (m.css_classes && m.css_classes.includes("pn-loading"))) loading += 1;
    }
  }
  return {now: performance.now(), frames: window.__ts.received.length, sent: window.__ts.sent,
          messages: window.__ts.messages,
          last: Math.max(window.__ts.painted, window.__ts.lastSent,
                         window.__ts.received.length ? window.__ts.received[window.__ts.received.length - 1] : 0),
          ready: window.__ts.ready, loading};
}
"""

PLOT_JS = """
(name) => {
  const view = Bokeh.index.query_one(v => v.model && v.model.name === `ts-plot-${name}`);
  if (view == null) return null;
  view.canvas_view.el.scrollIntoView({block: "center"});
  const rect = view.canvas_view.el.getBoundingClientRect();
  const frame = view.frame.bbox;
  const factors = view.frame.y_range.factors || null;
  let top = null;
  if (factors && factors.length) {
    top = rect.top + view.frame.y_scale.compute(view.frame.y_range.synthetic(factors[factors.length - 1]));
  }
  return {left: rect.left + frame.left, top: rect.top + frame.top, width: frame.width, height: frame.height,
          factor_y: top};
}
"""


def log(message: str) -> None:
    print(f"latency: {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default); None for no values."""
    return float(np.percentile(values, q)) if values else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((ADDRESS, 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- data and server


def dataset_for(size: str, data_dir: Path) -> Path | None:
    """The dataset directory of a size (None: the built-in world), generated once."""
    flags = SIZES[size]
    if flags is None:
        return None
    out = data_dir / f"flags-{size}"
    if not (out / "flags").exists():
        log(f"writing {flags:,} flags to {out} (once)")
        command = [sys.executable, "-m", "tspanel", "generate", str(out), "--flags", str(flags)]
        subprocess.run([*command, "--format", "parquet", "--force", "-q"], check=True)
    return out


@contextmanager
def serving(data: Path | None, log_path: Path) -> Iterator[tuple[str, Any]]:
    """`tspanel serve` on 127.0.0.1; yields (url, psutil.Process); always stopped."""
    import psutil

    port = free_port()
    command = [sys.executable, "-m", "tspanel", "serve", "--no-show", "--address", ADDRESS, "--port", str(port)]
    if data is not None:
        command += ["--data", str(data)]
    with log_path.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        started = time.monotonic()
        while "press Ctrl+C" not in log_path.read_text():
            if proc.poll() is not None:
                raise RuntimeError(f"tspanel serve exited with {proc.returncode}:\n{log_path.read_text()}")
            if time.monotonic() - started > START_SECONDS:
                raise RuntimeError(f"tspanel serve did not start in {START_SECONDS} s")
            time.sleep(0.3)
        log(f"server up in {time.monotonic() - started:.1f} s")
        yield f"http://{ADDRESS}:{port}/", psutil.Process(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def cpu_seconds(process: Any) -> float:
    return sum(sum(p.cpu_times()[:2]) for p in [process, *process.children(recursive=True)])


# --------------------------------------------------------------------------- the browser side


def settle(page: Any, since: float, quiet: float, *, rendered: bool = False) -> dict[str, Any]:
    """Wait until nothing is loading and no message came for ``quiet`` s; when did it settle (browser ms).

    ``rendered``: also wait for BokehJS's document_ready (a page open: every view rendered).
    """
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        state = page.evaluate(STATE_JS)
        last = max(state["last"], since)
        if rendered and not state["ready"]:
            page.wait_for_timeout(50)
            continue
        if state["loading"] == 0 and state["now"] - last >= quiet * 1000:
            return {"at": last, **state}
        page.wait_for_timeout(50)
    raise TimeoutError(f"the page did not settle within {SETTLE_TIMEOUT} s")


ACK_TIMEOUT = 15.0


def changed_url(page: Any, before: str) -> bool:
    deadline = time.monotonic() + ACK_TIMEOUT
    while time.monotonic() < deadline:
        if page.evaluate("() => window.location.search") != before:
            return True
        page.wait_for_timeout(20)
    return False


def press(page: Any, button: Any, mark: Any) -> None:
    """Click ``button`` with the mouse, the clock starting at the press.

    Playwright's ``click()`` first waits for the element to be stable over two animation frames
    (~40 ms here): the benchmark's work, not the page's, so it happens before the mark.
    """
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    if box is None:
        raise LookupError("the button is not on the page")
    mark()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def sidebar_toggle(page: Any, step: int, mark: Any) -> str:
    name = ("High", "Critical", "Medium")[step % 3]
    press(page, page.get_by_role("button", name=name, exact=True).first, mark)
    return f"sidebar: severity {name}"


def chart_click(page: Any, step: int, mark: Any) -> str:
    box = page.evaluate(PLOT_JS, "week-over-week")
    if box is None or box["factor_y"] is None:
        raise LookupError("no week-over-week bar chart to click")
    page.wait_for_timeout(150)
    box = page.evaluate(PLOT_JS, "week-over-week")
    mark()
    page.mouse.click(box["left"] + box["width"] * 0.5, box["factor_y"])
    return "chart: week-over-week top bar"


def brush(page: Any, step: int, mark: Any) -> str:
    box = page.evaluate(PLOT_JS, "volume-by-category")
    if box is None:
        raise LookupError("no daily-volume chart to brush")
    page.wait_for_timeout(150)
    box = page.evaluate(PLOT_JS, "volume-by-category")
    start, end = ((0.2, 0.5), (0.4, 0.8), (0.1, 0.9))[step % 3]
    y = box["top"] + box["height"] / 2
    x0, x1 = box["left"] + box["width"] * start, box["left"] + box["width"] * end
    page.mouse.move(x0, y)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(x0 + (x1 - x0) * i / 10, y)
    mark()  # a brush is done when the button is released; the drag before is the user's motion
    page.mouse.up()
    return f"brush: {start:.0%}-{end:.0%} of the daily chart"


def reset(page: Any, step: int, mark: Any) -> str:
    button = page.locator(".ts-reset button")
    if button.count() == 0:
        mark()
        return "reset: nothing to reset"
    page.evaluate("() => window.scrollTo(0, 0)")
    press(page, button.first, mark)
    return "reset"


ACTIONS = (sidebar_toggle, chart_click, brush, reset)
TABS = ("volume", "classifier", "queue", "attacks")  # the URL's ?tab= values


def actions_on(tab: str) -> tuple[Any, ...]:
    """The actions of a run on ``tab``: every kind on the volume tab, whose charts they click and brush."""
    return ACTIONS if tab == "volume" else (sidebar_toggle, sidebar_toggle, sidebar_toggle, reset)


def measure_size(
    size: str,
    data: Path | None,
    clicks: int,
    quiet: float,
    workdir: Path,
    profile: bool,
    opens: int = 1,
    tab: str = "volume",
) -> dict:
    from playwright.sync_api import sync_playwright

    result: dict[str, Any] = {"size": size, "data": str(data) if data else "built-in world", "clicks": [], "tab": tab}
    actions = actions_on(tab)
    with serving(data, workdir / f"serve-{size}.log") as (url, server):
        url = url if tab == "volume" else f"{url}?tab={tab}"
        spy = None
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                # A first page warms the server (imports, caches): a real user's second visit.
                context = browser.new_context(viewport=VIEWPORT)
                context.add_init_script(FRAME_COUNTER_JS)
                visits = ["cold"] + ["warm"] * opens
                for i, visit in enumerate(visits):
                    page = context.new_page()
                    cpu0 = cpu_seconds(server)
                    page.goto(url, timeout=SETTLE_TIMEOUT * 1000)
                    page.wait_for_selector("[data-kpi]", timeout=SETTLE_TIMEOUT * 1000)
                    cards = page.evaluate("() => performance.now()") / 1000
                    state = settle(page, 0.0, quiet, rendered=True)
                    one = {
                        "cards_s": cards,
                        "s": state["at"] / 1000,
                        "cpu_s": cpu_seconds(server) - cpu0,
                        "frames": state["frames"],
                        "messages": state["messages"],
                        "sent": state["sent"],
                    }
                    result.setdefault(f"opens_{visit}", []).append(one)
                    log(
                        f"{size}: page open ({visit}) cards {one['cards_s']:.2f} s, settled {one['s']:.2f} s; "
                        f"{one['messages']} messages ({one['frames']} frames) in, {one['sent']} frames out; "
                        f"server CPU {one['cpu_s']:.2f} s"
                    )
                    if i < len(visits) - 1:
                        page.close()
                for visit in ("cold", "warm"):  # one cold open; the median of the warm ones
                    for key in ("cards_s", "s", "cpu_s", "frames", "messages", "sent"):
                        values = [o[key] for o in result.get(f"opens_{visit}", [])]
                        if values:
                            result[f"open_{visit}_{key}"] = float(np.median(values))
                if profile:
                    spy = start_profile(server.pid, workdir / f"profile-{size}")
                for step in range(clicks):
                    action = actions[step % len(actions)]
                    url_before = page.evaluate("() => window.location.search")
                    marks: list[dict[str, Any]] = []
                    cpu0 = cpu_seconds(server)
                    try:
                        # The clock starts just before the mouse action (mark), after any scrolling
                        # and locating, which are the benchmark's work and not the page's.
                        mark = lambda marks=marks: marks.append(page.evaluate(STATE_JS))  # noqa: E731
                        # the action's variant: its round on the volume tab (each kind once a
                        # round), the step itself where every action is a sidebar toggle
                        what = action(page, step // len(actions) if tab == "volume" else step, mark)
                    except LookupError as exc:
                        log(f"{size}: skipped ({exc})")
                        continue
                    # The server pushes the new URL in the same tick as it shows the loading
                    # overlays: wait for it first, or a slow server would look settled at once.
                    if not changed_url(page, url_before):
                        log(f"{size}: {what}: MISSED (the URL did not change within {ACK_TIMEOUT:.0f} s)")
                        result["clicks"].append({"action": what, "kind": action.__name__, "changed": False})
                        continue
                    before = marks[0]
                    state = settle(page, before["now"], quiet)
                    click = {
                        "action": what,
                        "kind": action.__name__,
                        "settled_s": (state["at"] - before["now"]) / 1000,
                        "received": state["frames"] - before["frames"],
                        "messages": state["messages"] - before["messages"],
                        "sent": state["sent"] - before["sent"],
                        "server_cpu_s": cpu_seconds(server) - cpu0,  # the quiet wait is idle time
                        "url": page.evaluate("() => window.location.search"),
                    }
                    click["changed"] = click["url"] != url_before
                    result["clicks"].append(click)
                    log(
                        f"{size}: {what}: "
                        f"{click['settled_s']:.2f} s, {click['messages']} messages ({click['received']} frames) in, "
                        f"{click['sent']} out, server CPU {click['server_cpu_s']:.2f} s"
                    )
                context.close()
            finally:
                browser.close()
                if spy is not None:
                    result["profile"] = stop_profile(spy)
    return summarise(result)


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    every = [c for c in result["clicks"] if c["changed"]]  # an action that missed changed nothing
    clicks = [c for c in every if c["kind"] != "reset"]
    result["summary"] = {
        "click_p50_s": percentile([c["settled_s"] for c in clicks], 50),
        "click_p95_s": percentile([c["settled_s"] for c in clicks], 95),
        "all_p50_s": percentile([c["settled_s"] for c in every], 50),
        "frames_p50": percentile([c["received"] for c in every], 50),
        "messages_p50": percentile([c.get("messages", c["received"]) for c in every], 50),
        "messages_max": max((c.get("messages", c["received"]) for c in every), default=None),
        "cpu_p50_s": percentile([c["server_cpu_s"] for c in every], 50),
        "n_clicks": len(every),
        "n_missed": len(result["clicks"]) - len(every),
        "by_kind": {
            kind: percentile([c["settled_s"] for c in every if c["kind"] == kind], 50)
            for kind in sorted({c["kind"] for c in every})
        },
    }
    return result


# --------------------------------------------------------------------------- profiling


def start_profile(pid: int, out: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """py-spy sampling every thread of the server (refreshes run on worker threads) while the clicks run."""
    raw = out.with_suffix(".txt")
    proc = subprocess.Popen(
        [
            "py-spy",
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--output",
            str(raw),
            "--rate",
            "50",
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    time.sleep(1.0)
    return proc, raw


def stop_profile(spy: tuple[subprocess.Popen[bytes], Path]) -> dict[str, Any]:
    """Stop py-spy and sum its samples per function (self time) and per top-level area (inclusive)."""
    import signal

    proc, raw = spy
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    if not raw.exists():
        return {"error": "py-spy wrote nothing (is it installed, and may it trace the server?)"}
    return fold(raw.read_text())


AREAS: tuple[tuple[str, str], ...] = (  # first match wins: tspanel before "panel/"
    ("tspanel/models", "tspanel models"),
    ("tspanel/ui", "tspanel views"),
    ("tspanel/", "tspanel (other)"),
    ("polars", "polars (queries)"),
    ("holoviews", "HoloViews (plot updates)"),
    ("bokeh/document", "Bokeh document (model changes)"),
    ("bokeh/protocol", "Bokeh protocol (serialising)"),
    ("bokeh/", "Bokeh core (properties, serialising)"),
    ("panel/", "Panel"),
    ("tornado", "tornado (websocket I/O)"),
    ("param/", "param (watchers)"),
)


def fold(text: str) -> dict[str, Any]:
    """Collapsed stacks ('a;b;c N') -> the busiest leaf functions, and each sample's innermost library.

    A sample counts for the deepest frame that belongs to a known area (polars, Bokeh, HoloViews,
    Panel, tornado, tspanel): where the CPU actually was, not everything on the stack above it.
    """
    leaves: dict[str, int] = {}
    areas: dict[str, int] = {}
    total = 0
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        if any(idle in frames[-1] for idle in ("select (selectors.py", "wait (threading.py", "_worker (concurrent")):
            continue
        total += n
        leaves[frames[-1]] = leaves.get(frames[-1], 0) + n
        area = "other (Python, pyarrow, gc)"
        for frame in reversed(frames):
            found = next((name for needle, name in AREAS if needle in frame), None)
            if found:
                area = found
                break
        areas[area] = areas.get(area, 0) + n
    top = sorted(leaves.items(), key=lambda kv: -kv[1])[:15]
    return {
        "busy_samples": total,
        "areas": {k: round(100 * v / total, 1) for k, v in sorted(areas.items(), key=lambda kv: -kv[1])}
        if total
        else {},
        "top_self": [(name, round(100 * n / total, 1)) for name, n in top] if total else [],
    }


# --------------------------------------------------------------------------- report


def table(results: list[dict[str, Any]]) -> str:
    def s(value: float | None) -> str:
        return "–" if value is None else f"{value:.2f} s"

    def n(value: float | None) -> str:
        return "–" if value is None else f"{value:.0f}"

    lines = [
        "| flags | cards shown / page settled (warm) | click → settled p50 | p95 | sidebar / chart / brush p50 "
        "| messages in per click (p50 / max) [websocket frames p50] | server CPU per click p50 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]

    def where(r: dict[str, Any]) -> str:
        return r["size"] if r.get("tab", "volume") == "volume" else f"{r['size']}, {r['tab']} tab"

    for r in results:
        sm = r["summary"]
        kinds = sm["by_kind"]
        lines.append(
            f"| {where(r)} | {s(r.get('open_warm_cards_s'))} / {s(r.get('open_warm_s'))} | {s(sm['click_p50_s'])} "
            f"| {s(sm['click_p95_s'])} | {s(kinds.get('sidebar_toggle'))} / {s(kinds.get('chart_click'))} / "
            f"{s(kinds.get('brush'))} | {n(sm['messages_p50'])} / {n(sm['messages_max'])} [{n(sm['frames_p50'])}] "
            f"| {s(sm['cpu_p50_s'])} |"
        )
    lines += [
        "",
        "| flags | page open, warm (median of N): cards shown / settled | cold: cards / settled "
        "| Bokeh messages in / websocket frames out (warm) | server CPU per open (warm) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        warm = len(r.get("opens_warm", [])) or 1
        lines.append(
            f"| {where(r)} | {s(r.get('open_warm_cards_s'))} / {s(r.get('open_warm_s'))} (N={warm}) "
            f"| {s(r.get('open_cold_cards_s'))} / {s(r.get('open_cold_s'))} "
            f"| {n(r.get('open_warm_messages'))} / {n(r.get('open_warm_sent'))} | {s(r.get('open_warm_cpu_s'))} |"
        )
    # When the run ended (a table rewritten later with --from-json keeps the run's time).
    stamps = [r["measured_at"] for r in results if r.get("measured_at")]
    stamp = max(stamps) if stamps else dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    clicks = results[0]["summary"]["n_clicks"] if results else 0
    lines.append("")
    loads = [x for r in results for x in r.get("load_avg", [])]
    where = (
        f"1-minute load average {min(loads):.1f}-{max(loads):.1f} at the start and end of each size "
        "(the benchmark's own server and browser included; an idle machine is about 0)"
        if loads
        else "load average not recorded"
    )
    lines.append(
        f"Measured {stamp} with `python bench/latency.py` ({clicks} actions per size that changed the filters; "
        f"resets are in the message and CPU columns, not in the click percentiles), on the 2-core machine; {where}. "
        "Above a load of about 2, other work shares the cores: read the times as upper bounds."
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="42k,1m,10m", help="comma-separated subset of 42k,1m,10m (default: all)")
    parser.add_argument(
        "--clicks", type=int, default=12, help="filter actions per size (default: 12, at least 10; 0: page opens only)"
    )
    parser.add_argument("--opens", type=int, default=1, help="warm page opens per size, median reported (default 1)")
    parser.add_argument("--quiet", type=float, default=0.5, help="seconds without messages that mean settled")
    parser.add_argument(
        "--tab", choices=TABS, default="volume", help="the tab the page opens on (default volume, the landing tab)"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "tspanel-latency", help="generated datasets"
    )
    parser.add_argument("--profile", default="", help="sizes to profile with py-spy during the clicks (e.g. 1m)")
    parser.add_argument("--json", type=Path, help="write every measurement to this file")
    parser.add_argument("--from-json", type=Path, help="report a previous --json run instead of measuring")
    parser.add_argument("--write-doc", action="store_true", help="rewrite the latency table in docs/performance.md")
    args = parser.parse_args(argv)
    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size(s) {unknown}; choose from {', '.join(SIZES)}")
    if args.clicks < 0:
        parser.error("--clicks must be 0 (page opens only) or more")
    if args.write_doc and args.tab != "volume":
        parser.error("--write-doc rewrites the landing tab's table in docs/performance.md; leave out --tab")
    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        if not CHROMIUM.exists():
            print(f"latency: no Chromium at {CHROMIUM} (apt-get install chromium)", file=sys.stderr)
            return 2
        args.data_dir.mkdir(parents=True, exist_ok=True)
        profiled = {s.strip().lower() for s in args.profile.split(",") if s.strip()}
        results = []
        with tempfile.TemporaryDirectory(prefix="tspanel-latency-") as tmp:
            for size in sizes:
                data = dataset_for(size, args.data_dir)
                load_before = os.getloadavg()[0]
                result = measure_size(
                    size, data, args.clicks, args.quiet, Path(tmp), size in profiled, args.opens, args.tab
                )
                result["load_avg"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
                result["measured_at"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
                results.append(result)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    report = table(results)
    print(report)
    for r in results:
        if "profile" in r:
            print(f"profile at {r['size']}: {json.dumps(r['profile'], indent=2)}")
    if args.write_doc:
        from tspanel.bench.docblocks import replace_block

        DOC.write_text(replace_block(DOC.read_text(), "latency", report))
        print(f"latency: wrote the table to {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
