"""Tab "Reviewer Queue": backlog, intake, utilisation, time to resolution and the staffing need."""

from __future__ import annotations

import datetime as dt
from typing import Any

import holoviews as hv
import pandas as pd
import panel as pn
import polars as pl
from bokeh.models import Span
from panel.viewable import Viewer

from tspanel.models.base import Unavailable
from tspanel.models.queue import HIST_BIN_HOURS
from tspanel.schema import SEVERITIES
from tspanel.ui.charts import ChartCard, PipePlot
from tspanel.ui.choices import Choices
from tspanel.ui.frames import wide_by
from tspanel.ui.palette import BAD, OVER_SLA, SEVERITY_COLORS, WITHIN_SLA
from tspanel.ui.plotting import BAR_OPTS, LEGEND_OPTS, TIME_OPTS, annotation, brushable, clickable
from tspanel.ui.selection import Selection
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
.ts-staff-gap { color: #c62828; font-weight: 600; }
.ts-staff-ok { color: #2e7d32; font-weight: 600; }
.ts-arith { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; line-height: 1.5;
  background: rgba(127,127,127,.08); border-radius: 8px; padding: 8px 10px; margin-top: 8px; white-space: normal; }
"""
BAR_DAY = dt.timedelta(hours=20)


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
    return (
        f'<div class="ts-staff" data-needed="{esc(needed)}"><div class="ts-staff-big">{esc(big)}</div>'
        f'<div class="ts-staff-side">{side}</div></div><div class="ts-arith">{esc(staffing["arithmetic"])}</div>'
    )


def full_capacity_line(figure: Any) -> None:
    """The 100%-of-capacity line across the (horizontal) utilisation bars."""
    figure.add_layout(Span(location=100, dimension="height", line_color="#c62828", line_dash="dashed", line_width=1.5))


class QueueTab(Viewer):
    """Backlog cards, stacked daily intake, utilisation, SLA histogram and staffing need."""

    def __init__(self, choices: Choices, selection: Selection, result: dict[str, Any], **params: Any):
        super().__init__(**params)
        self.choices = choices
        self.selection = selection
        self.sla_hours = float(result["sla"]["sla_hours"])
        self.backlog = pn.pane.HTML("", stylesheets=[QUEUE_CSS], sizing_mode="stretch_width")
        self.backlog_card = ChartCard(
            "backlog",
            "Review backlog",
            self.backlog,
            subtitle="human-review cases still open at the end of the selected days",
        )

        self.intake = PipePlot(
            self._render_intake, self._intake_frame(result["daily_intake"]), name="intake", height=300
        )
        self.intake.on_brush(selection.dates)
        self.intake.on_legend_click(lambda text: selection.toggle("severities", text))
        self.intake_card = ChartCard(
            "intake",
            "Daily human-review intake by severity",
            self.intake.pane,
            hint="Drag across the chart to select days; click a legend entry to filter by severity.",
        )

        self._reviewer_of: dict[str, str] = {}
        n_reviewers = max(len(choices.reviewers), 4)
        self.utilisation = PipePlot(
            self._render_utilisation,
            self._utilisation_frame(result["utilisation"]),
            name="utilisation",
            height=min(max(240, 20 * n_reviewers + 70), 720),
        )
        self.utilisation.on_tap(self._tap_reviewer)
        self.utilisation.decorate(full_capacity_line)
        self.utilisation_card = ChartCard(
            "utilisation",
            "Reviewer utilisation",
            self.utilisation.pane,
            subtitle="cases handled / (capacity a day × days); the line is 100% of capacity",
            hint="Click a bar to filter by that reviewer.",
        )

        self.histogram = PipePlot(
            self._render_histogram,
            self._histogram_frame(result["resolution_histogram"]),
            name="resolution-time",
            height=260,
        )
        self.histogram_card = ChartCard("resolution-time", "Time to resolution", self.histogram.pane)

        self.staffing = pn.pane.HTML("", stylesheets=[QUEUE_CSS], sizing_mode="stretch_width")
        self.staffing_card = ChartCard("staffing", "Staffing need, next 7 days", self.staffing)

        self.cards = [
            self.backlog_card,
            self.intake_card,
            self.utilisation_card,
            self.histogram_card,
            self.staffing_card,
        ]
        self.update(result, initial=True)
        self._layout = pn.Column(
            self.backlog_card,
            pn.Row(self.intake_card, self.utilisation_card, sizing_mode="stretch_width"),
            pn.Row(self.histogram_card, self.staffing_card, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def update(self, result: dict[str, Any], initial: bool = False) -> None:
        if self.backlog_card.show(result["backlog"]):
            self.backlog.object = backlog_html(result["backlog"])
        if self.intake_card.show(result["daily_intake"]) and not initial:
            self.intake.send(self._intake_frame(result["daily_intake"]))
        if self.utilisation_card.show(result["utilisation"]) and not initial:
            self.utilisation.send(self._utilisation_frame(result["utilisation"]))
        histogram = result["resolution_histogram"]
        if self.histogram_card.show(histogram):
            if not initial:
                self.histogram.send(self._histogram_frame(histogram))
            sla = result["sla"]
            self.histogram_card.set_subtitle(
                "Time to resolution",
                f"human-review cases by hours to resolution; {fmt_count(sla['breaches'])} of "
                f"{fmt_count(sla['eligible'])} high and critical cases took over {sla['sla_hours']:.0f} h "
                f"({fmt_pct(sla['breach_rate_pct'])})",
            )
        self.staffing_card.show(result["staffing"])
        self.staffing.object = staffing_html(result["staffing"])

    # --- frames -------------------------------------------------------------------
    @staticmethod
    def _intake_frame(frame: pl.DataFrame) -> pd.DataFrame:
        """Stacked bars as rectangles: one bottom/top pair per severity and day."""
        wide = wide_by(frame, "severity", "cases", SEVERITIES)
        out = pd.DataFrame(
            {"date": wide["date"], "left": wide["date"] - BAR_DAY / 2, "right": wide["date"] + BAR_DAY / 2}
        )
        bottom = pd.Series(0.0, index=wide.index)
        for i, severity in enumerate(SEVERITIES):
            cases = wide[f"s{i}"]
            out[f"{severity}_bottom"] = bottom
            out[f"{severity}_top"] = bottom + cases
            out[f"{severity}_cases"] = cases
            bottom = bottom + cases
        out["total"] = bottom
        return out

    def _utilisation_frame(self, frame: pl.DataFrame | Unavailable) -> pd.DataFrame:
        """One row per reviewer of the dataset, always: those the filters leave out have no bar.

        A fixed row count keeps the Bokeh source the same length from one refresh to the
        next (BokehJS raised "Size mismatch" when a bar chart's length changed).
        """
        rows = (
            [] if isinstance(frame, Unavailable) else frame.select("reviewer_id", "utilisation_pct", "handled").rows()
        )
        shown = {rid for rid, _, _ in rows}
        rows += [(rid, None, None) for rid in self.choices.reviewers if rid not in shown]
        out = pd.DataFrame(
            {
                "reviewer_id": [r[0] for r in rows],
                "utilisation_pct": pd.Series([r[1] for r in rows], dtype=float),
                "handled": pd.Series([r[2] for r in rows], dtype=float),
            }
        )
        out["reviewer"] = [self.choices.reviewer_label(r) for r in out["reviewer_id"]]
        self._reviewer_of = dict(zip(out["reviewer"], out["reviewer_id"], strict=True))
        out["color"] = [BAD if u > 100 else "#4e79a7" for u in out["utilisation_pct"].fillna(0)]
        return out.iloc[::-1].reset_index(drop=True)

    def _histogram_frame(self, frame: pl.DataFrame | Unavailable) -> pd.DataFrame:
        if isinstance(frame, Unavailable):
            return pd.DataFrame({"bin_start": [], "bin_end": [], "cases": [], "color": [], "bin": []})
        out = frame.to_pandas()
        out["bin_end"] = out["bin_end"].fillna(out["bin_start"] + HIST_BIN_HOURS)
        out["color"] = [OVER_SLA if over else WITHIN_SLA for over in out["over_sla"]]
        out["bin"] = [
            f"{s:.0f}–{e:.0f} h" if i < len(out) - 1 else f"{s:.0f} h or more"
            for i, (s, e) in enumerate(zip(out["bin_start"], out["bin_end"], strict=True))
        ]
        out["zero"] = 0.0
        return out

    def _tap_reviewer(self, x: Any, y: Any) -> None:
        for value in (y, x):
            if isinstance(value, str) and value in self._reviewer_of:
                self.selection.toggle("reviewers", self._reviewer_of[value])
                return

    # --- charts -------------------------------------------------------------------
    def _render_intake(self, data: pd.DataFrame) -> hv.Overlay:
        layers = [
            brushable(
                hv.Rectangles(
                    data,
                    ["left", f"{s}_bottom", "right", f"{s}_top"],
                    [hv.Dimension(f"{s}_cases", label=f"{s} cases"), hv.Dimension("total", label="All cases")],
                    label=s,
                ),
                hover=True,
            ).opts(
                color=SEVERITY_COLORS[s],
                line_alpha=0,
                hover_tooltips=[("Severity", s), ("Cases", f"@{{{s}_cases}}{{0,0}}"), ("All cases", "@total{0,0}")],
            )
            for s in SEVERITIES
        ]
        return hv.Overlay(layers).opts(
            hv.opts.Overlay(
                **TIME_OPTS,
                **LEGEND_OPTS,
                active_tools=["xbox_select"],
                ylabel="cases a day",
            )
        )

    @staticmethod
    def _render_utilisation(data: pd.DataFrame) -> hv.Bars:
        bars = clickable(
            hv.Bars(data, hv.Dimension("reviewer", label="Reviewer"), ["utilisation_pct", "handled", "color"])
        ).opts(
            color="color",
            invert_axes=True,
            hover_tooltips=[
                ("Reviewer", "@reviewer"),
                ("Utilisation", "@utilisation_pct{0.0}%"),
                ("Handled", "@handled{0,0}"),
            ],
        )
        busiest = data["utilisation_pct"].max()
        top = max(110.0, float(busiest) * 1.05) if pd.notna(busiest) else 110.0
        # A single element: the 100% line is a Bokeh Span added once (see full_capacity_line). As
        # an overlay, bars whose count changes raised "Size mismatch" in BokehJS on update.
        return bars.opts(**BAR_OPTS, xlabel="", ylabel="utilisation, % of capacity", ylim=(0, top))

    def _render_histogram(self, data: pd.DataFrame) -> hv.Overlay:
        bars = clickable(hv.Rectangles(data, ["bin_start", "zero", "bin_end", "cases"], ["bin", "color"])).opts(
            color="color",
            line_color="white",
            hover_tooltips=[("Resolved in", "@bin"), ("Cases", "@cases{0,0}")],
        )
        sla = annotation(hv.VLine(self.sla_hours)).opts(color="#8e24aa", line_dash="dashed", line_width=2)
        top = float(data["cases"].max()) if len(data) else 1.0
        label = annotation(hv.Text(self.sla_hours, top * 0.95, f" {self.sla_hours:.0f} h SLA")).opts(
            text_align="left", text_font_size="11px", text_color="#8e24aa"
        )
        return (bars * sla * label).opts(
            hv.opts.Overlay(**BAR_OPTS, xlabel="hours to resolution", ylabel="cases", ylim=(0, top * 1.08 or 1))
        )

    def __panel__(self) -> Any:
        return self._layout
