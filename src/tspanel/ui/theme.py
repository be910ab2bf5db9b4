"""The one look of every chart: hvPlot keyword sets, tick formatters, the legend's place, label length.

Specs (ui/specs.py) pass one of these keyword sets to their hvPlot call, so no chart picks
its own fonts, formatters or legend position. Legends sit to the right of the plot area
(HoloViews' ``"right"`` is outside the frame), so they never cover data.
"""

from __future__ import annotations

from typing import Any

from bokeh.models import DatetimeTickFormatter, NumeralTickFormatter

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


def count_ticks() -> NumeralTickFormatter:
    """1,234 rather than 1234 or 1.2e3."""
    return NumeralTickFormatter(format="0,0")


LEGEND = "right"
LEGEND_OPTS: dict[str, Any] = {
    "background_fill_alpha": 0.0,
    "label_text_font_size": "11.5px",
    "spacing": 1,
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
    return {"responsive": True, "height": height, "fontscale": 1.0}


def time_series(height: int, ylabel: str, *, counts: bool = True) -> dict[str, Any]:
    """A time chart: drag selects days (xbox_select), dates on the axis, the legend outside."""
    return {
        **common(height),
        "xlabel": "",
        "ylabel": ylabel,
        "grid": True,
        "legend": LEGEND,
        "xformatter": day_ticks(),
        "yformatter": count_ticks() if counts else None,
        "tools": ["xbox_select"],
    }


def bars(height: int, xlabel: str) -> dict[str, Any]:
    """A horizontal bar chart: a click is a selection (tap), hover shows the numbers, no pan or zoom."""
    return {
        **common(height),
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
