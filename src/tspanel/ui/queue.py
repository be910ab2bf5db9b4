"""Tab "Reviewer Queue": backlog, intake, utilisation, time to resolution and the staffing need."""

from __future__ import annotations

from typing import Any

import panel as pn
from panel.viewable import Viewer

from tspanel.schema import SEVERITIES
from tspanel.ui.charts import ChartCard, ChartSet, flow, stack
from tspanel.ui.choices import Choices
from tspanel.ui.html import HTML
from tspanel.ui.palette import SEVERITY_COLORS
from tspanel.ui.selection import Selection
from tspanel.ui.specs import CHARTS, ChartContext
from tspanel.ui.text import esc, fmt_count, fmt_hours, fmt_pct

QUEUE_CSS = """
.ts-backlog { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 10px; }
.ts-bl { border-radius: 10px; padding: 10px 14px; border: 1px solid rgba(127,127,127,.18);
  border-top: 5px solid #3f51b5; }
.ts-bl-label { font-size: 11.5px; text-transform: uppercase; letter-spacing: .05em; opacity: .7; }
.ts-bl-value { font-size: 24px; font-weight: 700; font-variant-numeric: tabular-nums; }
.ts-bl-note { font-size: 12px; opacity: .75; }
.ts-staff { display: flex; gap: 18px; align-items: center; padding: 6px 4px; }
.ts-staff-big { font-size: 44px; font-weight: 800; line-height: 1; font-variant-numeric: tabular-nums; }
.ts-staff-side { font-size: 14px; line-height: 1.5; }
.ts-staff-scope { font-size: 13px; opacity: .8; margin: 0 4px 6px; }
.ts-staff-gap { color: #c62828; font-weight: 600; }
.ts-staff-ok { color: #2e7d32; font-weight: 600; }
.ts-arith { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; line-height: 1.5;
  background: rgba(127,127,127,.08); border-radius: 8px; padding: 8px 10px; margin-top: 8px; white-space: normal; }
"""


def backlog_html(backlog: dict[str, Any]) -> str:
    """Open cases by severity, the total and the oldest case's age, as cards."""
    by_severity = {r["severity"]: r["open_cases"] for r in backlog["by_severity"].iter_rows(named=True)}
    cards = [
        '<div class="ts-bl" style="border-top-color:#37474f" data-backlog="total">'
        f'<div class="ts-bl-label">Open cases</div><div class="ts-bl-value">{fmt_count(backlog["total"])}</div>'
        f'<div class="ts-bl-note">as of {esc(backlog["as_of"].strftime("%Y-%m-%d %H:%M UTC"))}</div></div>'
    ]
    for severity in reversed(SEVERITIES):
        cards.append(
            f'<div class="ts-bl" style="border-top-color:{SEVERITY_COLORS[severity]}" data-backlog="{severity}">'
            f'<div class="ts-bl-label">{esc(severity)}</div>'
            f'<div class="ts-bl-value">{fmt_count(by_severity.get(severity, 0))}</div>'
            '<div class="ts-bl-note">open</div></div>'
        )
    cards.append(
        '<div class="ts-bl" style="border-top-color:#8e24aa" data-backlog="oldest">'
        '<div class="ts-bl-label">Oldest open case</div>'
        f'<div class="ts-bl-value">{fmt_hours(backlog["oldest_open_hours"])}</div>'
        '<div class="ts-bl-note">waiting in the queue</div></div>'
    )
    return f'<div class="ts-backlog">{"".join(cards)}</div>'


def staffing_html(staffing: dict[str, Any]) -> str:
    """Reviewers needed next week, against the roster, with the arithmetic behind it."""
    needed, current = staffing["reviewers_needed"], staffing["current_reviewers"]
    if needed is None:
        big, side = "n/a", "not enough data to forecast"
    else:
        gap = needed - current
        verdict = (
            f'<span class="ts-staff-gap">{gap} more than on the roster</span>'
            if gap > 0
            else '<span class="ts-staff-ok">the roster covers it</span>'
        )
        big = str(needed)
        side = f"reviewers needed next week<br>{current} on the roster: {verdict}"
    scope = (
        '<div class="ts-staff-scope">For the whole queue: reviewers work every severity, high and critical '
        "first, so the plan ignores the severity filter.</div>"
        if staffing.get("severity_filter_ignored")
        else ""
    )
    return (
        f'<div class="ts-staff" data-needed="{esc(needed)}"><div class="ts-staff-big">{esc(big)}</div>'
        f'<div class="ts-staff-side">{side}</div></div>{scope}<div class="ts-arith">{esc(staffing["arithmetic"])}</div>'
    )


def resolution_subtitle(sla: dict[str, Any]) -> str:
    """The histogram's bars hold every severity but the SLA binds only high and critical cases:
    the subtitle says both, so red bars adding up to more than the breaches read as intended."""
    hours = f"{sla['sla_hours']:.0f} h"
    return (
        f"human-review cases of every severity by hours to resolution (red: {hours} or more); "
        f"the {hours} SLA is for high and critical cases: {fmt_count(sla['breaches'])} of "
        f"{fmt_count(sla['eligible'])} took longer ({fmt_pct(sla['breach_rate_pct'])})"
    )


class QueueTab(Viewer):
    """Backlog cards, daily intake, utilisation, resolution-time histogram and staffing need.

    The charts are the "queue" entries of the spec table (ui/specs.py); the backlog and
    staffing cards are HTML.
    """

    def __init__(self, choices: Choices, selection: Selection, result: dict[str, Any], **params: Any):
        super().__init__(**params)
        self.choices = choices
        self.selection = selection
        self.sla_hours = float(result["sla"]["sla_hours"])
        self.backlog = HTML("", stylesheets=[QUEUE_CSS], sizing_mode="stretch_width")
        self.backlog_card = ChartCard(
            "backlog",
            "Review backlog",
            self.backlog,
            subtitle="human-review cases still open at the end of the selected days",
        )
        self.charts = ChartSet(CHARTS["queue"], ChartContext(choices, sla_hours=self.sla_hours), selection, result)
        self.staffing = HTML("", stylesheets=[QUEUE_CSS], sizing_mode="stretch_width")
        self.staffing_card = ChartCard("staffing", "Staffing need, next 7 days", self.staffing)
        self.cards = [self.backlog_card, *self.charts.cards, self.staffing_card]
        self._html(result)
        card = self.charts.card
        self._layout = pn.Column(
            flow(self.backlog_card, card("backlog-severity")),
            flow(stack(card("intake"), card("resolution-time")), card("utilisation")),
            flow(self.staffing_card, card("staffing-curve")),
            sizing_mode="stretch_width",
        )

    @property
    def intake_card(self) -> ChartCard:
        return self.charts.card("intake")

    @property
    def histogram_card(self) -> ChartCard:
        return self.charts.card("resolution-time")

    def update(self, result: dict[str, Any]) -> None:
        self.charts.update(result)
        self._html(result)

    def _html(self, result: dict[str, Any]) -> None:
        if self.backlog_card.show(result["backlog"]):
            self.backlog.object = backlog_html(result["backlog"])
        sla = result["sla"]
        self.histogram_card.set_subtitle("Time to resolution", resolution_subtitle(sla))
        self.staffing_card.show(result["staffing"])
        self.staffing.object = staffing_html(result["staffing"])

    def __panel__(self) -> Any:
        return self._layout
