"""All processes stop together: SIGTERM/SIGINT to the main process stops every worker.

Why: with ``--num-procs N`` Tornado forks N workers and the main process only waits for them
(restarting any that dies by a signal). Killed by SIGTERM, the main process left its workers
serving on the port as orphans. Here the main process forwards the signal, waits for the
workers (killing any still there after ``GRACE_SECONDS``) and exits; each worker stops its
event loop on the signal and exits 0 (so it is not restarted), and asks Linux to send it
SIGTERM if the main process dies without forwarding (SIGKILL).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from typing import Any

import psutil

GRACE_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1


def install(stop_worker: Any, forks: bool) -> Any:
    """Handle SIGTERM and SIGINT; call before Panel forks. ``stop_worker()`` stops a worker's loop.

    The handler is inherited by the workers; it tells them apart from the main process by
    pid. Returned, so it can be put back after Panel installs its own SIGINT handler.
    """
    main_pid = os.getpid()
    # Children from before the fork (multiprocessing's resource tracker) are not workers: they
    # stop by themselves when this process exits, and killing them first spoils its cleanup.
    helpers = {child.pid for child in psutil.Process(main_pid).children()}

    def handler(signum: int, _frame: Any) -> None:
        if not forks or os.getpid() != main_pid:
            stop_worker()
            return
        children = [child for child in psutil.Process(main_pid).children() if child.pid not in helpers]
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs(children, timeout=GRACE_SECONDS)
        for child in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        psutil.wait_procs(alive, timeout=GRACE_SECONDS)
        print("tspanel: stopped", file=sys.stderr, flush=True)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return handler


def worker_started(main_pid: int) -> None:
    """In a forked worker: die with the main process even if it cannot forward a signal."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux/glibc: a forwarded signal still works
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != main_pid:  # the main process died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)
