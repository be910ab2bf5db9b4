"""The header row of KPI cards: each headline number with its change against the previous period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import panel as pn
import panel_material_ui as pmu
from panel.viewable import Viewer

from tspanel.models.kpis import compare_periods
from tspanel.ui.html import HTML
from tspanel.ui.text import esc, fmt_count, fmt_pct, fmt_score, fmt_signed
from tspanel.vocab import kpi_label

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
    KpiSpec("total_flags", kpi_label("total_flags"), "count", None, "flags in the period"),
    KpiSpec("auto_blocked", kpi_label("auto_blocked"), "count", None, "flags the classifier blocked without review"),
    KpiSpec("human_review", kpi_label("human_review"), "count", "up", "flags sent to the human-review queue"),
    KpiSpec(
        "sla_breach_rate_pct",
        kpi_label("sla_breach_rate_pct"),
        "pct",
        "up",
        "high and critical flags resolved after more than 24 hours, of those with a resolution time",
    ),
    KpiSpec(
        "coordinated_pct", kpi_label("coordinated_pct"), "pct", "up", "flags that were part of a coordinated attack"
    ),
    KpiSpec(
        "ml_score_last_week",
        kpi_label("ml_score_last_week"),
        "score",
        "down",
        "mean of the daily mean classifier score over the last 7 days of the period",
    ),
)

PERIOD_OPTIONS: dict[str, str] = {"7 days": "7", "28 days": "28", "90 days": "90", "Selected dates": "custom"}


def format_value(spec: KpiSpec, value: Any) -> str:
    if spec.kind == "count":
        return fmt_count(value)
    if spec.kind == "pct":
        return fmt_pct(value)
    return fmt_score(value)


def format_change(spec: KpiSpec, change: float, previous: float) -> str:
    """Counts change in percent; rates in percentage points; the score in score units.

    A rate's or score's change is the difference of the two values as shown (65.7% against
    53.1%: +12.6 pp), not the rounded exact difference (+12.5), which would not add up on the card.
    """
    if spec.kind == "count":
        if not previous:
            return fmt_signed(change, 0)
        return fmt_signed(100 * change / previous, 1, "%")
    digits, unit = (1, " pp") if spec.kind == "pct" else (3, "")
    return fmt_signed(round(previous + change, digits) - round(previous, digits), digits, unit)


def tone(spec: KpiSpec, change: float | None) -> str:
    if change is None or change == 0 or spec.worse is None:
        return "neutral"
    bad = (change > 0) == (spec.worse == "up")
    return "bad" if bad else "good"


def vs_text(spec: KpiSpec, days: int) -> str:
    """What a card's change is against. The ML score card is the last 7 days of each period: over
    28 days it compares with the 7 days 28 days earlier, not "the previous 28 days"."""
    if spec.key == "ml_score_last_week" and days > 7:
        return f"vs the same 7 days {days} days earlier"
    return f"vs previous {days} day{'s' if days != 1 else ''}"


def period_text(current: dict[str, Any], period_days: int | None) -> str:
    """'Last 7 days' when the period is the asked-for length, else what it is ('3 selected days')."""
    days = current["days"]
    if period_days is not None and days == period_days:
        return f"Last {days} days"
    return f"{days} selected day{'s' if days != 1 else ''}"


def cards_html(kpis: dict[str, Any], period_days: int | None = None) -> str:
    """The KPI strip as HTML; every card carries data-kpi / data-value hooks with the raw number.

    When there is nothing to compare with, the header says so once (data-note), and the
    cards carry no change line: six copies of one sentence said nothing more than one.
    """
    current, previous, change = kpis["current"], kpis["previous"], kpis["change"]
    days = current["days"]
    cards: list[str] = []
    for spec in KPI_CARDS:
        value = current[spec.key]
        raw = "" if value is None else repr(value)
        delta = change.get(spec.key)
        if previous is None:
            foot = '<div class="ts-kpi-change ts-neutral" data-change="">&nbsp;</div>'
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
                f"{arrow} {esc(text)} <span class='ts-vs'>{vs_text(spec, days)}</span></div>"
            )
        cards.append(
            f'<div class="ts-kpi" data-kpi="{spec.key}" data-value="{esc(raw)}" title="{esc(spec.help)}">'
            f'<div class="ts-kpi-label">{esc(spec.label)}</div>'
            f'<div class="ts-kpi-value">{esc(format_value(spec, value))}</div>{foot}</div>'
        )
    if previous is None:
        against = f'<span class="ts-kpi-note" data-note="none">{esc(kpis["note"])}</span>'
    else:
        against = (
            f'<span class="ts-kpi-note" data-note="" data-previous-start="{esc(previous["start"])}">'
            f"against the {days} days before ({esc(previous['start'])} → {esc(previous['end'])})</span>"
        )
    period = (
        f'<div class="ts-period" data-start="{esc(current["start"])}" data-end="{esc(current["end"])}" '
        f'data-days="{days}">{esc(period_text(current, period_days))}: '
        f"{esc(current['start'])} → {esc(current['end'])} · {against}</div>"
    )
    return f'{period}<div class="ts-kpis">{"".join(cards)}</div>'


KPI_CSS = """
:host { width: 100%; }
.ts-period { font-size: 12.5px; margin: 0 4px 6px 4px; letter-spacing: .02em; }
.ts-kpi-note { opacity: .75; }
.ts-kpi-note[data-note="none"] { opacity: 1; font-weight: 600; }
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
    """The six headline numbers of a period, with the period selector; updated from a refresh's ``kpis``."""

    def __init__(self, first_day: dt.date, result: dict[str, Any], period: str = "7", **params: Any):
        super().__init__(**params)
        self.first_day = first_day
        self.kpis: dict[str, Any] = {}
        self.period = pmu.RadioButtonGroup(
            options=PERIOD_OPTIONS,
            value=period,
            size="small",
            label="Compare",
            css_classes=["ts-kpi-period"],
            margin=(0, 4),
            sx={"& .MuiButtonBase-root": {"whiteSpace": "nowrap"}},  # "Selected dates" on one line
        )
        self.pane = HTML("", stylesheets=[KPI_CSS], sizing_mode="stretch_width", css_classes=["ts-kpi-strip"])
        self.update(result)

    @property
    def period_days(self) -> int | None:
        return None if self.period.value == "custom" else int(self.period.value)

    def update(self, result: dict[str, Any]) -> None:
        self.kpis = compare_periods(result["current"], result["previous"], self.first_day)
        self.pane.object = cards_html(self.kpis, self.period_days)

    @property
    def loading(self) -> bool:
        return self.pane.loading

    @loading.setter
    def loading(self, value: bool) -> None:
        self.pane.loading = value

    def __panel__(self) -> Any:
        return pn.Column(self.period, self.pane, sizing_mode="stretch_width", margin=0)
