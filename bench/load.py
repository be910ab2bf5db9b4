"""Load and lifetime benchmark: real websocket sessions against one `tspanel serve` on 127.0.0.1.

Run from the repository root (the defaults take about 30 minutes on two cores):

    python bench/load.py                                 # 25 sessions on 1M flags, then 200 open/close cycles
    python bench/load.py --cycles 0                      # the load test only
    python bench/load.py --sessions 0 --cycles 200       # the open/close cycles only
    python bench/load.py --json bench/load-results.json --write-doc   # refresh docs/reliability.md
    python bench/load.py --from-json bench/load-results.json --write-doc  # rewrite the doc, run nothing

Load test: one warm-up session is opened and closed, then `--sessions` sessions are opened at
once and, when all are open, each makes `--changes` category-filter changes with a random
think time between them. A refresh's latency runs from the change being sent to the moment
the new KPI numbers have arrived back at the client and the loading spinners are off; every
chart of the open tab has been updated by then. Each session opens with its own start date
(``?start=first day + i``) so no two sessions share a cached result, and its changes never
repeat a selection, so every refresh is computed (the shared result cache never hits).
Memory per session is (server RSS with every session open - RSS after the warm-up) / sessions.

Cycles: `--cycles` times, open a session and close it; server RSS is sampled after every
close and once more after the server has discarded the last sessions (`--settle` seconds).

Sessions are Bokeh's own Python client (``bokeh.client.pull_session``), the protocol a
browser speaks: the page's whole document comes over the websocket, a filter change is a
widget value synced to the server, and the server's updates are applied to the client's
document. Server RSS and CPU time come from psutil on the server process and its children.
The server only ever listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from tspanel.bench.docblocks import replace_block

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "reliability.md"
ADDRESS = "127.0.0.1"  # never anything else: this opens many sessions and must not be reachable from outside
START_SECONDS = 300
KPI_VALUE = re.compile(r'data-kpi="([a-z_]+)" data-value="([^"]*)"')
LOADING_CLASS = "pn-loading"
RSS_CRITERION = 0.15  # issue 8: RSS settles within 15% of its level after the first cycle


def log(message: str) -> None:
    print(f"load: {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default); None for no values."""
    return float(np.percentile(values, q)) if values else None


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "max": max(values) if values else None,
        "mean": sum(values) / len(values) if values else None,
    }


# --------------------------------------------------------------------------- the server


def code_version() -> str:
    """The commit the server runs, and whether src/ had uncommitted changes (results date quickly)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=REPO, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return head.stdout.strip() + (" + uncommitted changes in src/" if dirty.stdout.strip() else "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((ADDRESS, 0))
        return int(sock.getsockname()[1])


class Server:
    """`tspanel serve --data DIR` on 127.0.0.1 in a subprocess, stopped on exit; RSS and CPU via psutil."""

    def __init__(self, data: Path, log_path: Path, num_procs: int = 1, port: int | None = None):
        self.data, self.log_path, self.num_procs = data, log_path, num_procs
        self.port = port or free_port()
        self.url = f"http://{ADDRESS}:{self.port}/"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        command = [sys.executable, "-m", "tspanel", "serve", "--no-show", "--address", ADDRESS]
        command += ["--port", str(self.port), "--data", str(self.data), "--num-procs", str(self.num_procs)]
        with self.log_path.open("w") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        started = time.monotonic()
        while not self._listening():
            if self.proc.poll() is not None:
                raise RuntimeError(f"tspanel serve exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
            if time.monotonic() - started > START_SECONDS:
                self.__exit__()
                raise RuntimeError(f"tspanel serve did not start in {START_SECONDS} s:\n{self.log_path.read_text()}")
            time.sleep(0.3)
        self.start_s = time.monotonic() - started
        self.code = code_version()
        return self

    def _listening(self) -> bool:
        """The startup line is printed and the port accepts connections (no GET: that would build a session)."""
        if "press Ctrl+C" not in self.log_path.read_text():
            return False
        try:
            with socket.create_connection((ADDRESS, self.port), timeout=2):
                return True
        except OSError:
            return False

    def _processes(self) -> list[Any]:
        import psutil

        assert self.proc is not None
        root = psutil.Process(self.proc.pid)
        return [root, *root.children(recursive=True)]

    def rss_mb(self) -> float:
        """Resident memory of the server and its worker processes, in MiB."""
        return sum(p.memory_info().rss for p in self._processes()) / 2**20

    def cpu_s(self) -> float:
        """User + system CPU seconds the server (and its workers) have used so far."""
        return sum(sum(p.cpu_times()[:2]) for p in self._processes())

    def __exit__(self, *_: Any) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)


class Monitor:
    """Samples the server's RSS every `every` seconds in a thread (for the peak and the timeline)."""

    def __init__(self, server: Server, every: float = 0.5):
        self.server, self.every = server, every
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = time.perf_counter()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # the server may be going away
                self.samples.append((time.perf_counter() - self._t0, self.server.rss_mb()))
            self._stop.wait(self.every)

    def __enter__(self) -> Monitor:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def peak_mb(self) -> float | None:
        return max((rss for _, rss in self.samples), default=None)


# --------------------------------------------------------------------------- one client session


def register_models() -> None:
    """Import every Bokeh model class the page uses, so the client can decode the document."""
    import panel.models  # noqa: F401  (ReactComponent, the HoloViews glue)
    import panel_material_ui  # noqa: F401  (the Material UI widgets and their data models)

    import tspanel.ui.session  # noqa: F401  (defines the Panel components whose data models the page holds)


class Client:
    """One real session over the websocket, driven from one thread.

    Bokeh's client only offers a blocking loop until the connection closes; waiting for
    a given update uses its connection's ``_loop_until`` (how its own pull and push wait),
    with a timer that stops the loop after ``timeout`` seconds.
    """

    def __init__(self, url: str, arguments: dict[str, str] | None = None, timeout: float = 300.0):
        from bokeh.client import pull_session
        from bokeh.events import DocumentReady

        self.timeout = timeout
        started = time.perf_counter()
        self.session = pull_session(url=url, arguments=arguments or None)
        self.open_s = time.perf_counter() - started
        # A browser announces that the page is ready once BokehJS has rendered it; until then
        # Panel holds back every chart update, and HoloViews re-queues each one on the server's
        # event loop, over and over (a busy loop the server would spend its CPU on).
        self.session.document.callbacks.send_event(DocumentReady())
        models = list(self.session.document.models)
        self.kpi = next(m for m in models if "ts-kpi-strip" in (getattr(m, "css_classes", None) or []))
        self.categories = next(m for m in models if getattr(m, "label", None) == "Categories" and hasattr(m, "options"))
        self._spinner_at: float | None = None
        self._sent_at = 0.0
        self.kpi.on_change("css_classes", self._css_changed)

    def _css_changed(self, _attr: str, _old: Any, new: list[str]) -> None:
        if LOADING_CLASS in new and self._spinner_at is None:
            self._spinner_at = time.perf_counter() - self._sent_at

    @property
    def loading(self) -> bool:
        return LOADING_CLASS in (self.kpi.css_classes or [])

    def kpis(self) -> dict[str, Any]:
        """The raw numbers behind the KPI cards (their data-value hooks); None where a card shows n/a."""
        text = html.unescape(self.kpi.text)  # Panel sends an HTML pane's markup escaped
        return {key: None if raw == "" else json.loads(html.unescape(raw)) for key, raw in KPI_VALUE.findall(text)}

    def run_until(self, done: Callable[[], bool], timeout: float | None = None) -> None:
        """Process the server's messages until ``done()`` holds; TimeoutError after ``timeout`` seconds."""
        connection = self.session._connection
        loop = connection.io_loop
        expired: list[bool] = []

        def expire() -> None:
            expired.append(True)
            loop.stop()

        timer = loop.call_later(timeout or self.timeout, expire)
        connection._loop_until(lambda: done() or not connection.connected)
        loop.remove_timeout(timer)
        if expired:
            raise TimeoutError(f"no update within {timeout or self.timeout:.0f} s")
        if not connection.connected:
            raise ConnectionError(f"the server closed the session ({connection.error_detail or 'no reason'})")

    def select_categories(self, values: list[str]) -> dict[str, Any]:
        """Set the Categories filter; wait for the refresh it causes to arrive. Seconds and the new KPIs."""
        before = self.kpis()
        self._spinner_at = None
        self._sent_at = time.perf_counter()
        self.categories.value = list(values)  # a document change: Bokeh's client syncs it to the server
        self.run_until(lambda: not self.loading and self.kpis() != before)
        return {
            "latency_s": time.perf_counter() - self._sent_at,
            "spinner_s": self._spinner_at,
            "kpis": self.kpis(),
        }

    def close(self) -> None:
        """Close the websocket, wait for the server to see it, and free the client's event loop."""
        connection = self.session._connection
        self.session.close()
        with contextlib.suppress(TimeoutError, ConnectionError):
            self.run_until(lambda: False, timeout=30)
        connection.io_loop.close(all_fds=True)


def change_plan(categories: list[str], offset: int, changes: int) -> list[list[str]]:
    """The category selections one session goes through: add each category, then remove each.

    Rotated by ``offset`` so sessions differ; 2 x len(categories) changes before a selection
    repeats, and consecutive selections always differ.
    """
    order = categories[offset % len(categories) :] + categories[: offset % len(categories)]
    states = [order[: i + 1] for i in range(len(order))] + [order[i + 1 :] for i in range(len(order))]
    return [states[k % len(states)] for k in range(changes)]


# --------------------------------------------------------------------------- the two phases


def dataset_info(data: Path) -> dict[str, Any]:
    """`tspanel kpis --json` on the whole dataset: its first and last day and its number of flags."""
    done = subprocess.run(
        [sys.executable, "-m", "tspanel", "kpis", "--json", "--data", str(data)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def _day(first: str, offset: int) -> str:
    import datetime as dt

    return (dt.date.fromisoformat(first) + dt.timedelta(days=offset)).isoformat()


def load_phase(
    server: Server,
    sessions: int,
    changes: int,
    think: float = 5.0,
    seed: int = 8,
    timeout: float = 600.0,
    warmup: bool = True,
    first_day: str | None = None,
    pause: float = 1.0,
) -> dict[str, Any]:
    """Open ``sessions`` sessions at once; when all are open, each makes ``changes`` filter changes.

    ``pause``: seconds to let the server settle before each RSS reading that follows a step.
    """
    register_models()
    first_day = first_day or dataset_info(server.data)["start"]
    rss_base = server.rss_mb()
    warm_open = None
    if warmup:  # one-time costs (lazy imports, first render, caches) are not a session's memory
        client = Client(server.url, timeout=timeout)
        warm_open = client.open_s
        client.close()
        log(f"warm-up session opened in {warm_open:.1f} s and closed")
    time.sleep(pause)
    rss_before = server.rss_mb()
    lock = threading.Lock()
    opened: list[dict[str, Any]] = []
    done: list[int] = []
    records: list[dict[str, Any]] = []
    failures: list[str] = []
    closed: list[int] = []
    open_failed: list[int] = []
    go, close_now = threading.Event(), threading.Event()

    def worker(index: int) -> None:
        # Session i starts on day i of the data: no two sessions ever ask for the same selection.
        start = _day(first_day, index)
        try:
            # period=custom: the cards show the whole selection (the page's default is the last 7 days).
            args = {"start": start, "period": "custom"} if index else {"period": "custom"}
            client = Client(server.url, args, timeout=timeout)
        except Exception as exc:  # a failed open is a result, not a crash of the benchmark
            with lock:
                failures.append(f"session {index}: open failed: {exc!r}")
                open_failed.append(index)
            return
        with lock:
            opened.append({"session": index, "open_s": client.open_s})
        rng = random.Random(seed * 1000 + index)
        made = 0
        try:
            go.wait()
            plan = change_plan(list(client.categories.options), index, changes)
            for number, categories in enumerate(plan):
                if think > 0:
                    time.sleep(rng.uniform(0.5 * think, 1.5 * think))
                record = client.select_categories(categories)
                made += 1
                with lock:
                    records.append(
                        {"session": index, "change": number, "start": start if index else None}
                        | {"categories": categories}
                        | record
                    )
                    if len(records) % max(1, sessions * changes // 10) == 0:
                        log(f"{len(records)}/{sessions * changes} refreshes, last took {record['latency_s']:.1f} s")
        except Exception as exc:
            with lock:
                failures.append(f"session {index}: change {made} failed: {exc!r}")
        with lock:
            done.append(index)
        close_now.wait()
        with contextlib.suppress(Exception):
            client.close()
        with lock:
            closed.append(index)

    def wait_for(count: Callable[[], int], what: str, limit: float) -> None:
        """Until every session has reported; past ``limit`` seconds, a failure is noted and the run goes on."""
        deadline = time.monotonic() + limit
        while count() < sessions and time.monotonic() < deadline:
            time.sleep(0.2)
        if count() < sessions:
            with lock:
                failures.append(f"{what}: only {count()} of {sessions} after {limit:.0f} s")

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(sessions)]
    cpu0, t0 = server.cpu_s(), time.perf_counter()
    with Monitor(server) as monitor:
        for thread in threads:
            thread.start()
        wait_for(lambda: len(opened) + len(open_failed), "sessions open", timeout)
        open_wall = time.perf_counter() - t0
        cpu_open = server.cpu_s() - cpu0
        time.sleep(pause)
        rss_open = server.rss_mb()
        log(f"{len(opened)} sessions open in {open_wall:.1f} s; server RSS {rss_open:,.0f} MiB; driving changes")
        cpu1, t1 = server.cpu_s(), time.perf_counter()
        go.set()
        wait_for(lambda: len(done) + len(open_failed), "sessions done", changes * (timeout + 1.5 * think) + 60)
        change_wall = time.perf_counter() - t1
        cpu_changes = server.cpu_s() - cpu1
        rss_after = server.rss_mb()
        close_now.set()
        wait_for(lambda: len(closed) + len(open_failed), "sessions closed", 120)
        time.sleep(pause)
        rss_closed = server.rss_mb()
    records = sorted(records, key=lambda r: (r["session"], r["change"]))
    latencies = [r["latency_s"] for r in records]
    spinners = [r["spinner_s"] for r in records if r["spinner_s"] is not None]
    opens = [o["open_s"] for o in opened]
    result = {
        "sessions": sessions,
        "changes_per_session": changes,
        "think_s": think,
        "refreshes": len(records),
        "failures": failures,
        "open_s": summary(opens),
        "open_wall_s": open_wall,
        "warmup_open_s": warm_open,
        "refresh_s": summary(latencies),
        "spinner_s": summary(spinners),
        "changes_wall_s": change_wall,
        "refreshes_per_s": len(records) / change_wall if change_wall else None,
        "server_cpu_open_s": cpu_open,
        "server_cpu_changes_s": cpu_changes,
        "server_cpu_per_refresh_s": cpu_changes / len(records) if records else None,
        "server_cpu_per_open_s": cpu_open / len(opened) if opened else None,
        "rss_mb": {
            "data_loaded": rss_base,
            "after_warmup": rss_before,
            "all_open": rss_open,
            "after_changes": rss_after,
            "after_close": rss_closed,
            "peak": monitor.peak_mb,
        },
        "per_session_mb": (rss_open - rss_before) / len(opened) if opened else None,
        "per_session_after_changes_mb": (rss_after - rss_before) / len(opened) if opened else None,
        "records": records,
    }
    return result


def _open_and_close(url: str, timeout: float) -> float:
    """Open a session and close it, on a thread of its own; returns the open time.

    Bokeh's client runs its own event loop, which cannot start on a thread where one is
    already running (a caller inside asyncio, or Playwright's sync API in the same process).
    """

    def cycle() -> float:
        client = Client(url, timeout=timeout)
        client.close()
        return client.open_s

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(cycle).result()


def cycles_phase(
    server: Server,
    cycles: int,
    timeout: float = 600.0,
    settle: float = 40.0,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Open and close a session ``cycles`` times; server RSS after every close, and once settled.

    ``progress`` gets the RSS and open times so far every 10 cycles (a long run interrupted keeps them).
    """
    register_models()
    rss_start = server.rss_mb()
    rss: list[float] = []
    opens: list[float] = []
    failures: list[str] = []
    started = time.perf_counter()
    for cycle in range(1, cycles + 1):
        try:
            opens.append(_open_and_close(server.url, timeout))
        except Exception as exc:
            failures.append(f"cycle {cycle}: {exc!r}")
        rss.append(server.rss_mb())
        if cycle == 1 or cycle % 10 == 0 or cycle == cycles:
            log(f"cycle {cycle}/{cycles}: RSS {rss[-1]:,.0f} MiB (after cycle 1: {rss[0]:,.0f})")
            if progress is not None:
                progress({"cycles_done": cycle, "rss_mb": rss, "open_s_each": opens, "failures": failures})
    wall = time.perf_counter() - started
    if settle > 0:  # Bokeh discards a closed session at its next unused-session check (every 17 s)
        log(f"waiting {settle:.0f} s for the server to discard the last sessions")
        time.sleep(settle)
    settled = server.rss_mb()
    first = rss[0] if rss else None
    growth_last = (rss[-1] - first) / first if first else None
    growth_settled = (settled - first) / first if first else None
    within = (
        growth_last is not None
        and growth_settled is not None
        and abs(growth_last) <= RSS_CRITERION
        and abs(growth_settled) <= RSS_CRITERION
    )
    return {
        "cycles": cycles,
        "failures": failures,
        "wall_s": wall,
        "open_s": summary(opens),
        "rss_start_mb": rss_start,
        "rss_mb": rss,
        "open_s_each": opens,
        "rss_settled_mb": settled,
        "growth_last": growth_last,
        "growth_settled": growth_settled,
        "criterion": RSS_CRITERION,
        "within_criterion": within,
    }


# --------------------------------------------------------------------------- reporting


def _s(value: float | None) -> str:
    return "–" if value is None else (f"{value:.2f}" if value < 10 else f"{value:.1f}")


def _mb(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def load_table(result: dict[str, Any]) -> str:
    load = result.get("load")
    if not load:
        return "(no load test in these results)\n"
    rss = load["rss_mb"]
    rows = [
        ("sessions open at once", f"{load['sessions']}"),
        (
            "filter changes",
            f"{load['refreshes']} ({load['changes_per_session']} per session, think time "
            f"{load['think_s'] * 0.5:g}–{load['think_s'] * 1.5:g} s)",
        ),
        ("refresh latency p50 / p95 / max (s)", " / ".join(_s(load["refresh_s"][k]) for k in ("p50", "p95", "max"))),
        ("spinner shown p50 / p95 (s)", " / ".join(_s(load["spinner_s"][k]) for k in ("p50", "p95"))),
        ("refreshes per second (all sessions)", _s(load["refreshes_per_s"])),
        ("server CPU per refresh (s)", _s(load["server_cpu_per_refresh_s"])),
        ("session open, all at once: p50 / p95 (s)", " / ".join(_s(load["open_s"][k]) for k in ("p50", "p95"))),
        ("time until all sessions were open (s)", _s(load["open_wall_s"])),
        ("server CPU per session open (s)", _s(load["server_cpu_per_open_s"])),
        ("memory per session (MiB)", _mb(load["per_session_mb"])),
        ("memory per session after the changes (MiB)", _mb(load["per_session_after_changes_mb"])),
        (
            "server RSS: data loaded / after warm-up / all open / after changes / peak / closed (MiB)",
            " / ".join(
                _mb(rss[k]) for k in ("data_loaded", "after_warmup", "all_open", "after_changes", "peak", "after_close")
            ),
        ),
        ("failed sessions or changes", f"{len(load['failures'])}"),
    ]
    code = f"Server code: {load['code']}.\n\n" if load.get("code") else ""
    return code + "| load test | |\n|:--|--:|\n" + "".join(f"| {a} | {b} |\n" for a, b in rows)


def cycles_table(result: dict[str, Any]) -> str:
    cycles = result.get("cycles")
    if not cycles or not cycles["rss_mb"]:
        return "(no open/close cycles in these results)\n"
    rss = cycles["rss_mb"]
    n = len(rss)
    step = max(10, round(n / 100) * 10)  # about ten rows
    marks = sorted({1, 10, *range(step, n + 1, step), n} & set(range(1, n + 1)))
    first = rss[0]
    body = "".join(f"| {c} | {rss[c - 1]:,.0f} | {100 * (rss[c - 1] - first) / first:+.1f}% |\n" for c in marks)
    body += (
        f"| settled ({n} closed, {cycles.get('settle_s', 0):g} s later) | {cycles['rss_settled_mb']:,.0f} "
        f"| {100 * cycles['growth_settled']:+.1f}% |\n"
    )
    verdict = "within" if cycles["within_criterion"] else "NOT within"
    open_s = cycles["open_s"]
    head = (
        f"{n} cycles, one session at a time; session open p50 {_s(open_s['p50'])} s, p95 {_s(open_s['p95'])} s "
        f"on an otherwise idle server; {len(cycles['failures'])} failed. RSS is **{verdict}** "
        f"{cycles['criterion']:.0%} of its level after the first cycle."
        + (f" Server code: {cycles['code']}." if cycles.get("code") else "")
        + "\n\n"
    )
    return head + "| after cycle | server RSS (MiB) | vs cycle 1 |\n|--:|--:|--:|\n" + body


def conditions_line(result: dict[str, Any]) -> str:
    cond = result["conditions"]
    versions = ", ".join(f"{k} {v}" for k, v in cond["versions"].items() if k in ("python", "polars", "panel", "bokeh"))
    return (
        f"Measured {result['date']} by `{result['command']}` on {cond['cpus']} CPUs, {cond['memory_gb']} GB RAM "
        f"(1-minute load average {cond['load_average_1m']} at the start, {cond.get('load_average_1m_end', '?')} at "
        f"the end; the load generator shares the cores with the server), {result['flags']:,} flags; {versions}.\n\n"
    )


def markdown(result: dict[str, Any]) -> dict[str, str]:
    head = conditions_line(result)
    return {"load": head + load_table(result), "cycles": head + cycles_table(result)}


def write_doc(result: dict[str, Any], path: Path = DOC) -> None:
    text = path.read_text() if path.exists() else "# Reliability under load\n"
    for name, body in markdown(result).items():
        if result.get(name):  # a run that skipped a phase keeps the doc's previous figures for it
            text = replace_block(text, name, body)
    path.write_text(text)
    log(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


# --------------------------------------------------------------------------- main


@contextlib.contextmanager
def dataset(args: argparse.Namespace) -> Iterator[Path]:
    """--data, or a generated world of --flags flags (kept in --keep-data, else in a temporary directory)."""
    if args.data is not None:
        yield args.data
        return
    with tempfile.TemporaryDirectory(prefix="tspanel-load-") as tmp:
        root = args.keep_data or Path(tmp)
        path = root / f"flags-{args.flags}"
        if not (path / "flags").exists():
            command = [sys.executable, "-m", "tspanel", "generate", str(path), "--flags", str(args.flags)]
            log(f"tspanel generate {path} --flags {args.flags} --format parquet")
            subprocess.run([*command, "--format", "parquet", "-q"], check=True)
        yield path


def conditions() -> dict[str, Any]:
    import bokeh
    import panel

    from tspanel.bench.harness import conditions as machine

    cond = machine()
    cond["versions"] |= {"panel": panel.__version__, "bokeh": bokeh.__version__}
    return cond


def _count(text: str) -> int:
    try:
        value = int(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text}: must be 0 or more")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text}: must be 0 or more")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python bench/load.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=_count, default=25, help="sessions open at once (default 25; 0: skip)")
    parser.add_argument("--changes", type=_count, default=4, help="filter changes per session (default 4)")
    parser.add_argument(
        "--think", type=_seconds, default=5.0, help="mean think time between a session's changes, s (default 5)"
    )
    parser.add_argument("--cycles", type=_count, default=200, help="open/close cycles (default 200; 0: skip)")
    parser.add_argument(
        "--settle", type=_seconds, default=40.0, help="wait after the last cycle before the final RSS (default 40 s)"
    )
    parser.add_argument("--flags", type=_count, default=1_000_000, help="generated dataset size (default 1,000,000)")
    parser.add_argument("--data", type=Path, metavar="DIR", help="serve this dataset instead of generating one")
    parser.add_argument("--keep-data", type=Path, metavar="DIR", help="generate the dataset into DIR once and reuse it")
    parser.add_argument("--num-procs", type=_count, default=1, help="tspanel serve --num-procs (default 1)")
    parser.add_argument("--timeout", type=_seconds, default=600.0, help="give up on a session after this many s")
    parser.add_argument("--seed", type=int, default=8, help="seed of the think times")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every figure (and every refresh) to FILE")
    parser.add_argument("--write-doc", action="store_true", help="put the tables into docs/reliability.md")
    parser.add_argument("--from-json", type=Path, metavar="FILE", help="report saved results; run nothing")
    args = parser.parse_args(argv)
    if args.data is not None and not args.data.is_dir():
        parser.error(f"--data {args.data}: no such directory")
    if args.from_json is not None and not args.from_json.is_file():
        parser.error(f"--from-json {args.from_json}: no such file")
    if args.num_procs < 1:
        parser.error("--num-procs: must be 1 or more")
    if args.sessions == 0 and args.cycles == 0 and args.from_json is None:
        parser.error("--sessions 0 and --cycles 0: nothing to run")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_json is not None:
        result = json.loads(args.from_json.read_text())
    else:
        result = run(args)
        if args.json is not None:
            args.json.write_text(json.dumps(result, indent=2) + "\n")
            log(f"wrote {args.json}")
    blocks = markdown(result)
    print(blocks["load"] if result.get("load") else "")
    print(cycles_table(result) if result.get("cycles") else "")
    if args.write_doc:
        write_doc(result)
    failed = (result.get("load") or {}).get("failures", []) + (result.get("cycles") or {}).get("failures", [])
    return 1 if failed else 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    command = "python bench/load.py " + " ".join(sys.argv[1:]) if sys.argv[1:] else "python bench/load.py"

    def save(partial: dict[str, Any]) -> None:
        if args.json is not None:  # written as it goes; the final write replaces it
            args.json.write_text(json.dumps(partial, indent=2) + "\n")

    result: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "command": command.strip(), "conditions": conditions()}
    with dataset(args) as data, tempfile.TemporaryDirectory(prefix="tspanel-load-log-") as logs:
        info = dataset_info(data)
        first_day = info["start"]
        result["flags"], result["days"] = info["total_flags"], [info["start"], info["end"]]
        if args.sessions:
            with Server(data, Path(logs) / "load.log", args.num_procs) as server:
                log(f"server up at {server.url} in {server.start_s:.1f} s, RSS {server.rss_mb():,.0f} MiB")
                result["load"] = load_phase(
                    server, args.sessions, args.changes, args.think, args.seed, args.timeout, first_day=first_day
                )
                result["load"] |= {"server_start_s": server.start_s, "code": server.code}
                save(result)
        if args.cycles:  # a fresh server: its RSS curve starts from cycle 1, not from the load test
            with Server(data, Path(logs) / "cycles.log", args.num_procs) as server:
                log(f"server up at {server.url} in {server.start_s:.1f} s, RSS {server.rss_mb():,.0f} MiB")
                result["cycles"] = cycles_phase(
                    server, args.cycles, args.timeout, args.settle, lambda part: save(result | {"cycles_partial": part})
                )
                result["cycles"] |= {"settle_s": args.settle, "code": server.code}
    result["conditions"]["load_average_1m_end"] = round(os.getloadavg()[0], 2)
    return result


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
