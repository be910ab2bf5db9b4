"""The "Generate weekly summary" button: the week's facts, Claude (or the offline rules), the number check.

The call can take tens of seconds, so it runs on a worker thread: the page shows a
progress indicator and every other session keeps refreshing meanwhile. The report is
rendered by tspanel.summary.render (model text escaped, never raw HTML) and offered as
a Markdown download.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import panel as pn
import panel_material_ui as pmu
from panel.viewable import Viewer

from tspanel.models.dashboard import Dashboard
from tspanel.summary.facts import build_payload
from tspanel.summary.render import render_html, render_markdown
from tspanel.summary.report import Report, build_report
from tspanel.ui.charts import in_server_session
from tspanel.ui.html import HTML
from tspanel.ui.text import esc

SUMMARY_CSS = """
.ts-summary { font-size: 14px; line-height: 1.5; }
.ts-summary h1 { font-size: 19px; } .ts-summary h2 { font-size: 16px; margin: 14px 0 4px 0; }
.ts-summary-status { font-size: 13px; opacity: .8; padding: 4px 2px; }
"""


def make_report(dashboard: Dashboard, offline: bool) -> Report:
    """The week's report for the dashboard's selection (blocking: run it off the event loop)."""
    return build_report(build_payload(dashboard), offline=offline)


# The buttons' row wraps on a narrow screen (at 1024 px the download button was cut off at the right).
WRAPPING = {"flex_wrap": "wrap", "align_items": "center", "sizing_mode": "stretch_width"}


class SummaryPanel(Viewer):
    """A button that writes the weekly summary for the current filters, with its number check."""

    def __init__(self, dataset: Any, filters: Any, **params: Any):
        super().__init__(**params)
        self.dataset = dataset
        self.filters = filters
        self.report: Report | None = None
        self.button = pmu.Button(label="Generate weekly summary", icon="auto_awesome", color="primary")
        self.offline = pmu.Checkbox(label="Offline (rules only, no Claude API)", value=False)
        self.progress = pmu.LinearProgress(variant="indeterminate", visible=False, sizing_mode="stretch_width")
        self.status = HTML(
            '<div class="ts-summary-status">The summary covers the last 7 days of the selection, '
            "compared with the 7 before. Without ANTHROPIC_API_KEY it is written by rules.</div>",
            stylesheets=[SUMMARY_CSS],
            sizing_mode="stretch_width",
        )
        self.body = HTML("", stylesheets=[SUMMARY_CSS], sizing_mode="stretch_width", css_classes=["ts-summary"])
        self.download = pmu.FileDownload(
            callback=self._markdown,
            filename="tspanel-weekly-summary.md",
            label="Download (Markdown)",
            icon="download",
            disabled=True,
        )
        self.button.on_click(self._clicked)
        self._layout = pmu.Paper(
            pn.FlexBox(self.button, self.offline, self.download, **WRAPPING),
            self.progress,
            self.status,
            self.body,
            elevation=1,
            sizing_mode="stretch_width",
            margin=6,
            css_classes=["ts-chart", "ts-chart-summary"],
            styles={"padding": "10px", "border-radius": "10px"},
        )

    def _clicked(self, _: Any) -> None:
        dashboard = Dashboard(self.dataset, self.filters.derive())
        offline = bool(self.offline.value)
        self.button.disabled = True
        self.progress.visible = True
        self.status.object = '<div class="ts-summary-status">Writing the weekly summary…</div>'

        async def run() -> None:
            try:
                report = await asyncio.to_thread(make_report, dashboard, offline)
            except Exception as exc:  # a bad dataset or payload: say so, keep the page alive
                name = type(exc).__name__
                pn.state.execute(lambda: self._failed(name), schedule=True)
                return
            pn.state.execute(lambda: self._show(report), schedule=True)

        if in_server_session():
            pn.state.execute(run)
        else:
            self._show(make_report(dashboard, offline))

    def _show(self, report: Report) -> None:
        self.report = report
        self.body.object = render_html(report, standalone=False)
        source = f"written by Claude ({report.model})" if report.source == "claude" else "written by rules (offline)"
        notice = f" {report.notice}" if report.notice else ""
        self.status.object = f'<div class="ts-summary-status">Summary {esc(source)}.{esc(notice)}</div>'
        self._done()

    def _failed(self, error: str) -> None:
        self.status.object = f'<div class="ts-summary-status">Could not write the summary ({esc(error)}).</div>'
        self._done()

    def _done(self) -> None:
        self.progress.visible = False
        self.button.disabled = False
        self.download.disabled = self.report is None

    def _markdown(self) -> io.BytesIO:
        text = render_markdown(self.report) if self.report is not None else ""
        return io.BytesIO(text.encode("utf-8"))

    def __panel__(self) -> Any:
        return self._layout
