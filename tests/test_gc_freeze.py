"""The server's collector after closed sessions (tspanel.serving.memory): long-lived objects are
frozen out of its walk, sessions' objects never are, and replaced data is thawed so it can be freed."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from tspanel import app
from tspanel.serving import memory


class Node:
    """A reference cycle (as a session is one): only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def freezing() -> Iterator[None]:
    """Freezing on for the test, and off again after it: later tests rely on Python's usual collector."""
    sessions, good = dict(app._live), dict(app._last_good)
    memory.enable_freezing()
    try:
        yield
    finally:
        memory.disable_freezing()
        app._live.clear()
        app._live.update(sessions)
        app._last_good.clear()
        app._last_good.update(good)


def test_a_frozen_cycle_outlives_collections_until_thawed() -> None:
    memory.disable_freezing()
    kept = Node()
    ref = weakref.ref(kept)
    memory.enable_freezing()  # kept is alive now: frozen with the rest
    del kept
    gc.collect()
    assert ref() is not None  # why replaced data must be thawed
    memory.thaw()
    gc.collect()
    assert ref() is None


def test_a_closed_session_is_collected_and_not_frozen_while_others_are_open() -> None:
    frozen = gc.get_freeze_count()
    assert frozen > 1000  # the test process's modules and objects
    session = Node()
    ref = weakref.ref(session)
    del session
    memory.collect_closed(live_sessions=2, every=0.0)
    assert ref() is None
    assert gc.get_freeze_count() == frozen  # no refreeze with sessions open


def test_with_no_session_open_the_frozen_set_is_rebuilt_when_old() -> None:
    memory.collect_closed(live_sessions=0)  # frozen just now: not rebuilt
    lived = Node()
    ref = weakref.ref(lived)
    memory.collect_closed(live_sessions=0, every=0.0)  # rebuilt: lived is alive, so frozen
    assert gc.get_freeze_count() > 1000
    del lived
    gc.collect()
    assert ref() is not None
    memory.thaw()
    memory.collect_closed(live_sessions=0)  # thawed: the next quiet moment rebuilds, freeing it first
    assert ref() is None
    assert gc.get_freeze_count() > 1000


def test_replacing_a_paths_data_thaws_but_keeping_it_does_not() -> None:
    first, second = Node(), Node()
    app._keep_good("/data/flags", first)
    memory.enable_freezing()
    app._keep_good("/data/flags", first)  # the same data checked again
    assert gc.get_freeze_count() > 1000
    app._keep_good("/data/flags", second)  # a reload: the old copy must become collectable
    assert gc.get_freeze_count() == 0
    assert app._last_good["/data/flags"] is second


def test_without_serve_nothing_is_frozen() -> None:
    memory.disable_freezing()
    memory.collect_closed(live_sessions=0, every=0.0)
    memory.thaw()
    assert gc.get_freeze_count() == 0
