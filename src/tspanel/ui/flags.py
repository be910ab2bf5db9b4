"""The flags table behind a selection: one page at a time, sorted and searched on the server.

The table follows a Filters object (the session's, or the attacks tab's) but computes only
while it is open. Each page is a tspanel.models.flags.FlagsTable query run on a worker
thread; the browser receives that page's rows as escaped HTML and nothing more. The CSV
and Parquet downloads are the model's export of the whole selection (formulas neutralised
in CSV).
"""

from __future__ import annotations

import io
import logging
import threading
from typing import Any

import panel as pn
import panel_material_ui as pmu
import polars as pl
from panel.viewable import Viewer

from tspanel.errors import TspanelError
from tspanel.models.filters import LIST_FILTERS, Filters
from tspanel.models.flags import FlagsTable, Page
from tspanel.ui.charts import run_off_loop, when_slow
from tspanel.ui.html import HTML
from tspanel.ui.text import esc, fmt_count

LOG = logging.getLogger(__name__)
PAGE_SIZE = 50
# A browser download passes through the session's websocket in one piece (Panel's FileDownload):
# larger selections are for `tspanel flags --out FILE`, which streams to disk.
MAX_DOWNLOAD_ROWS = 1_000_000
FILTER_PARAMS: tuple[str, ...] = ("start", "end", *LIST_FILTERS)
NO_SORT = "(data order)"
ALL_STATUSES = "all"
STATUS_TITLES: dict[str, str] = {
    "All flags": ALL_STATUSES,
    "Open review cases (now)": "open",
    "Resolved review cases": "resolved",
    "Open at the end of the selected days (backlog)": "backlog",
}
COLUMN_TITLES: dict[str, str] = {
    "flag_id": "Flag",
    "date": "Day",
    "created_at": "Time",
    "category": "Category",
    "region": "Region",
    "severity": "Severity",
    "action": "Action",
    "ml_score": "ML score",
    "account_id": "Account",
    "account_age_days": "Account age (days)",
    "content_hash": "Content hash",
    "target_id": "Target",
    "reviewer_id": "Reviewer",
    "status": "Status",
    "resolution_hrs": "Resolution (h)",
}
FLAGS_CSS = """
.ts-flags-table { border-collapse: collapse; font-size: 12.5px; width: 100%; }
.ts-flags-table th, .ts-flags-table td { padding: 3px 8px; border-bottom: 1px solid rgba(127,127,127,.2);
  text-align: left; white-space: nowrap; max-width: 260px; overflow: hidden; text-overflow: ellipsis; }
.ts-flags-table th { font-weight: 600; position: sticky; top: 0; z-index: 1;
  background: var(--panel-surface-color, #fff); }
/* Wide tables scroll inside the card, both ways, with the scroll bar and header in view:
   at 1440 px the 17 columns ran 350 px past the card and the page's edge. */
.ts-flags-scroll { overflow: auto; max-width: 100%; max-height: 70vh; }
.ts-flags-summary { font-size: 13px; opacity: .85; }
.ts-flags-error { color: #c62828; font-size: 13px; }
"""


def cell_text(value: Any) -> str:
    """How one value reads in the table (None as a dash, floats to 3 digits, times to the second)."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    if hasattr(value, "isoformat") and hasattr(value, "hour"):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def page_html(frame: pl.DataFrame) -> str:
    """One page of flags as an HTML table; every cell and header escaped (ids are third-party text)."""
    if frame.height == 0:
        return '<div class="ts-flags-summary">No flags match this selection.</div>'
    head = "".join(f"<th>{esc(COLUMN_TITLES.get(c, c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(cell_text(v))}</td>" for v in row) + "</tr>" for row in frame.iter_rows()
    )
    return (
        f'<div class="ts-flags-scroll"><table class="ts-flags-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def summary_html(page: Page) -> str:
    """'Flags 51–100 of 678 · page 2 of 14', with the total in data-total (read by the UI tests)."""
    last = page.first_row + page.frame.height - 1 if page.frame.height else 0
    return (
        f'<div class="ts-flags-summary" data-total="{page.total}">Flags {fmt_count(page.first_row)}–'
        f"{fmt_count(last)} of {fmt_count(page.total)} · page {page.page + 1} of {fmt_count(page.pages)}</div>"
    )


class FlagsPanel(Viewer):
    """A closable panel: the selection's flags, paged, sorted, searched by id, and downloadable."""

    def __init__(
        self,
        dataset: Any,
        filters: Filters,
        *,
        title: str = "Flags in this selection",
        css_class: str = "ts-session-flags",
        **params: Any,
    ):
        super().__init__(**params)
        self.dataset = dataset
        self.filters = filters
        self.model = FlagsTable(dataset, Filters(), page_size=PAGE_SIZE)
        self._lock = threading.Lock()  # the model is updated and queried on worker threads
        self._generation = 0
        self._shown = 0  # the generation whose page (or message) is on screen
        self._quiet = False
        self.page: Page | None = None
        columns = self.model.shown_columns()
        self.sort = pmu.Select(
            label="Sort by",
            options={NO_SORT: NO_SORT, **{COLUMN_TITLES.get(c, c): c for c in columns}},
            value=NO_SORT,
            width=200,
        )
        self.descending = pmu.Switch(label="Largest first", value=False, width=140)
        self.status = pmu.Select(
            label="Cases",
            options=STATUS_TITLES,
            value=ALL_STATUSES,
            width=330,
            visible="action" in self.model.columns,
            css_classes=["ts-flags-status"],
        )
        self.search = pmu.TextInput(
            label="Search ids", placeholder="flag, account, content or target id (3+ characters)", width=320
        )
        self.previous = pmu.Button(
            label="Previous", icon="chevron_left", size="small", variant="outlined", css_classes=["ts-flags-page-prev"]
        )
        self.next = pmu.Button(
            label="Next", icon="chevron_right", size="small", variant="outlined", css_classes=["ts-flags-page-next"]
        )
        self.close = pmu.Button(
            label="Close", icon="close", size="small", variant="text", css_classes=["ts-flags-close"]
        )
        self.csv = self._download("csv")
        self.parquet = self._download("parquet")
        self.summary = HTML("", stylesheets=[FLAGS_CSS], css_classes=["ts-flags-summary-pane"], margin=(4, 8))
        self.error = HTML("", visible=False, stylesheets=[FLAGS_CSS], margin=(0, 8))
        self.table = HTML(
            "", stylesheets=[FLAGS_CSS], sizing_mode="stretch_width", css_classes=["ts-flags-page"], margin=(0, 8)
        )
        self.title = HTML(
            f'<div class="ts-card-title" style="font-weight:600;font-size:15px">{esc(title)}</div>', margin=(4, 8)
        )
        self.previous.on_click(lambda _: self._go(-1))
        self.next.on_click(lambda _: self._go(+1))
        self.close.on_click(lambda _: self.hide())
        self.sort.param.watch(lambda _: self._refresh(page=0), "value")
        self.descending.param.watch(lambda _: self._refresh(page=0), "value")
        self.status.param.watch(lambda _: self._status_changed(), "value")
        self.search.param.watch(lambda _: self._refresh(page=0), "value")
        filters.param.watch(self._filters_changed, list(FILTER_PARAMS))
        self._layout = pmu.Paper(
            pn.Row(self.title, pn.Spacer(), self.csv, self.parquet, self.close, sizing_mode="stretch_width"),
            pn.Row(self.search, self.sort, self.descending, self.status, sizing_mode="stretch_width"),
            pn.Row(self.previous, self.next, self.summary, align="center"),
            self.error,
            self.table,
            elevation=1,
            visible=False,
            sizing_mode="stretch_width",
            css_classes=["ts-flags-panel", css_class],
            margin=6,
            styles={"padding": "8px", "border-radius": "10px"},
        )
        # The page holds an empty column until the panel is first opened: most sessions never
        # open it, and rendering its hidden widgets was ~5 % of a session open's server CPU
        # (bench/view_cpu.py, docs/performance.md).
        self._holder = pn.Column(sizing_mode="stretch_width", margin=0)

    def use_dataset(self, dataset: Any) -> None:
        """New data (a server reload): the same panel and filters over it, refreshed when open."""
        with self._lock:
            self.dataset = dataset
            self.model = FlagsTable(dataset, Filters(), page_size=PAGE_SIZE)
        if self.is_open:
            self._refresh(page=0)

    # --- open / close --------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return bool(self._layout.visible)

    def show(self, status: str | None = ALL_STATUSES) -> None:
        """Open the panel on the current selection (first page); ``status`` picks which cases
        (tspanel.models.flags.STATUSES, or "all"; None keeps the current choice)."""
        if status is not None:
            self._quiet = True  # one refresh below, not one for the status and one for opening
            try:
                self.status.value = status
            finally:
                self._quiet = False
        if not self._holder.objects:
            self._holder.objects = [self._layout]
        self._layout.visible = True
        self._refresh(page=0)

    def _status_changed(self) -> None:
        if not self._quiet and self.is_open:
            self._refresh(page=0)

    def hide(self) -> None:
        self._layout.visible = False

    # --- computing -----------------------------------------------------------------
    def _filters_changed(self, *_: Any) -> None:
        if self.is_open:
            self._refresh(page=0)

    def _go(self, step: int) -> None:
        if self.page is not None:
            self._refresh(page=max(0, min(self.page.page + step, self.page.pages - 1)))

    def _settings(self, page: int) -> dict[str, Any]:
        sort = self.sort.value
        return {
            "filters": {k: getattr(self.filters, k) for k in FILTER_PARAMS},
            "sort_by": None if sort in (None, NO_SORT) else sort,
            "descending": bool(self.descending.value),
            "search": (self.search.value or "").strip(),
            "status": None if self.status.value in (None, ALL_STATUSES) else self.status.value,
            "page": page,
        }

    def _configure(self, settings: dict[str, Any]) -> FlagsTable:
        model = self.model
        model.filters.param.update(**settings["filters"])
        model.param.update(
            sort_by=settings["sort_by"],
            descending=settings["descending"],
            search=settings["search"],
            status=settings["status"],
            page=settings["page"],
        )
        return model

    def compute(self, settings: dict[str, Any]) -> Page | str:
        """The page for ``settings``, or the message to show instead (a search too short...)."""
        with self._lock:
            try:
                return self._configure(settings).page_frame()
            except TspanelError as exc:
                return str(exc)

    def _refresh(self, page: int) -> None:
        self._generation += 1
        generation = self._generation
        settings = self._settings(page)
        self._loading_later(generation)
        run_off_loop(lambda: self.compute(settings), lambda result: self._apply(generation, result))

    def _loading_later(self, generation: int) -> None:
        """The loading overlay, only if this page is still not shown after LOADING_DELAY_SECONDS.

        Why not at once: a quick page then reaches the browser without an overlay-on/overlay-off
        round, and an overlay set in the tick that first puts the panel in the page could stay
        in the browser after the server cleared it (tests/ui/test_hostile_data.py saw a spinner
        left over a shown table, on a server with nothing left to do, about one run in three).
        """

        def waiting() -> bool:
            return generation == self._generation and self._shown < generation

        when_slow(waiting, lambda: setattr(self._layout, "loading", True))

    def _apply(self, generation: int, result: Page | str | None) -> None:
        if generation != self._generation:
            return
        self._shown = generation
        self._layout.loading = False
        if not isinstance(result, Page):
            self.error.object = f'<div class="ts-flags-error">{esc(result or "The flags could not be read.")}</div>'
            self.error.visible = True
            # The previous rows are not this search's: kept under the message, they read as its result.
            self.page = None
            with pn.io.hold():
                self.summary.object = self.table.object = ""
                self.previous.disabled = self.next.disabled = True
                for button in (self.csv, self.parquet):
                    button.disabled = True
            return
        self.error.visible = False
        self.page = result
        with pn.io.hold():
            self.summary.object = summary_html(result)
            self.table.object = page_html(result.frame)
            self.previous.disabled = result.page == 0
            self.next.disabled = result.page >= result.pages - 1
            too_big = result.total > MAX_DOWNLOAD_ROWS
            for button in (self.csv, self.parquet):
                button.disabled = too_big or result.total == 0
            if too_big:
                self.error.object = (
                    f'<div class="ts-flags-error">{fmt_count(result.total)} flags are more than a browser download '
                    f"holds ({fmt_count(MAX_DOWNLOAD_ROWS)}): narrow the selection, or run `tspanel flags "
                    "--format csv --out FILE` with the same filters.</div>"
                )
                self.error.visible = True

    # --- downloads -----------------------------------------------------------------
    def _download(self, fmt: str) -> Any:
        button = pmu.FileDownload(
            callback=lambda: self.export(fmt),
            filename=f"tspanel-flags.{fmt}",
            label=fmt.upper(),
            icon="download",
            size="small",
            description=f"Download every flag of this selection as {fmt.upper()}",
            css_classes=[f"ts-flags-{fmt}"],
            width=110,
        )
        button.variant = "text"  # after construction: see tspanel.ui.charts.ChartCard
        return button

    def export(self, fmt: str) -> io.BytesIO:
        """The whole selection (this table's sort) as CSV or Parquet, via the model's streaming sink."""
        buffer = io.BytesIO()
        with self._lock:
            self._configure(self._settings(0)).export(buffer, fmt)  # type: ignore[arg-type]
        buffer.seek(0)
        return buffer

    def __panel__(self) -> Any:
        return self._holder
