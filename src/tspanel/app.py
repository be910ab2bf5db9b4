"""The Panel app: a factory that builds one session per browser tab.

``tspanel serve`` hands :func:`create_app` to ``pn.serve``; ``panel serve
src/tspanel/app.py`` works too (set TSPANEL_DATA to serve a dataset directory).
The dataset is loaded once per process and shared by every session; each session
gets its own Filters, Dashboard and views.
"""

from __future__ import annotations

import asyncio
import logging
import os
from functools import partial
from typing import Any

import panel as pn

DATA_ENV = "TSPANEL_DATA"
_log = logging.getLogger("tspanel.serve")

pn.extension(notifications=False)


_last_good: dict[str, Any] = {}
"""The last dataset each path loaded: at most one per data directory served (issue 18)."""
_live: dict[str, int] = {"sessions": 0}
"""Sessions of this process open now (the collector freezes only with none open)."""


def _keep_good(key: str, dataset: Any) -> None:
    """Remember ``dataset`` as ``key``'s last good data; a replaced one is thawed so it can be freed."""
    from tspanel.serving import memory

    if _last_good.get(key) not in (None, dataset):
        memory.thaw()
    _last_good[key] = dataset


def shared_dataset(path: str | os.PathLike[str] | None = None) -> Any:
    """The process-wide dataset: ``path``, else $TSPANEL_DATA, else the built-in world (all cached).

    Each call re-checks the files (a changed dataset is reloaded). When that check fails
    after a good load (the directory was moved, made unreadable, or a file is being
    rewritten), the data already in memory is kept and a warning logged: a failed check must
    not blank every new page. Only a first load's failure reaches the caller.
    """
    from tspanel import source
    from tspanel.errors import TspanelError
    from tspanel.rollup import sources

    path = path or os.environ.get(DATA_ENV) or None
    if path is None:
        return source.default_world()
    key = os.fspath(path)
    try:
        dataset = sources.load_source_cached(path)
    except (TspanelError, OSError) as exc:
        good = _last_good.get(key)
        if good is None:
            raise
        _log.warning("re-checking the data at %s failed (%s); serving the data loaded before", key, exc)
        return good
    _keep_good(key, dataset)
    return dataset


def create_app(dataset: Any = None, watcher: Any = None) -> Any:
    """One session's page: its filters come from the URL the browser asked for.

    With a ``watcher`` (tspanel.reload.DataWatcher, `tspanel serve --reload-interval`) the
    session opens on its current data and follows every reload in place (tspanel.ui.live).
    """
    from tspanel.ui.charts import in_server_session
    from tspanel.ui.session import DashboardSession

    if watcher is not None:
        dataset = watcher.dataset
    dataset = dataset if dataset is not None else shared_dataset()
    query = pn.state.session_args if pn.state.curdoc is not None else None
    session = DashboardSession(dataset, query=query)
    if in_server_session():
        _unbind_busy(session.page)
        _live["sessions"] += 1
        pn.state.on_session_destroyed(partial(_release_session, session.page))
        _add_logout(session.page)
        if watcher is not None:
            from tspanel.ui.live import LiveData

            LiveData(session, watcher, pn.state.curdoc)
    return session.page


def warm_up(dataset: Any) -> None:
    """Build the landing page once, off any browser, before the first visitor comes.

    The first session of a process paid for everything done once: the landing view's queries
    (then in the shared result cache), the needs-attention items, the first HoloViews and
    Bokeh plots of each kind, the compiled staffing simulation. At 10M flags served from
    PostgreSQL that made the first page open ~1.2 s slower than the next (docs/performance.md).
    The page is built into a throwaway document and dropped; only the caches stay.
    """
    from bokeh.document import Document

    from tspanel.ui.session import DashboardSession

    page = DashboardSession(dataset).page
    root = page.get_root(Document())
    page._cleanup(root)  # what closing a served session does (Viewable._server_destroy) ...
    pn.state._views.pop(root.ref["id"], None)  # ... including leaving pn.state's registry of pages
    _drop_process_references(page)


def watch_dataset(path: str, interval: float) -> Any:
    """The process's DataWatcher for ``path``, started; its reloads also become the last good dataset.

    Loaded through the same per-process cache as :func:`shared_dataset`, so the process holds
    one copy of the current data, not one per mechanism.
    """
    from tspanel.errors import TspanelError
    from tspanel.reload import DataWatcher
    from tspanel.rollup import sources

    key = os.fspath(path)
    label = sources.describe(key) if sources.is_database_url(key) else None  # a password is never shown

    def load(_resolved: Any) -> Any:
        try:  # bad data raises: the watcher keeps the last good dataset and says why
            dataset = sources.load_source_cached(key)
        except OSError as exc:  # unreadable files: the same, not a traceback in the log
            raise TspanelError(f"{label}: cannot read the data ({exc.strerror or exc})") from None
        _keep_good(key, dataset)
        return dataset

    def fingerprint(_resolved: Any) -> Any:
        try:
            return sources.source_fingerprint(key)
        except (TspanelError, OSError) as exc:  # an unreachable database: a change, so the load reports it
            return ("unreadable", str(exc))

    return DataWatcher(
        key, interval=interval, dataset=shared_dataset(key), loader=load, fingerprint=fingerprint, label=label
    ).start()


def _add_logout(page: Any) -> None:
    """A logout link in the page header when `tspanel serve` requires a login (issue 18)."""
    from tspanel.serving.logins import LOGOUT_URL

    if LOGOUT_URL is not None:
        link = pn.pane.HTML(
            f'<a href="{LOGOUT_URL}" class="ts-logout" style="color: white">Log out</a>', margin=(0, 16)
        )
        page.header = [*page.header, link]


def _unbind_busy(page: Any) -> None:
    """Detach the page's busy bar from the process-wide ``pn.state.busy``.

    panel-material-ui's ``Page`` binds its ``busy`` parameter to ``pn.state.busy``, which is
    True while ANY session of the process runs a callback: every page received two messages
    (busy on, busy off) for every callback of every other session, and the bar showed other
    users' work. The binding is a watcher on ``pn.state`` that is never removed, so it also
    kept every page ever served alive. A slow refresh shows its own loading overlays instead.
    """
    private = page._param__private
    for entry in list(private.ref_watchers):
        watcher = entry[1]
        if watcher.inst is pn.state:
            pn.state.param.unwatch(watcher)
            private.ref_watchers.remove(entry)


def _drop_process_references(page: Any) -> None:
    """Cut the process-wide references that would keep a page's session alive once it is gone.

    * The page's binding to ``pn.state.busy`` (see :func:`_unbind_busy`), if still there.
    * HoloViews caches resolved plot options per element tree in ``Store._lookup_cache``;
      the cached options hold the charts' hooks, and through them each session's Filters
      and Dashboard. The cache is only reset when options are *set*, so lookups made while
      a session renders pile up across sessions. Clearing it costs one re-lookup per element.
    """
    import holoviews as hv

    _unbind_busy(page)
    for cache in hv.Store._lookup_cache.values():
        cache.clear()


def _release_session(page: Any, _context: Any) -> None:
    """A closed session: its process-wide references cut, its memory freed and handed back soon."""
    _drop_process_references(page)
    _live["sessions"] = max(0, _live["sessions"] - 1)
    loop = asyncio.get_event_loop()
    loop.call_later(2.0, _return_freed_memory)


def _return_freed_memory() -> None:
    """Free a closed session now, and give the memory back to the operating system.

    A session is a web of reference cycles (widgets, watchers, plots), so only the cyclic
    garbage collector frees it; left to its thresholds, the full collection that reaches
    long-lived objects runs rarely in a server holding millions of them, and closed
    sessions would pile up. glibc's allocator then keeps the freed blocks in per-thread
    arenas (refreshes run on worker threads); ``malloc_trim`` hands them back. Elsewhere
    than glibc it is absent and only the collection is done. Under `tspanel serve` the
    collection skips the process's long-lived objects (tspanel.serving.memory.collect_closed).
    """
    from tspanel.serving import memory

    memory.collect_closed(_live["sessions"])
    memory.hand_back()


if __name__.startswith("bokeh_app"):  # `panel serve src/tspanel/app.py`
    create_app().servable(title="tspanel")
