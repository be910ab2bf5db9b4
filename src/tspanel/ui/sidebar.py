"""The filter widgets and the strip of active filters, both bound two-way to the session's Filters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import panel as pn
import panel_material_ui as pmu
import param
from panel.viewable import Viewer

from tspanel.models.filters import LIST_FILTERS, Filters
from tspanel.ui.choices import Choices
from tspanel.ui.html import HTML
from tspanel.ui.url import clip_dates
from tspanel.vocab import FILTER_LABELS, action_label, category_label, severity_label, value_label


def at_once(*widgets: Any) -> None:
    """A click on these widgets reaches the server's callbacks at once.

    Panel holds a widget's change from the browser for 50 ms (``Syncable._debounce``, no public
    switch) to merge a burst; the session's refresh merges bursts itself (10 ms).
    """
    for widget in widgets:
        widget._debounce = 0


def _as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


class FilterControls(Viewer):
    """Date range, categories, regions (when the data has them), severities, actions and reviewers."""

    def __init__(self, filters: Filters, choices: Choices, first_day: dt.date, last_day: dt.date, **params: Any):
        super().__init__(**params)
        self.filters = filters
        self.first_day, self.last_day = first_day, last_day
        self._syncing = False
        self.dates = pmu.DateRangePicker(
            label="Date range",
            start=first_day,
            end=last_day,
            value=(filters.start or first_day, filters.end or last_day),
            sizing_mode="stretch_width",
            css_classes=["ts-filter-dates"],
        )
        self.dates.param.watch(self._dates_from_widget, "value")
        filters.param.watch(self._dates_from_filters, ["start", "end"])
        self.categories = pmu.MultiChoice.from_param(
            filters.param.categories,
            options={category_label(c): c for c in choices.categories},
            label="Categories",
            placeholder="All categories",
            sizing_mode="stretch_width",
        )
        self.regions = pmu.MultiChoice.from_param(
            filters.param.regions,
            options=list(choices.regions),
            label="Regions",
            placeholder="All regions",
            sizing_mode="stretch_width",
            visible=bool(choices.regions),
        )
        self.severities = pmu.CheckButtonGroup.from_param(
            filters.param.severities,
            options={severity_label(v): v for v in choices.severities},
            label="Severities (none = all)",
            size="small",
            sizing_mode="stretch_width",
        )
        self.actions = pmu.CheckButtonGroup.from_param(
            filters.param.actions,
            options={action_label(v): v for v in choices.actions},
            label="Actions (none = all)",
            size="small",
            orientation="vertical",
            sizing_mode="stretch_width",
        )
        self.reviewers = pmu.MultiChoice.from_param(
            filters.param.reviewers,
            options={choices.reviewer_label(r): r for r in choices.reviewers},
            label="Reviewers",
            placeholder="All reviewers",
            sizing_mode="stretch_width",
            visible=bool(choices.reviewers),
        )
        at_once(self.dates, self.categories, self.regions, self.severities, self.actions, self.reviewers)
        for dropdown in self.dropdowns:
            # A pick closes the drop-down (in the browser, at once): the open menu's invisible
            # backdrop would otherwise swallow the next click on the page.
            dropdown.jscallback(value="source.dropdown_open = false")
        self._layout = pn.Column(
            self.dates,
            self.categories,
            self.regions,
            self.severities,
            self.actions,
            self.reviewers,
            sizing_mode="stretch_width",
            css_classes=["ts-filters"],
        )

    @property
    def dropdowns(self) -> tuple[Any, ...]:
        return (self.categories, self.regions, self.reviewers)

    def _dates_from_widget(self, event: param.parameterized.Event) -> None:
        if self._syncing or not event.new:
            return
        start, end = (_as_date(v) for v in event.new)
        if start is None or end is None:
            return
        start, end = clip_dates(start, end, self.first_day, self.last_day)
        self.filters.param.update(start=start, end=end)

    def _dates_from_filters(self, *_: Any) -> None:
        self._syncing = True
        try:
            self.dates.value = (self.filters.start or self.first_day, self.filters.end or self.last_day)
        finally:
            self._syncing = False

    def __panel__(self) -> Any:
        return self._layout


NO_FILTERS = (
    '<span class="ts-no-filters">No filters: showing every flag. Brush a time range or click a bar '
    "or legend entry to filter every chart.</span>"
)
CLOSE_ICON = " :material/close:"  # panel_material_ui's icon syntax in an option label


def _no_icons(text: str) -> str:
    """User text (a category, a reviewer's name) never turns into an icon token."""
    return text.replace(":material/", ": material/")


class ActiveFilters(Viewer):
    """One chip per active filter value (a click removes it), a reset button, and "Show flags"."""

    def __init__(self, filters: Filters, choices: Choices, show_flags: Callable[[], None] | None = None, **params: Any):
        super().__init__(**params)
        self.filters = filters
        self.choices = choices
        # Opens the flags table on the current selection (every chart click can end in rows).
        self.show_flags = pmu.Button(
            label="Show flags",
            icon="table_rows",
            variant="outlined",
            size="small",
            css_classes=["ts-show-flags"],
            visible=show_flags is not None,
            on_click=lambda _: show_flags() if show_flags is not None else None,
            align="center",
        )
        self.reset = pmu.Button(
            label="Reset filters",
            icon="restart_alt",
            variant="outlined",
            size="small",
            css_classes=["ts-reset"],
            on_click=lambda _: filters.reset(),
        )
        self.empty = HTML(NO_FILTERS, stylesheets=[".ts-no-filters { opacity: .7; font-size: 13px; }"], margin=(8, 8))
        # Every chip is an option of one MultiPill, shown selected; a click deselects it and so
        # removes its filter. One Bokeh model whose options change, where a chip per value added and
        # dropped models: each such change made Bokeh walk the page's ~1,000 models (~25 ms a click).
        self.pills = pmu.MultiPill(
            options={},
            value=[],
            size="small",
            variant="outlined",
            color="primary",
            css_classes=["ts-chips"],
            width=None,  # as wide as its chips (a widget's default is 300 px)
            stylesheets=[":host { width: auto; max-width: 100%; }"],
            margin=(4, 4),
        )
        self.pills.param.watch(self._pill_clicked, "value")
        at_once(self.reset, self.pills)
        # Nothing in the strip is shown or hidden: a visibility change makes the browser lay out the
        # whole page again (~0.1 s); text, options and a disabled flag do not.
        self.chips = pn.FlexBox(
            self.empty,
            self.pills,
            self.reset,
            sizing_mode="stretch_width",
            flex_wrap="wrap",
            align_items="center",
            gap="2px",
            css_classes=["ts-active-filters"],
            margin=(2, 4),
        )
        self._removers: dict[str, Callable[[], None]] = {}
        self._syncing = False
        # In a server the session sets this and calls flush() in its refresh's batch, so the
        # chips reach the browser with the charts (one message, not two).
        self.deferred = False
        self._dirty = False
        filters.param.watch(self._changed, ["start", "end", *LIST_FILTERS])
        self._rebuild()

    def _changed(self, *_: Any) -> None:
        if self.deferred:
            self._dirty = True
        else:
            self._rebuild()

    def flush(self) -> None:
        """Show the chips of the current filters if a change is waiting (see ``deferred``)."""
        if self._dirty:
            self._dirty = False
            self._rebuild()

    @property
    def labels(self) -> list[str]:
        """The chips' texts, as shown (without the close icon)."""
        return [label.removesuffix(CLOSE_ICON) for label in self.pills.options]

    def _pill_clicked(self, event: param.parameterized.Event) -> None:
        if self._syncing:
            return
        for key in [key for key in event.old if key not in event.new]:
            remove = self._removers.get(key)
            if remove is not None:
                remove()

    def _rebuild(self, *_: Any) -> None:
        filters = self.filters
        chips: list[tuple[str, str, Callable[[], None]]] = []  # (text, key, remove)
        if filters.start is not None or filters.end is not None:
            start = filters.start.isoformat() if filters.start else "first day"
            end = filters.end.isoformat() if filters.end else "last day"
            chips.append((f"Dates: {start} → {end}", "dates", lambda: filters.param.update(start=None, end=None)))
        for name in LIST_FILTERS:
            for value in getattr(filters, name):
                shown = self.choices.reviewer_label(value) if name == "reviewers" else value_label(name, value)
                chips.append(
                    (
                        f"{FILTER_LABELS[name]}: {shown}",
                        f"{name}={value}",
                        lambda name=name, value=value: filters.toggle(name, value),
                    )
                )
        options: dict[str, str] = {}
        for text, key, _ in chips:
            label = _no_icons(text)
            while label + CLOSE_ICON in options:  # two reviewers of one name: a distinct label each
                label += "\u200b"
            options[label + CLOSE_ICON] = key
        self._removers = {key: remove for _, key, remove in chips}
        if options != self.pills.options:
            self._syncing = True
            try:
                self.pills.param.update(options=options, value=list(options.values()))
            finally:
                self._syncing = False
        text = "" if chips else NO_FILTERS
        if self.empty.object != text:
            self.empty.object = text
        self.reset.disabled = not chips

    def __panel__(self) -> Any:
        return pn.Row(
            self.chips, self.show_flags, sizing_mode="stretch_width", css_classes=["ts-filter-strip"], margin=0
        )
