"""The header row of KPI cards: each headline number with its change against the previous period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import panel as pn
from panel.viewable import Viewer

from tspanel.models.kpis import compare_periods
from tspanel.ui.text import esc, fmt_count, fmt_pct, fmt_score, fmt_signed

Kind = Literal["count", "pct", "score"]


@dataclass(frozen=True)
class KpiSpec:
    """How one KPI card reads: its label, number format and which direction is bad news."""

    key: str
    label: str
    kind: Kind
    worse: Literal["up", "down"] | None
    help: str


KPI_CARDS: tuple[KpiSpec, ...] = (
    KpiSpec("total_flags", "Total flags", "count", None, "flags in the selected days"),
    KpiSpec("auto_blocked", "Auto-blocked", "count", None, "flags the classifier blocked without review"),
    KpiSpec("human_review", "Human review", "count", "up", "flags sent to the human-review queue"),
    KpiSpec(
        "sla_breach_rate_pct",
        "SLA breach rate",
        "pct",
        "up",
        "high and critical flags resolved after more than 24 hours, of those with a resolution time",
    ),
    KpiSpec("coordinated_pct", "Coordinated share", "pct", "up", "flags that were part of a coordinated attack"),
    KpiSpec(
        "ml_score_last_week",
        "ML score, last 7 days",
        "score",
        "down",
        "mean of the daily mean classifier score over the last 7 selected days",
    ),
)


def format_value(spec: KpiSpec, value: Any) -> str:
    if spec.kind == "count":
        return fmt_count(value)
    if spec.kind == "pct":
        return fmt_pct(value)
    return fmt_score(value)


def format_change(spec: KpiSpec, change: float, previous: float) -> str:
    """Counts change in percent; rates in percentage points; the score in score units."""
    if spec.kind == "count":
        if not previous:
            return fmt_signed(change, 0)
        return fmt_signed(100 * change / previous, 1, "%")
    if spec.kind == "pct":
        return fmt_signed(change, 1, " pp")
    return fmt_signed(change, 3)


def tone(spec: KpiSpec, change: float | None) -> str:
    if change is None or change == 0 or spec.worse is None:
        return "neutral"
    bad = (change > 0) == (spec.worse == "up")
    return "bad" if bad else "good"


def cards_html(kpis: dict[str, Any]) -> str:
    """The KPI strip as HTML; every card carries data-kpi / data-value hooks with the raw number."""
    current, previous, change = kpis["current"], kpis["previous"], kpis["change"]
    days = current["days"]
    cards: list[str] = []
    for spec in KPI_CARDS:
        value = current[spec.key]
        raw = "" if value is None else repr(value)
        delta = change.get(spec.key)
        if previous is None:
            foot = f'<div class="ts-kpi-change ts-neutral" data-change="">{esc(kpis["note"])}</div>'
        elif delta is None:
            foot = '<div class="ts-kpi-change ts-neutral" data-change="">no comparison (no value)</div>'
        else:
            text = format_change(spec, delta, previous[spec.key])
            flat = text.startswith("±")
            arrow = "■" if flat else ("▲" if delta > 0 else "▼")
            foot = (
                f'<div class="ts-kpi-change ts-{"neutral" if flat else tone(spec, delta)}" '
                f'data-change="{esc(repr(delta))}" '
                f'title="previous {days} days: {esc(format_value(spec, previous[spec.key]))}">'
                f"{arrow} {esc(text)} <span class='ts-vs'>vs previous {days} days</span></div>"
            )
        cards.append(
            f'<div class="ts-kpi" data-kpi="{spec.key}" data-value="{esc(raw)}" title="{esc(spec.help)}">'
            f'<div class="ts-kpi-label">{esc(spec.label)}</div>'
            f'<div class="ts-kpi-value">{esc(format_value(spec, value))}</div>{foot}</div>'
        )
    period = (
        f'<div class="ts-period" data-start="{esc(current["start"])}" data-end="{esc(current["end"])}">'
        f"{esc(current['start'])} → {esc(current['end'])} · {days} day{'s' if days != 1 else ''}</div>"
    )
    return f'{period}<div class="ts-kpis">{"".join(cards)}</div>'


KPI_CSS = """
:host { width: 100%; }
.ts-period { font-size: 12px; opacity: .7; margin: 0 4px 6px 4px; letter-spacing: .02em; }
.ts-kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.ts-kpi { border-radius: 12px; padding: 12px 16px; background: var(--ts-card-bg, rgba(63, 81, 181, .06));
  border: 1px solid rgba(127, 127, 127, .18); position: relative; overflow: hidden; }
.ts-kpi::before { content: ""; position: absolute; left: 0; top: 0; bottom: 0; width: 4px; background: #3f51b5; }
.ts-kpi-label { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; opacity: .75; }
.ts-kpi-value { font-size: 28px; font-weight: 700; line-height: 1.25; margin: 2px 0;
  font-variant-numeric: tabular-nums; }
.ts-kpi-change { font-size: 12px; font-weight: 600; line-height: 1.35; }
.ts-kpi-change .ts-vs { font-weight: 400; opacity: .7; }
.ts-bad { color: #d32f2f; }
.ts-good { color: #2e7d32; }
.ts-neutral { color: inherit; opacity: .75; font-weight: 400; }
"""


class KpiStrip(Viewer):
    """The six headline numbers; updated from a refresh's ``kpis`` output."""

    def __init__(self, first_day: dt.date, result: dict[str, Any], **params: Any):
        super().__init__(**params)
        self.first_day = first_day
        self.kpis: dict[str, Any] = {}
        self.pane = pn.pane.HTML("", stylesheets=[KPI_CSS], sizing_mode="stretch_width", css_classes=["ts-kpi-strip"])
        self.update(result)

    def update(self, result: dict[str, Any]) -> None:
        self.kpis = compare_periods(result["current"], result["previous"], self.first_day)
        self.pane.object = cards_html(self.kpis)

    @property
    def loading(self) -> bool:
        return self.pane.loading

    @loading.setter
    def loading(self, value: bool) -> None:
        self.pane.loading = value

    def __panel__(self) -> Any:
        return self.pane
