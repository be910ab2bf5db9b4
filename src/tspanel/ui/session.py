"""One browser session: its Filters, its Dashboard, the views, the URL, and the refresh loop.

Every filter change (a widget, a brush, a click, a chip, the back button) lands in the
shared Filters. The session then marks the charts as loading, waits a moment for more
changes (debounce), runs ONE ``Dashboard.refresh()`` on a worker thread so the page and
the server's event loop stay responsive, and sends the results to the existing plots.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import panel as pn
import panel_material_ui as pmu
import param
from panel.viewable import Viewer

from tspanel.models.dashboard import Dashboard
from tspanel.models.filters import LIST_FILTERS, Filters
from tspanel.ui.attacks import attacks_tab
from tspanel.ui.charts import in_server_session
from tspanel.ui.choices import choices_for
from tspanel.ui.classifier import ClassifierTab
from tspanel.ui.history import UrlHistory
from tspanel.ui.kpis import KpiStrip
from tspanel.ui.queue import QueueTab
from tspanel.ui.selection import Selection
from tspanel.ui.sidebar import ActiveFilters, FilterControls
from tspanel.ui.text import esc, fmt_count
from tspanel.ui.url import filters_from_query, query_from_filters
from tspanel.ui.volume import VolumeTab

DEBOUNCE_SECONDS = 0.15
TITLE = "Trust & Safety Operations"
TAB_NAMES: tuple[str, ...] = (
    "Flag Volume & Trends",
    "Classifier Health",
    "Reviewer Queue",
    "Attack Detection & Summary",
)
FILTER_PARAMS: tuple[str, ...] = ("start", "end", *LIST_FILTERS)

HEADER_CSS = """
.ts-dataset { font-size: 13px; opacity: .85; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
"""
MAIN_CSS = """
.ts-section { font-size: 12px; text-transform: uppercase; letter-spacing: .08em; opacity: .6; margin: 4px 0 0 6px; }
"""


class DashboardSession(Viewer):
    """Everything one browser tab sees; ``page`` is what the server sends."""

    refreshes = param.Integer(default=0, doc="completed refreshes after the first render (for tests and logs)")

    def __init__(self, dataset: Any, query: str | Mapping[str, Any] | None = None, **params: Any):
        super().__init__(**params)
        self.dataset = dataset
        self.choices = choices_for(dataset)
        initial = filters_from_query(query or {}, self.choices, dataset.first_day, dataset.last_day)
        self.filters = Filters(**initial)
        self.dashboard = Dashboard(dataset, self.filters)
        self.selection = Selection(self.filters, self.choices, dataset.first_day, dataset.last_day)
        result = self.dashboard.refresh()
        self._generation = 0

        self.kpis = KpiStrip(dataset.first_day, result["kpis"])
        self.volume = VolumeTab(self.choices, self.selection, result["volume"])
        self.classifier = ClassifierTab(self.choices, self.selection, result["classifier"])
        self.queue = QueueTab(self.choices, self.selection, result["queue"])
        self.attacks: Any = None  # built when its tab is first opened: detection runs every method
        self.controls = FilterControls(self.filters, self.choices, dataset.first_day, dataset.last_day)
        self.active = ActiveFilters(self.filters, self.choices)
        self.history = UrlHistory(search=query_from_filters(self.filters), margin=0, width=0, height=0)
        self.history.param.watch(self._from_url, "search")
        self.filters.param.watch(self._filters_changed, list(FILTER_PARAMS))
        # Hidden tabs hold a placeholder until first opened, so a new page renders six charts,
        # not thirteen plus every detector; once opened a tab stays rendered (switching is instant).
        self._holders = [pn.Column(_progress(), sizing_mode="stretch_width", min_height=200) for _ in TAB_NAMES[1:]]
        self.tabs = pmu.Tabs(
            (TAB_NAMES[0], self.volume),
            *zip(TAB_NAMES[1:], self._holders, strict=True),
            sizing_mode="stretch_width",
            css_classes=["ts-tabs"],
        )
        self._unbuilt: dict[int, Callable[[], Any]] = {
            1: lambda: self.classifier,
            2: lambda: self.queue,
            3: self._build_attacks,
        }
        # Views of hidden tabs take a refresh when their tab is opened (see _apply).
        self._views: dict[str, Any] = {"volume": self.volume, "classifier": self.classifier, "queue": self.queue}
        self._pending: dict[str, dict[str, Any]] = {}
        self.tabs.param.watch(self._tab_opened, "active")
        self.page = self._page()

    # --- layout -------------------------------------------------------------------
    def _page(self) -> pmu.Page:
        ds = self.dataset
        about = pn.pane.HTML(
            f'<div class="ts-dataset" title="{esc(ds.name)}">{esc(ds.name)} · {ds.first_day} → {ds.last_day} · '
            f"{fmt_count(ds.n_flags)} flags</div>",
            stylesheets=[HEADER_CSS],
            margin=(0, 16),
            styles={"color": "white"},
        )
        sidebar = [
            pn.pane.HTML('<div class="ts-section">Filters</div>', stylesheets=[MAIN_CSS]),
            self.controls,
        ]
        main = [
            self.history,
            self.active,
            self.kpis,
            self.tabs,
        ]
        return pmu.Page(
            title=TITLE,
            header=[about],
            sidebar=sidebar,
            main=main,
            sidebar_width=310,
            theme_toggle=True,
            meta_description="Trust & Safety operations dashboard: flag volume, classifier drift, reviewer queue",
        )

    @property
    def cards(self) -> list[Any]:
        """Every chart card a refresh recomputes (they show a loading overlay while it runs)."""
        return [*self.volume.cards, *self.classifier.cards, *self.queue.cards]

    # --- filters -> URL -> refresh ----------------------------------------------------
    def _from_url(self, event: param.parameterized.Event) -> None:
        """Back/forward in the browser: the restored query, checked, becomes the filters."""
        wanted = filters_from_query(event.new or "", self.choices, self.dataset.first_day, self.dataset.last_day)
        changed = {k: v for k, v in wanted.items() if getattr(self.filters, k) != v}
        if changed:
            self.filters.param.update(**changed)

    def _filters_changed(self, *events: param.parameterized.Event) -> None:
        self.history.search = query_from_filters(self.filters)
        self._generation += 1
        generation = self._generation
        self._set_loading(True)
        if not in_server_session():
            self._apply(generation, self.dashboard.refresh())
            return

        async def refresh_later() -> None:
            await asyncio.sleep(DEBOUNCE_SECONDS)
            if generation != self._generation:
                return  # a newer change is pending; it will refresh
            result = await asyncio.to_thread(self.dashboard.refresh)
            if generation == self._generation:
                pn.state.execute(lambda: self._apply(generation, result), schedule=True)

        pn.state.execute(refresh_later)

    def _set_loading(self, value: bool) -> None:
        with batched():
            self.kpis.loading = value
            for card in self.cards:
                card.loading = value

    def _apply(self, generation: int, result: dict[str, dict[str, Any]]) -> None:
        """Send one refresh's outputs to every view (newer refreshes win)."""
        if generation != self._generation:
            return
        with batched():
            self._send(result)
        self.refreshes += 1

    def _send(self, result: dict[str, dict[str, Any]]) -> None:
        self.kpis.update(result["kpis"])
        shown = self.open_tab
        for name, view in self._views.items():
            if name == shown:
                view.update(result[name])
                self._pending.pop(name, None)
            else:
                # Updating a hidden Bokeh plot whose bar count changes raises "Size mismatch" in
                # BokehJS (display: none), so hidden tabs keep the result until they are opened.
                self._pending[name] = result[name]
        self._set_loading(False)

    @property
    def open_tab(self) -> str | None:
        """The view shown in the open tab ('volume', 'classifier', 'queue'; None for attacks)."""
        names = list(self._views)
        return names[self.tabs.active] if self.tabs.active < len(names) else None

    def _tab_opened(self, *_: Any) -> None:
        index = self.tabs.active
        build = self._unbuilt.pop(index, None)
        if build is not None:
            holder = self._holders[index - 1]
            holder.objects = [build()]
            holder.min_height = None
        name = self.open_tab
        if name in self._pending:
            with batched():
                self._views[name].update(self._pending.pop(name))

    def _build_attacks(self) -> Any:
        self.attacks = attacks_tab(self.dataset, self.filters)
        return self.attacks

    def __panel__(self) -> Any:
        return self.page


def batched() -> Any:
    """Send a refresh's many model changes to the browser as one message, walking the page's models once.

    Without it Bokeh re-collects every model of the document (about a thousand) after each
    plot's update, which was half the server's time per refresh.
    """
    return pn.io.hold(freeze=True)


def _progress() -> Any:
    return pmu.LinearProgress(variant="indeterminate", sizing_mode="stretch_width")
