"""One browser session: its Filters, its Dashboard, the views, the URL, and the refresh loop.

Every filter change (a widget, a brush, a click, a chip, the back button) lands in the
shared Filters. The session then computes only what is on screen: the KPI cards and the
OPEN tab, in one ``Dashboard.refresh(only={"kpis", tab})`` on a worker thread (after a
short debounce), and sends the results to the existing plots in one batch. Hidden tabs
are marked stale and computed when they are opened. A tab is built the first time it is
opened, its data computed off the event loop while a progress bar shows, so opening the
Attack Detection tab (every detector) never freezes this page or any other session's.

The URL holds the whole view (filters, open tab, detection method and threshold, KPI
period); back/forward restore it (see tspanel.ui.url and tspanel.ui.history).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import panel as pn
import panel_material_ui as pmu
import param
from panel.viewable import Viewer

from tspanel.detect.registry import DEFAULT_METHOD, METHODS
from tspanel.models.attacks import AttacksModel
from tspanel.models.attention import AttentionItem, AttentionModel
from tspanel.models.dashboard import Dashboard
from tspanel.models.filters import LIST_FILTERS, Filters
from tspanel.ui.attacks import attacks_tab
from tspanel.ui.attention import AttentionStrip
from tspanel.ui.charts import in_server_session, run_off_loop, when_slow
from tspanel.ui.choices import choices_for
from tspanel.ui.classifier import ClassifierTab
from tspanel.ui.flags import FlagsPanel
from tspanel.ui.history import UrlHistory
from tspanel.ui.html import HTML
from tspanel.ui.kpis import KpiStrip
from tspanel.ui.queue import QueueTab
from tspanel.ui.selection import Selection
from tspanel.ui.sidebar import ActiveFilters, FilterControls
from tspanel.ui.text import esc, fmt_count
from tspanel.ui.theme import draw_on_canvas, install_page_theme
from tspanel.ui.url import (
    TABS,
    VIEW_KEYS,
    ViewState,
    filters_from_query,
    period_days,
    query_from_view,
    view_from_query,
)
from tspanel.ui.volume import VolumeTab
from tspanel.vocab import dataset_label

LOG = logging.getLogger(__name__)
DEBOUNCE_SECONDS = 0.01  # coalesces one gesture's changes (a button group's value and active); a click waits no longer
TITLE = "Trust & Safety Operations"
TAB_NAMES: tuple[str, ...] = (
    "Flag Volume & Trends",
    "Classifier Health",
    "Reviewer Queue",
    "Attack Detection & Summary",
)
# Below 1280 px the four labels at Material's default size (14 px, 16 px padding) needed 774 px
# where a 1024 px screen leaves ~710 beside the sidebar: the last tab was cut ("ATTACK DETEC…")
# behind a scroll arrow. Slightly smaller labels and padding fit them from 1024 px up.
NARROW_TABS_SX: dict[str, Any] = {
    "@media (max-width: 1279.95px)": {"& .MuiTab-root": {"fontSize": "13px", "px": "10px", "minWidth": 0}},
}
# Tabs whose data is one Dashboard domain (the attacks tab runs its own detection model).
DOMAIN_TABS: tuple[str, ...] = ("volume", "classifier", "queue")
TAB_VIEWS: dict[str, Callable[..., Any]] = {"volume": VolumeTab, "classifier": ClassifierTab, "queue": QueueTab}
FILTER_PARAMS: tuple[str, ...] = ("start", "end", *LIST_FILTERS)
EMPTY_MESSAGE = "No flags match these filters."

HEADER_CSS = """
.ts-dataset { font-size: 13px; opacity: .85; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
"""
MAIN_CSS = """
.ts-section { font-size: 12px; text-transform: uppercase; letter-spacing: .08em; opacity: .6; margin: 4px 0 0 6px; }
"""
NOTICE_CSS = """
.ts-notice { font-size: 14px; padding: 8px 12px; border-radius: 8px; }
.ts-notice[data-kind="empty"] { background: rgba(211, 47, 47, .08); border: 1px solid rgba(211, 47, 47, .35); }
.ts-notice[data-kind="one-day"] { background: rgba(63, 81, 181, .06); border: 1px solid rgba(63, 81, 181, .25); }
"""


class DashboardSession(Viewer):
    """Everything one browser tab sees; ``page`` is what the server sends."""

    refreshes = param.Integer(default=0, doc="completed refreshes after the first render (for tests and logs)")

    def __init__(self, dataset: Any, query: str | Mapping[str, Any] | None = None, **params: Any):
        install_page_theme()  # before any component picks up its design's Bokeh theme
        draw_on_canvas()
        super().__init__(**params)
        self.dataset = dataset
        self.choices = choices_for(dataset)
        query = query or {}
        self.filters = Filters(**filters_from_query(query, self.choices, dataset.first_day, dataset.last_day))
        self.view = ViewState(**view_from_query(query))
        self.dashboard = Dashboard(dataset, self.filters)
        self.dashboard.kpis.period_days = period_days(self.view.period)
        self.selection = Selection(self.filters, self.choices, dataset.first_day, dataset.last_day)
        self._generation = 0  # bumped by every change of what is selected; older results are dropped
        self._stale: set[str] = set()  # built tabs whose data predates the filters
        self._pending: dict[str, tuple[int, dict[str, Any]]] = {}  # results kept for a tab hidden meanwhile
        self._building: set[str] = set()
        self._unapplied: set[int] = set()  # refreshes computing or waiting to be applied (their tickets)
        self._tickets = 0
        self._restoring = False
        self.views: dict[str, Any] = {}
        self.volume: Any = None
        self.classifier: Any = None
        self.queue: Any = None
        self.attacks: Any = None  # the attacks tab's content, built when first opened
        self.detection: DetectionControls | None = None  # its method and threshold widgets
        self._attack_filters: Filters | None = None

        landing = self.view.tab
        result = self.dashboard.refresh(only=self._domains(landing))
        self.kpis = KpiStrip(dataset.first_day, result["kpis"], period=self.view.period)
        self.notice_text = HTML("", stylesheets=[NOTICE_CSS], sizing_mode="stretch_width", margin=(4, 4))
        self.notice_reset = pmu.Button(
            label="Reset filters",
            icon="restart_alt",
            variant="contained",
            size="small",
            css_classes=["ts-notice-reset"],
            on_click=lambda _: self.filters.reset(),
        )
        self.notice = pn.Row(
            self.notice_text,
            self.notice_reset,
            visible=False,
            sizing_mode="stretch_width",
            css_classes=["ts-selection-notice"],
            align="center",
        )
        self._show_notice(result["kpis"]["selected"])
        self.controls = FilterControls(self.filters, self.choices, dataset.first_day, dataset.last_day)
        self.flags_panel = FlagsPanel(dataset, self.filters)
        self.selection.show_flags = self.flags_panel.show  # a drill-down click (a backlog bar) opens it
        self.active = ActiveFilters(self.filters, self.choices, show_flags=self.flags_panel.show)
        self.active.deferred = in_server_session()  # chips come with the refresh's batch (_apply)
        self.history = UrlHistory(search=self.query(), margin=0, width=0, height=0)
        self.attention = AttentionStrip(self.open_view)
        self._attention_generation = 0

        self._holders = {
            name: pn.Column(*_progress(name), sizing_mode="stretch_width", min_height=200) for name in TABS
        }
        if landing in DOMAIN_TABS:
            self._build(landing, result[landing])
        self.tabs = pmu.Tabs(
            *zip(TAB_NAMES, self._holders.values(), strict=True),
            active=TABS.index(landing),
            sizing_mode="stretch_width",
            css_classes=["ts-tabs"],
            sx=NARROW_TABS_SX,
        )
        self.history.param.watch(self._from_url, "search")
        self.filters.param.watch(self._filters_changed, list(FILTER_PARAMS))
        self.view.param.watch(self._view_changed, list(VIEW_KEYS))
        self.kpis.period.param.watch(lambda e: setattr(self.view, "period", e.new), "value")
        self.tabs.param.watch(lambda e: setattr(self.view, "tab", TABS[e.new]), "active")
        if landing == "attacks":
            # In a server, once the page is up: work scheduled while the session is still being
            # built was, now and then, never picked up (the tab kept its progress bar).
            if in_server_session():
                pn.state.onload(self._open_attacks)
            else:
                self._open_attacks()
        self.page = self._page()
        self._refresh_attention()

    # --- layout -------------------------------------------------------------------
    def _page(self) -> pmu.Page:
        ds = self.dataset
        name = dataset_label(ds.name)
        about = HTML(
            f'<div class="ts-dataset" title="{esc(name)}">{esc(name)} · {ds.first_day} → {ds.last_day} · '
            f"{fmt_count(ds.n_flags)} flags</div>",
            stylesheets=[HEADER_CSS],
            margin=(0, 16),
            styles={"color": "white"},
        )
        sidebar = [
            HTML('<div class="ts-section">Filters</div>', stylesheets=[MAIN_CSS]),
            self.controls,
        ]
        main = [self.history, self.attention, self.active, self.notice, self.kpis, self.flags_panel, self.tabs]
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
        """Every chart card of the tabs built so far (they show a loading overlay while a refresh runs)."""
        return [card for view in self.views.values() for card in view.cards]

    @property
    def open_tab(self) -> str:
        """The key of the open tab: 'volume', 'classifier', 'queue' or 'attacks'."""
        return self.view.tab

    def query(self) -> str:
        """The URL query of the whole view (what the address bar shows)."""
        return query_from_view(self.filters, self.view)

    # --- the URL ----------------------------------------------------------------------
    def open_view(self, query: str) -> None:
        """Show the view a query describes (tab and filters), as a link or the back button would."""
        # The checked form (what _from_url would write back), so the browser gets one history entry.
        first, last = self.dataset.first_day, self.dataset.last_day
        checked = Filters(**filters_from_query(query, self.choices, first, last))
        self.history.search = query_from_view(checked, ViewState(**view_from_query(query)))  # -> _from_url

    def _push_url(self) -> None:
        if not self._restoring:
            self.history.search = self.query()

    def _from_url(self, event: param.parameterized.Event) -> None:
        """Back/forward in the browser: the restored query, checked, becomes the view and the filters."""
        query = event.new or ""
        wanted = filters_from_query(query, self.choices, self.dataset.first_day, self.dataset.last_day)
        view = view_from_query(query)
        self._restoring = True
        try:
            changed_view = {k: v for k, v in view.items() if getattr(self.view, k) != v}
            if changed_view:
                self.view.param.update(**changed_view)
            changed = {k: v for k, v in wanted.items() if getattr(self.filters, k) != v}
            if changed:
                self.filters.param.update(**changed)
        finally:
            self._restoring = False
        self.history.search = self.query()  # the checked form (unknown values dropped)

    def _view_changed(self, *events: param.parameterized.Event) -> None:
        names = {e.name for e in events}
        self._push_url()
        if "period" in names:
            self.kpis.period.value = self.view.period
            self.dashboard.kpis.period_days = period_days(self.view.period)
            self._generation += 1
            open_domain = self.open_tab if self.open_tab in self._stale else None
            self._refresh(self._domains(open_domain))
        if names & {"method", "threshold"}:
            self._view_to_detection()
        if "tab" in names:
            index = TABS.index(self.view.tab)
            if self.tabs.active != index:
                self.tabs.active = index
            self._open(self.view.tab)

    # --- filters -> refresh of what is visible ------------------------------------------
    def _filters_changed(self, *events: param.parameterized.Event) -> None:
        self._push_url()
        self._attention_generation += 1  # the attention items come with this refresh's batch
        self._generation += 1
        self._pending.clear()
        self._stale |= set(self.views)
        if self.attacks is not None:
            self._stale.add("attacks")
        if self.open_tab == "attacks":
            self._sync_attack_filters()
        self._refresh(self._domains(self.open_tab), debounce=True, attention=True)

    @staticmethod
    def _domains(tab: str | None) -> set[str]:
        """What a refresh computes: the KPI cards, and the open tab's domain when it has one."""
        return {"kpis", tab} if tab in DOMAIN_TABS else {"kpis"}

    def _refresh(self, domains: Collection[str], debounce: bool = False, attention: bool = False) -> None:
        """Compute ``domains`` in one batch off the event loop, then apply (newer changes win).

        With ``attention`` the needs-attention items are computed alongside (on a second worker
        thread): in the refresh's batch when they are ready by then, else in their own batch
        right after it, so the charts never wait for them (at 42k flags the items took 30 ms to
        the refresh's 7 ms, and the charts' update ran after both).
        """
        generation = self._generation
        domains = frozenset(domains)
        items = self._attention_items(self.filters.derive()) if attention else None
        if not in_server_session():
            result = self.dashboard.refresh(only=domains)
            self._apply(generation, result, attention=items() if items is not None else None)
            return
        self._tickets += 1
        ticket = self._tickets
        self._unapplied.add(ticket)

        async def refresh_later() -> None:
            try:
                if debounce:
                    await asyncio.sleep(DEBOUNCE_SECONDS)
                if generation != self._generation:
                    self._unapplied.discard(ticket)
                    return  # a newer change is pending; it will refresh
                found = asyncio.ensure_future(asyncio.to_thread(items)) if items is not None else None
                result = await asyncio.to_thread(self.dashboard.refresh, domains)
            except BaseException:
                self._unapplied.discard(ticket)
                pn.state.execute(self.active.flush, schedule=True)
                raise
            if generation != self._generation:
                self._unapplied.discard(ticket)
                return
            ready = found is not None and found.done()
            shown = found.result() if ready else None
            pn.state.execute(lambda: self._apply(generation, result, ticket, shown), schedule=True)
            if found is not None and not ready:
                late = await found
                if late is not None:
                    pn.state.execute(lambda: self._show_attention(generation, late), schedule=True)

        when_slow(
            lambda: ticket in self._unapplied and generation == self._generation,
            lambda: self._set_loading(domains, True),
        )
        pn.state.execute(refresh_later)

    def _set_loading(self, domains: Collection[str], value: bool) -> None:
        with batched():
            if "kpis" in domains:
                self.kpis.loading = value
            for name in domains:
                for card in getattr(self.views.get(name), "cards", ()):
                    card.loading = value

    def _apply(
        self,
        generation: int,
        result: dict[str, dict[str, Any]],
        ticket: int | None = None,
        attention: list[AttentionItem] | None = None,
    ) -> None:
        """Send one refresh's outputs (and its attention items, if any) to the views on screen, as one batch."""
        self._unapplied.discard(ticket)
        if generation != self._generation:
            return
        with batched():
            self.active.flush()
            if attention is not None:
                self.attention.update(attention)
            if "kpis" in result:
                self.kpis.update(result["kpis"])
                self._show_notice(result["kpis"]["selected"])
            for name in DOMAIN_TABS:
                if name not in result:
                    continue
                if name != self.open_tab:
                    # Updating a hidden Bokeh plot whose bar count changes raises "Size mismatch" in
                    # BokehJS (display: none): the result waits until the tab is opened.
                    self._pending[name] = (generation, result[name])
                elif name not in self.views:
                    self._build(name, result[name])
                else:
                    self.views[name].update(result[name])
                if name == self.open_tab:
                    self._stale.discard(name)
            self._set_loading(result.keys(), False)
        self.refreshes += 1

    # --- needs attention -------------------------------------------------------------
    def _show_attention(self, generation: int, items: list[AttentionItem]) -> None:
        """Items that came after their refresh's batch, unless a newer change is on its way."""
        if generation == self._generation:
            with batched():
                self.attention.update(items)

    def _attention_items(self, filters: Filters) -> Callable[[], list[AttentionItem] | None]:
        """The attention items of ``filters``, as work for a refresh's worker thread (None on failure)."""
        dataset = self.dataset

        def work() -> list[AttentionItem] | None:
            try:
                return AttentionModel(dataset, filters).items()
            except Exception:
                LOG.exception("computing the needs-attention items failed")
                return None

        return work

    def _refresh_attention(self) -> None:
        """The attention items of the current filters, off the event loop (newest wins): at open
        (a filter change brings its items with its refresh's batch)."""
        self._attention_generation += 1
        generation = self._attention_generation

        def done(items: list[AttentionItem] | None) -> None:
            if generation == self._attention_generation and items is not None:
                self.attention.update(items)

        run_off_loop(self._attention_items(self.filters.derive()), done)

    def _show_notice(self, selected: int) -> None:
        """One page-level message: nothing matches (with a way back), or a single selected day."""
        start, end = self.dashboard.kpis.date_range()
        if selected == 0:
            kind = "empty"
            text = f"{EMPTY_MESSAGE} Remove a filter chip above, or reset every filter."
        elif start == end:
            kind = "one-day"
            text = (
                f"One day selected ({start.isoformat()}): {fmt_count(selected)} flags. Daily charts show that "
                "single day; widen the date range to see a trend."
            )
        else:
            self.notice.visible = False
            return
        self.notice_text.object = f'<div class="ts-notice" data-kind="{kind}">{esc(text)}</div>'
        self.notice_reset.visible = kind == "empty"
        self.notice.visible = True

    # --- tabs -----------------------------------------------------------------------
    def _build(self, name: str, result: dict[str, Any]) -> None:
        view = TAB_VIEWS[name](self.choices, self.selection, result)
        self.views[name] = view
        setattr(self, name, view)
        holder = self._holders[name]
        holder.objects = [view]
        holder.min_height = None

    def _open(self, name: str) -> None:
        """A tab was opened: build it, or bring it up to date, computing only its own data."""
        if name == "attacks":
            self._open_attacks()
            return
        view = self.views.get(name)
        pending = self._pending.pop(name, None)
        if pending is not None and pending[0] == self._generation:
            with batched():
                if view is None:
                    self._build(name, pending[1])
                else:
                    view.update(pending[1])
            self._stale.discard(name)
            return
        if view is not None and name not in self._stale:
            return
        self._refresh({name})

    def _open_attacks(self) -> None:
        if self.attacks is not None:
            if "attacks" in self._stale:
                self._sync_attack_filters()
            return
        if "attacks" in self._building:
            return
        self._building.add("attacks")
        filters = self.filters.derive()
        method, threshold = self.view.method, self.view.threshold
        dataset = self.dataset

        def warm() -> None:
            """Run the detectors the tab will show, filling the process-wide result cache."""
            for m, t in {(DEFAULT_METHOD, None), (method, threshold)}:
                model = AttacksModel(dataset, filters.derive(), method=m)
                if t is not None:
                    model.threshold = t
                model.alerts(), model.daily_volume(), model.known_events(), model.evaluation(), model.comparison()

        run_off_loop(warm, lambda _: self._build_attacks())

    def _build_attacks(self) -> None:
        self._building.discard("attacks")
        self._attack_filters = self.filters.derive()
        # A brush on the attacks chart lands in the tab's own Filters: pass it on to the session's.
        self._attack_filters.param.watch(self._from_attack_filters, list(FILTER_PARAMS))
        self.attacks = attacks_tab(self.dataset, self._attack_filters)
        self.detection = _detection_controls(self.attacks)
        if self.detection is not None:
            self._view_to_detection()
            self.detection.method.param.watch(self._method_picked, "value")
            self.detection.threshold.param.watch(self._threshold_picked, "value_throttled")
        holder = self._holders["attacks"]
        holder.objects = [self.attacks]
        holder.min_height = None
        self._stale.discard("attacks")
        if self.open_tab == "attacks":
            self._sync_attack_filters()

    def _sync_attack_filters(self) -> None:
        """The attacks tab follows the session's filters only while it is open (detection is costly)."""
        self._stale.discard("attacks")
        if self._attack_filters is None:
            return
        values = {k: getattr(self.filters, k) for k in FILTER_PARAMS}
        changed = {k: v for k, v in values.items() if getattr(self._attack_filters, k) != v}
        if changed:
            self._attack_filters.param.update(**changed)

    def _from_attack_filters(self, *_: Any) -> None:
        af = self._attack_filters
        assert af is not None
        changed = {k: getattr(af, k) for k in FILTER_PARAMS if getattr(self.filters, k) != getattr(af, k)}
        if changed:
            self.filters.param.update(**changed)

    def _method_picked(self, event: param.parameterized.Event) -> None:
        if not self._restoring and self.view.method != event.new:
            self.view.param.update(method=event.new, threshold=None)  # a new method starts at its default

    def _threshold_picked(self, event: param.parameterized.Event) -> None:
        if not self._restoring and event.new is not None:
            default = METHODS[self.view.method].default_threshold
            value = float(event.new)
            self.view.threshold = None if value == default else value

    def _view_to_detection(self) -> None:
        """Show the view's method and threshold in the detection controls (which recompute)."""
        det = self.detection
        if det is None:
            return
        restoring, self._restoring = self._restoring, True
        try:
            if det.method.value != self.view.method:
                det.method.value = self.view.method  # resets its threshold to the method's default
            wanted = self.view.threshold
            if wanted is None:
                wanted = METHODS[self.view.method].default_threshold
            wanted = min(max(wanted, det.threshold.start), det.threshold.end)
            if det.threshold.value != wanted:
                det.threshold.param.update(value=wanted, value_throttled=wanted)
        finally:
            self._restoring = restoring

    def on_reload(self, dataset: Any) -> None:
        """New data from the server's DataWatcher: the same view over it, refreshed in place.

        Runs on this session's event loop (tspanel.ui.live hands it over from the watcher's
        thread). The filters are kept, their dates clipped to the new data's days; the date
        picker's bounds and the header follow the data; built tabs are marked stale and the
        open one recomputed, as after a filter change; the attacks tab is rebuilt on its data.
        """
        from tspanel.ui.url import clip_dates  # (kept local: this method is the whole reload change)

        first, last = dataset.first_day, dataset.last_day
        period = self.dashboard.kpis.period_days
        self.dataset, self.choices = dataset, choices_for(dataset)
        self.dashboard = Dashboard(dataset, self.filters)
        self.dashboard.kpis.period_days = period
        self.flags_panel.use_dataset(dataset)
        self.selection.first_day, self.selection.last_day = first, last
        self.controls.first_day, self.controls.last_day = first, last
        self.kpis.first_day = first
        for pane in self.page.header:
            if 'class="ts-dataset"' in str(getattr(pane, "object", "")):
                name = dataset_label(dataset.name)
                pane.object = (
                    f'<div class="ts-dataset" title="{esc(name)}">{esc(name)} · {first} → {last} · '
                    f"{fmt_count(dataset.n_flags)} flags</div>"
                )
        if self.attacks is not None:  # (one still being built picks up self.dataset when it is done)
            self.attacks = self.detection = self._attack_filters = None
            self._holders["attacks"].objects = _progress("attacks")
        start, end = clip_dates(self.filters.start, self.filters.end, first, last)
        self.controls._syncing = True  # the picker shows the filters; it must not write them back
        try:
            self.controls.dates.param.update(start=first, end=last, value=(start or first, end or last))
        finally:
            self.controls._syncing = False
        if (start, end) != (self.filters.start, self.filters.end):
            self.filters.param.update(start=start, end=end)  # refreshes through _filters_changed
        else:
            self._filters_changed()
        if self.open_tab == "attacks":
            self._open_attacks()

    def __panel__(self) -> Any:
        return self.page


@dataclass(frozen=True)
class DetectionControls:
    """The attacks tab's method picker and threshold slider (its detection view watches them)."""

    method: Any
    threshold: Any


def _detection_controls(content: Any) -> DetectionControls | None:
    """Found by what they are: the tab's one Select of detection methods and its one float slider."""
    methods = [w for w in content.select(pn.widgets.Select) if set(getattr(w, "values", ())) <= set(METHODS)]
    sliders = content.select(
        lambda o: isinstance(o, pn.widgets.Widget) and "value_throttled" in o.param and isinstance(o.value, float)
    )
    if len(methods) != 1 or len(sliders) != 1:
        return None
    return DetectionControls(methods[0], sliders[0])


@contextmanager
def batched() -> Iterator[None]:
    """Send a refresh's many model changes to the browser as one message, walking the page's models at most once.

    Without a freeze Bokeh re-collects every model of the document (about a thousand) after
    each plot update that adds or drops a model (a full HoloViews update: legends, glyphs),
    which was half the server's time per refresh. Bokeh's own freeze re-collects once on
    exit even when nothing was added (~30 ms a refresh at 42k flags, measured): this one does
    only when a model was added or removed meanwhile, which a fast chart update never does.
    """
    with pn.io.hold(), _frozen_models(pn.state.curdoc):
        yield


@contextmanager
def _frozen_models(doc: Any) -> Iterator[None]:
    models = getattr(doc, "models", None)
    if models is None or not hasattr(models, "_freeze_count") or not hasattr(models, "recompute"):
        yield  # not a Bokeh document we know: no freeze (correct, only slower)
        return
    changed: list[bool] = []
    outer = models.__dict__.get("invalidate")  # a batch around this one
    models._freeze_count += 1
    models.invalidate = lambda: changed.append(True)  # what Model.trigger calls on a new reference
    try:
        yield
    finally:
        if outer is None:
            del models.invalidate
        else:
            models.invalidate = outer
        models._freeze_count -= 1
        if changed:
            models.invalidate()  # Bokeh's: recomputes unless still frozen; an outer batch's: noted


def _progress(tab: str) -> list[Any]:
    """What a tab shows while its data is computed off the event loop."""
    what = "Running every detector on the selected data…" if tab == "attacks" else "Computing this tab…"
    return [
        pmu.LinearProgress(variant="indeterminate", sizing_mode="stretch_width"),
        HTML(f'<div class="ts-tab-progress" style="opacity:.7;font-size:13px">{what}</div>', margin=(6, 8)),
    ]
