"""The one look of every chart: hvPlot keyword sets, tick formatters, the legend's place, label length.

Specs (ui/specs.py) pass one of these keyword sets to their hvPlot call, so no chart picks
its own fonts, formatters or legend position. Legends sit to the right of the plot area
(HoloViews' ``"right"`` is outside the frame), so they never cover data.
"""

from __future__ import annotations

from typing import Any

from bokeh.models import BasicTicker, DatetimeTickFormatter, NumeralTickFormatter

DAY_FORMAT = "%b %d"


def day_ticks() -> DatetimeTickFormatter:
    """Dates on a time axis; within one day, hours with the date once below (never "0ms 500ms").

    A new model per plot: a Bokeh model belongs to one document (one browser session).
    """
    hours = "%H:%M"
    return DatetimeTickFormatter(
        milliseconds=hours,
        seconds=hours,
        minsec=hours,
        minutes=hours,
        hourmin=hours,
        hours=hours,
        days=DAY_FORMAT,
        months="%b %Y",
        years="%Y",
        context=DatetimeTickFormatter(hourmin="%Y-%m-%d", hours="%Y-%m-%d", days="", months="", years=""),
        context_which="start",
    )


def counts_axis(axis: str) -> dict[str, Any]:
    """hvPlot keywords for a count axis (``"x"`` or ``"y"`` as drawn on screen).

    Labels read 1,234 (not 1234 or 1.2e3), and ticks sit at whole numbers only: on a 0-3 range
    Bokeh put them at halves, which those labels showed as "0 1 1 2 2 3". New models per plot:
    a Bokeh model belongs to one document (one browser session).
    """
    return {f"{axis}formatter": NumeralTickFormatter(format="0,0"), f"{axis}ticks": BasicTicker(min_interval=1)}


LEGEND = "right"
# Colours, fonts, sizes and spacing of legends come from the page theme (PAGE_THEME below).
LEGEND_OPTS: dict[str, Any] = {
    "padding": 4,
    "click_policy": "none",
    "title": None,  # the entries say what they are; hvPlot would title them with the column name
}
MAX_LABEL = 24  # characters of a category, region or reviewer label drawn on a chart


def short(text: Any, limit: int = MAX_LABEL) -> str:
    """A label cut to ``limit`` characters with an ellipsis; the full value stays in tooltips and CSV."""
    value = str(text)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def common(height: int) -> dict[str, Any]:
    """Keywords every chart shares (fixed height, responsive width, no Bokeh logo)."""
    return {
        "responsive": True,
        "height": height,
        "fontscale": 1.0,
        "backend_opts": {"plot.toolbar.logo": None},
    }


def time_series(height: int, ylabel: str, *, counts: bool = True) -> dict[str, Any]:
    """A time chart: drag selects days (xbox_select), dates on the axis, the legend outside."""
    return {
        **common(height),
        "xlabel": "",
        "ylabel": ylabel,
        "grid": True,
        "legend": LEGEND,
        "xformatter": day_ticks(),
        **(counts_axis("y") if counts else {"yformatter": None}),
        "tools": ["xbox_select"],
    }


def bars(height: int, xlabel: str, *, counts: bool = False) -> dict[str, Any]:
    """A horizontal bar chart: a click is a selection (tap), hover shows the numbers, no pan or zoom."""
    return {
        **common(height),
        **(counts_axis("x") if counts else {}),  # a bar's length is on the horizontal axis
        "xlabel": "",
        "ylabel": xlabel,  # hvPlot's barh keeps the value axis named "y"
        "grid": False,
        "legend": False,
        "tools": ["tap"],
    }


def legend_opts() -> dict[str, Any]:
    """Overlay options placing and styling the legend (applied once per chart)."""
    return {"legend_position": LEGEND, "legend_opts": LEGEND_OPTS}


BRUSH_TOOLS: dict[str, Any] = {"active_tools": ["xbox_select"], "default_tools": ["save", "reset"]}
CLICK_TOOLS: dict[str, Any] = {"default_tools": []}
UNDIMMED: dict[str, Any] = {"nonselection_alpha": 1.0, "selection_alpha": 1.0}


def tools(chart: Any, brush: bool) -> Any:
    """Tools are element options (an overlay's toolbar is their union): set them on every element.

    A brushable chart drags to select days; a clickable one has no pan or zoom, so a click is a
    selection and a clicked bar is not dimmed.
    """
    import holoviews as hv

    options = BRUSH_TOOLS if brush else CLICK_TOOLS
    chart = chart.map(lambda element: element.opts(**options), hv.Element)
    if brush:
        return chart
    chart = chart.map(lambda element: element.opts(**UNDIMMED), [hv.Bars, hv.Scatter, hv.Rectangles])
    return chart.opts(toolbar=None)


# --- the page's look of every Bokeh chart, set on the server -----------------------------------
#
# panel-material-ui themes every chart in the browser: on page open (and whenever models are
# added) its ``apply_bokeh_theme`` sets colours, fonts, sizes and alphas on each Axis, Grid,
# Title, Legend and figure with ``model.setv``, and BokehJS sends each change back to the
# server (one PATCH-DOC message per model: ~40 per page, each re-rendering a chart in the
# browser and costing the server a message). BokehJS sends nothing when a value is already
# equal, so the server-side Bokeh theme below holds exactly the values panel-material-ui
# 0.16's light theme sets (its default "minimal" chart style, MUI's default palette and font).
# The light/dark toggle keeps working: in dark mode panel-material-ui still sets its own values.
# tests/ui/test_page_theme.py opens the page in Chromium and checks that the browser changes
# none of them (it fails, and names the property, if a panel-material-ui upgrade changes one).
PAGE_FONT = '"Roboto", "Helvetica", "Arial", sans-serif'
_TEXT = "rgba(0, 0, 0, 0.87)"  # MUI light palette: text.primary
_MUTED = "rgba(0, 0, 0, 0.6)"  # text.secondary
_SURFACE = "#fff"  # background.paper
_AXIS_LINE = "rgba(0, 0, 0, 0.22)"  # onBackground at the minimal style's axis alpha
_GRID_LINE = "rgba(0, 0, 0, 0.1)"

PAGE_THEME_ATTRS: dict[str, dict[str, Any]] = {
    "Axis": {
        "axis_line_color": _AXIS_LINE,
        "major_tick_line_color": _AXIS_LINE,
        "minor_tick_line_color": _AXIS_LINE,
        "axis_line_alpha": 0,
        "major_tick_line_alpha": 0,
        "minor_tick_line_alpha": 0,
        "major_label_text_color": _MUTED,
        "major_label_text_font": PAGE_FONT,
        "major_label_text_font_size": "0.925em",
        "major_label_text_font_style": "normal",
        "axis_label_text_color": _TEXT,
        "axis_label_text_font": PAGE_FONT,
        "axis_label_text_font_size": "1em",
        "axis_label_text_font_style": "normal",
        "axis_label_standoff": 12,
    },
    "Legend": {
        "background_fill_color": _SURFACE,
        "border_line_alpha": 0,
        "background_fill_alpha": 0,
        "label_text_color": _TEXT,
        "label_text_font": PAGE_FONT,
        "label_text_font_size": "0.95em",
        "label_text_font_style": "normal",
        "title_text_color": _MUTED,
        "title_text_font": PAGE_FONT,
        "title_text_font_size": "0.95em",
        "title_text_font_style": "normal",
        "spacing": 8,
        "label_standoff": 8,
        "glyph_width": 14,
        "glyph_height": 14,
    },
    "Title": {"text_color": _TEXT, "text_font": PAGE_FONT, "text_font_size": "1.05em", "text_font_style": "normal"},
    "Grid": {"grid_line_color": _GRID_LINE, "grid_line_alpha": 1},
    "Plot": {
        "background_fill_color": _SURFACE,
        "border_fill_color": _SURFACE,
        "outline_line_color": _TEXT,
        "outline_line_alpha": 0,
    },
}


def draw_on_canvas() -> None:
    """Draw every chart on a 2D canvas, not WebGL (HoloViews' default since 1.19; idempotent).

    The charts hold a few hundred aggregated points at most, where WebGL only adds its setup
    and a copy of each frame onto the canvas: in Chromium a page open spent ~0.7 s of the
    browser's CPU in it (docs/performance.md, "Page open in the browser").
    """
    import holoviews as hv

    hv.renderer("bokeh").webgl = False


def install_page_theme() -> None:
    """Make the values above the Bokeh theme of panel-material-ui's light pages (idempotent).

    The page's design owns the document's Bokeh theme: panel-material-ui treats any other
    theme as a user's custom one and then stops theming those model types, dark mode included.
    So the light theme's own Bokeh theme is replaced (its ColorBar and other attributes kept);
    HoloViews reads the same theme for the font sizes it sets on each axis and title.
    """
    from bokeh.themes import Theme
    from panel_material_ui.theme import MATERIAL_THEME, MuiDefaultTheme

    current = MuiDefaultTheme.param.bokeh_theme.default
    if getattr(current, "_tspanel", False):
        return
    attrs = {name: dict(values) for name, values in MATERIAL_THEME["attrs"].items()}
    for name, values in PAGE_THEME_ATTRS.items():
        attrs.setdefault(name, {}).update(values)
    theme = Theme(json={"attrs": attrs})
    theme._tspanel = True  # type: ignore[attr-defined]
    MuiDefaultTheme.param.bokeh_theme.default = theme
