"""Tab "Classifier Health": score drift against the baseline, score distributions, calibration."""

from __future__ import annotations

from typing import Any

import panel as pn
from panel.viewable import Viewer

from tspanel.ui.charts import ChartCard, ChartSet, flow
from tspanel.ui.choices import Choices
from tspanel.ui.html import HTML
from tspanel.ui.palette import STATE_COLORS
from tspanel.ui.selection import Selection
from tspanel.ui.specs import CHARTS, ChartContext
from tspanel.ui.text import esc, fmt_score

BANNER_CSS = """
.ts-banner { display: flex; align-items: center; gap: 18px; padding: 12px 18px; border-radius: 12px; color: white; }
.ts-banner-state { font-size: 20px; font-weight: 800; letter-spacing: .08em; text-transform: uppercase;
  min-width: 120px; }
.ts-banner-text { font-size: 14px; line-height: 1.45; }
.ts-banner-rule { font-size: 12px; opacity: .9; }
"""


def banner_html(status: dict[str, Any]) -> str:
    """The drift alert state as a coloured banner (healthy / warning / alert / no data)."""
    state = status["state"]
    colour = STATE_COLORS.get(state, STATE_COLORS["no data"])
    if status["rolling_mean"] is None:
        text = "No classifier scores in the selected days."
    else:
        text = (
            f"Rolling mean score <b>{fmt_score(status['rolling_mean'])}</b> on {esc(status['date'])} "
            f"(baseline {fmt_score(status['baseline'])}, alert threshold {fmt_score(status['threshold'])}; "
            f"{fmt_score(status['drop'])} below the baseline)."
        )
    return (
        f'<div class="ts-banner ts-state-{esc(state.replace(" ", "-"))}" data-state="{esc(state)}" '
        f'style="background: {colour}"><div class="ts-banner-state">{esc(state)}</div>'
        f'<div class="ts-banner-text">{text}<div class="ts-banner-rule">Rule: {esc(status["rule"])}</div></div></div>'
    )


class ClassifierTab(Viewer):
    """Drift chart with baseline and threshold, box plots from quantiles, calibration with intervals.

    The charts are the "classifier" entries of the spec table (ui/specs.py); this class adds
    the alert-state banner.
    """

    def __init__(self, choices: Choices, selection: Selection, result: dict[str, Any], **params: Any):
        super().__init__(**params)
        self.choices = choices
        self.selection = selection
        status = result["status"]
        self.baseline, self.threshold = status["baseline"], status["threshold"]
        context = ChartContext(choices, baseline=self.baseline, threshold=self.threshold)
        self.banner = HTML(
            banner_html(status), stylesheets=[BANNER_CSS], sizing_mode="stretch_width", css_classes=["ts-drift-banner"]
        )
        self.charts = ChartSet(CHARTS["classifier"], context, selection, result)
        self.cards: list[ChartCard] = self.charts.cards
        card = self.charts.card
        self._layout = pn.Column(
            self.banner,
            card("score-drift"),
            flow(card("score-distribution"), card("calibration")),
            sizing_mode="stretch_width",
        )

    def update(self, result: dict[str, Any]) -> None:
        self.banner.object = banner_html(result["status"])
        self.charts.update(result)

    def __panel__(self) -> Any:
        return self._layout
