"""Tab "Classifier Health": score drift against the baseline, score distributions, calibration."""

from __future__ import annotations

from typing import Any

import holoviews as hv
import pandas as pd
import panel as pn
import polars as pl
from panel.viewable import Viewer

from tspanel.schema import SEVERITIES
from tspanel.ui.charts import ChartCard, PipePlot
from tspanel.ui.choices import Choices
from tspanel.ui.frames import complete, dates_to_pandas
from tspanel.ui.palette import SEVERITY_COLORS, STATE_COLORS, cycle_colors
from tspanel.ui.plotting import BAR_OPTS, LEGEND_OPTS, TIME_OPTS, annotation, brushable, clickable
from tspanel.ui.selection import Selection
from tspanel.ui.text import esc, fmt_score

BANNER_CSS = """
.ts-banner { display: flex; align-items: center; gap: 18px; padding: 12px 18px; border-radius: 12px; color: white; }
.ts-banner-state { font-size: 20px; font-weight: 800; letter-spacing: .08em; text-transform: uppercase;
  min-width: 120px; }
.ts-banner-text { font-size: 14px; line-height: 1.45; }
.ts-banner-rule { font-size: 12px; opacity: .9; }
"""
BOX_HALF_WIDTH = 0.3


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
    """Drift chart with baseline and threshold, box plots from quantiles, calibration with intervals."""

    def __init__(self, choices: Choices, selection: Selection, result: dict[str, Any], **params: Any):
        super().__init__(**params)
        self.choices = choices
        self.selection = selection
        self.category_colors = cycle_colors(choices.categories)
        status = result["status"]
        self.baseline, self.threshold = status["baseline"], status["threshold"]

        self.banner = pn.pane.HTML(
            banner_html(status), stylesheets=[BANNER_CSS], sizing_mode="stretch_width", css_classes=["ts-drift-banner"]
        )
        self.drift = PipePlot(
            self._render_drift, dates_to_pandas(result["daily_score"]), name="score-drift", height=300
        )
        self.drift.on_brush(selection.dates)
        self.drift_card = ChartCard(
            "score-drift",
            "Classifier score drift",
            self.drift.pane,
            subtitle="daily mean ML score, its rolling mean, the healthy baseline and the alert threshold",
            hint="Drag across the chart to select days.",
        )
        self._box_order: list[str] = []
        self.boxes = PipePlot(
            self._render_boxes, self._box_frame(result["score_quantiles"]), name="score-distribution", height=300
        )
        self.boxes.on_tap(self._tap_box)
        self.boxes_card = ChartCard(
            "score-distribution",
            "Score distribution by category",
            self.boxes.pane,
            subtitle="box: 25th-75th percentile, line: median, whiskers: min to max",
            hint="Click a box to filter by that category.",
        )
        self.calibration = PipePlot(
            self._render_calibration, self._calibration_frame(result["calibration"]), name="calibration", height=300
        )
        self.calibration.on_tap(lambda x, y: selection.toggle("severities", x))
        self.calibration_card = ChartCard(
            "calibration",
            "Calibration by severity",
            self.calibration.pane,
            hint="Click a point to filter by severity.",
        )
        self.cards = [self.drift_card, self.boxes_card, self.calibration_card]
        self.update(result, initial=True)
        self._layout = pn.Column(
            self.banner,
            self.drift_card,
            pn.Row(self.boxes_card, self.calibration_card, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def update(self, result: dict[str, Any], initial: bool = False) -> None:
        self.banner.object = banner_html(result["status"])
        if self.drift_card.show(result["daily_score"]) and not initial:
            self.drift.send(dates_to_pandas(result["daily_score"]))
        if self.boxes_card.show(result["score_quantiles"]) and not initial:
            self.boxes.send(self._box_frame(result["score_quantiles"]))
        calibration = result["calibration"]
        if self.calibration_card.show(calibration):
            if not initial:
                self.calibration.send(self._calibration_frame(calibration))
            rises = calibration["rises_with_severity"][0] if calibration.height else None
            verdict = {True: "rises with severity, as it should", False: "does not rise with severity: check it"}
            self.calibration_card.set_subtitle(
                "Calibration by severity",
                f"mean ML score with its 95% interval; the mean {verdict.get(rises, 'cannot be compared')}",
            )

    # --- frames -------------------------------------------------------------------
    def _box_frame(self, frame: pl.DataFrame) -> pd.DataFrame:
        out = complete(frame.to_pandas(), "category", sorted(self.choices.categories))
        self._box_order = list(out["category"])
        out["x"] = range(len(out))
        out["left"] = out["x"] - BOX_HALF_WIDTH
        out["right"] = out["x"] + BOX_HALF_WIDTH
        out["color"] = [self.category_colors.get(c, "#888") for c in out["category"]]
        return out

    @staticmethod
    def _calibration_frame(frame: pl.DataFrame) -> pd.DataFrame:
        out = complete(frame.to_pandas(), "severity", SEVERITIES)
        out["err_low"] = (out["mean_score"] - out["ci_low"]).fillna(0)
        out["err_high"] = (out["ci_high"] - out["mean_score"]).fillna(0)
        return out

    def _tap_box(self, x: Any, y: Any) -> None:
        try:
            index = round(float(x))
        except (TypeError, ValueError):
            return
        if 0 <= index < len(self._box_order) and abs(float(x) - index) <= BOX_HALF_WIDTH + 0.1:
            self.selection.toggle("categories", self._box_order[index])

    # --- charts -------------------------------------------------------------------
    def _render_drift(self, data: pd.DataFrame) -> hv.Overlay:
        daily = brushable(
            hv.Curve(data, "date", hv.Dimension("mean_score", label="Daily mean score"), label="Daily mean"), hover=True
        ).opts(color="#7fa7cf", alpha=0.7, line_width=1.2)
        points = brushable(hv.Scatter(data, "date", ["mean_score", "flags"], label="Daily mean")).opts(
            color="#7fa7cf", alpha=0.8, size=4
        )
        rolling = brushable(
            hv.Curve(data, "date", hv.Dimension("rolling_mean", label="Rolling mean"), label="Rolling mean"), hover=True
        ).opts(color="#2f6db5", line_width=3)
        baseline = annotation(hv.HLine(self.baseline)).opts(color="#2e7d32", line_dash="dashed", line_width=1.5)
        threshold = annotation(hv.HLine(self.threshold)).opts(color="#c62828", line_dash="dashed", line_width=1.5)
        values = [self.threshold, self.baseline]
        if len(data):
            values += [float(data["mean_score"].min()), float(data["mean_score"].max())]
        low, high = min(values), max(values)
        pad = max((high - low) * 0.12, 0.01)
        overlay = daily * points * rolling * baseline * threshold
        if len(data):
            x0 = data["date"].iloc[0]
            overlay = overlay * annotation(
                hv.Text(x0, self.baseline + pad * 0.35, f" baseline {self.baseline:.2f}")
            ).opts(text_color="#2e7d32", text_align="left", text_font_size="11px")
            overlay = overlay * annotation(
                hv.Text(x0, self.threshold - pad * 0.35, f" alert threshold {self.threshold:.2f}")
            ).opts(text_color="#c62828", text_align="left", text_font_size="11px")
        return overlay.opts(
            hv.opts.Overlay(
                **TIME_OPTS,
                **LEGEND_OPTS,
                active_tools=["xbox_select"],
                ylabel="ML score",
                ylim=(low - pad, high + pad),
            )
        )

    def _render_boxes(self, data: pd.DataFrame) -> hv.Overlay:
        whiskers = clickable(hv.Segments(data, ["x", "min", "x", "max"]), hover=False).opts(
            color="#90a4ae", line_width=1.5
        )
        boxes = clickable(
            hv.Rectangles(data, ["left", "p25", "right", "p75"], ["category", "median", "min", "max", "count", "color"])
        ).opts(
            color="color",
            line_color="#90a4ae",
            fill_alpha=0.85,
            hover_tooltips=[
                ("Category", "@category"),
                ("Flags", "@count{0,0}"),
                ("Min", "@min{0.000}"),
                ("25th pct", "@p25{0.000}"),
                ("Median", "@median{0.000}"),
                ("75th pct", "@p75{0.000}"),
                ("Max", "@max{0.000}"),
            ],
        )
        medians = clickable(hv.Segments(data, ["left", "median", "right", "median"]), hover=False).opts(
            color="#fafafa", line_width=2.5
        )
        ticks = [(int(x), c) for x, c in zip(data["x"], data["category"], strict=True)]
        return (whiskers * boxes * medians).opts(
            hv.opts.Overlay(
                **BAR_OPTS,
                xticks=ticks or [(0, "")],
                xlim=(-0.6, max(len(ticks), 1) - 0.4),
                ylim=(0, 1.02),
                xlabel="",
                ylabel="ML score",
                xrotation=20 if len(ticks) > 5 else 0,
            )
        )

    @staticmethod
    def _render_calibration(data: pd.DataFrame) -> hv.Overlay:
        bars = clickable(hv.ErrorBars(data, "severity", ["mean_score", "err_low", "err_high"]), hover=False).opts(
            color="#90a4ae", line_width=2
        )
        points = clickable(hv.Scatter(data, "severity", ["mean_score", "count", "ci_low", "ci_high"])).opts(
            color="severity",
            cmap=SEVERITY_COLORS,
            size=14,
            line_color="white",
            hover_tooltips=[
                ("Severity", "@severity"),
                ("Mean score", "@mean_score{0.000}"),
                ("95% interval", "@ci_low{0.000} – @ci_high{0.000}"),
                ("Flags", "@count{0,0}"),
            ],
        )
        return (bars * points).opts(hv.opts.Overlay(**BAR_OPTS, xlabel="", ylabel="mean ML score", show_legend=False))

    def __panel__(self) -> Any:
        return self._layout
