"""Per-filter results shared by every session of the process, in a small thread-safe LRU.

Keys are plain values: a token for the dataset object, ``Filters.key()``, the models'
parameters and the requested outputs. Never a LazyFrame: ``pn.cache`` hashes a LazyFrame
by running it, which costs as much as the query it is meant to save.

Sessions asking for the same key at the same time share one computation (the others wait
for it) instead of running the same refresh side by side on a 2-core server.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any, TypeVar

import polars as pl

T = TypeVar("T")

CACHE_SIZE_ENV = "TSPANEL_RESULT_CACHE_SIZE"
DEFAULT_MAX_ENTRIES = 64  # a full refresh is ~100-300 kB of small frames: ~20 MB at most


class ResultCache:
    """A bounded least-recently-used mapping with one computation per key at a time."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 0:
            raise ValueError(f"max_entries must be >= 0 (got {max_entries})")
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._running: dict[Hashable, Future[Any]] = {}
        self._discards: queue.SimpleQueue[Callable[[Hashable], bool]] = queue.SimpleQueue()

    def __len__(self) -> int:
        self._apply_discards()
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        self._apply_discards()
        with self._lock:
            return key in self._entries

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value for ``key``, computing it once if absent (callers wait for a running one)."""
        self._apply_discards()
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key]
            running = self._running.get(key)
            if running is None:
                self.misses += 1
                future: Future[Any] = Future()
                self._running[key] = future
        if running is not None:
            return running.result()
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                del self._running[key]
            future.set_exception(exc)
            raise
        with self._lock:
            del self._running[key]
            if self.max_entries:
                self._entries[key] = value
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        future.set_result(value)
        return value

    def discard(self, predicate: Callable[[Hashable], bool]) -> int:
        """Drop the entries whose key matches; returns how many went."""
        self.discard_later(predicate)
        return self._apply_discards()

    def discard_later(self, predicate: Callable[[Hashable], bool]) -> None:
        """Drop the matching entries at the cache's next use; safe from a finalizer.

        A garbage collection can run a finalizer in the middle of any code, including this
        cache's own, with its lock held by the same thread: taking the lock there would
        deadlock (it did, in a test run). ``SimpleQueue.put`` is safe to call from there.
        """
        self._discards.put(predicate)

    def _apply_discards(self) -> int:
        """Carry out the queued discards; returns how many entries went."""
        gone = 0
        while True:
            try:
                predicate = self._discards.get_nowait()
            except queue.Empty:
                return gone
            with self._lock:
                for key in [key for key in self._entries if predicate(key)]:
                    del self._entries[key]
                    gone += 1

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


def _size_from_env() -> int:
    text = os.environ.get(CACHE_SIZE_ENV, "").strip()
    try:
        return max(int(text), 0) if text else DEFAULT_MAX_ENTRIES
    except ValueError:
        return DEFAULT_MAX_ENTRIES


RESULTS = ResultCache(_size_from_env())
"""The process-wide cache behind Dashboard.refresh() (size: $TSPANEL_RESULT_CACHE_SIZE, 0 disables it)."""

_tokens: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
_counter = itertools.count(1)
_tokens_lock = threading.Lock()


def dataset_token(dataset: Any) -> int:
    """A number naming this dataset object for as long as it lives; never reused.

    A reloaded dataset (its files changed) is a new object with a new token, so results of
    the old data are never served for the new; they are dropped when the old object goes.
    """
    with _tokens_lock:
        token = _tokens.get(dataset)
        if token is None:
            token = _tokens[dataset] = next(_counter)
            weakref.finalize(dataset, RESULTS.discard_later, lambda key, t=token: _token_of(key) == t)
        return token


def _token_of(key: Hashable) -> Any:
    return key[0] if isinstance(key, tuple) and key else None


def plain(value: Any) -> Hashable:
    """A hashable stand-in for a parameter value (lists become tuples)."""
    if isinstance(value, list | tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), plain(v)) for k, v in value.items()))
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def fresh_containers(value: T) -> T:
    """A copy of the dicts and lists around cached frames, so a caller editing its result
    cannot change what other sessions receive (Polars frames are not modified in place)."""
    if isinstance(value, dict):
        return {k: fresh_containers(v) for k, v in value.items()}  # type: ignore[return-value]
    if isinstance(value, list):
        return [fresh_containers(v) for v in value]  # type: ignore[return-value]
    if isinstance(value, pl.DataFrame):
        return value.clone()  # type: ignore[return-value]  # shares the buffers: cheap
    return value
