"""Memory after bursts of concurrent sessions (issue 18, item 6), against `tspanel serve` on 127.0.0.1.

    python bench/bursts.py                       # 3 rounds of 25 sessions on 1M flags, 60 s idle after each
    python bench/bursts.py --flags 300000 --rounds 3 --sessions 10 --idle 30 --trace

Each round opens ``--sessions`` sessions at once (Bokeh's Python client, as bench/load.py),
waits until all are open, closes them all, and idles ``--idle`` seconds; server RSS is
sampled then. With ``--trace`` the server runs with tracemalloc and, after the warm-up and
each round, writes a memory report (live objects per type; top allocation sites with
``--tracemalloc``, which slows the server several times) through $TSPANEL_MEMORY_REPORT; the
script prints what grew between rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load


def _report(server: load.Server, path: Path, count: int) -> dict | None:
    """Ask the server for a memory report and wait for it (the count-th line of ``path``)."""
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return json.loads(lines[count - 1])
        time.sleep(1)
    return None


def _patient_client(timeout: float) -> None:
    """Give the client's websocket handshake ``timeout`` s (Bokeh's 20 s default fails a burst on a busy machine).

    The server answers the upgrade only between the sessions it is building, one after another
    on its event loop; on a shared, loaded machine that can take longer than 20 s.
    """
    from functools import partial

    import bokeh.client.connection as connection
    from tornado.httpclient import HTTPRequest

    connection.HTTPRequest = partial(HTTPRequest, connect_timeout=timeout, request_timeout=timeout)


def burst(url: str, sessions: int, timeout: float) -> list[float]:
    """Open ``sessions`` sessions at once; when all are open, each closes its own.

    One thread per session: a Bokeh client session belongs to the event loop of the thread
    that opened it.
    """
    all_open = threading.Barrier(sessions, timeout=timeout)

    def one(_: int) -> float:
        client = load.Client(url, timeout=timeout)
        try:
            all_open.wait()
        finally:
            client.close()
        return client.open_s

    with ThreadPoolExecutor(max_workers=sessions) as pool:
        return list(pool.map(one, range(sessions)))


def diff(before: dict, after: dict, top: int = 15) -> list[tuple[str, int]]:
    growth = {k: after["types"].get(k, 0) - before["types"].get(k, 0) for k in after["types"]}
    return sorted(((k, v) for k, v in growth.items() if v), key=lambda kv: -kv[1])[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=25)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds idle after each round (default 60)")
    parser.add_argument("--flags", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--keep-data", type=Path)
    parser.add_argument("--trace", action="store_true", help="memory reports (live objects per type) from the server")
    parser.add_argument("--tracemalloc", action="store_true", help="with --trace: allocation sites too (slow)")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    load.register_models()
    _patient_client(args.timeout)
    result: dict = {"rounds": [], "conditions": load.conditions(), "command": " ".join(sys.argv)}
    with load.dataset(args) as data, tempfile.TemporaryDirectory(prefix="tspanel-bursts-") as tmp:
        report_path = Path(tmp) / "memory.jsonl"
        env_before = dict(os.environ)
        if args.trace:
            os.environ["TSPANEL_MEMORY_REPORT"] = str(report_path)
            if args.tracemalloc:
                os.environ["PYTHONTRACEMALLOC"] = "1"
        try:
            with load.Server(data, Path(tmp) / "serve.log") as server:
                os.environ.clear()
                os.environ.update(env_before)
                reports = 0
                result["rss_loaded_mib"] = server.rss_mb()
                load._open_and_close(server.url, args.timeout)  # warm-up: one session
                time.sleep(args.idle)
                result["rss_warm_mib"] = server.rss_mb()
                loaded, warm = result["rss_loaded_mib"], result["rss_warm_mib"]
                load.log(f"data loaded {loaded:.0f} MiB, after one session {warm:.0f} MiB")
                previous = None
                if args.trace:
                    reports += 1
                    previous = _report(server, report_path, reports)
                for index in range(1, args.rounds + 1):
                    started = time.perf_counter()
                    times = burst(server.url, args.sessions, args.timeout)
                    peak = server.rss_mb()
                    time.sleep(args.idle)
                    row = {
                        "round": index,
                        "open_max_s": max(times),
                        "seconds": time.perf_counter() - started,
                        "rss_closed_mib": peak,
                        "rss_idle_mib": server.rss_mb(),
                    }
                    if args.trace:
                        reports += 1
                        current = _report(server, report_path, reports)
                        if previous and current:
                            row["grew"] = diff(previous, current)
                            row["gc_objects"] = current["gc_objects"]
                            row["traced_mib"] = current.get("traced_mib")
                            row["top"] = current.get("top", [])[:12]
                        previous = current
                    result["rounds"].append(row)
                    load.log(
                        f"round {index}: {args.sessions} sessions, all open in {max(times):.1f} s; "
                        f"RSS just after closing {peak:.0f} MiB, "
                        f"after {args.idle:.0f} s idle {row['rss_idle_mib']:.0f} MiB"
                        + (f"; objects grew: {row.get('grew', [])[:8]}" if args.trace else "")
                    )
        finally:
            os.environ.clear()
            os.environ.update(env_before)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
