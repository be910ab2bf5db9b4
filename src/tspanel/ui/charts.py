"""Building blocks every tab uses: a chart card, a plot updated in place, and selection hooks.

A plot is a ``hv.DynamicMap`` fed by a ``hv.streams.Pipe``: it is built once and each
refresh sends the new (small, aggregated) frame through the pipe, so Bokeh updates
the existing glyphs' data instead of replacing the plot. Selections (a brushed time
range, a clicked bar, a clicked legend entry) arrive as HoloViews streams or Bokeh
events and are handed to callbacks that write the session's Filters.
"""

from __future__ import annotations

import datetime as dt
import math
import weakref
from collections.abc import Callable
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import panel_material_ui as pmu
import polars as pl
from panel.viewable import Viewer

from tspanel.models.base import Unavailable
from tspanel.ui.export import csv_buffer
from tspanel.ui.text import esc

Data = pl.DataFrame | dict[str, Any] | None

CARD_CSS = """
.ts-card-title { font-size: 15px; font-weight: 600; letter-spacing: .01em; }
.ts-card-subtitle { font-size: 12px; opacity: .7; margin-top: 1px; }
.ts-hint { font-size: 11.5px; opacity: .6; font-style: italic; }
.ts-reason { padding: 28px 16px; text-align: center; opacity: .75; font-size: 13.5px;
  border: 1px dashed rgba(127,127,127,.4); border-radius: 8px; margin: 6px; }
"""


def in_server_session() -> bool:
    """True inside a served session (work then goes off the event loop); False in tests and notebooks."""
    doc = pn.state.curdoc
    return doc is not None and doc.session_context is not None


# --------------------------------------------------------------------------- dates from the browser


def as_datetime(value: Any) -> dt.datetime | None:
    """A naive UTC datetime from whatever a Bokeh event carries (datetime64, Timestamp, ms, date)."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return (
            None if pd.isna(value) else value.tz_localize(None).to_pydatetime() if value.tz else value.to_pydatetime()
        )
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    if isinstance(value, int | float) and math.isfinite(value):
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC).replace(tzinfo=None)
    return None


def brushed_days(x0: Any, x1: Any) -> tuple[dt.date, dt.date] | None:
    """The days whose point (midnight) lies inside a brushed range; the nearest day for a tiny brush."""
    a, b = as_datetime(x0), as_datetime(x1)
    if a is None or b is None:
        return None
    if b < a:
        a, b = b, a
    start = a.date() if a.time() == dt.time() else a.date() + dt.timedelta(days=1)
    end = b.date()
    if start > end:
        middle = a + (b - a) / 2
        nearest = (middle + dt.timedelta(hours=12)).date()
        return nearest, nearest
    return start, end


# --------------------------------------------------------------------------- plots updated in place


def factor_at(axis_range: Any, coordinate: float | None) -> Any:
    """The factor under a click on a categorical axis (Bokeh reports a synthetic float there).

    Factor ``i`` of a flat FactorRange is centred at ``0.5 + i * (1 + factor_padding)``.
    On a numeric axis the coordinate itself is returned.
    """
    factors = getattr(axis_range, "factors", None)
    if factors is None or coordinate is None:
        return coordinate
    step = 1 + float(getattr(axis_range, "factor_padding", 0) or 0)
    index = round((float(coordinate) - 0.5) / step)
    if 0 <= index < len(factors) and abs(float(coordinate) - (0.5 + index * step)) <= 0.5:
        factor = factors[index]
        return factor if isinstance(factor, str) else None
    return None


def legend_label(item: Any) -> str | None:
    """The text of a Bokeh LegendItem's label (a plain string or a ``value`` spec)."""
    text = item.label
    if isinstance(text, dict):
        text = text.get("value")
    elif hasattr(text, "value"):
        text = text.value
    return str(text) if text else None


class WeakHook:
    """A plot hook that does not keep the object it calls alive.

    HoloViews keeps every element's options, hooks included, in the process-wide
    ``Store`` until the element is garbage-collected. A bound method stored there would
    keep its PipePlot, the element it draws and through them the whole session alive
    after the browser tab closed: the element could never be collected.
    """

    def __init__(self, method: Callable[[Any, Any], None]):
        self._method = weakref.WeakMethod(method)

    def __call__(self, plot: Any, element: Any) -> None:
        method = self._method()
        if method is not None:
            method(plot, element)


class PipePlot:
    """A DynamicMap over a Pipe: ``send`` swaps the data of the existing Bokeh plot.

    Selections are Bokeh events on the figure (registered once by a plot hook), which
    works for overlays as well as single elements: a box selection (``selectiongeometry``)
    is a brushed range, a ``tap`` a click, a ``legend_item_click`` a legend entry.
    """

    def __init__(self, render: Callable[[pd.DataFrame], Any], data: pd.DataFrame, *, name: str, height: int = 300):
        self.name = name
        self._render_fn = render
        self._on_brush: list[Callable[[dt.date, dt.date], None]] = []
        self._on_tap: list[Callable[[Any, Any], None]] = []
        self._on_legend: list[Callable[[str], None]] = []
        self._decorate: list[Callable[[Any], None]] = []
        self._hooked: set[str] = set()
        self.height = height
        self._weak_hook = WeakHook(self._hook)
        self.pipe = hv.streams.Pipe(data=data)
        self.dmap = hv.DynamicMap(self._render, streams=[self.pipe])
        self.pane = pn.pane.HoloViews(self.dmap, sizing_mode="stretch_width", linked_axes=False, margin=(0, 4))

    def send(self, data: pd.DataFrame) -> None:
        self.pipe.send(data)

    def on_brush(self, callback: Callable[[dt.date, dt.date], None]) -> None:
        """Call ``callback(first_day, last_day)`` when a time range is brushed (xbox_select)."""
        self._on_brush.append(callback)

    def on_tap(self, callback: Callable[[Any, Any], None]) -> None:
        """Call ``callback(x, y)`` on a click: data coordinates, or the factor on a categorical axis."""
        self._on_tap.append(callback)

    def on_legend_click(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(label)`` when a legend entry is clicked (the entry is not hidden)."""
        self._on_legend.append(callback)

    def decorate(self, callback: Callable[[Any], None]) -> None:
        """Call ``callback(figure)`` once on the Bokeh figure, e.g. to add a fixed reference line."""
        self._decorate.append(callback)

    def _render(self, data: pd.DataFrame) -> Any:
        # A fixed height with responsive width: without it HoloViews switches the figure to
        # stretch_both on the first update and the plot collapses inside a column.
        return self._render_fn(data).opts(hooks=[self._weak_hook], responsive=True, height=self.height)

    def _hook(self, plot: Any, element: Any) -> None:
        figure = plot.state
        for legend in figure.legend:
            legend.click_policy = "none"
            if self._on_legend and legend.id not in self._hooked:
                self._hooked.add(legend.id)
                legend.on_event("legend_item_click", self._legend_clicked)
        if figure.id in self._hooked:
            return
        self._hooked.add(figure.id)
        figure.name = f"ts-plot-{self.name}"  # a stable hook for browser tests
        for callback in self._decorate:
            callback(figure)
        if self._on_brush:
            figure.on_event("selectiongeometry", self._brushed)
        if self._on_tap:
            figure.on_event("tap", lambda event: self._tapped(figure, event))

    def _brushed(self, event: Any) -> None:
        geometry = event.geometry or {}
        if not event.final or geometry.get("type") != "rect":
            return
        days = brushed_days(geometry.get("x0"), geometry.get("x1"))
        if days is not None:
            for callback in self._on_brush:
                callback(*days)

    def _tapped(self, figure: Any, event: Any) -> None:
        x, y = factor_at(figure.x_range, event.x), factor_at(figure.y_range, event.y)
        for callback in self._on_tap:
            callback(x, y)

    def _legend_clicked(self, event: Any) -> None:
        text = legend_label(event.item)
        if text:
            for callback in self._on_legend:
                callback(text)


# --------------------------------------------------------------------------- the card around a chart


class ChartCard(Viewer):
    """A titled card holding one chart (or a reason it cannot be drawn) and a CSV download of its data."""

    def __init__(
        self,
        key: str,
        title: str,
        body: Any,
        *,
        subtitle: str = "",
        hint: str = "",
        download: bool = True,
        min_width: int = 300,
        **params: Any,
    ):
        super().__init__(**params)
        self.key = key
        self._data: Data = None
        self.body = body
        self.reason = pn.pane.HTML(
            "", visible=False, css_classes=["ts-unavailable"], sizing_mode="stretch_width", stylesheets=[CARD_CSS]
        )
        self.title = pn.pane.HTML(
            self._title_html(title, subtitle), sizing_mode="stretch_width", margin=(0, 4), stylesheets=[CARD_CSS]
        )
        header: list[Any] = [self.title]
        self.download = None
        if download:
            self.download = pmu.FileDownload(
                callback=self._csv,
                filename=f"tspanel-{key}.csv",
                label="CSV",
                icon="download",
                size="small",
                description=f"Download the data behind '{title}' as CSV",
                css_classes=["ts-download"],
                margin=(0, 0),
                width=84,
                align="start",
            )
            # Set after construction: passing variant= to the constructor trips a spurious
            # button_style deprecation warning in panel-material-ui 0.16.
            self.download.variant = "text"
            header.append(self.download)
        parts: list[Any] = [pn.Row(*header, sizing_mode="stretch_width", margin=0), self.reason, self.body]
        if hint:
            parts.append(pn.pane.HTML(f'<div class="ts-hint">{esc(hint)}</div>', margin=(0, 8), stylesheets=[CARD_CSS]))
        self._card = pmu.Paper(
            *parts,
            elevation=1,
            sizing_mode="stretch_width",
            min_width=min_width,
            css_classes=["ts-chart", f"ts-chart-{key}"],
            margin=6,
            styles={"padding": "8px 8px 4px 8px", "border-radius": "10px"},
        )

    @staticmethod
    def _title_html(title: str, subtitle: str) -> str:
        sub = f'<div class="ts-card-subtitle">{esc(subtitle)}</div>' if subtitle else ""
        return f'<div class="ts-card-title">{esc(title)}</div>{sub}'

    def set_subtitle(self, title: str, subtitle: str) -> None:
        self.title.object = self._title_html(title, subtitle)

    def show(self, data: Data | Unavailable) -> bool:
        """Keep ``data`` for the download; show the reason instead of the chart when it is Unavailable.

        Returns True when the chart should be updated with the data.
        """
        if isinstance(data, Unavailable):
            self._data = None
            self.reason.object = f'<div class="ts-reason">Not available: {esc(data.reason)}</div>'
            self.reason.visible = True
            self.body.visible = False
            if self.download is not None:
                self.download.disabled = True
            return False
        self._data = data
        if self.reason.visible:
            self.reason.visible = False
            self.body.visible = True
        if self.download is not None:
            self.download.disabled = False
        return True

    @property
    def data(self) -> Data:
        return self._data

    def _csv(self):
        return csv_buffer(self._data if self._data is not None else pl.DataFrame())

    @property
    def loading(self) -> bool:
        return self.body.loading

    @loading.setter
    def loading(self, value: bool) -> None:
        # On the chart itself, not the Material card: re-rendering the card would resize its plots.
        self.body.loading = value

    def __panel__(self) -> Any:
        return self._card
