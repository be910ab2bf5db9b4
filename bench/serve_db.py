"""`tspanel serve --data postgresql://...`: page open, filter clicks and server memory, in a real browser.

Run from the repository root, against a PostgreSQL database you may write to (its flags, reviewers
and attacks tables are replaced):

    python bench/serve_db.py postgresql://me@localhost/ts --flags 1000000 --clicks 6

It writes ``--flags`` generated flags once (``tspanel generate --format parquet`` into
``--data-dir``), copies them in with ``tspanel load-db --replace``, then serves the database and
measures it with bench/latency.py's browser driver (page open cold and warm, click to settled),
sampling the server's RSS (psutil) every 0.2 s: the rollup is computed in the database, so the
server holds the rollup, not the rows.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import latency  # bench/latency.py: the browser driver


def load(url: str, data: Path | None) -> float:
    command = [sys.executable, "-m", "tspanel", "load-db", url, "--replace"]
    if data is not None:
        command += ["--data", str(data)]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="postgresql:// URL of a database whose flags tables may be replaced")
    parser.add_argument("--flags", type=int, default=1_000_000, help="generated flags (0: the built-in world)")
    parser.add_argument("--clicks", type=int, default=6, help="filter actions (default 6)")
    parser.add_argument("--opens", type=int, default=1, help="warm page opens, median reported (default 1)")
    parser.add_argument("--quiet", type=float, default=0.5, help="seconds without messages that mean settled")
    parser.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "tspanel-serve-db", help="generated datasets"
    )
    parser.add_argument("--json", type=Path, help="write the measurement to this file")
    parser.add_argument(
        "--rollup-dir",
        type=Path,
        help="serve this rollup directory (tspanel rollup OUT) instead: the same served facts, no database wait",
    )
    parser.add_argument(
        "--no-load", action="store_true", help="serve the tables already in the database (skip tspanel load-db)"
    )
    parser.add_argument(
        "--files", action="store_true", help="serve the generated files instead (the same measurement, for comparison)"
    )
    args = parser.parse_args(argv)
    if args.rollup_dir is not None:
        args.no_load = True  # the rollup directory is served; the database is not touched
    data = None
    if args.flags and not args.no_load:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        latency.SIZES["db"] = args.flags
        data = latency.dataset_for("db", args.data_dir)
    load_s = 0.0 if args.files or args.no_load else load(args.url, data)
    if not (args.files or args.no_load):
        latency.log(f"loaded into the database in {load_s:.1f} s")
    served = data if args.files else args.url
    if args.rollup_dir is not None:
        served = args.rollup_dir

    rss: list[float] = []
    starts: list[float] = []  # seconds from launch to "press Ctrl+C" (load, checks, rollup), per server start
    original = latency.serving

    @contextlib.contextmanager
    def sampled(served: Any, log_path: Path) -> Iterator[tuple[str, Any]]:
        launched = time.perf_counter()
        with original(served, log_path) as (base, process):
            starts.append(time.perf_counter() - launched)
            stop = threading.Event()

            def sample() -> None:
                while not stop.wait(0.2):
                    with contextlib.suppress(Exception):
                        rss.append(process.memory_info().rss / 2**20)

            thread = threading.Thread(target=sample, daemon=True)
            thread.start()
            try:
                yield base, process
            finally:
                stop.set()
                thread.join()

    latency.serving = sampled
    latency.START_SECONDS = max(latency.START_SECONDS, 1800)  # a 10M-flag rollup in a busy database takes minutes
    with tempfile.TemporaryDirectory(prefix="tspanel-serve-db-") as tmp:
        result = latency.measure_size("db", served, args.clicks, args.quiet, Path(tmp), False, args.opens)
    result["data"] = "rollup directory" if args.rollup_dir else "files" if args.files else "postgresql (masked)"
    result["load_db_s"] = load_s
    result["server_start_s"] = starts
    result["server_rss_peak_mb"] = max(rss) if rss else None
    result["server_rss_last_mb"] = rss[-1] if rss else None
    summary = {
        "source": result["data"],
        "flags": None if args.rollup_dir else args.flags or 42255,  # a rollup directory: its own size
        "load_db_s": round(load_s, 1),
        "server_start_s": round(starts[0], 1) if starts else None,
        "open_cold_s": round(result["open_cold_s"], 2),
        "open_warm_s": round(result["open_warm_s"], 2),
        "click_p50_s": result["summary"]["click_p50_s"],
        "click_p95_s": result["summary"]["click_p95_s"],
        "clicks": result["summary"]["n_clicks"],
        "server_rss_peak_mb": round(result["server_rss_peak_mb"] or 0),
        "server_rss_last_mb": round(result["server_rss_last_mb"] or 0),
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "detail": result}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
