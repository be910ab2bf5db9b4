"""tspanel.reload.DataWatcher on real files: appended parts, rewritten CSVs, corrupt data, the thread."""

from __future__ import annotations

import datetime as dt
import gc
import threading
import weakref
from pathlib import Path

import polars as pl
import pytest

from tspanel.models.cache import RESULTS, dataset_token
from tspanel.models.dashboard import Dashboard
from tspanel.reload import DataWatcher, Reload
from tspanel.synth import WorldConfig, write_world

CONFIG = WorldConfig(days=30, flags=3000)
LAST_DAY = CONFIG.end  # 2026-09-22


@pytest.fixture
def data(tmp_path: Path) -> Path:
    out = tmp_path / "data"
    write_world(CONFIG, out, "parquet")
    return out


def append_day(data: Path, name: str = "part-00001.parquet") -> int:
    """A new part file holding a copy of the last day's flags, one day later; returns its rows."""
    flags = pl.read_parquet(data / "flags")
    last = flags.filter(pl.col("date") == flags["date"].max())
    by = pl.duration(days=1)
    day = last.with_columns(
        pl.col("date", "created_at", "assigned_at", "resolved_at") + by,
        ("N" + pl.col("flag_id")).alias("flag_id"),
    )
    day.write_parquet(data / "flags" / name)
    return day.height


class Recorder:
    """A subscriber, as a session would be: a bound method on an object the session owns."""

    def __init__(self) -> None:
        self.events: list[Reload] = []
        self.errors: list[str] = []
        self.called = threading.Event()

    def reloaded(self, event: Reload) -> None:
        self.events.append(event)
        self.called.set()

    def rejected(self, message: str) -> None:
        self.errors.append(message)


def test_an_appended_part_is_loaded_and_subscribers_are_told(data):
    watcher = DataWatcher(data)
    before = watcher.dataset
    assert before.last_day == LAST_DAY
    recorder = Recorder()
    watcher.subscribe(recorder.reloaded)

    assert watcher.check() is False  # nothing changed: nothing loaded
    added = append_day(data)
    assert watcher.check() is True
    after = watcher.dataset
    assert after.n_flags == before.n_flags + added
    assert after.last_day == LAST_DAY + dt.timedelta(days=1)
    assert watcher.data_as_of.date() == LAST_DAY + dt.timedelta(days=1)  # the newest created_at
    (event,) = recorder.events
    assert (event.old, event.new) == (before, after)
    assert event.loaded_at == watcher.loaded_at
    assert watcher.check() is False


def test_a_rewritten_csv_is_reloaded(tmp_path):
    data = tmp_path / "csv"
    write_world(CONFIG, data, "csv")
    watcher = DataWatcher(data)
    n = watcher.dataset.n_flags
    flags = pl.read_csv(data / "flags.csv", try_parse_dates=True)
    flags.head(1000).write_csv(data / "flags.csv")
    assert watcher.check() is True
    assert n > 1000
    assert watcher.dataset.n_flags == 1000


def test_a_corrupt_part_keeps_the_last_good_data_and_says_why(data):
    watcher = DataWatcher(data)
    good = watcher.dataset
    recorder = Recorder()
    watcher.subscribe(recorder.reloaded)
    watcher.on_error(recorder.rejected)

    (data / "flags" / "part-00002.parquet").write_bytes(b"this is not parquet")
    assert watcher.check() is False
    assert watcher.dataset is good
    assert recorder.events == []
    (message,) = recorder.errors
    assert message == watcher.error
    assert "was rejected; still serving the data loaded at" in message
    assert "part-00002.parquet" in message

    assert watcher.check() is False  # the same bad files are not loaded again every interval
    assert len(recorder.errors) == 1

    (data / "flags" / "part-00002.parquet").unlink()
    append_day(data)
    assert watcher.check() is True
    assert watcher.error is None
    assert len(recorder.events) == 1


def test_the_background_thread_reloads_within_the_interval(data):
    watcher = DataWatcher(data, interval=0.2)
    recorder = Recorder()
    watcher.subscribe(recorder.reloaded)
    watcher.start()
    try:
        append_day(data)
        assert recorder.called.wait(30), "no reload within 30 s at a 0.2 s interval"
        assert watcher.dataset.last_day == LAST_DAY + dt.timedelta(days=1)
        assert watcher.reloads == 1
    finally:
        watcher.stop()


def test_interval_0_disables_polling(data):
    watcher = DataWatcher(data, interval=0).start()
    assert watcher._thread is None
    append_day(data)
    assert watcher.dataset.last_day == LAST_DAY  # only an explicit check() would load it
    watcher.stop()


def test_closed_sessions_are_not_kept_and_old_data_is_freed(data):
    watcher = DataWatcher(data)
    recorder = Recorder()
    watcher.subscribe(recorder.reloaded)
    gone = weakref.ref(recorder)
    del recorder  # the session closed
    first = watcher.dataset
    Dashboard(first).refresh(only={"kpis": ["current"]})  # something cached for the old data
    token = dataset_token(first)
    old = weakref.ref(first)
    del first
    append_day(data)
    assert watcher.check() is True
    gc.collect()
    assert gone() is None  # the watcher held it weakly
    assert watcher._subscribers == []
    assert old() is None  # nothing keeps the previous dataset alive: memory stays bounded
    assert not any(isinstance(key, tuple) and key and key[0] == token for key in list(RESULTS._entries))


def test_unsubscribe(data):
    watcher = DataWatcher(data)
    recorder = Recorder()
    unsubscribe = watcher.subscribe(recorder.reloaded)
    unsubscribe()
    append_day(data)
    assert watcher.check() is True
    assert recorder.events == []


def test_a_failing_subscriber_does_not_stop_the_others(data, caplog):
    watcher = DataWatcher(data)
    recorder = Recorder()

    class Broken:
        def reloaded(self, event: Reload) -> None:
            raise RuntimeError("session gone wrong")

    broken = Broken()
    watcher.subscribe(broken.reloaded)
    watcher.subscribe(recorder.reloaded)
    append_day(data)
    assert watcher.check() is True
    assert len(recorder.events) == 1
    assert "a reload subscriber failed" in caplog.text
