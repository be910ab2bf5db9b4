"""`jit`: compile a numeric loop with numba when it is installed, else leave it plain Python.

Why: the queue simulation's step loop and the forecast's smoothing recursion are scalar loops
that run hundreds of times per refresh (tspanel.queue_sim, tspanel.models.forecast). numba
compiles them without fast-math, so the compiled loop does the same IEEE float operations in
the same order as the Python one and the results are identical (tests/test_jit.py); only the
speed differs. `cache=True` keeps the machine code on disk: a process compiles once per install.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

try:
    from numba import njit
except ImportError:  # pragma: no cover - numba is a declared dependency; plain Python still works
    njit = None


def jit(fn: F) -> F:
    """`numba.njit(cache=True, nogil=True)` if numba imports, else `fn` itself."""
    if njit is None:  # pragma: no cover
        return fn
    return njit(cache=True, nogil=True)(fn)
