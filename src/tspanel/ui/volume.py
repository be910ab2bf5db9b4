"""Tab "Flag Volume & Trends": what is being flagged, where, how severe, and how it is handled."""

from __future__ import annotations

from typing import Any

import panel as pn
import polars as pl
from panel.viewable import Viewer

from tspanel.models.base import Unavailable
from tspanel.ui.charts import ChartCard, ChartSet, flow
from tspanel.ui.choices import Choices
from tspanel.ui.html import HTML
from tspanel.ui.selection import Selection
from tspanel.ui.specs import CHARTS, ChartContext
from tspanel.ui.text import esc, fmt_count, fmt_pct, fmt_signed, label

TILE_CSS = """
.ts-tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 10px; padding: 4px; }
.ts-tile { border-radius: 10px; padding: 10px 12px; border: 1px solid rgba(127,127,127,.18); }
.ts-tile-label { font-size: 11.5px; text-transform: uppercase; letter-spacing: .05em; opacity: .7; }
.ts-tile-value { font-size: 22px; font-weight: 700; font-variant-numeric: tabular-nums; }
.ts-tile-note { font-size: 12px; opacity: .75; }
.ts-table-scroll { overflow-x: auto; max-width: 100%; }
table.ts-table { border-collapse: collapse; width: 100%; font-size: 12.5px; font-variant-numeric: tabular-nums; }
.ts-table th, .ts-table td { padding: 3px 6px; border-bottom: 1px solid rgba(127,127,127,.2); text-align: right; }
.ts-table th:first-child, .ts-table td:first-child { text-align: left; }
.ts-table .ts-label { max-width: 14em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.ts-table .ts-up { color: #d32f2f; } .ts-table .ts-down { color: #2e7d32; }
.ts-table tr.ts-pad { visibility: hidden; }
.ts-table tr.ts-pad td { border-bottom-color: transparent; }
.ts-table td.ts-nowrap { white-space: nowrap; }
.ts-table th.ts-text, .ts-table td.ts-text { text-align: left; }
"""


def tiles_html(tiles: list[tuple[str, str, str]]) -> str:
    """Stat tiles: (label, value, note), every string escaped."""
    body = "".join(
        f'<div class="ts-tile"><div class="ts-tile-label">{esc(a)}</div>'
        f'<div class="ts-tile-value">{esc(b)}</div><div class="ts-tile-note">{esc(c)}</div></div>'
        for a, b, c in tiles
    )
    return f'<div class="ts-tiles">{body}</div>'


class VolumeTab(Viewer):
    """Daily volume by category and region, week-over-week change, escalation, mixes, automation.

    The charts are the "volume" entries of the spec table (ui/specs.py); this class adds the
    week-over-week table and the automation tiles, and lays the cards out.
    """

    def __init__(self, choices: Choices, selection: Selection, result: dict[str, Any], **params: Any):
        super().__init__(**params)
        self.choices = choices
        self.selection = selection
        self.charts = ChartSet(CHARTS["volume"], ChartContext(choices), selection, result)
        self.wow_table = HTML("", stylesheets=[TILE_CSS], sizing_mode="stretch_width", margin=(0, 8))
        self.wow_card.body.append(self.wow_table)
        self.automation = HTML("", stylesheets=[TILE_CSS], sizing_mode="stretch_width")
        self.automation_card = ChartCard("automation", "Automation & appeals", self.automation)
        self.cards = [*self.charts.cards, self.automation_card]
        self._tables(result)
        card = self.charts.card
        self._layout = pn.Column(
            flow(card("volume-by-category"), self.wow_card),
            flow(card("escalation"), card("volume-by-region")),
            flow(card("severity-mix"), card("action-mix"), self.automation_card),
            sizing_mode="stretch_width",
        )

    # Cards by name, for the session and tests.
    @property
    def daily_card(self) -> ChartCard:
        return self.charts.card("volume-by-category")

    @property
    def wow_card(self) -> ChartCard:
        return self.charts.card("week-over-week")

    @property
    def region_card(self) -> ChartCard:
        return self.charts.card("volume-by-region")

    def update(self, result: dict[str, Any]) -> None:
        """Send a refresh's volume outputs to the existing plots (unchanged charts send nothing)."""
        self.charts.update(result)
        self._tables(result)

    def _tables(self, result: dict[str, Any]) -> None:
        wow = result["week_over_week"]
        if not isinstance(wow, Unavailable):
            self.wow_table.object = self._wow_table(wow, self.choices.categories)
        automation = result["automation"]
        self.automation_card.show(automation)
        self.automation.object = self._automation_html(automation)

    @staticmethod
    def _wow_table(frame: pl.DataFrame, order: tuple[str, ...] = ()) -> str:
        """Only the categories the filters keep, always in the dataset's order."""
        rank = {v: i for i, v in enumerate(order)}
        rows = []
        for r in sorted(frame.iter_rows(named=True), key=lambda r: (rank.get(r["category"], len(rank)), r["category"])):
            pct = r["change_pct"]
            cls = "ts-up" if r["change"] > 0 else ("ts-down" if r["change"] < 0 else "")
            rows.append(
                f"<tr><td class='ts-label' title='{esc(r['category'])}'>{esc(label(r['category']))}</td>"
                f"<td>{fmt_count(r['this_week'])}</td>"
                f"<td>{fmt_count(r['previous_week'])}</td>"
                f"<td class='{cls}'>{esc(fmt_signed(r['change'], 0))}</td>"
                f"<td class='{cls}'>{esc('n/a' if pct is None else fmt_signed(pct, 1, '%'))}</td></tr>"
            )
        # Rows the filters drop leave their space: a table that shrank re-sized its card, and the
        # browser then laid out the whole page again (~0.1 s of a click).
        pad = "<tr class='ts-pad' aria-hidden='true'><td colspan='5'>&nbsp;</td></tr>"
        rows += [pad] * (len(order) - len(rows))
        return (
            "<table class='ts-table'><thead><tr><th>Category</th><th>Last 7 days</th><th>7 days before</th>"
            f"<th>Change</th><th>%</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )

    @staticmethod
    def _automation_html(auto: dict[str, Any] | Unavailable) -> str:
        if isinstance(auto, Unavailable):
            return ""
        tiles = [
            ("Automated", fmt_pct(auto["automated_pct"]), f"{fmt_count(auto['automated'])} auto-blocked or downranked"),
            ("Human review", fmt_pct(auto["human_review_pct"]), f"{fmt_count(auto['human_review'])} flags"),
            ("Allowed", fmt_count(auto["allowed"]), "no action taken"),
        ]
        if auto["appealed"] is not None:
            tiles.append(("Appealed", fmt_count(auto["appealed"]), "decisions appealed"))
        if auto["overturned"] is not None:
            tiles.append(
                ("Overturned", fmt_pct(auto["overturn_rate_pct"]), f"{fmt_count(auto['overturned'])} appeals upheld")
            )
        return tiles_html(tiles)

    def __panel__(self) -> Any:
        return self._layout
