"""Tab "Attack Detection & Summary": coordinated-attack alerts and the weekly summary.

:func:`attacks_tab` receives the session's dataset and its shared Filters and returns
the tab's content: the detection view (which follows the date, category and region
filters and writes brushed ranges back) and the weekly-summary panel.
"""

from __future__ import annotations

from typing import Any

import panel as pn

from tspanel.models.filters import Filters
from tspanel.ui.choices import choices_for
from tspanel.ui.detection import DetectionView
from tspanel.ui.selection import Selection
from tspanel.ui.summary import SummaryPanel


def attacks_tab(dataset: Any, filters: Filters) -> pn.viewable.Viewable:
    """The content of the "Attack Detection & Summary" tab for one session."""
    selection = Selection(filters, choices_for(dataset), dataset.first_day, dataset.last_day)
    return pn.Column(
        SummaryPanel(dataset, filters),
        DetectionView(dataset, filters, selection),
        sizing_mode="stretch_width",
        css_classes=["ts-attacks-tab"],
    )
