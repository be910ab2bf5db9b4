"""`jit`: compile a numeric loop with numba when it is installed, else leave it plain Python.

Why: the queue simulation's step loop and the forecast's smoothing recursion are scalar loops
that run hundreds of times per refresh (tspanel.queue_sim, tspanel.models.forecast). numba
compiles them without fast-math, so the compiled loop does the same IEEE float operations in
the same order as the Python one and the results are identical (tests/test_jit.py); only the
speed differs. numba is imported at the first call, not at import (it takes 0.1-0.3 s), and
`cache=True` keeps the machine code on disk: a fresh install compiles once (about a second).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def _compile(fn: Callable[..., Any]) -> Callable[..., Any]:
    try:
        from numba import njit
    except ImportError:  # pragma: no cover - numba is a declared dependency; plain Python still works
        return fn
    try:
        return njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # no writable cache directory (read-only install and home): compile per process
        return njit(nogil=True)(fn)


def jit(fn: F) -> F:
    """`fn` compiled by `numba.njit(cache=True, nogil=True)` at its first call; `.py_func` is `fn`."""
    compiled: list[Callable[..., Any]] = []

    @functools.wraps(fn)
    def call(*args: Any) -> Any:
        if not compiled:
            compiled.append(_compile(fn))
        return compiled[0](*args)

    call.py_func = fn  # type: ignore[attr-defined]
    call.compiled = compiled  # type: ignore[attr-defined]  # [the numba dispatcher] after the first call
    return call  # type: ignore[return-value]
