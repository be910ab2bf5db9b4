"""Coordinated-attack detection in the browser: method, threshold, alerts, ground truth, live metrics.

The AttacksModel does the detection (no Panel there); this view only shows its small
outputs and writes the method and threshold back. Detection runs on a worker thread
so moving the threshold slider never freezes the page or the server.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from typing import Any

import panel as pn
import panel_material_ui as pmu
import polars as pl
from panel.viewable import Viewer

from tspanel.detect.registry import METHODS
from tspanel.models.attacks import IGNORED_BY_DETECTION, AttacksModel
from tspanel.models.base import Unavailable
from tspanel.models.case import alert_records, case_name, case_zip
from tspanel.models.evidence import Evidence, explain
from tspanel.models.filters import Filters
from tspanel.ui.charts import CARD_CSS, Chart, ChartCard, flow, in_server_session, run_off_loop
from tspanel.ui.choices import choices_for
from tspanel.ui.clickable import ClickableHTML
from tspanel.ui.flags import FlagsPanel
from tspanel.ui.html import HTML
from tspanel.ui.selection import Selection
from tspanel.ui.specs import CHARTS, ChartContext
from tspanel.ui.text import esc, fmt_pct, label
from tspanel.ui.volume import TILE_CSS, tiles_html
from tspanel.vocab import FILTER_LABELS, value_label

DEBOUNCE_SECONDS = 0.2
ALERT_ROWS_CSS = """
.ts-table tbody tr { cursor: pointer; }
.ts-table tbody tr:hover { background: rgba(63, 81, 181, .08); }
"""
EVIDENCE_CSS = """
.ts-evidence { font-size: 13px; margin: 4px 8px; padding-left: 18px; }
.ts-evidence li { margin: 3px 0; }
.ts-evidence li[data-suspicious="true"] { font-weight: 600; }
.ts-evidence-head { font-size: 13px; margin: 4px 8px; opacity: .85; }
"""
log = logging.getLogger(__name__)


def signals_text(signals: str | dict[str, float] | None) -> str:
    """'young accounts 9.5, shared content 4.1': the signals that fired, strongest first."""
    values = json.loads(signals) if isinstance(signals, str) else (signals or {})
    ranked = sorted(((k, v) for k, v in values.items() if v is not None), key=lambda kv: -kv[1])
    return ", ".join(f"{label(k)} {v:.1f}" for k, v in ranked) or "volume only"


WORDS = ("category", "pattern")  # codes shown as words, as on the charts ("self harm", "spam wave")


def table_html(frame: pl.DataFrame, columns: dict[str, str], empty: str) -> str:
    """A small HTML table of ``frame`` (every cell escaped: data strings are third-party text).

    Dates never break across lines ("2026-" over "09-23" in a narrow column)."""
    if frame.height == 0:  # as an empty chart says it (CARD_CSS, which the tables' panes carry)
        return f'<div class="ts-reason">{esc(empty)}</div>'
    text = {c for c in columns if frame.schema[c] in (pl.String, pl.Categorical)}  # left-aligned, numbers right
    head = "".join(f"<th{_TEXT if c in text else ''}>{esc(title)}</th>" for c, title in columns.items())
    rows = "".join(
        "<tr>" + "".join(_td(c, row[c], c in text) for c in columns) + "</tr>" for row in frame.iter_rows(named=True)
    )
    # in a box that scrolls sideways: a table wider than its card is not cut at the card's edge
    return (
        f"<div class='ts-table-scroll'><table class='ts-table'><thead><tr>{head}</tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
    )


_TEXT = " class='ts-text'"


def _td(column: str, value: Any, text: bool) -> str:
    if isinstance(value, dt.date):
        return f"<td class='ts-nowrap'>{esc(_cell(value))}</td>"
    if column in WORDS and isinstance(value, str):
        value = label(value)
    return f"<td{_TEXT if text else ''}>{esc(_cell(value))}</td>"


def scope_note(filters: Filters, reviewer_label: Any = str) -> str:
    """Which of the session's filters detection leaves out, or "" when none is on.

    Detection sees every severity, action and reviewer (tspanel.models.attacks); with one of
    those filters on, the tab's counts would otherwise contradict the chips and the flags list.
    """
    on = []
    for name in IGNORED_BY_DETECTION:
        values = list(getattr(filters, name))
        if values:
            shown = [reviewer_label(v) if name == "reviewers" else value_label(name, v) for v in values]
            on.append(f"{FILTER_LABELS[name].lower()} ({', '.join(shown)})")
    if not on:
        return ""
    which = on[0] if len(on) == 1 else ", ".join(on[:-1]) + " and " + on[-1]
    filters_word = "filter" if len(on) == 1 else "filters"
    return (
        f'<div class="ts-card-subtitle ts-scope-note">Detection ignores the {esc(which)} {filters_word}: '
        "a campaign's flags span every severity, action and reviewer, so the alerts, the chart, the "
        "evidence and the exported case count all of them. Only the flags list follows these filters.</div>"
    )


def evidence_html(evidence: Evidence) -> str:
    """The evidence's items, one statement each (escaped), the suspicious ones marked and first."""
    days = evidence.start.isoformat() if evidence.start == evidence.end else f"{evidence.start} → {evidence.end}"
    head = (
        f'<div class="ts-evidence-head" data-flags="{evidence.flags}">{esc(evidence.category)}, {esc(days)}: '
        f"{evidence.flags:,} flags, against {esc(evidence.baseline)}. "
        + (
            f"{len(evidence.suspicious)} of {len(evidence.items)} items out of the ordinary (⚠).</div>"
            if evidence.items
            else f"{esc(evidence.why_empty or '')}.</div>"
        )
    )
    if not evidence.items:
        return head
    ranked = sorted(evidence.items, key=lambda item: not item.suspicious)
    items = "".join(
        f'<li data-kind="{esc(item.kind)}" data-suspicious="{str(item.suspicious).lower()}">'
        f"{'⚠ ' if item.suspicious else ''}{esc(label(item.kind))}: {esc(item.statement)}</li>"
        for item in ranked
    )
    return f'{head}<ul class="ts-evidence">{items}</ul>'


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def metrics_tiles(evaluation: dict[str, Any] | Unavailable) -> str:
    if isinstance(evaluation, Unavailable):
        return f'<div class="ts-reason">Not available: {esc(evaluation.reason)}</div>'
    days, pairs = evaluation["days"], evaluation["day_category"]
    caught = sum(1 for a in evaluation["attacks"] if a["caught"])

    def pct(value: float | None) -> str:
        return fmt_pct(None if value is None else 100 * value, 0)

    return tiles_html(
        [
            (
                "Recall (days)",
                pct(days["recall"]),
                f"{days['true_positives']} of {evaluation['attack_days']} attack days",
            ),
            ("Precision (days)", pct(days["precision"]), f"{days['false_alarms']} false alarm days"),
            (
                "F1 (day × category)",
                pct(pairs["f1"]) if pairs else "n/a",
                f"{pairs['true_positives']} hits, {pairs['missed']} missed" if pairs else "alerts name no category",
            ),
            ("Attacks caught", f"{caught} of {len(evaluation['attacks'])}", f"ground truth: {evaluation['truth']}"),
        ]
    )


class DetectionView(Viewer):
    """Volume with alerts and known attacks, a method and threshold control, and the alert list."""

    def __init__(self, dataset: Any, filters: Filters, selection: Selection, **params: Any):
        super().__init__(**params)
        self.model = AttacksModel(dataset, filters.derive())
        self.dataset = dataset
        self.filters = filters
        self._alert_rows: pl.DataFrame | None = None  # the alerts listed, in the order shown
        self._evidence_generation = 0
        self._generation = 0
        # The options are the methods' names (the CLI's --method and the comparison table use them);
        # the chosen one's description is a line below: in the option labels it was cut off.
        self.method = pmu.Select(label="Detection method", options=list(METHODS), value=self.model.method, width=240)
        self.method_help = HTML(
            self._method_help(self.model.method),
            stylesheets=[CARD_CSS],
            css_classes=["ts-method-help"],
            sizing_mode="stretch_width",
        )
        self.scope = HTML(
            "", stylesheets=[CARD_CSS], css_classes=["ts-scope"], sizing_mode="stretch_width", visible=False
        )
        self.threshold = pmu.FloatSlider(
            label="Alert threshold (score)", start=1.0, end=10.0, step=0.25, value=self.model.threshold, width=320
        )
        self.method.param.watch(self._method_changed, "value")
        self.threshold.param.watch(lambda e: self._changed(), "value_throttled")

        result = self._compute()
        (spec,) = CHARTS["attacks"]
        self.chart = Chart(spec, ChartContext(choices_for(dataset)), selection, result["daily_volume"])
        self.chart_card = self.chart.card
        self.metrics = HTML("", stylesheets=[TILE_CSS], sizing_mode="stretch_width")
        self.metrics_card = ChartCard(
            "attacks-metrics", "Precision and recall at this threshold", self.metrics, download=False
        )
        self.alerts = ClickableHTML(
            "",
            stylesheets=[TILE_CSS, CARD_CSS, ALERT_ROWS_CSS],
            sizing_mode="stretch_width",
            css_classes=["ts-alert-rows"],
        )
        self.alerts.on_row(self.open_alert)
        self.alerts_card = ChartCard(
            "attacks-alerts",
            "Alerts and the signals that fired",
            self.alerts,
            subtitle="strongest signal first; click a row for its evidence and flags",
        )
        self.evidence = HTML(
            "", stylesheets=[EVIDENCE_CSS], sizing_mode="stretch_width", css_classes=["ts-evidence-pane"]
        )
        self.evidence_card = ChartCard(
            "attacks-evidence",
            "Evidence of coordination",
            self.evidence,
            subtitle="the selected alert's day and category against the category's usual days",
            download=False,
        )
        self._case: tuple[dt.date, str, Evidence | None] | None = None  # the open alert: day, category, evidence
        self.export_case = pmu.FileDownload(
            callback=self._case_file,
            filename="case.zip",
            label="Export case",
            icon="download",
            size="small",
            description=(
                "Download the alert, its evidence and its flag ids (JSON) with the flags (CSV) for investigators: "
                "what `tspanel detect --explain DATE CATEGORY --case DIR` writes"
            ),
            css_classes=["ts-export-case"],
            disabled=True,
            width=160,
        )
        self.evidence_box = pn.Column(
            self.evidence_card,
            pn.Row(self.export_case, margin=(0, 6)),
            visible=False,
            sizing_mode="stretch_width",
            margin=0,
        )
        self.flags = FlagsPanel(dataset, filters, title="Flags of this alert", css_class="ts-alert-flags")
        self.events = HTML("", stylesheets=[TILE_CSS, CARD_CSS], sizing_mode="stretch_width")
        self.events_card = ChartCard("attacks-known", "Known attacks (ground truth)", self.events)
        self.comparison = HTML("", stylesheets=[TILE_CSS, CARD_CSS], sizing_mode="stretch_width")
        self.comparison_card = ChartCard(
            "attacks-comparison",
            "All detectors on the selected data",
            self.comparison,
            subtitle="each at its default threshold; the earlier version's method is zscore-legacy",
        )
        self.cards = [self.chart_card, self.metrics_card, self.alerts_card, self.events_card, self.comparison_card]
        self.error = HTML("", visible=False, css_classes=["ts-attacks-error"], sizing_mode="stretch_width")
        self._apply(result, initial=True)
        filters.param.watch(self._filters_changed, ["start", "end", "categories", "regions"])
        filters.param.watch(self._scope_changed, list(IGNORED_BY_DETECTION))
        self._scope_changed()
        self._layout = pn.Column(
            pn.Row(self.method, self.threshold, sizing_mode="stretch_width"),
            self.method_help,
            self.scope,
            self.error,
            self.metrics_card,
            self.chart_card,
            flow(self.alerts_card, self.events_card),  # one under the other on narrow screens
            self.evidence_box,
            self.flags,
            self.comparison_card,
            sizing_mode="stretch_width",
        )

    # --- computing ------------------------------------------------------------------
    def _compute(self) -> dict[str, Any]:
        """Every output, or each one Unavailable with the reason when the data cannot be read.

        With hybrid storage some columns are read from the dataset's files on demand; a file
        that became unreadable must show an error here, not leave the tab loading forever.
        """
        model = self.model
        try:
            return {
                "alerts": model.alerts(),
                "daily_volume": model.daily_volume(),
                "known_events": model.known_events(),
                "evaluation": model.evaluation(),
                "comparison": model.comparison(),
            }
        except (OSError, pl.exceptions.PolarsError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log.warning("attack detection failed: %s", first_line)
            failed = Unavailable(f"the data could not be read ({first_line})")
            return dict.fromkeys(("alerts", "daily_volume", "known_events", "evaluation", "comparison"), failed)

    @staticmethod
    def _error_html(volume: Any) -> str:
        if not isinstance(volume, Unavailable):
            return ""
        return (
            '<div class="ts-reason" role="alert" style="color:#c62828">Attack detection failed: '
            f"{esc(volume.reason)}. Check the dataset's files and reload the page.</div>"
        )

    @staticmethod
    def _method_help(method: str) -> str:
        return f'<div class="ts-card-subtitle">{esc(METHODS[method].description)}</div>'

    def _method_changed(self, event: Any) -> None:
        self.method_help.object = self._method_help(event.new)
        self.model.method = event.new  # resets the model's threshold to the method's default
        self.threshold.value = self.model.threshold
        self._changed()

    def _filters_changed(self, *_: Any) -> None:
        f = self.filters
        self.model.filters.param.update(start=f.start, end=f.end, categories=f.categories, regions=f.regions)
        self._changed()

    def _scope_changed(self, *_: Any) -> None:
        note = scope_note(self.filters, choices_for(self.dataset).reviewer_label)
        self.scope.param.update(object=note, visible=bool(note))

    def _changed(self) -> None:
        self.model.threshold = float(self.threshold.value)
        self._generation += 1
        generation = self._generation
        for card in self.cards:
            card.loading = True
        if not in_server_session():
            self._apply(self._compute())
            return

        async def later() -> None:
            await asyncio.sleep(DEBOUNCE_SECONDS)
            if generation != self._generation:
                return
            result = await asyncio.to_thread(self._compute)
            if generation == self._generation:
                pn.state.execute(lambda: self._apply(result), schedule=True)

        pn.state.execute(later)

    def _apply(self, result: dict[str, Any], initial: bool = False) -> None:
        if not initial:
            self.chart.update(result["daily_volume"])
        self.metrics.object = metrics_tiles(result["evaluation"])
        self.error.object = self._error_html(result["daily_volume"])
        self.error.visible = isinstance(result["daily_volume"], Unavailable)
        alerts = result["alerts"]
        if isinstance(alerts, Unavailable):
            for card in self.cards:
                card.show(alerts)
                card.loading = False
            return
        alerts = alerts.with_columns(
            pl.col("signals").map_elements(signals_text, return_dtype=pl.String).alias("explanation")
        )
        self.alerts_card.show(alerts.drop("signals"))
        self._alert_rows = alerts
        self.alerts.object = table_html(
            alerts,
            {"date": "Day", "category": "Category", "score": "Score", "explanation": "Signals (robust z)"},
            "No alerts in the selected days at this threshold.",
        )
        events = result["known_events"]
        if self.events_card.show(events):
            cols = {"attack_id": "Attack", "start_date": "Start", "end_date": "End", "category": "Category"}
            titles = {"pattern": "Pattern", "num_accounts": "Accounts", "region": "Region"}
            cols |= {c: title for c, title in titles.items() if c in events.columns}
            self.events.object = table_html(events, cols, "No known attacks in the selected days.")
        comparison = result["comparison"]
        self.comparison_card.show(comparison)
        self.comparison.object = table_html(
            comparison,
            {
                c: t
                for c, t in {
                    "method": "Method",
                    "alerts": "Alerts",
                    "day_precision": "Precision (days)",
                    "day_recall": "Recall (days)",
                    "pair_f1": "F1 (day × category)",
                    "attacks_caught": "Attacks caught",
                }.items()
                if c in comparison.columns
            },
            "No data.",
        )
        for card in self.cards:
            card.loading = False

    # --- an alert row opens its day x category ------------------------------------------
    def open_alert(self, row: int) -> None:
        """Select the alert's day and category, and show its evidence and its flags."""
        alerts = self._alert_rows
        if alerts is None or not 0 <= row < alerts.height:
            return
        alert = alerts.row(row, named=True)
        day = alert["date"] if isinstance(alert["date"], dt.date) else dt.date.fromisoformat(str(alert["date"])[:10])
        category = str(alert["category"])
        self.filters.param.update(start=day, end=day, categories=[category])
        self._evidence_generation += 1
        generation = self._evidence_generation
        regions = list(self.filters.regions) or None
        self._case = (day, category, None)
        self.export_case.disabled = True
        self.evidence_box.visible = True
        self.evidence.object = f'<div class="ts-evidence-head">{esc(category)}, {day}: reading the evidence…</div>'
        dataset = self.dataset

        def done(evidence: Evidence | None) -> None:
            if generation != self._evidence_generation:
                return
            if evidence is None:
                self.evidence.object = '<div class="ts-reason">The evidence could not be computed.</div>'
            else:
                self.evidence.object = evidence_html(evidence)
                # The case is the alert's whole day x category, as the CLI writes it: every region.
                self._case = (day, category, evidence if regions is None else None)
                self.export_case.filename = f"{case_name(evidence)}.zip"
                self.export_case.disabled = False

        run_off_loop(lambda: explain(dataset, day, day, category, regions=regions), done)
        self.flags.show()

    def _case_file(self) -> Any:
        """The open alert's case (JSON + flags CSV in one ZIP), by the CLI's code (tspanel.models.case)."""
        if self._case is None:
            return None
        day, category, evidence = self._case
        if evidence is None:
            evidence = explain(self.dataset, day, day, category)
        alerts = alert_records(self.dataset, day, day, category, self.model.method, self.model.threshold)
        return case_zip(self.dataset, evidence, alerts)

    def __panel__(self) -> Any:
        return self._layout
