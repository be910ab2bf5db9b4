"""On SIGUSR1, append a memory report of this server process to $TSPANEL_MEMORY_REPORT (diagnosis).

Why: finding what a long-running server keeps after its sessions closed needs a look from
inside the process, between bursts of load (bench/bursts.py sends the signal). The report is
JSON per line: RSS, live objects per type after a full collection, and, when the process runs
with PYTHONTRACEMALLOC set, the allocation sites holding the most memory. Off unless the
variable is set; it names a file the operator chose, and holds no data values.
"""

from __future__ import annotations

import collections
import gc
import json
import os
import signal
import time
import tracemalloc
from typing import Any

REPORT_ENV = "TSPANEL_MEMORY_REPORT"


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
    held ~300 MB more than it used (docs/rollup.md, "Serving memory"). ``release_unused``
    and ``malloc_trim`` hand it back; each is skipped where absent.
    """
    gc.collect()
    import sys

    if "pyarrow" in sys.modules:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
