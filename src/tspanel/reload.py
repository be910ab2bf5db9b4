"""Fresh data in a running server: a watcher that reloads a dataset directory when its files change.

A background thread re-fingerprints the directory (file names, sizes, mtimes; no data read)
every ``interval`` seconds. When the fingerprint changes it loads and validates the whole
dataset in that thread, off the server's event loop, and only then swaps it in: sessions never
see half-loaded data. Bad new data keeps the last good dataset serving; the problem is kept
in :attr:`DataWatcher.error` for a banner and logged, and the same bad files are not
re-loaded every interval (only a further change is tried).

Sessions subscribe with :meth:`DataWatcher.subscribe`. Callbacks run on the watcher's
thread, so a Panel session must hand the new dataset to its own document
(``doc.add_next_tick_callback``) rather than touch widgets from there; subscriptions are
weak, so a closed session is never kept alive by the watcher.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from tspanel.errors import TspanelError

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 60.0

Loader = Callable[[Path], Any]  # path -> tspanel.source.Dataset (raises TspanelError on bad data)
Fingerprint = Callable[[Path], Any]


@dataclass(frozen=True)
class Reload:
    """What a subscriber is told: the dataset that was serving, the new one, and when."""

    old: Any
    new: Any
    loaded_at: dt.datetime
    data_as_of: dt.datetime | dt.date


def data_as_of(dataset: Any) -> dt.datetime | dt.date:
    """The newest flag's time (created_at), else its day: the header's "data as of"."""
    if "created_at" in dataset.columns:
        newest = dataset.flags.select(pl.col("created_at").max()).collect().item()
        if newest is not None:
            return newest
    return dataset.last_day


def _default_loader(path: Path) -> Any:
    from tspanel.source import load_dataset

    return load_dataset(path)


def _default_fingerprint(path: Path) -> Any:
    from tspanel.source import dataset_fingerprint

    return dataset_fingerprint(path)


class DataWatcher:
    """The current dataset of a directory, reloaded in the background when its files change."""

    def __init__(
        self,
        path: str | Path,
        *,
        interval: float = DEFAULT_INTERVAL,
        dataset: Any = None,
        loader: Loader = _default_loader,
        fingerprint: Fingerprint = _default_fingerprint,
        label: str | None = None,
    ) -> None:
        """Load ``path`` now (errors raise, as at server start) unless ``dataset`` is given.

        ``label`` names the data in messages (a database URL, masked); default: the path.
        """
        if interval < 0:
            raise TspanelError(f"--reload-interval {interval:g}: use 0 (off) or a number of seconds")
        self.path = Path(path).expanduser().resolve()
        self.label = label or str(self.path)
        self.interval = float(interval)
        self._loader, self._fingerprint = loader, fingerprint
        self._lock = threading.Lock()  # one check at a time; guards the fields below
        self._seen = self._fingerprint(self.path)
        self._dataset = dataset if dataset is not None else self._loader(self.path)
        self.loaded_at = dt.datetime.now(dt.UTC)
        self.data_as_of = data_as_of(self._dataset)
        self.error: str | None = None  # the last bad reload, until a good one
        self.error_reason: str | None = None  # just the loader's reason, for a banner that words it itself
        self.reloads = 0
        self._subscribers: list[weakref.ref[Callable[[Reload], None]]] = []
        self._error_subscribers: list[weakref.ref[Callable[[str], None]]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- what sessions read ---------------------------------------------------------
    @property
    def dataset(self) -> Any:
        """The last good dataset: new sessions open on it."""
        return self._dataset

    def subscribe(self, callback: Callable[[Reload], None]) -> Callable[[], None]:
        """Call ``callback(Reload)`` after each successful reload; returns an unsubscribe function.

        Held weakly (bound methods through WeakMethod): keep a reference to ``callback`` for as
        long as it should be called, e.g. as a method of the session object.
        """
        return self._add(self._subscribers, callback)

    def on_error(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call ``callback(message)`` when new data is rejected (held weakly, like subscribe)."""
        return self._add(self._error_subscribers, callback)

    # --- the work -------------------------------------------------------------------
    def check(self) -> bool:
        """One poll: reload if the files changed; True when a new dataset was swapped in."""
        with self._lock:
            seen = self._fingerprint(self.path)
            if seen == self._seen:
                return False
            self._seen = seen  # tried once: the same bad files are not re-loaded every interval
            try:
                new = self._loader(self.path)
            except TspanelError as exc:
                self.error_reason = str(exc)
                self.error = (
                    f"new data in {self.label} was rejected; still serving the data loaded at "
                    f"{self.loaded_at:%Y-%m-%d %H:%M:%S} UTC: {exc}"
                )
                rejected: tuple[str, list[Callable[..., None]]] | None = (
                    self.error,
                    self._alive(self._error_subscribers),
                )
            else:
                rejected = None
                old, self._dataset = self._dataset, new
                self.loaded_at = dt.datetime.now(dt.UTC)
                self.data_as_of = data_as_of(new)
                self.error = self.error_reason = None
                self.reloads += 1
                event = Reload(old, new, self.loaded_at, self.data_as_of)
                callbacks = self._alive(self._subscribers)
        if rejected is not None:  # callbacks run outside the lock: they may read the watcher
            message, errors = rejected
            log.warning("%s", message)
            for callback in errors:
                self._safely(callback, message)
            return False
        log.info("reloaded %s: %s flags, data as of %s", self.label, f"{new.n_flags:,}", event.data_as_of)
        for callback in callbacks:
            self._safely(callback, event)
        self._forget_results(old)
        return True

    def start(self) -> DataWatcher:
        """Poll every ``interval`` seconds in a daemon thread (interval 0: never)."""
        if self.interval > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tspanel-reload", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # a bug here must not end reloading for the server's lifetime
                log.exception("data reload check failed")

    # --- helpers --------------------------------------------------------------------
    def _add(self, registry: list[weakref.ref[Any]], callback: Callable[..., None]) -> Callable[[], None]:
        ref: weakref.ref[Any] = (
            weakref.WeakMethod(callback) if hasattr(callback, "__self__") else weakref.ref(callback)  # type: ignore[arg-type]
        )
        with self._lock:
            registry.append(ref)

        def unsubscribe() -> None:
            with self._lock:
                if ref in registry:
                    registry.remove(ref)

        return unsubscribe

    @staticmethod
    def _alive(registry: list[weakref.ref[Any]]) -> list[Callable[..., None]]:
        """The live callbacks; dead references (closed sessions) are dropped."""
        alive = [(ref, ref()) for ref in registry]
        registry[:] = [ref for ref, fn in alive if fn is not None]
        return [fn for _, fn in alive if fn is not None]

    @staticmethod
    def _safely(callback: Callable[..., None], *args: Any) -> None:
        try:
            callback(*args)
        except Exception:  # one broken session must not stop the others being refreshed
            log.exception("a reload subscriber failed")

    @staticmethod
    def _forget_results(old: Any) -> None:
        """Drop the old data's entries from the shared result cache now, not at its garbage collection."""
        from tspanel.models.cache import RESULTS, dataset_token

        token = dataset_token(old)
        RESULTS.discard(lambda key: isinstance(key, tuple) and bool(key) and key[0] == token)
