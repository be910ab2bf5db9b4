"""Building blocks every tab uses: a chart card and the generic chart a spec (ui/specs.py) declares.

A chart is a ``hv.DynamicMap`` fed by a ``hv.streams.Pipe``: it is built once and each
refresh sends the new (small, aggregated) frame through the pipe, so Bokeh updates
the existing glyphs' data instead of replacing the plot. Selections (a brushed time
range, a clicked bar) arrive as HoloViews streams (``BoundsX``, ``Tap``) and write the
session's Filters; a legend click is the one Bokeh event left (HoloViews has no stream for it).
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import logging
import math
import sys
import traceback
import weakref
from collections.abc import Callable
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import polars as pl
from bokeh.models import CustomJS
from holoviews.core.data import disable_pipeline
from panel.viewable import Viewer

from tspanel.models.base import Unavailable
from tspanel.ui.export import csv_buffer
from tspanel.ui.html import HTML
from tspanel.ui.text import HIDDEN_FROM_HERE, esc
from tspanel.ui.theme import tools

LOG = logging.getLogger(__name__)

# The plot area keeps its width when axis labels or legend entries shrink. A narrower axis or
# legend changed the frame's width: BokehJS laid out the page again and sent the new width to
# the server, on most filter clicks (~70 ms until the page settled). After each layout the
# browser raises the figure's minimum borders to the widest axis and legend it has drawn so far
# (a plot's border is max(min_border, what its axis or legend needs), so shrinking then changes
# nothing). Set silently and on the live layout: a normal change would lay the page out again
# and send each figure's borders to the server when the page opens.
STEADY_FRAME_JS = """
const view = Bokeh.index.find_one(cb_obj);
if (view == null || view.frame == null || view.layout == null || view.layout.min_border == null) return;
const frame = view.frame.bbox, outer = view.layout.bbox, border = view.layout.min_border;
const left = Math.ceil(frame.left), right = Math.ceil(outer.width - frame.right);
if (left > border.left) { border.left = left; cb_obj.setv({min_border_left: left}, {silent: true}); }
if (right > border.right) { border.right = right; cb_obj.setv({min_border_right: right}, {silent: true}); }
"""

Data = pl.DataFrame | dict[str, Any] | None
EMPTY_MESSAGE = "No flags match these filters"

CARD_CSS = """
.ts-card-title { font-size: 15px; font-weight: 600; letter-spacing: .01em; }
.ts-card-subtitle { font-size: 12px; opacity: .7; margin-top: 1px; }
.ts-card-subtitle .ts-hidden { visibility: hidden; }
.ts-hint { font-size: 11.5px; opacity: .6; font-style: italic; }
.ts-reason { padding: 28px 16px; text-align: center; opacity: .75; font-size: 13.5px;
  border: 1px dashed rgba(127,127,127,.4); border-radius: 8px; margin: 6px; }
"""


# The look of panel-material-ui's Paper (elevation 1) on the page's surface colour, which the
# Material theme sets for light and dark mode alike.
CARD_STYLES = {
    "padding": "8px 8px 4px 8px",
    "border-radius": "10px",
    "background": "var(--panel-surface-color, #fff)",
    "color": "var(--panel-on-surface-color, rgba(0, 0, 0, 0.87))",
    "box-shadow": "0 2px 1px -1px rgba(0,0,0,.2), 0 1px 1px 0 rgba(0,0,0,.14), 0 1px 3px 0 rgba(0,0,0,.12)",
    "border": "1px solid rgba(127, 127, 127, 0.18)",  # the card's edge in dark mode, where a shadow does not show
}

# A Material "text" button (the page's other buttons) on Panel's own FileDownload widget, over
# Panel's bundled design (hence the specific selectors). No icon: Panel's icons come from a CDN.
DOWNLOAD_CSS = """
:host .bk-btn.bk-btn-default { background: transparent !important; border: none !important;
  box-shadow: none !important; color: var(--panel-primary-color, #1976d2) !important;
  font: 500 13px "Roboto", "Helvetica", "Arial", sans-serif !important; letter-spacing: .03em;
  text-transform: uppercase; padding: 4px 6px !important; border-radius: 4px; min-height: 0 !important; }
:host .bk-btn.bk-btn-default:hover { background: rgba(25, 118, 210, .06) !important; }
:host .bk-btn.bk-btn-default[disabled] { color: rgba(127, 127, 127, .6) !important; }
"""


def in_server_session() -> bool:
    """True inside a served session (work then goes off the event loop); False in tests and notebooks."""
    doc = pn.state.curdoc
    return doc is not None and doc.session_context is not None


# The loading overlays appear only when a refresh takes longer than this: a quick refresh then
# reaches the browser as one batch, without a round of overlay-on / overlay-off messages and the
# re-layout they cost (measured: bench/latency.py, docs/performance.md).
LOADING_DELAY_SECONDS = 0.4


def when_slow(still_waiting: Callable[[], bool], show: Callable[[], None]) -> None:
    """``show()`` (a loading overlay) if ``still_waiting()`` after LOADING_DELAY_SECONDS; in a
    server session only (elsewhere the work has finished before this returns)."""
    if not in_server_session():
        return

    async def later() -> None:
        await asyncio.sleep(LOADING_DELAY_SECONDS)
        if still_waiting():
            show()

    pn.state.execute(later)


def run_off_loop(work: Callable[[], Any], done: Callable[[Any], None]) -> None:
    """``done(work())``: the work on a worker thread in a server, ``done`` back on the session's loop.

    A failing ``work`` is logged and ``done`` gets None; a failing ``done`` is logged and
    printed (Panel would swallow it silently). Outside a server both run here and now.
    """
    if not in_server_session():
        done(work())
        return

    async def run() -> None:
        try:
            result = await asyncio.to_thread(work)
        except Exception:
            LOG.exception("computing in the background failed")
            result = None
        pn.state.execute(lambda: _logged(done, result), schedule=True)

    pn.state.execute(run)


def _logged(done: Callable[[Any], None], result: Any) -> None:
    try:
        done(result)
    except Exception:
        LOG.exception("applying a background result failed")
        print(f"tspanel: applying a background result failed:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
        raise


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


# --------------------------------------------------------------------------- declared charts


class WeakCall:
    """A stream subscriber that does not keep the chart it calls alive (see WeakHook)."""

    def __init__(self, method: Callable[..., None]):
        self._method = weakref.WeakMethod(method)

    def __call__(self, **values: Any) -> None:
        method = self._method()
        if method is not None:
            method(**values)


class SessionCleanup:
    """``Chart.cleanup`` when the browser session ends, without the document keeping the chart alive."""

    def __init__(self, chart: Chart):
        self._chart = weakref.ref(chart)

    def __call__(self, session_context: Any) -> None:
        chart = self._chart()
        if chart is not None:
            chart.cleanup()


class WeakHook:
    """A plot hook that does not keep the object it calls alive.

    HoloViews keeps every element's options, hooks included, in the process-wide
    ``Store`` until the element is garbage-collected. A bound method stored there would
    keep its Chart, the element it draws and through them the whole session alive
    after the browser tab closed.
    """

    def __init__(self, method: Callable[[Any, Any], None]):
        self._method = weakref.WeakMethod(method)

    def __call__(self, plot: Any, element: Any) -> None:
        method = self._method()
        if method is not None:
            method(plot, element)


def legend_label(item: Any) -> str | None:
    """The text of a Bokeh LegendItem's label (a plain string or a ``value`` spec)."""
    text = item.label
    if isinstance(text, dict):
        text = text.get("value")
    elif hasattr(text, "value"):
        text = text.value
    return str(text) if text else None


class LinkAnchor(hv.streams.LinkedStream):
    """A linked stream that never fires, so streams sourced on a DynamicMap reach its overlay.

    HoloViews attaches a ``source=dmap`` stream to a DynamicMap returning an (Nd)Overlay
    (every ``by=`` hvPlot chart) only when the DynamicMap itself carries a linked stream;
    without one the brush and click streams are silently never connected.
    """


class Chart:
    """One chart of the spec table: built once, updated in place, selections through HoloViews streams.

    The plot is a ``hv.DynamicMap`` over a ``hv.streams.Pipe``: :meth:`update` sends the
    spec's small pandas frame through the pipe (only when it changed), so Bokeh swaps the
    data of the existing glyphs instead of building a new figure. A brush is a
    ``BoundsX`` stream, a click a ``Tap`` stream (HoloViews turns a click on a
    categorical axis into the factor); both write the session's Filters through
    :class:`~tspanel.ui.selection.Selection`.
    """

    def __init__(self, spec: Any, context: Any, selection: Any, output: Any):
        self.spec = spec
        self.context = context
        self.selection = selection
        self.card = ChartCard(spec.key, spec.title, None, subtitle=spec.subtitle, hint=spec.hint)
        self._sent: pd.DataFrame | None = None
        self._replay: Replay | None = None  # how the last hvPlot element is rebuilt for new rows
        self._hooked: set[str] = set()
        self._weak_hook = WeakHook(self._hook)
        self._axis_values: dict[str, str] = {}
        self._legend_values: dict[str, str] = {}
        # Built on the first frame with data: HoloViews cannot build some charts (by= overlays)
        # from an empty frame, and an empty chart is hidden behind its message anyway.
        self.pipe: hv.streams.Pipe | None = None
        self.dmap: hv.DynamicMap | None = None
        self.pane: pn.pane.HoloViews | None = None
        self.streams: list[Any] = []
        self.update(output, initial=True)

    def _build(self, frame: pd.DataFrame) -> None:
        spec = self.spec
        self.pipe = hv.streams.Pipe(data=frame)
        self.dmap = hv.DynamicMap(self._render, streams=[self.pipe, LinkAnchor()])
        self.pane = pn.pane.HoloViews(self.dmap, sizing_mode="stretch_width", linked_axes=False, margin=(0, 4))
        self.card.set_body(self.pane)
        if spec.brush:
            bounds = hv.streams.BoundsX(source=self.dmap)
            bounds.add_subscriber(WeakCall(self._brushed))
            self.streams.append(bounds)
        if spec.click is not None:
            tap = hv.streams.Tap(source=self.dmap)
            tap.add_subscriber(WeakCall(self._tapped))
            self.streams.append(tap)
        doc = pn.state.curdoc
        if self.streams and doc is not None and doc.session_context is not None:
            doc.on_session_destroyed(SessionCleanup(self))

    def cleanup(self) -> None:
        """Release the plots' stream callbacks, which HoloViews keeps in a process-wide table.

        Panel does not clean up these HoloViews plots when a session ends; without this a
        closed session stayed alive through ``Callback._callbacks`` (found by test_sessions).
        """
        if self.pane is None:
            return
        for plot, _ in list(self.pane._plots.values()):
            plot.cleanup()
        self.pane._plots.clear()

    # --- data ---------------------------------------------------------------------
    def _frame(self, output: Any) -> pd.DataFrame | None:
        if output is None or isinstance(output, Unavailable):
            return None
        return self.spec.frame(output, self.context)

    def update(self, output: Any, initial: bool = False) -> None:
        """Show ``output`` (a model's small frame): a reason, the empty message, or new data in place."""
        frame = self._frame(output)
        measure = self.spec.measure
        empty = (
            frame is None
            or len(frame) == 0
            or (measure is not None and measure in frame.columns and not frame[measure].fillna(0).any())
        )
        rows = output
        if self.spec.download is not None and isinstance(output, dict):
            rows = self.spec.download(output)
            rows = pl.DataFrame() if rows is None else rows
        if not self.card.show(rows, (self.spec.empty_message or EMPTY_MESSAGE) if empty else None) or empty:
            return
        if self.spec.subtitle_of is not None:
            self.card.set_subtitle(self.spec.title, self.spec.subtitle_of(output, frame, self.context))
        self._remember(frame)
        if self._sent is not None and frame.equals(self._sent):
            return  # nothing changed: the browser gets no message for this chart
        previous, self._sent = self._sent, frame
        if self.pipe is None:
            self._build(frame)
        elif not self._patch(previous, frame):
            self.pipe.send(frame)

    def _patch(self, previous: pd.DataFrame | None, frame: pd.DataFrame) -> bool:
        """New data for the same layers: straight into the existing plot's data sources.

        HoloViews' full update (options, styles, legends, axes, hooks) cost two thirds of a
        refresh's server time. Two cases skip it, and HoloViews still computes each glyph's data
        and the ranges:

        * the spec declares options that do not depend on the data (``ChartSpec.reuse``) and the
          new frame has the last one's columns and layers (``by=`` series): the element hvPlot
          drew last time is cloned with the new rows (:class:`Replay`), which also covers rows
          that come and go (a brush, a clicked bar) without running hvPlot's converter again;
        * any spec, when only numbers changed (:func:`same_shape`): the spec's hvPlot call draws
          the new element.

        False (nothing changed) when neither applies or the plot's layers do not match the new
        element's: the caller then takes the full path.
        """
        plots = [plot for plot, _ in self.pane._plots.values()] if self.pane is not None else []
        if not plots or self.dmap is None or () not in self.dmap.data:
            return False
        # The bare element: tools, hooks and styles belong to the plot, which keeps them
        # (its glyph styles are the plot's own), so the options the full path adds are skipped.
        element = self._replay.rebuild(frame) if self._replay is not None else None
        if element is None:
            if not (same_shape(previous, frame) or (self.spec.rows_vary and same_columns(previous, frame))):
                return False
            element = self.spec.plot(frame, self.context)
        try:
            for plot in plots:
                if not patch_plot(plot, element, self.dmap):
                    return False
        except Exception:  # any surprise inside HoloViews: the full update is always right
            LOG.debug("patching %s failed; full update", self.spec.key, exc_info=True)
            return False
        self.pipe.update(data=frame)  # what a later full update starts from
        return True

    def _remember(self, frame: pd.DataFrame) -> None:
        click, legend = self.spec.click, self.spec.legend
        if click is not None and click.label in frame.columns:
            self._axis_values = dict(zip(frame[click.label].astype(str), frame[click.value].astype(str), strict=True))
        if legend is not None and legend.label in frame.columns:
            self._legend_values = dict(
                zip(frame[legend.label].astype(str), frame[legend.value].astype(str), strict=True)
            )

    def _render(self, data: pd.DataFrame) -> Any:
        element = self.spec.plot(data, self.context)
        if self.spec.reuse:
            self._replay = Replay.learn(data, element)
        return tools(element, self.spec.brush).opts(hooks=[self._weak_hook])

    # --- selections -----------------------------------------------------------------
    def _brushed(self, boundsx: Any = None, **_: Any) -> None:
        if not boundsx:
            return
        days = brushed_days(*boundsx)
        if days is not None:
            self.selection.dates(*days)

    def _tapped(self, x: Any = None, y: Any = None, **_: Any) -> None:
        click = self.spec.click
        coordinate = y if click.axis == "y" else x
        if coordinate is None:
            return
        if click.nearest:  # a numeric axis whose rows sit at 0, 1, 2, ...: the nearest row
            try:
                index = round(float(coordinate))
            except (TypeError, ValueError):
                return
            labels = list(self._axis_values)
            if not (0 <= index < len(labels)) or abs(float(coordinate) - index) > 0.45:
                return
            coordinate = labels[index]
        value = self._axis_values.get(str(coordinate))
        if value is not None and click.flags is not None:
            self.selection.drill(click.filter, value, click.flags)
        elif value is not None:
            self.selection.toggle(click.filter, value)

    def _legend_clicked(self, event: Any) -> None:
        # HoloViews has no stream for legend clicks: this is the one Bokeh event left.
        text = legend_label(event.item)
        value = self._legend_values.get(text or "")
        if value is not None:
            self.selection.toggle(self.spec.legend.filter, value)

    def _hook(self, plot: Any, element: Any) -> None:
        figure = plot.state
        figure.name = f"ts-plot-{self.spec.key}"  # a stable hook for browser tests
        for legend in figure.legend:
            legend.click_policy = "none"
            for item in legend.items:  # HoloViews lists the visible series; a fast update may have hidden one
                if not item.visible:
                    item.visible = True
            if self.spec.legend is not None and legend.id not in self._hooked:
                self._hooked.add(legend.id)
                legend.on_event("legend_item_click", self._legend_clicked)
        if figure.id not in self._hooked:
            self._hooked.add(figure.id)
            figure.js_on_change("inner_width", CustomJS(code=STEADY_FRAME_JS))
            for decorate in self.spec.decorations:
                decorate(figure)


class Replay:
    """hvPlot's element for one frame, rebuilt for another frame with the same columns and series.

    hvPlot's converter (option validation, one Dataset and groupby per call) was the largest
    part of a fast update. The elements it draws here hold the frame itself (one element) or
    its rows of one ``by=`` value per layer (an NdOverlay), so :meth:`learn` checks that layout
    against the frame it was drawn from, and :meth:`rebuild` clones each layer with the new
    rows: same options, same layer order, no converter. Only for specs whose options do not
    depend on the data (``ChartSpec.reuse``): a clone keeps the old element's options.
    """

    def __init__(self, element: Any, columns: list[str], dtypes: list[Any], by: str | None):
        self.element, self.columns, self.dtypes, self.by = element, columns, dtypes, by
        self.keys = {key[0] for key in element.data} if by is not None else set()

    @classmethod
    def learn(cls, frame: pd.DataFrame, element: Any) -> Replay | None:
        """The layout of ``element`` (drawn from ``frame``), or None when it is not one of the two above."""
        columns, dtypes = list(frame.columns), list(frame.dtypes)
        if isinstance(element, hv.Element):
            return cls(element, columns, dtypes, None) if _holds(element, frame) else None
        if not isinstance(element, hv.NdOverlay) or len(element.kdims) != 1 or not len(element):
            return None
        by = element.kdims[0].name
        if by not in frame.columns:  # several y columns: every layer holds the whole frame
            ok = all(_holds(layer, frame) for layer in element.data.values())
            return cls(element, columns, dtypes, None) if ok else None
        if {key[0] for key in element.data} != set(frame[by]):
            return None
        ok = all(_holds(layer, frame[frame[by] == key[0]]) for key, layer in element.data.items())
        return cls(element, columns, dtypes, by) if ok else None

    def rebuild(self, frame: pd.DataFrame) -> Any | None:
        """The element hvPlot would draw for ``frame``; None when its columns or series differ."""
        if list(frame.columns) != self.columns or list(frame.dtypes) != self.dtypes:
            return None
        element = self.element
        if isinstance(element, hv.Element):
            return _with_rows(element, frame)
        if self.by is None:
            return element.clone([(key, _with_rows(layer, frame)) for key, layer in element.data.items()])
        present = set(frame[self.by])
        if not present <= self.keys:
            return None  # a series it never drew: hvPlot's converter builds its layer
        return element.clone(
            [
                (key, _with_rows(layer, frame[frame[self.by] == key[0]]))
                for key, layer in element.data.items()
                if key[0] in present
            ]
        )


def _with_rows(element: Any, frame: pd.DataFrame) -> Any:
    """``element.clone(data=frame)`` for rows with the columns and dtypes ``element`` was drawn from.

    A clone re-validates the data and re-initialises every parameter (0.7 ms a layer, a fifth of a
    chart's update); a copy with the new rows is 0.12 ms. It keeps the element's id, so HoloViews
    finds the same options; elements are never changed in place, so sharing the rest is safe.
    """
    new = copy.copy(element)
    new.data = frame
    new.id = element.id
    return new


def _holds(element: Any, frame: pd.DataFrame) -> bool:
    """True when ``element``'s data is exactly ``frame`` (columns, index and values)."""
    data = element.data
    return isinstance(data, pd.DataFrame) and list(data.columns) == list(frame.columns) and data.equals(frame)


def same_columns(old: pd.DataFrame | None, new: pd.DataFrame) -> bool:
    """Same columns with the same dtypes (the rows may differ)."""
    return old is not None and list(old.columns) == list(new.columns) and list(old.dtypes) == list(new.dtypes)


def same_shape(old: pd.DataFrame | None, new: pd.DataFrame) -> bool:
    """Same columns and rows, and every non-numeric column (dates, labels, values) unchanged."""
    if old is None or list(old.columns) != list(new.columns) or len(old) != len(new):
        return False
    for column in new.columns:
        if pd.api.types.is_numeric_dtype(new[column]) and not pd.api.types.is_bool_dtype(new[column]):
            if old[column].dtype != new[column].dtype:
                return False
            continue
        if not old[column].reset_index(drop=True).equals(new[column].reset_index(drop=True)):
            return False
    return True


def patch_plot(plot: Any, element: Any, dmap: hv.DynamicMap) -> bool:
    """Update ``plot``'s glyph data and ranges to ``element`` (same layers) without re-rendering it."""
    subplots = getattr(plot, "subplots", None)
    hidden: list[Any] = []
    if subplots:
        layers = getattr(element, "data", None)
        if not isinstance(layers, dict) or not layers or not set(layers) <= set(subplots):
            return False
        pairs = [(subplots[key], layers[key]) for key in subplots if key in layers]
        # Series the selection drops (a category toggled off) are hidden, as HoloViews' full
        # update hides a layer missing from the new overlay; their legend entries go with them.
        hidden = [subplots[key] for key in subplots if key not in layers]
        if any("glyph_renderer" not in sub.handles for sub in hidden):
            return False
    elif isinstance(element, hv.Element) and type(element) is type(plot.current_frame):
        pairs = [(plot, element)]
    else:
        return False
    if any("source" not in sub.handles or type(sub.current_frame) is not type(el) for sub, el in pairs):
        return False
    for sub, el in [(plot, element), *pairs] if subplots else pairs:  # pairs is [(plot, element)] otherwise
        _apply_limits(sub, el)
    key = plot.current_key
    plot._reset_ranges()
    previous = plot.current_frame
    plot.prev_frame, plot.current_frame = previous, element  # compute_ranges reads the current frame
    if subplots:  # as OverlayPlot.update_frame: ranges of the new overlay, passed whole to the layers
        try:
            ranges = plot.compute_ranges(element, key, None)
        except Exception:
            plot.current_frame = previous
            raise
        top_ranges = ranges
    else:  # as ElementPlot.update_frame: ranges of the DynamicMap's (new) frame
        old = dmap.data[()]
        dmap.data[()] = element
        try:
            ranges = plot.compute_ranges(plot.hmap, key, None)
        except Exception:
            dmap.data[()], plot.current_frame = old, previous
            raise
        top_ranges = hv.core.util.match_spec(element, ranges)
    updates = []
    for sub, el in pairs:
        sub_ranges = hv.core.util.match_spec(el, ranges)
        data, _, _ = sub.get_data(el, sub_ranges, sub.style[sub.cyclic_index])
        updates.append((sub, el, data, sub_ranges))
    if subplots:
        dmap.data[()] = element
    for sub, el, data, sub_ranges in updates:
        if sub is not plot:
            sub.ranges.update(ranges)
        sub._update_datasource(sub.handles["source"], data)
        sub.current_frame = el
        sub.current_ranges = sub_ranges
    plot.current_frame = element
    plot.current_ranges = top_ranges
    plot._update_ranges(element, top_ranges)
    if subplots and _set_visible([sub for sub, _ in pairs], hidden):
        _show_legend_of_visible(plot)
    return True


def _apply_limits(sub: Any, element: Any) -> None:
    """The new element's axis limits (e.g. utilisation's ``ylim`` that leaves room above its busiest
    reviewer), as HoloViews' full update reads them from the element's options; an overlay takes
    its layers' limits where it has none of its own (OverlayPlot.update_frame's inherited options)."""
    options = sub.lookup_options(element, "plot").options
    if getattr(sub, "subplots", None):
        inherited = sub._traverse_options(element, "plot", ["xlim", "ylim"], defaults=False)
        options = {**{k: v[0] for k, v in inherited.items()}, **options}
    changed = {k: options[k] for k in ("xlim", "ylim") if k in options and options[k] != getattr(sub, k, None)}
    if changed:
        sub.param.update(**changed)


def _show_legend_of_visible(plot: Any) -> None:
    """The legend lists the visible series, in the order HoloViews first drew them.

    HoloViews' full update drops the hidden series' entries from the legend; here they stay
    and are hidden (``LegendItem.visible``): a change of the legend's items makes Bokeh walk
    every model of the page (~25 ms), a change of an item's flag does not. Entries a full
    update dropped come back in HoloViews' order (:meth:`Chart._hook` shows them again).
    """
    items = plot.handles.get("legend_items")
    legends = plot.handles["plot"].legend
    if items is None or len(legends) != 1:
        plot._process_legend(plot.current_frame)
        return
    wanted = [item for item in items if item.renderers]
    if list(legends[0].items) != wanted:
        legends[0].items[:] = wanted
    for item in wanted:
        shown = any(r.visible for r in item.renderers)
        if item.visible != shown:
            item.visible = shown


def _set_visible(shown: list[Any], hidden: list[Any]) -> bool:
    """Show the glyphs of the ``shown`` subplots and hide those of ``hidden``; True if any changed."""
    changed = False
    for sub, visible in [*((sub, True) for sub in shown), *((sub, False) for sub in hidden)]:
        renderer = sub.handles.get("glyph_renderer")
        if renderer is not None and renderer.visible != visible:
            renderer.visible = visible
            changed = True
    return changed


class ChartSet:
    """The generic update loop of a tab: one :class:`Chart` per spec, each fed its model output."""

    def __init__(self, specs: Any, context: Any, selection: Any, result: dict[str, Any]):
        context.filters = selection.filters
        self.charts = {spec.key: Chart(spec, context, selection, result.get(spec.output)) for spec in specs}

    def __getitem__(self, key: str) -> Chart:
        return self.charts[key]

    def card(self, key: str) -> ChartCard:
        return self.charts[key].card

    @property
    def cards(self) -> list[ChartCard]:
        return [chart.card for chart in self.charts.values()]

    def update(self, result: dict[str, Any]) -> None:
        # HoloViews records, for every Dataset method it runs, the operation that made its result
        # (a "pipeline", for linked selections, which these charts do not use): a quarter of a
        # fast update's time went to building those records.
        with disable_pipeline():
            for chart in self.charts.values():
                chart.update(result.get(chart.spec.output))


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
        self.body = body if body is not None else pn.Column(sizing_mode="stretch_width", margin=0)
        self._message: str | None = None
        self.reason = HTML(
            "", visible=False, css_classes=["ts-unavailable"], sizing_mode="stretch_width", stylesheets=[CARD_CSS]
        )
        self.title = HTML(
            self._title_html(title, subtitle), sizing_mode="stretch_width", margin=(0, 4), stylesheets=[CARD_CSS]
        )
        header: list[Any] = [self.title]
        self.download = None
        if download:
            self.download = pn.widgets.FileDownload(
                callback=self._csv,
                filename=f"tspanel-{key}.csv",
                label="\u2193 CSV",
                embed=False,
                description=f"Download the data behind '{title}' as CSV",
                css_classes=["ts-download"],
                stylesheets=[DOWNLOAD_CSS],
                margin=(0, 0),
                width=72,
                align="start",
            )
            header.append(self.download)
        parts: list[Any] = [pn.Row(*header, sizing_mode="stretch_width", margin=0), self.reason, self.body]
        if hint:
            parts.append(HTML(f'<div class="ts-hint">{esc(hint)}</div>', margin=(0, 8), stylesheets=[CARD_CSS]))
        # A plain Bokeh column drawn like the page's Material cards (pmu.Paper): a React card
        # around each chart cost the browser ~1.3 s of a page open (docs/performance.md).
        self._card = pn.Column(
            *parts,
            sizing_mode="stretch_width",
            min_width=min_width,
            css_classes=["ts-chart", f"ts-chart-{key}"],
            margin=6,
            styles=dict(CARD_STYLES),
        )

    def set_body(self, body: Any) -> None:
        """Put the chart into a card made before it (a Chart builds its card first)."""
        self.body.objects = [body]

    def message(self, text: str | None) -> None:
        """Show ``text`` (e.g. the empty-selection message) instead of the chart; None shows the chart."""
        if text == self._message:
            return
        self._message = text
        if text is None:
            self.reason.visible = False
            self.body.visible = True
        else:
            self.reason.object = f'<div class="ts-reason ts-empty">{esc(text)}</div>'
            self.reason.visible = True
            self.body.visible = False

    @staticmethod
    def _title_html(title: str, subtitle: str) -> str:
        shown, _, hidden = subtitle.partition(HIDDEN_FROM_HERE)
        kept = f'<span class="ts-hidden" aria-hidden="true">{esc(hidden)}</span>' if hidden else ""
        sub = f'<div class="ts-card-subtitle">{esc(shown)}{kept}</div>' if subtitle else ""
        return f'<div class="ts-card-title">{esc(title)}</div>{sub}'

    def set_subtitle(self, title: str, subtitle: str) -> None:
        self.title.object = self._title_html(title, subtitle)

    def show(self, data: Data | Unavailable, message: str | None = None) -> bool:
        """Keep ``data`` for the download; show the reason instead of the chart when it is Unavailable.

        ``message`` (e.g. the empty-selection text) replaces the chart while keeping the data.
        Returns True when the chart should be updated with the data.
        """
        if isinstance(data, Unavailable):
            self._data = None
            self.message(f"Not available: {data.reason}")
            if self.download is not None:
                self.download.disabled = True
            return False
        self._data = data
        self.message(message)
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
        # On the chart itself, not its card: re-rendering the card would resize its plots.
        self.body.loading = value

    def __panel__(self) -> Any:
        return self._card


FLEX = {"flex": "1 1 420px", "min-width": "0"}


def flow(*items: ChartCard | pn.Column) -> pn.FlexBox:
    """Cards (or `stack`s of cards) side by side on wide screens, wrapping one under another
    when narrower than ~2 x 420 px."""
    for item in items:
        if isinstance(item, ChartCard):
            item._card.styles = {**item._card.styles, **FLEX}
    return pn.FlexBox(*items, flex_wrap="wrap", sizing_mode="stretch_width", margin=0)


def stack(*cards: ChartCard) -> pn.Column:
    """Cards one under another, as one item of a `flow`: two short charts beside a tall one
    fill its height instead of leaving a blank beside it."""
    return pn.Column(*cards, styles=dict(FLEX), sizing_mode="stretch_width", margin=0)
