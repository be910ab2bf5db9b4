"""A server process's memory: collections after closed sessions, handing memory back, and on
SIGUSR1 a memory report appended to $TSPANEL_MEMORY_REPORT (diagnosis).

Why: finding what a long-running server keeps after its sessions closed needs a look from
inside the process, between bursts of load (bench/bursts.py sends the signal). The report is
JSON per line: RSS, live objects per type after a full collection, and, when the process runs
with PYTHONTRACEMALLOC set, the allocation sites holding the most memory. Off unless the
variable is set; it names a file the operator chose, and holds no data values.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import gc
import json
import os
import signal
import sys
import time
import tracemalloc
from typing import Any

REPORT_ENV = "TSPANEL_MEMORY_REPORT"
REFREEZE_SECONDS = 600.0
"""At most this often, and only with no session open, the frozen set is rebuilt (see collect_closed)."""


class _Freezing:
    """Whether `tspanel serve` turned freezing on, and when the frozen set was last built."""

    enabled = False
    at: float | None = None  # monotonic time; None: thawed (or never frozen)


_freezing = _Freezing()


def _name(cls: type) -> str:
    module = getattr(cls, "__module__", None)
    if not isinstance(module, str):  # a metaclass may make the attribute a descriptor
        module = "builtins"
    return f"{module}.{cls.__qualname__}"


def report() -> dict[str, Any]:
    import psutil

    gc.collect()
    counts = collections.Counter(_name(type(o)) for o in gc.get_objects())
    out: dict[str, Any] = {
        "time": time.time(),
        "pid": os.getpid(),
        "rss_mib": psutil.Process().memory_info().rss / 2**20,
        "gc_objects": sum(counts.values()),
        "types": dict(counts.most_common(60)),
    }
    if tracemalloc.is_tracing():
        stats = tracemalloc.take_snapshot().statistics("lineno")[:40]
        out["traced_mib"] = tracemalloc.get_traced_memory()[0] / 2**20
        out["top"] = [[str(s.traceback[0]), round(s.size / 2**20, 3), s.count] for s in stats]
    return out


def install(io_loop: Any) -> None:
    """Handle SIGUSR1 on ``io_loop`` when $TSPANEL_MEMORY_REPORT names a file; otherwise nothing."""
    path = os.environ.get(REPORT_ENV)
    if not path:
        return

    def write() -> None:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(report()) + "\n")

    signal.signal(signal.SIGUSR1, lambda *_: io_loop.add_callback(write))


def return_freed_memory() -> None:
    """Give the memory a large load freed back to the operating system.

    Why: reading a rollup passes every batch through Arrow; pyarrow's own pool (mimalloc or
    jemalloc) and glibc's arenas keep what was freed, so a server that read a 10M-flag rollup
    held ~300 MB more than it used (docs/rollup.md, "Serving memory").
    """
    gc.collect()
    hand_back()


def hand_back() -> None:
    """Freed memory back to the operating system: pyarrow's pool (``release_unused``, when
    pyarrow is loaded) and glibc's arenas (``malloc_trim``); each is skipped where absent."""
    if "pyarrow" in sys.modules:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def enable_freezing() -> None:
    """Freeze what the server holds now, and let :func:`collect_closed` keep doing so (`tspanel serve`).

    Why: a server holds a few hundred thousand long-lived objects (libraries, the data, caches:
    about 350,000 at 1M flags), and the full collection after every closed session walked them
    all: 0.3-0.5 s with the event loop blocked, landing in the middle of the next page's open.
    ``gc.freeze`` puts them out of the collector's sight, so that collection walks only what the
    sessions made (0.05-0.1 s, docs/performance.md). Off unless called: a process embedding the
    app (tests, notebooks) keeps Python's usual collector.
    """
    _freezing.enabled = True
    _freeze_survivors()


def disable_freezing() -> None:
    """Back to Python's usual collector (everything frozen becomes collectable again)."""
    _freezing.enabled, _freezing.at = False, None
    gc.unfreeze()


def thaw() -> None:
    """Let the collector see the frozen objects again until the next freeze.

    Called when the data is replaced: the old copy was frozen, and if it sits in a reference
    cycle only a collection that sees it can free it.
    """
    if _freezing.enabled:
        gc.unfreeze()
        _freezing.at = None


def _freeze_survivors() -> None:
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _freezing.at = time.monotonic()


def collect_closed(live_sessions: int, every: float = REFREEZE_SECONDS) -> None:
    """The collection after a session closed: frees the session (a web of reference cycles).

    With freezing on, and no session open, the frozen set is rebuilt when it is older than
    ``every`` seconds or was thawed: a full collection first, so that long-lived objects that
    died meanwhile (replaced caches) are freed, then everything left is the process's own.
    A session's objects are never frozen: they are only frozen while no session is open.
    """
    stale = _freezing.at is None or time.monotonic() - _freezing.at > every
    if _freezing.enabled and live_sessions == 0 and stale:
        _freeze_survivors()
    else:
        gc.collect()
