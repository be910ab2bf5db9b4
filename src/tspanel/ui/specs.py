"""Every chart of the dashboard, declared: one table of specs and one hvPlot call per chart.

A :class:`ChartSpec` names the chart (key, title), the model output it draws, the small
pandas frame it needs (``frame``), the hvPlot call that draws it (``plot``) and what a
brush, a click or a legend entry selects. :class:`~tspanel.ui.charts.Chart` is the one
generic loop that builds, updates and wires any spec. Adding a chart is one entry in
:data:`CHARTS` plus its render function.

Frames are tiny (one row per day and series, or per bar): the models aggregate in Polars
and only these frames reach pandas and hvPlot. Labels drawn on a chart are shortened
(:func:`~tspanel.ui.theme.short`) and underscores become spaces; the value a click
selects stays in a ``value`` column, and tooltips and CSV downloads keep the full text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import holoviews as hv
import hvplot.pandas  # noqa: F401  (registers DataFrame.hvplot)
import pandas as pd
import polars as pl
from bokeh.models import Span

from tspanel.schema import ACTIONS, SEVERITIES
from tspanel.ui.choices import Choices
from tspanel.ui.palette import (
    ACCENT,
    ACTION_COLORS,
    BAD,
    GOOD,
    OVER_SLA,
    REGION_PALETTE,
    SEVERITY_COLORS,
    TRUTH,
    WITHIN_SLA,
    cycle_colors,
)
from tspanel.ui.text import HIDDEN_FROM_HERE, label
from tspanel.ui.theme import bars, counts_axis, legend_opts, short, time_series

DAY_END = pd.Timedelta(hours=23, minutes=59, seconds=59)
REVIEWER_ROWS = 15  # the busiest and the idlest N reviewers are drawn; the rest are counted


@dataclass(frozen=True)
class Click:
    """A click on a row or column selects ``value`` of the clicked ``label`` in list filter ``filter``."""

    filter: str
    axis: str = "y"  # the axis naming the row: "y" for horizontal bars, "x" for columns
    label: str = "label"
    value: str = "value"
    nearest: bool = False  # a numeric axis with rows at 0, 1, 2, ...: the nearest row is taken
    # A drill-down: the click selects only this value (no toggle) and opens the flags table
    # on it with this status (tspanel.models.flags.STATUSES), e.g. a backlog bar's cases.
    flags: str | None = None


@dataclass(frozen=True)
class Legend:
    """A click on a legend entry toggles the entry's ``value`` in list filter ``filter``."""

    filter: str
    label: str = "label"
    value: str = "value"


@dataclass
class ChartContext:
    """What charts of a session share: the data's values, stable colours and fixed reference lines."""

    choices: Choices
    sla_hours: float = 24.0
    baseline: float | None = None
    threshold: float | None = None
    category_colors: dict[str, str] = field(default_factory=dict)
    region_colors: dict[str, str] = field(default_factory=dict)
    filters: Any = None  # the session's Filters (read-only here: subtitles that depend on the selection)

    def __post_init__(self) -> None:
        self.category_colors = self.category_colors or cycle_colors(self.choices.categories)
        self.region_colors = self.region_colors or cycle_colors(self.choices.regions, REGION_PALETTE)


@dataclass(frozen=True)
class ChartSpec:
    """One chart: which model output, which frame, which hvPlot call, which filter it sets."""

    key: str  # also the browser hooks: figure name ts-plot-<key>, card class ts-chart-<key>
    title: str
    output: str  # key of the domain's entry in Dashboard.refresh()
    frame: Callable[[Any, ChartContext], pd.DataFrame]
    plot: Callable[[pd.DataFrame, ChartContext], hv.core.Dimensioned]
    brush: bool = False  # a brushed x range sets the date filter
    click: Click | None = None
    legend: Legend | None = None
    subtitle: str = ""
    subtitle_of: Callable[[Any, pd.DataFrame, ChartContext], str] | None = None
    hint: str = ""
    decorations: tuple[Callable[[Any], None], ...] = ()
    measure: str | None = None  # frame column whose total of zero means "no flags match"
    empty_message: str | None = None  # what an empty frame means, when not "no flags match these filters"
    # The plot call's options do not depend on the frame's values (no data-derived limits or
    # ticks): an update may re-use the last drawn element with new rows (ui.charts.Replay).
    reuse: bool = False
    # The frame's rows (how many, their labels) change with the selection but not its layers and
    # options: an update draws the new element and patches the plot's data and ranges in place
    # (ui.charts.patch_plot) instead of HoloViews' full update.
    rows_vary: bool = False
    # The rows the card's CSV holds when the output is a dict around them (the backlog's
    # open cases by severity, the staffing plan's curve): the chart's rows, not the dict.
    download: Callable[[Any], Any] | None = None


# --------------------------------------------------------------------------- frames


def display(value: Any) -> str:
    """How a category, region or action is written on a chart: words, at most a few dozen characters."""
    return short(label(str(value)))


def by_series(frame: pl.DataFrame | None, column: str, value: str, order: tuple[str, ...]) -> pd.DataFrame:
    """Long frame ``date, label, value, <value>, bottom, top``: every (day, series) present, zeros filled.

    Only the series the selection keeps appear (no flat ghost lines), in the data's order.
    ``bottom``/``top`` stack the series in that order (computed here in Polars: HoloViews'
    own stacking cost more than the rest of the chart's update). A single day becomes a
    block from 00:00 to 23:59:59 so it is drawn as a one-day view.
    """
    if frame is None or frame.height == 0:
        # One all-zero placeholder row, not an empty frame: HoloViews cannot build a by= overlay
        # without any series, and the measure of zero shows the "no flags" message instead.
        return pd.DataFrame(
            {
                "date": pd.to_datetime(["2000-01-01"]),
                "label": [" "],
                "value": [""],
                **{c: [0.0] for c in (value, "bottom", "top")},
            }
        )
    typed = frame.with_columns(pl.col(column).cast(pl.String))
    totals = typed.group_by(column).agg(pl.col(value).sum())
    present = set(totals.filter(pl.col(value) > 0)[column].to_list())  # series the filters exclude are all zero
    if not present:
        return by_series(None, column, value, order)
    typed = typed.filter(pl.col(column).is_in(list(present)))
    series = [s for s in order if s in present] + sorted(present - set(order))
    grid = (
        typed.select(pl.col("date").unique())
        .join(pl.DataFrame({"value": series}), how="cross")
        .join(
            typed.group_by("date", column).agg(pl.col(value).sum()),
            left_on=["date", "value"],
            right_on=["date", column],
            how="left",
        )
        .with_columns(pl.col(value).fill_null(0).cast(pl.Float64))
        .with_columns(pl.col("value").replace_strict(series, list(range(len(series)))).alias("_rank"))
        .sort("_rank", "date")
        .with_columns(pl.col(value).cum_sum().over("date").alias("top"))
        .with_columns((pl.col("top") - pl.col(value)).alias("bottom"))
        .drop("_rank")
    )
    out = grid.to_pandas()
    out["date"] = pd.to_datetime(out["date"])
    out["label"] = out["value"].map({s: display(s) for s in series})
    return one_day(out[["date", "label", "value", value, "bottom", "top"]])


def one_day(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame of one date gets a copy of its rows at 23:59:59, so lines and areas span the day."""
    if len(frame) == 0 or frame["date"].nunique() != 1:
        return frame
    end = frame.assign(date=frame["date"] + DAY_END)
    return pd.concat([frame, end], ignore_index=True)


def dated(frame: pl.DataFrame | None, columns: dict[str, str] | None = None) -> pd.DataFrame:
    """A daily frame as pandas with datetime dates (and renamed columns)."""
    if frame is None:
        names = ["date", *(columns or {}).values()]
        return pd.DataFrame({n: pd.Series([], dtype="datetime64[ms]" if n == "date" else float) for n in names})
    out = frame.to_pandas()
    out["date"] = pd.to_datetime(out["date"])
    if columns:
        out = out.rename(columns=columns)
    return one_day(out)


def ordered_rows(
    frame: pl.DataFrame | None,
    column: str,
    order: tuple[str, ...],
    top_first: bool = True,
    nonzero: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Rows of ``frame`` that the selection keeps, in the fixed order of ``order`` (first on top).

    Rows whose ``nonzero`` columns are all zero are rows the filters exclude: they are dropped.
    """
    if frame is not None and nonzero:
        frame = frame.filter(pl.any_horizontal([pl.col(c).fill_null(0) != 0 for c in nonzero]))
    if frame is None or frame.height == 0:
        return pd.DataFrame({column: [], "label": [], "value": []})
    out = frame.with_columns(pl.col(column).cast(pl.String)).to_pandas()
    rank = {v: i for i, v in enumerate(order)}
    out["_rank"] = [rank.get(v, len(rank)) for v in out[column]]
    # Bokeh draws the first factor of a vertical categorical axis at the bottom.
    out = out.sort_values(["_rank", column], ascending=not top_first, kind="stable").drop(columns="_rank")
    out["value"] = out[column]
    out["label"] = [display(v) for v in out[column]]
    return out.reset_index(drop=True)


def category_frame(output: pl.DataFrame | None, ctx: ChartContext) -> pd.DataFrame:
    return by_series(output, "category", "flags", ctx.choices.categories)


def region_frame(output: pl.DataFrame | None, ctx: ChartContext) -> pd.DataFrame:
    return by_series(output, "region", "flags", ctx.choices.regions)


def intake_frame(output: pl.DataFrame | None, ctx: ChartContext) -> pd.DataFrame:
    return by_series(output, "severity", "cases", SEVERITIES)


def wow_frame(output: pl.DataFrame | None, ctx: ChartContext) -> pd.DataFrame:
    out = ordered_rows(output, "category", ctx.choices.categories, nonzero=("this_week", "previous_week"))
    if len(out):
        out["change_pct"] = out["change_pct"].astype(float)
        out["color"] = [BAD if c > 0 else GOOD for c in out["change"].fillna(0)]
    return out


def severity_frame(output: pl.DataFrame | None, ctx: ChartContext) -> pd.DataFrame:
    out = ordered_rows(output, "severity", tuple(reversed(SEVERITIES)), nonzero=("flags",))
    if len(out):
        out["color"] = [SEVERITY_COLORS.get(s, ACCENT) for s in out["value"]]
    return out


def backlog_frame(output: dict[str, Any] | None, ctx: ChartContext) -> pd.DataFrame:
    """Open cases by severity (every severity, critical on top), from the queue model's backlog."""
    by_severity = output.get("by_severity") if isinstance(output, dict) else None
    out = ordered_rows(by_severity, "severity", tuple(reversed(SEVERITIES)))
    if len(out):
        out["color"] = [SEVERITY_COLORS.get(s, ACCENT) for s in out["value"]]
    return out


def action_frame(output: pl.DataFrame | None, ctx: ChartContext) -> pd.DataFrame:
    out = ordered_rows(output, "action", ACTIONS, nonzero=("flags",))
    if len(out):
        out["color"] = [ACTION_COLORS.get(a, ACCENT) for a in out["value"]]
    return out


def escalation_frame(output: pl.DataFrame | None, ctx: ChartContext) -> pd.DataFrame:
    out = dated(output)
    rolling = next((c for c in out.columns if c.startswith("rolling_")), "escalation_rate")
    return pd.DataFrame(
        {
            "date": out["date"],
            "flags": out.get("flags", pd.Series(dtype=float)),
            "Daily": out.get("escalation_rate", pd.Series(dtype=float)) * 100,
            "7-day mean": out.get(rolling, pd.Series(dtype=float)) * 100,
        }
    )


def drift_frame(output: pl.DataFrame | None, ctx: ChartContext) -> pd.DataFrame:
    return dated(output)


def quantile_frame(output: pl.DataFrame | None, ctx: ChartContext) -> pd.DataFrame:
    out = ordered_rows(output, "category", tuple(sorted(ctx.choices.categories)), top_first=False)
    out["x"] = range(len(out))
    if len(out):
        out["left"], out["right"] = out["x"] - 0.3, out["x"] + 0.3
        out["color"] = [ctx.category_colors.get(c, ACCENT) for c in out["value"]]
    return out


def calibration_frame(output: pl.DataFrame | None, ctx: ChartContext) -> pd.DataFrame:
    # rises_with_severity is for the subtitle (read from the output); it is null with one severity,
    # and a column whose type changes would keep the chart from being updated in place
    out = ordered_rows(output, "severity", SEVERITIES, top_first=False).drop(
        columns=["rises_with_severity"], errors="ignore"
    )
    if len(out):
        out["err_low"] = (out["mean_score"] - out["ci_low"]).fillna(0)
        out["err_high"] = (out["ci_high"] - out["mean_score"]).fillna(0)
        out["color"] = [SEVERITY_COLORS.get(s, ACCENT) for s in out["value"]]
    return out


def utilisation_frame(output: pl.DataFrame | None, ctx: ChartContext) -> pd.DataFrame:
    """The busiest and the idlest :data:`REVIEWER_ROWS` reviewers (all of them when that is fewer).

    Busiest on top; a labelled gap row separates them from the idlest when some are left out.
    """
    if output is None or output.height == 0:
        return pd.DataFrame({"label": [], "value": [], "utilisation_pct": [], "handled": []})
    ranked = output.sort(["utilisation_pct", "reviewer_id"], descending=[True, False], nulls_last=True)
    rows = (
        ranked
        if ranked.height <= 2 * REVIEWER_ROWS
        else pl.concat([ranked.head(REVIEWER_ROWS), ranked.tail(REVIEWER_ROWS)])
    )
    out = rows.select("reviewer_id", "utilisation_pct", "handled").to_pandas()
    out["value"] = out["reviewer_id"].astype(str)
    out["reviewer"] = [ctx.choices.reviewer_label(r) for r in out["value"]]
    out["label"] = unique_labels([short(r, 28) for r in out["reviewer"]])
    out["color"] = [BAD if u > 100 else WITHIN_SLA for u in out["utilisation_pct"].fillna(0)]
    return out.iloc[::-1].reset_index(drop=True)  # busiest at the top


def unique_labels(labels: list[str]) -> list[str]:
    """Shortened labels made distinct again (two long names may shorten to the same text)."""
    seen: dict[str, int] = {}
    out = []
    for text in labels:
        n = seen.get(text, 0)
        seen[text] = n + 1
        out.append(text if n == 0 else f"{text} ({n + 1})")
    return out


def histogram_frame(output: pl.DataFrame | None, ctx: ChartContext) -> pd.DataFrame:
    """One bar per bin, the last one labelled as the overflow bin ("72 h or more")."""
    if output is None or output.height == 0 or output["cases"].sum() == 0:
        return pd.DataFrame({"bin": [], "cases": [], "color": []})
    out = output.to_pandas()
    last = len(out) - 1
    out["bin"] = [
        f"≥ {s:.0f} h" if i == last and (pd.isna(e) or e > 10_000) else f"{s:.0f}–{e:.0f} h"
        for i, (s, e) in enumerate(zip(out["bin_start"], out["bin_end"], strict=True))
    ]
    out["color"] = [OVER_SLA if over else WITHIN_SLA for over in out["over_sla"]]
    out["sla"] = ["over the SLA" if over else "within the SLA" for over in out["over_sla"]]
    return out[["bin", "cases", "color", "sla", "bin_start"]]


def staffing_curve_frame(output: dict[str, Any] | None, ctx: ChartContext) -> pd.DataFrame:
    """The queue model's re-simulated week per headcount, with today's roster and the recommendation named."""
    curve = None if output is None else output.get("curve")
    if curve is None or curve.height == 0 or curve["expected_breach_pct"].null_count() == curve.height:
        return pd.DataFrame(
            {"reviewers": [], "expected_breach_pct": [], "backlog_at_week_end": [], "mark": [], "target": []}
        )
    out = curve.with_columns(
        pl.when(pl.col("is_recommended"))
        .then(pl.lit("recommended"))
        .when(pl.col("is_roster"))
        .then(pl.lit("today's roster"))
        .otherwise(pl.lit(""))
        .alias("mark"),
        pl.col("backlog_at_week_end").round(0),
        pl.lit(output.get("target_breach_pct"), dtype=pl.Float64).alias("target"),
    ).to_pandas()
    return out[["reviewers", "expected_breach_pct", "backlog_at_week_end", "mark", "target"]]


def attacks_frame(output: pl.DataFrame | None, ctx: ChartContext) -> pd.DataFrame:
    if output is None or output.height == 0:
        return pd.DataFrame({"date": pd.Series([], dtype="datetime64[ms]"), "flags": [], "alert": [], "attack": []})
    out = output.with_columns(
        pl.col("alert").fill_null(False), pl.col("attack").cast(pl.Boolean, strict=False).fill_null(False)
    ).to_pandas()
    out["date"] = pd.to_datetime(out["date"])
    if out["date"].nunique() == 1:  # one day (an opened alert): a line across it, its markers at noon
        edge = out.assign(alert=False, attack=False)
        out = pd.concat(
            [edge, out.assign(date=out["date"] + pd.Timedelta(hours=12)), edge.assign(date=edge["date"] + DAY_END)],
            ignore_index=True,
        )
    return out


# --------------------------------------------------------------------------- renders (hvPlot calls)


def _coloured(overlay: Any, colours: dict[str, str], by: str = "value") -> Any:
    """Give each series of a ``by=`` overlay its fixed colour (the same on every chart)."""
    for key, element in overlay.data.items():
        name = key[0] if isinstance(key, tuple) else key
        element.opts(color=colours.get(str(name), ACCENT))
    return overlay


def _in_order(overlay: Any, labels: pd.Series, *, top_first: bool = False) -> Any:
    """The ``by=`` overlay with its layers (and so its legend entries) in the frame's series order.

    hvPlot's layers came in no meaningful order (intake: low, high, critical, medium), so the
    legend did not follow the series' order or the stack. ``top_first``: a stack's legend reads
    top to bottom as the stack does (the frame's last series is on top).
    """
    if not isinstance(overlay, hv.NdOverlay):
        return overlay
    order = list(dict.fromkeys(labels))
    rank = {label: i for i, label in enumerate(reversed(order) if top_first else order)}
    keys = sorted(overlay.data, key=lambda key: rank.get(str(key[0]), len(rank)))
    return overlay.clone([(key, overlay.data[key]) for key in keys])


def stacked_areas(y: str, ylabel: str, colours_of: Callable[[ChartContext], dict[str, str]], height: int):
    def render(data: pd.DataFrame, ctx: ChartContext) -> Any:
        colours = {display(k): v for k, v in colours_of(ctx).items()}
        # Stacked by the frame (bottom/top): hvPlot's stacked=True costs twice the update.
        areas = data.hvplot.area(
            x="date", y="bottom", y2="top", by="label", stacked=False, hover_cols=[y], **time_series(height, ylabel)
        )
        areas = _in_order(areas, data["label"], top_first=True)
        return _coloured(areas, colours).opts(**legend_opts())

    return render


def series_lines(y: str, ylabel: str, colours_of: Callable[[ChartContext], dict[str, str]], height: int):
    def render(data: pd.DataFrame, ctx: ChartContext) -> Any:
        colours = {display(k): v for k, v in colours_of(ctx).items()}
        lines = data.hvplot.line(x="date", y=y, by="label", line_width=2, **time_series(height, ylabel))
        lines = _in_order(lines, data["label"])
        return _coloured(lines, colours).opts(**legend_opts())

    return render


def horizontal_bars(y: str, ylabel: str, height: int, hover: list[str], *, counts: bool = True):
    def render(data: pd.DataFrame, ctx: ChartContext) -> Any:
        return data.hvplot.barh(x="label", y=y, color="color", hover_cols=hover, **bars(height, ylabel, counts=counts))

    return render


def utilisation_height(reviewers: int) -> int:
    """Pixels for a roster of ``reviewers``: 27 px a row up to the tallest chart (620 px, reached at
    20 reviewers, as many as 2 x REVIEWER_ROWS need), at least 200. Fixed per session, so a filter
    never resizes the page; three reviewers no longer sit in a chart drawn for thirty."""
    return max(200, min(2 * REVIEWER_ROWS * 18 + 80, reviewers * 27 + 80))


def utilisation_plot(data: pd.DataFrame, ctx: ChartContext) -> Any:
    """Horizontal bars with room for the 100% line even when everyone is far below capacity."""
    busiest = data["utilisation_pct"].max() if len(data) else None
    top = max(110.0, float(busiest) * 1.05) if busiest is not None and pd.notna(busiest) else 110.0
    height = utilisation_height(len(ctx.choices.reviewers))
    return data.hvplot.barh(
        x="label",
        y="utilisation_pct",
        color="color",
        hover_cols=["reviewer", "handled"],
        ylim=(0, top),
        **bars(height, "utilisation, % of capacity"),
    )


def escalation_plot(data: pd.DataFrame, ctx: ChartContext) -> Any:
    opts = time_series(260, "% high or critical", counts=False)
    lines = data.hvplot.line(x="date", y=["Daily", "7-day mean"], color=["#f0a57a", "#c0223b"], line_width=2, **opts)
    return lines.opts(**legend_opts())


def drift_plot(data: pd.DataFrame, ctx: ChartContext) -> Any:
    opts = time_series(300, "ML score", counts=False)
    values = [v for v in (ctx.baseline, ctx.threshold) if v is not None]
    values += [float(data["mean_score"].min()), float(data["mean_score"].max())] if len(data) else []
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    pad = max((high - low) * 0.12, 0.01)
    # One hvPlot line per series (not y=[...], an NdOverlay nested in the overlay): a flat overlay
    # of curves is updated in place on a filter change (ui.charts.patch_plot).
    named = data.rename(columns={"mean_score": "Daily mean", "rolling_mean": "Rolling mean"})
    overlay = named.hvplot.line(
        x="date", y="Daily mean", label="Daily mean", color="#7fa7cf", line_width=2.5, **opts
    ) * named.hvplot.line(x="date", y="Rolling mean", label="Rolling mean", color="#2f6db5", line_width=2.5, **opts)
    # hvPlot has no horizontal reference line: HoloViews' HLine draws the baseline and threshold.
    if ctx.baseline is not None:
        overlay = overlay * hv.HLine(ctx.baseline).opts(color=GOOD, line_dash="dashed", line_width=1.5)
    if ctx.threshold is not None:
        overlay = overlay * hv.HLine(ctx.threshold).opts(color=BAD, line_dash="dashed", line_width=1.5)
    return overlay.opts(ylim=(low - pad, high + pad), **legend_opts())


def quantile_boxes(data: pd.DataFrame, ctx: ChartContext) -> Any:
    # hvPlot's box kind needs the raw scores; the model returns quantiles, which HoloViews'
    # Rectangles (boxes) and Segments (whiskers, medians) draw directly.
    whiskers = hv.Segments(data, ["x", "min", "x", "max"]).opts(color="#90a4ae", line_width=1.5, tools=[])
    boxes = hv.Rectangles(
        data, ["left", "p25", "right", "p75"], ["label", "median", "min", "max", "count", "color"]
    ).opts(
        color="color",
        line_color="#90a4ae",
        fill_alpha=0.85,
        tools=["hover", "tap"],
        nonselection_alpha=0.85,
        hover_tooltips=[
            ("Category", "@label"),
            ("Flags", "@count{0,0}"),
            ("Median", "@median{0.000}"),
            ("25th-75th pct", "@p25{0.000} – @p75{0.000}"),
            ("Min – max", "@min{0.000} – @max{0.000}"),
        ],
    )
    medians = hv.Segments(data, ["left", "median", "right", "median"]).opts(color="#fafafa", line_width=2.5)
    ticks = [(int(x), text) for x, text in zip(data["x"], data["label"], strict=True)]
    return (whiskers * boxes * medians).opts(
        responsive=True,
        height=300,
        xticks=ticks or [(0, "")],
        xlim=(-0.6, max(len(ticks), 1) - 0.4),
        ylim=(0, 1.02),
        xlabel="",
        ylabel="ML score",
        xrotation=20 if len(ticks) > 5 else 0,
        toolbar=None,
        default_tools=[],
    )


def calibration_plot(data: pd.DataFrame, ctx: ChartContext) -> Any:
    opts = {"responsive": True, "height": 300, "xlabel": "severity", "ylabel": "mean ML score"}
    errors = data.hvplot.errorbars(x="label", y="mean_score", yerr1="err_low", yerr2="err_high", **opts).opts(
        color="#90a4ae", line_width=2
    )
    points = data.hvplot.scatter(
        x="label", y="mean_score", color="color", size=140, hover_cols=["count", "ci_low", "ci_high"], **opts
    ).opts(line_color="white", tools=["hover", "tap"], nonselection_alpha=1.0, default_tools=[])
    return (errors * points).opts(show_legend=False, toolbar=None)


def histogram_plot(data: pd.DataFrame, ctx: ChartContext) -> Any:
    return data.hvplot.bar(
        x="bin",
        y="cases",
        color="color",
        hover_cols=["sla"],
        responsive=True,
        height=260,
        rot=45,
        xlabel="hours to resolution",
        ylabel="cases",
        **counts_axis("y"),
        tools=["hover"],
        default_tools=[],
    ).opts(toolbar=None)


def staffing_curve_plot(data: pd.DataFrame, ctx: ChartContext) -> Any:
    """Breach rate per headcount: whole reviewers on the x axis, and a y axis from 0 that always
    shows the dashed target (all-zero rates once drew an axis from -1 to 1 without it)."""
    target = float(data["target"].iloc[0]) if len(data) and pd.notna(data["target"].iloc[0]) else None
    highest = data["expected_breach_pct"].max()  # NaN when empty or all missing
    top = 1.1 * max(0.0 if pd.isna(highest) else float(highest), target or 0.0, 1.0)
    opts = {
        "responsive": True,
        "height": 280,
        "xlabel": "reviewers on the rota next week",
        "ylabel": "% of high/critical cases over the SLA",
        "grid": True,
        "hover_cols": ["backlog_at_week_end"],
        # a little below 0: the markers of a headcount with no breach show whole
        "ylim": (-0.03 * top, top),
        "padding": (0.03, 0.0),  # the end headcounts' markers show whole too
        **counts_axis("x"),
    }
    line = data.hvplot.line(x="reviewers", y="expected_breach_pct", color=ACCENT, line_width=2, **opts)
    roster, recommended = (data[data["mark"] == mark] for mark in ("today's roster", "recommended"))
    parts = (
        line
        * roster.hvplot.scatter(
            x="reviewers", y="expected_breach_pct", label="today's roster", color=BAD, size=120, **opts
        )
        * recommended.hvplot.scatter(
            x="reviewers", y="expected_breach_pct", label="recommended", color=GOOD, size=120, **opts
        )
    )
    if target is not None:
        # HoloViews directly: hvPlot has no reference-line kind; the dashed line is the breach target.
        parts = parts * hv.HLine(target).opts(color=BAD, line_dash="dashed", line_width=1)
    return parts.opts(**legend_opts(), toolbar=None)


def attacks_plot(data: pd.DataFrame, ctx: ChartContext) -> Any:
    # Counts from 0: spikes stay plain, and one flat day (an opened alert) is not drawn on a
    # 2-flag axis around its count.
    opts = {**time_series(300, "flags a day"), "ylim": (0, None)}
    line = data.hvplot.line(x="date", y="flags", label="Flags a day", color=ACCENT, line_width=1.8, **opts)
    alerts = data[data["alert"]].hvplot.scatter(x="date", y="flags", label="Alert", color=BAD, size=60, **opts)
    # Known-attack triangles are drawn last, hollow and larger, so an alert dot under one stays visible.
    truth = (
        data[data["attack"]]
        .hvplot.scatter(x="date", y="flags", label="Known attack", marker="triangle", size=220, **opts)
        .opts(fill_alpha=0.0, line_color=TRUTH, line_width=2.5)
    )
    return (line * alerts * truth).opts(**legend_opts())


def capacity_line(figure: Any) -> None:
    """The 100%-of-capacity line across the horizontal utilisation bars (a fixed Bokeh Span)."""
    figure.add_layout(Span(location=100, dimension="height", line_color=BAD, line_dash="dashed", line_width=1.5))


# --------------------------------------------------------------------------- subtitles


def wow_subtitle(output: pl.DataFrame, frame: pd.DataFrame, ctx: ChartContext) -> str:
    first = output.row(0, named=True)
    return (
        f"{first['this_week_start']} → {first['this_week_end']} vs "
        f"{first['previous_week_start']} → {first['previous_week_end']}"
    )


ESCALATION_CAVEAT = "with a severity filter on, this is 0% or 100% by construction: clear it to read the rate"


def escalation_subtitle(output: pl.DataFrame, frame: pd.DataFrame, ctx: ChartContext) -> str:
    """The caveat under a severity filter; without one its line is kept, empty, so the card keeps
    its height (a card that grew made the browser lay out the whole page again)."""
    text = "share of flags that are high or critical, with its 7-day rolling mean"
    if ctx.filters is not None and ctx.filters.severities:
        return f"{text} — {ESCALATION_CAVEAT}"
    return f"{text}{HIDDEN_FROM_HERE} — {ESCALATION_CAVEAT}"


def utilisation_subtitle(output: pl.DataFrame, frame: pd.DataFrame, ctx: ChartContext) -> str:
    text = "cases handled / (capacity a day × days); the dashed line is 100% of capacity"
    if output.height > len(frame):
        text += (
            f". Busiest {REVIEWER_ROWS} and idlest {REVIEWER_ROWS} of {output.height:,} reviewers shown; "
            f"{output.height - len(frame):,} more in the CSV"
        )
    return text


# --------------------------------------------------------------------------- the table

CHARTS: dict[str, tuple[ChartSpec, ...]] = {
    "volume": (
        ChartSpec(
            "volume-by-category",
            "Daily flags by category",
            "daily_by_category",
            category_frame,
            stacked_areas("flags", "flags a day", lambda c: c.category_colors, 330),
            reuse=True,
            brush=True,
            measure="flags",
            legend=Legend("categories"),
            hint="Drag across the chart to select days; click a legend entry to filter by that category.",
        ),
        ChartSpec(
            "week-over-week",
            "Week over week",
            "week_over_week",
            wow_frame,
            horizontal_bars("change_pct", "change, %", 210, ["this_week", "previous_week"], counts=False),
            reuse=True,
            click=Click("categories"),
            subtitle_of=wow_subtitle,
            hint="Click a bar to filter by that category.",
        ),
        ChartSpec(
            "escalation",
            "Escalation rate",
            "escalation",
            escalation_frame,
            escalation_plot,
            reuse=True,
            brush=True,
            measure="flags",
            subtitle_of=escalation_subtitle,
        ),
        ChartSpec(
            "volume-by-region",
            "Daily flags by region",
            "daily_by_region",
            region_frame,
            series_lines("flags", "flags a day", lambda c: c.region_colors, 260),
            reuse=True,
            brush=True,
            measure="flags",
            legend=Legend("regions"),
            hint="Click a legend entry to filter by that region.",
        ),
        ChartSpec(
            "severity-mix",
            "Severity mix",
            "severity_mix",
            severity_frame,
            horizontal_bars("flags", "flags", 230, ["share_pct"]),
            reuse=True,
            click=Click("severities"),
            hint="Click a bar to filter by severity.",
        ),
        ChartSpec(
            "action-mix",
            "Moderation actions",
            "action_mix",
            action_frame,
            horizontal_bars("flags", "flags", 230, ["share_pct"]),
            reuse=True,
            click=Click("actions"),
            hint="Click a bar to filter by action.",
        ),
    ),
    "classifier": (
        ChartSpec(
            "score-drift",
            "Classifier score drift",
            "daily_score",
            drift_frame,
            drift_plot,
            brush=True,
            subtitle_of=lambda o, f, c: (
                f"daily mean ML score and its rolling mean; dashed: healthy baseline {c.baseline:.2f} (green) "
                f"and alert threshold {c.threshold:.2f} (red)"
            ),
            hint="Drag across the chart to select days.",
        ),
        ChartSpec(
            "score-distribution",
            "Score distribution by category",
            "score_quantiles",
            quantile_frame,
            quantile_boxes,
            click=Click("categories", axis="x", nearest=True),
            subtitle="box: 25th-75th percentile, line: median, whiskers: min to max",
            hint="Click a box to filter by that category.",
        ),
        ChartSpec(
            "calibration",
            "Calibration by severity",
            "calibration",
            calibration_frame,
            calibration_plot,
            click=Click("severities", axis="x"),
            rows_vary=True,  # a severity filter leaves its severities' points
            subtitle_of=lambda o, f, c: (
                "mean ML score with its 95% interval; the mean "
                + {True: "rises with severity, as it should", False: "does not rise with severity: check it"}.get(
                    o["rises_with_severity"][0] if o.height else None, "cannot be compared"
                )
            ),
            hint="Click a point to filter by severity.",
        ),
    ),
    "queue": (
        ChartSpec(
            "backlog-severity",
            "Open cases by severity",
            "backlog",
            backlog_frame,
            horizontal_bars("open_cases", "open cases", 200, []),
            reuse=True,
            click=Click("severities", flags="backlog"),
            measure="open_cases",
            download=lambda backlog: backlog.get("by_severity"),
            subtitle="human-review cases still open at the end of the selected days",
            hint="Click a bar to list its open cases.",
            empty_message="No review cases are open at the end of the selected days.",
        ),
        ChartSpec(
            "intake",
            "Daily human-review intake by severity",
            "daily_intake",
            intake_frame,
            stacked_areas("cases", "cases a day", lambda c: SEVERITY_COLORS, 300),
            reuse=True,
            brush=True,
            measure="cases",
            legend=Legend("severities"),
            hint="Drag across the chart to select days; click a legend entry to filter by severity.",
        ),
        ChartSpec(
            "utilisation",
            "Reviewer utilisation",
            "utilisation",
            utilisation_frame,
            utilisation_plot,
            click=Click("reviewers"),
            rows_vary=True,
            measure="handled",
            subtitle_of=utilisation_subtitle,
            hint="Click a bar to filter by that reviewer.",
            decorations=(capacity_line,),
        ),
        ChartSpec(
            "resolution-time",
            "Time to resolution",
            "resolution_histogram",
            histogram_frame,
            histogram_plot,
            reuse=True,
        ),
        ChartSpec(
            "staffing-curve",
            "Reviewers on the rota and next week's SLA",
            "staffing",
            staffing_curve_frame,
            staffing_curve_plot,
            rows_vary=True,  # the headcounts tried and the two marked points move with the forecast
            download=lambda staffing: staffing.get("curve"),
            subtitle=(
                "next week re-simulated from the forecast arrivals, the measured service times, today's backlog "
                "and the priority rules; dashed: the breach target"
            ),
            hint="Hover a point for the backlog left at the week's end.",
            empty_message="Not enough data to forecast next week's human-review cases for this selection.",
        ),
    ),
    "attacks": (
        ChartSpec(
            "attacks-volume",
            "Daily flags with alerts and known attacks",
            "daily_volume",
            attacks_frame,
            attacks_plot,
            brush=True,
            measure="flags",
            subtitle="red dots: detector alerts; green hollow triangles: known attack days (ground truth)",
            hint="Drag across the chart to select days.",
        ),
    ),
}


def spec(key: str) -> ChartSpec:
    """The spec of chart ``key`` (for tests and for tabs laying out their cards)."""
    for specs in CHARTS.values():
        for item in specs:
            if item.key == key:
                return item
    raise KeyError(key)
