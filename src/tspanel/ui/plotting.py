"""Shared HoloViews options so every chart of the dashboard looks and behaves alike.

Tools are element options (an overlay's toolbar is the union of its elements' tools),
so each element of a chart goes through :func:`brushable` or :func:`clickable`.
"""

from __future__ import annotations

from typing import Any, TypeVar

import holoviews as hv

E = TypeVar("E", bound=hv.Element)

# Overlay-level options of a time series; dragging on it brushes a date range.
TIME_OPTS: dict[str, Any] = {
    "responsive": True,
    "framewise": True,
    "show_grid": True,
    "xlabel": "",
    "toolbar": "right",
    "axiswise": True,
}

# Overlay/element-level options of a bar-like chart: a click on a bar toggles its value.
BAR_OPTS: dict[str, Any] = {
    "responsive": True,
    "framewise": True,
    "show_grid": False,
    "toolbar": None,
    "axiswise": True,
}

LEGEND_OPTS: dict[str, Any] = {
    "legend_position": "right",
    "legend_opts": {"background_fill_alpha": 0.0, "label_text_font_size": "11.5px", "spacing": 1, "padding": 4},
}


def brushable(element: E, hover: bool = False) -> E:
    """Dragging on this element selects an x range (xbox_select is the active drag tool)."""
    return element.opts(
        tools=(["hover"] if hover else []) + ["xbox_select"],
        default_tools=["save", "reset"],
        active_tools=["xbox_select"],
        framewise=True,
    )


def clickable(element: E, hover: bool = True) -> E:
    """No pan or zoom: a click is a selection, and the hover shows the numbers."""
    return element.opts(tools=["hover"] if hover else [], default_tools=[], active_tools=[], framewise=True)


def annotation(element: E) -> E:
    """Reference lines and labels add no tools of their own to the chart's toolbar."""
    return element.opts(default_tools=[], tools=[])
