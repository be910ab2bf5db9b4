"""Tab "Flag Volume & Trends": what is being flagged, where, how severe, and how it is handled."""

from __future__ import annotations

from typing import Any

import holoviews as hv
import pandas as pd
import panel as pn
import polars as pl
from panel.viewable import Viewer

from tspanel.models.base import Unavailable
from tspanel.ui.charts import ChartCard, PipePlot
from tspanel.ui.choices import Choices
from tspanel.ui.frames import complete, dates_to_pandas, series_columns, wide_by
from tspanel.ui.palette import ACTION_COLORS, BAD, GOOD, REGION_PALETTE, SEVERITY_COLORS, cycle_colors
from tspanel.ui.plotting import BAR_OPTS, LEGEND_OPTS, TIME_OPTS, brushable, clickable
from tspanel.ui.selection import Selection
from tspanel.ui.text import esc, fmt_count, fmt_pct, fmt_signed, label

TILE_CSS = """
.ts-tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 10px; padding: 4px; }
.ts-tile { border-radius: 10px; padding: 10px 12px; border: 1px solid rgba(127,127,127,.18); }
.ts-tile-label { font-size: 11.5px; text-transform: uppercase; letter-spacing: .05em; opacity: .7; }
.ts-tile-value { font-size: 22px; font-weight: 700; font-variant-numeric: tabular-nums; }
.ts-tile-note { font-size: 12px; opacity: .75; }
table.ts-table { border-collapse: collapse; width: 100%; font-size: 12.5px; font-variant-numeric: tabular-nums; }
.ts-table th, .ts-table td { padding: 3px 6px; border-bottom: 1px solid rgba(127,127,127,.2); text-align: right; }
.ts-table th:first-child, .ts-table td:first-child { text-align: left; }
.ts-table .ts-up { color: #d32f2f; } .ts-table .ts-down { color: #2e7d32; }
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
    """Daily volume by category and region, week-over-week change, escalation, mixes, automation."""

    def __init__(self, choices: Choices, selection: Selection, result: dict[str, Any], **params: Any):
        super().__init__(**params)
        self.choices = choices
        self.selection = selection
        self.category_colors = cycle_colors(choices.categories)
        self.region_colors = cycle_colors(choices.regions, REGION_PALETTE)

        self.daily = PipePlot(
            self._render_daily, self._daily_frame(result["daily_by_category"]), name="volume-by-category", height=330
        )
        self.daily.on_brush(selection.dates)
        self.daily.on_legend_click(lambda text: selection.toggle("categories", text))
        self.daily_card = ChartCard(
            "volume-by-category",
            "Daily flags by category",
            self.daily.pane,
            hint="Drag across the chart to select days; click a legend entry to filter by that category.",
        )

        self.wow = PipePlot(
            self._render_wow, self._wow_frame(result["week_over_week"]), name="week-over-week", height=210
        )
        self.wow.on_tap(lambda x, y: selection.toggle("categories", y if isinstance(y, str) else x))
        self.wow_table = pn.pane.HTML("", stylesheets=[TILE_CSS], sizing_mode="stretch_width", margin=(0, 8))
        self.wow_card = ChartCard(
            "week-over-week",
            "Week over week",
            pn.Column(self.wow.pane, self.wow_table, sizing_mode="stretch_width", margin=0),
            hint="Click a bar to filter by that category.",
        )

        self.escalation = PipePlot(
            self._render_escalation, dates_to_pandas(result["escalation"]), name="escalation", height=260
        )
        self.escalation.on_brush(selection.dates)
        self.escalation_card = ChartCard(
            "escalation",
            "Escalation rate",
            self.escalation.pane,
            subtitle="share of flags that are high or critical, with its 7-day rolling mean",
        )

        self.region = PipePlot(
            self._render_region, self._region_frame(result["daily_by_region"]), name="volume-by-region", height=260
        )
        self.region.on_brush(selection.dates)
        self.region.on_legend_click(lambda text: selection.toggle("regions", text))
        self.region_card = ChartCard(
            "volume-by-region",
            "Daily flags by region",
            self.region.pane,
            hint="Click a legend entry to filter by that region.",
        )

        self.severity = PipePlot(
            self._render_severity, result["severity_mix"].to_pandas(), name="severity-mix", height=230
        )
        self.severity.on_tap(lambda x, y: selection.toggle("severities", y))
        self.severity_card = ChartCard(
            "severity-mix", "Severity mix", self.severity.pane, hint="Click a bar to filter by severity."
        )

        self.action = PipePlot(
            self._render_action, self._action_frame(result["action_mix"]), name="action-mix", height=230
        )
        self.action.on_tap(lambda x, y: selection.toggle("actions", str(y).replace(" ", "_")))
        self.action_card = ChartCard(
            "action-mix", "Moderation actions", self.action.pane, hint="Click a bar to filter by action."
        )

        self.automation = pn.pane.HTML("", stylesheets=[TILE_CSS], sizing_mode="stretch_width")
        self.automation_card = ChartCard("automation", "Automation & appeals", self.automation)

        self.cards = [
            self.daily_card,
            self.wow_card,
            self.escalation_card,
            self.region_card,
            self.severity_card,
            self.action_card,
            self.automation_card,
        ]
        self.update(result, initial=True)
        self._layout = pn.Column(
            pn.Row(self.daily_card, self.wow_card, sizing_mode="stretch_width"),
            pn.Row(self.escalation_card, self.region_card, sizing_mode="stretch_width"),
            pn.Row(self.severity_card, self.action_card, self.automation_card, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    # --- data -------------------------------------------------------------------
    def update(self, result: dict[str, Any], initial: bool = False) -> None:
        """Send a refresh's volume outputs to the existing plots."""
        if self.daily_card.show(result["daily_by_category"]) and not initial:
            self.daily.send(self._daily_frame(result["daily_by_category"]))
        wow = result["week_over_week"]
        if self.wow_card.show(wow):
            if not initial:
                self.wow.send(self._wow_frame(wow))
            self.wow_table.object = self._wow_table(wow)
            first = wow.row(0, named=True) if wow.height else None
            if first:
                self.wow_card.set_subtitle(
                    "Week over week",
                    f"{first['this_week_start']} → {first['this_week_end']} vs "
                    f"{first['previous_week_start']} → {first['previous_week_end']}",
                )
        if self.escalation_card.show(result["escalation"]) and not initial:
            self.escalation.send(dates_to_pandas(result["escalation"]))
        region = result["daily_by_region"]
        if self.region_card.show(region) and not initial:
            self.region.send(self._region_frame(region))
        if self.severity_card.show(result["severity_mix"]) and not initial:
            self.severity.send(result["severity_mix"].to_pandas())
        if self.action_card.show(result["action_mix"]) and not initial:
            self.action.send(self._action_frame(result["action_mix"]))
        automation = result["automation"]
        self.automation_card.show(automation)
        self.automation.object = self._automation_html(automation)

    def _daily_frame(self, frame: pl.DataFrame | Unavailable) -> pd.DataFrame:
        if isinstance(frame, Unavailable):
            frame = pl.DataFrame(schema={"date": pl.Date, "category": pl.String, "flags": pl.Int64})
        return wide_by(frame, "category", "flags", self.choices.categories)

    def _region_frame(self, frame: pl.DataFrame | Unavailable) -> pd.DataFrame:
        if isinstance(frame, Unavailable):
            frame = pl.DataFrame(schema={"date": pl.Date, "region": pl.String, "flags": pl.Int64})
        return wide_by(frame, "region", "flags", self.choices.regions)

    def _wow_frame(self, frame: pl.DataFrame | Unavailable) -> pd.DataFrame:
        columns = ["category", "this_week", "previous_week", "change", "change_pct"]
        if isinstance(frame, Unavailable):
            frame = pl.DataFrame(schema=dict.fromkeys(columns, pl.Float64) | {"category": pl.String})
        out = complete(frame.select(columns).to_pandas(), "category", self.choices.categories)
        out["change_pct"] = out["change_pct"].astype(float)
        out["color"] = [BAD if c > 0 else GOOD for c in out["change"].fillna(0)]
        return out.iloc[::-1].reset_index(drop=True)

    @staticmethod
    def _action_frame(frame: pl.DataFrame) -> pd.DataFrame:
        out = frame.to_pandas()
        out["color"] = [ACTION_COLORS.get(a, "#888") for a in out["action"]]
        out["action"] = [label(a) for a in out["action"]]
        return out

    @staticmethod
    def _wow_table(frame: pl.DataFrame) -> str:
        rows = []
        for r in frame.iter_rows(named=True):
            pct = r["change_pct"]
            cls = "ts-up" if r["change"] > 0 else ("ts-down" if r["change"] < 0 else "")
            rows.append(
                f"<tr><td>{esc(r['category'])}</td><td>{fmt_count(r['this_week'])}</td>"
                f"<td>{fmt_count(r['previous_week'])}</td>"
                f"<td class='{cls}'>{esc(fmt_signed(r['change'], 0))}</td>"
                f"<td class='{cls}'>{esc('n/a' if pct is None else fmt_signed(pct, 1, '%'))}</td></tr>"
            )
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

    # --- charts (called by the DynamicMaps with the frame sent) -----------------
    def _render_daily(self, data: pd.DataFrame) -> hv.Overlay:
        names = series_columns(self.choices.categories)
        areas = [
            hv.Area(data, "date", hv.Dimension(name, label=category), label=category).opts(
                color=self.category_colors[category], fill_alpha=0.85, line_alpha=0
            )
            for name, category in zip(names, self.choices.categories, strict=True)
        ]
        stacked = hv.Area.stack(hv.Overlay(areas)).map(brushable, hv.Area)
        total = data.assign(total=data[names].sum(axis=1)) if len(data) else data.assign(total=[])
        line = brushable(
            hv.Curve(total, "date", hv.Dimension("total", label="Total flags"), label="Total"), hover=True
        ).opts(
            color="#607d8b",
            line_width=1.5,
            hover_tooltips=[("Day", "@date{%F}"), ("Flags", "@total{0,0}")],
            hover_formatters={"@date": "datetime"},
        )
        return (stacked * line).opts(
            hv.opts.Overlay(
                **TIME_OPTS,
                **LEGEND_OPTS,
                active_tools=["xbox_select"],
                ylabel="flags a day",
            )
        )

    def _render_region(self, data: pd.DataFrame) -> hv.Overlay:
        names = series_columns(self.choices.regions)
        curves = [
            brushable(hv.Curve(data, "date", hv.Dimension(name, label=region), label=region), hover=True).opts(
                color=self.region_colors[region], line_width=2
            )
            for name, region in zip(names, self.choices.regions, strict=True)
        ] or [brushable(hv.Curve([]))]
        return hv.Overlay(curves).opts(
            hv.opts.Overlay(
                **TIME_OPTS,
                **LEGEND_OPTS,
                active_tools=["xbox_select"],
                ylabel="flags a day",
            )
        )

    @staticmethod
    def _render_escalation(data: pd.DataFrame) -> hv.Overlay:
        rolling = [c for c in data.columns if c.startswith("rolling_")]
        frame = data.assign(
            rate=data["escalation_rate"] * 100, rolling=(data[rolling[0]] * 100) if rolling else data["escalation_rate"]
        )
        daily = brushable(
            hv.Curve(frame, "date", hv.Dimension("rate", label="High + critical, %"), label="Daily"), hover=True
        ).opts(color="#e8743b", alpha=0.45, line_width=1.2)
        smooth = brushable(
            hv.Curve(frame, "date", hv.Dimension("rolling", label="7-day mean, %"), label="7-day mean"), hover=True
        ).opts(color="#c0223b", line_width=2.5)
        return (daily * smooth).opts(
            hv.opts.Overlay(**TIME_OPTS, **LEGEND_OPTS, active_tools=["xbox_select"], ylabel="% high or critical")
        )

    @staticmethod
    def _render_severity(data: pd.DataFrame) -> hv.Bars:
        return clickable(hv.Bars(data, hv.Dimension("severity", label="Severity"), ["flags", "share_pct"])).opts(
            **BAR_OPTS,
            color="severity",
            cmap=SEVERITY_COLORS,
            show_legend=False,
            invert_axes=True,
            yticks=4,
            yformatter="%.0f",
            hover_tooltips=[("Severity", "@severity"), ("Flags", "@flags{0,0}"), ("Share", "@share_pct{0.0}%")],
            ylabel="flags",
            xlabel="",
        )

    @staticmethod
    def _render_action(data: pd.DataFrame) -> hv.Bars:
        return clickable(hv.Bars(data, hv.Dimension("action", label="Action"), ["flags", "share_pct", "color"])).opts(
            **BAR_OPTS,
            color="color",
            invert_axes=True,
            yticks=4,
            yformatter="%.0f",
            hover_tooltips=[("Action", "@action"), ("Flags", "@flags{0,0}"), ("Share", "@share_pct{0.0}%")],
            ylabel="flags",
            xlabel="",
        )

    @staticmethod
    def _render_wow(data: pd.DataFrame) -> hv.Bars:
        return clickable(
            hv.Bars(
                data, hv.Dimension("category", label="Category"), ["change_pct", "this_week", "previous_week", "color"]
            )
        ).opts(
            **BAR_OPTS,
            invert_axes=True,
            color="color",
            hover_tooltips=[
                ("Category", "@category"),
                ("Last 7 days", "@this_week{0,0}"),
                ("7 days before", "@previous_week{0,0}"),
                ("Change", "@change_pct{+0.0}%"),
            ],
            xlabel="",
            ylabel="change, %",
        )

    def __panel__(self) -> Any:
        return self._layout
