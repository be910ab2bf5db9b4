"""The declared charts (ui/specs.py) without a browser: frames, labels, streams into Filters, messages.

Each test states the numbers it expects; the charts are rendered with HoloViews' Bokeh
renderer where the figure itself is checked (axis factors, legend entries, glyphs).
"""

from __future__ import annotations

import datetime as dt
import logging
from types import SimpleNamespace

import holoviews as hv
import numpy as np
import polars as pl
import pytest

from tspanel.models.filters import Filters
from tspanel.ui.charts import EMPTY_MESSAGE, Chart
from tspanel.ui.choices import Choices
from tspanel.ui.selection import Selection
from tspanel.ui.specs import CHARTS, REVIEWER_ROWS, ChartContext, spec

hv.extension("bokeh")

FIRST, LAST = dt.date(2026, 3, 1), dt.date(2026, 3, 31)


def choices(reviewers: int = 3) -> Choices:
    ids = tuple(f"r{i:04d}" for i in range(reviewers))
    return Choices(
        categories=("fraud", "self_harm", "spam"),
        regions=("AMER", "EMEA"),
        severities=("low", "medium", "high", "critical"),
        actions=("allow", "downrank", "human_review", "auto_block"),
        reviewers=ids,
        reviewer_names={rid: f"Reviewer {rid}" for rid in ids},
    )


def chart(key: str, output, filters: Filters | None = None, reviewers: int = 3) -> tuple[Chart, Filters]:
    filters = filters or Filters()
    c = choices(reviewers)
    context = ChartContext(c, sla_hours=24.0, baseline=0.86, threshold=0.78, filters=filters)
    return Chart(spec(key), context, Selection(filters, c, FIRST, LAST), output), filters


def figure(c: Chart):
    return hv.render(c.dmap[()])


def severity_mix(**flags: int) -> pl.DataFrame:
    total = sum(flags.values())
    return pl.DataFrame(
        {"severity": list(flags), "flags": list(flags.values()), "share_pct": [100 * v / total for v in flags.values()]}
    )


def daily(column: str, rows: list[tuple[dt.date, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"date": pl.Date, column: pl.String, "flags": pl.Int64}, orient="row")


def test_the_spec_table_declares_every_chart_once():
    keys = [s.key for specs in CHARTS.values() for s in specs]
    assert len(keys) == len(set(keys)) == 15
    assert {s.key for s in CHARTS["volume"]} == {
        "volume-by-category",
        "week-over-week",
        "escalation",
        "volume-by-region",
        "severity-mix",
        "action-mix",
    }


def test_severity_bars_are_labelled_with_level_names_in_level_order():
    c, _ = chart("severity-mix", severity_mix(low=5, critical=1, medium=3, high=2))
    fig = figure(c)
    # Bokeh puts the first factor at the bottom: low at the bottom, critical on top.
    assert list(fig.y_range.factors) == ["low", "medium", "high", "critical"]


def test_a_click_on_a_bar_goes_through_the_tap_stream_into_the_filters():
    c, filters = chart(
        "action-mix",
        severity_mix(low=1).rename({"severity": "action"}).with_columns(pl.lit("human_review").alias("action")),
    )
    (tap,) = c.streams
    assert isinstance(tap, hv.streams.Tap)
    tap.event(x=1.0, y="human review")  # the axis shows words; the filter gets the code
    assert filters.actions == ["human_review"]
    tap.event(x=1.0, y="human review")  # a second click on the same bar removes it again
    assert filters.actions == []
    tap.event(x=1.0, y="not a bar")
    assert filters.actions == []


def test_a_brush_goes_through_the_boundsx_stream_into_the_dates():
    frame = daily("category", [(dt.date(2026, 3, d), "fraud", d) for d in range(1, 11)])
    c, filters = chart("volume-by-category", frame)
    (bounds,) = c.streams
    assert isinstance(bounds, hv.streams.BoundsX)
    bounds.event(boundsx=(np.datetime64("2026-03-02T10:00"), np.datetime64("2026-03-05T00:00")))
    assert (filters.start, filters.end) == (dt.date(2026, 3, 3), dt.date(2026, 3, 5))


def test_excluded_series_disappear_from_the_legend_and_legend_clicks_toggle():
    frame = daily("category", [(dt.date(2026, 3, d), cat, 2) for d in (1, 2) for cat in ("spam", "self_harm")])
    c, filters = chart("volume-by-category", frame)
    fig = figure(c)
    labels = [item.label.value for legend in fig.legend for item in legend.items]
    assert sorted(labels) == ["self harm", "spam"]  # only what the selection keeps (no fraud), as words

    c._legend_clicked(SimpleNamespace(item=SimpleNamespace(label={"value": "self harm"})))
    assert filters.categories == ["self_harm"]


def test_legends_list_the_series_in_order_stacked_areas_as_the_stack_reads():
    days = (dt.date(2026, 3, 1), dt.date(2026, 3, 2))
    intake = pl.DataFrame(
        [(d, sev, 3) for d in days for sev in ("medium", "critical", "low", "high")],
        schema={"date": pl.Date, "severity": pl.String, "cases": pl.Int64},
        orient="row",
    )
    c, _ = chart("intake", intake)
    # low is the bottom band, critical the top one: the legend reads top to bottom
    assert [item.label.value for item in figure(c).legend[0].items] == ["critical", "high", "medium", "low"]

    categories = daily("category", [(d, cat, 2) for d in days for cat in ("spam", "fraud", "self_harm")])
    c, _ = chart("volume-by-category", categories)
    assert [item.label.value for item in figure(c).legend[0].items] == ["spam", "self harm", "fraud"]

    regions = daily("region", [(d, region, 2) for d in days for region in ("EMEA", "AMER")])
    c, _ = chart("volume-by-region", regions)
    assert [item.label.value for item in figure(c).legend[0].items] == ["AMER", "EMEA"]


def test_week_over_week_keeps_only_kept_rows_in_the_dataset_order():
    frame = pl.DataFrame(
        {
            "category": ["spam", "fraud"],
            "this_week": [10, 4],
            "previous_week": [5, 8],
            "change": [5, -4],
            "change_pct": [100.0, -50.0],
            "this_week_start": [dt.date(2026, 3, 24)] * 2,
            "this_week_end": [dt.date(2026, 3, 30)] * 2,
            "previous_week_start": [dt.date(2026, 3, 17)] * 2,
            "previous_week_end": [dt.date(2026, 3, 23)] * 2,
        }
    )
    c, _ = chart("week-over-week", frame)
    assert list(figure(c).y_range.factors) == ["spam", "fraud"]  # fraud (first in the data) on top
    assert "2026-03-24 → 2026-03-30 vs 2026-03-17 → 2026-03-23" in c.card.title.object


def test_an_empty_selection_shows_the_message_instead_of_the_chart():
    c, _ = chart("severity-mix", severity_mix(low=1))
    assert not c.card.reason.visible and c.card.body.visible
    c.update(severity_mix(low=1).clear())
    assert c.card.reason.visible and not c.card.body.visible
    assert EMPTY_MESSAGE == "No flags match these filters"
    assert "No flags match these filters" in c.card.reason.object
    c.update(severity_mix(high=3))
    assert not c.card.reason.visible and c.card.body.visible


def test_an_unchanged_frame_sends_nothing():
    c, _ = chart("severity-mix", severity_mix(low=1, high=1))
    sent: list[object] = []
    c.pipe.add_subscriber(lambda data: sent.append(data))
    c.update(severity_mix(low=1, high=1))
    assert sent == []
    c.update(severity_mix(low=2, high=1))
    assert len(sent) == 1


def test_a_single_day_is_drawn_across_the_day_with_hour_ticks():
    frame = daily("region", [(dt.date(2026, 3, 5), "EMEA", 7)])
    c, _ = chart("volume-by-region", frame)
    data = c.pipe.data
    assert list(data["date"].astype(str)) == ["2026-03-05 00:00:00", "2026-03-05 23:59:59"]
    fig = figure(c)
    formatter = fig.xaxis[0].formatter
    assert formatter.hours == "%H:%M" and formatter.milliseconds == "%H:%M"  # never "0ms 500ms"
    assert formatter.context.hours == "%Y-%m-%d"


def test_the_attack_chart_draws_one_day_across_the_day_with_its_markers_once():
    # Opening an alert selects its day: the chart was one point (no line) on a degenerate axis.
    day = pl.DataFrame(
        {"date": [dt.date(2026, 11, 18)], "flags": [1102], "alert": [True], "attack": [True]},
        schema={"date": pl.Date, "flags": pl.Int64, "alert": pl.Boolean, "attack": pl.Boolean},
    )
    c, _ = chart("attacks-volume", day)
    data = c.pipe.data
    assert list(data["date"].astype(str)) == ["2026-11-18 00:00:00", "2026-11-18 12:00:00", "2026-11-18 23:59:59"]
    assert data["flags"].tolist() == [1102, 1102, 1102]
    assert data["alert"].tolist() == [False, True, False] and data["attack"].tolist() == [False, True, False]
    fig = figure(c)
    assert fig.xaxis[0].formatter.hours == "%H:%M" and fig.y_range.start == 0


def test_utilisation_shows_the_busiest_and_idlest_reviewers_of_500():
    n = 500
    frame = pl.DataFrame(
        {
            "reviewer_id": [f"r{i:04d}" for i in range(n)],
            "handled": list(range(n)),
            "utilisation_pct": [i / 4 for i in range(n)],
        }
    )
    c, filters = chart("utilisation", frame, reviewers=n)
    rows = list(figure(c).y_range.factors)
    assert len(rows) == 2 * REVIEWER_ROWS == 30
    assert rows[-1] == "Reviewer r0499 (r0499)" and rows[0] == "Reviewer r0000 (r0000)"  # busiest on top
    assert "Busiest 15 and idlest 15 of 500 reviewers shown; 470 more in the CSV" in c.card.title.object
    c.streams[0].event(x=50.0, y="Reviewer r0490 (r0490)")
    assert filters.reviewers == ["r0490"]


def test_long_labels_are_shortened_on_the_chart_but_kept_in_the_download():
    long_name = "a_very_long_category_name_that_goes_on_and_on"
    frame = daily("category", [(dt.date(2026, 3, 1), long_name, 3), (dt.date(2026, 3, 2), long_name, 4)])
    c, _ = chart("volume-by-category", frame)
    assert set(c.pipe.data["label"]) == {"a very long category na…"}
    assert c.card.data["category"].to_list() == [long_name, long_name]


def test_the_resolution_histogram_ends_in_a_labelled_overflow_bin():
    frame = pl.DataFrame(
        {
            "bin_start": [0.0, 24.0, 72.0],
            "bin_end": [24.0, 72.0, None],
            "cases": [10, 4, 2],
            "over_sla": [False, True, True],
        }
    )
    c, _ = chart("resolution-time", frame)
    assert list(figure(c).x_range.factors) == ["0–24 h", "24–72 h", "≥ 72 h"]


def test_the_resolution_subtitle_says_red_bars_hold_every_severity_and_the_sla_binds_high_and_critical():
    from tspanel.ui.queue import resolution_subtitle

    # the built-in world: red bars add up to 3,283 cases of every severity, 1,229 high/critical breaches
    sla = {"sla_hours": 24.0, "breaches": 1229, "eligible": 6850, "breach_rate_pct": 17.94}
    assert resolution_subtitle(sla) == (
        "human-review cases of every severity by hours to resolution (red: 24 h or more); "
        "the 24 h SLA is for high and critical cases: 1,229 of 6,850 took longer (17.9%)"
    )


def test_a_chart_drawn_from_a_dict_downloads_the_rows_it_draws():
    from tspanel.ui.export import to_csv

    by_severity = pl.DataFrame({"severity": ["high", "low"], "open_cases": [3, 7]})
    backlog = {"open_cases": 10, "oldest_age_days": 2.5, "by_severity": by_severity}
    c, _ = chart("backlog-severity", backlog)
    assert to_csv(c.card.data) == "severity,open_cases\nhigh,3\nlow,7\n"
    # a dict's frames are left out of a one-row CSV, not written as an empty column
    assert to_csv(backlog) == "open_cases,oldest_age_days\n10,2.5\n"


def test_the_staffing_curve_marks_the_roster_and_the_recommendation_against_the_target():
    staffing = {
        "target_breach_pct": 5.0,
        "curve": pl.DataFrame(
            {
                "reviewers": [10, 12, 14, 16],
                "expected_breach_pct": [40.0, 12.5, 4.0, 1.0],
                "backlog_at_week_end": [300.4, 120.0, 20.0, 5.0],
                "is_roster": [False, True, False, False],
                "is_recommended": [False, False, True, False],
            }
        ),
    }
    c, _ = chart("staffing-curve", staffing)
    frame = c._frame(staffing)
    assert frame["mark"].tolist() == ["", "today's roster", "recommended", ""]
    assert frame["backlog_at_week_end"].tolist() == [300.0, 120.0, 20.0, 5.0]
    fig = figure(c)
    assert [item.label.value for item in fig.legend[0].items] == ["today's roster", "recommended"]
    spans = [r for r in fig.renderers if type(r).__name__ == "Span"] + [
        r for r in fig.center if type(r).__name__ == "Span"
    ]
    assert [span.location for span in spans] == [5.0]
    assert c.card.data["reviewers"].to_list() == [10, 12, 14, 16]  # the CSV holds the curve's rows
    # Not enough data to forecast: the card says so instead of drawing an empty curve.
    c.update({"target_breach_pct": 5.0, "curve": None})
    assert "Not enough data to forecast" in c.card.reason.object


def test_a_staffing_curve_without_breaches_keeps_the_target_in_view_on_whole_reviewer_ticks():
    """A small team that meets the SLA at every headcount: the axis ran from -1 to 1 (the dashed 5%
    target off the chart) and the reviewer axis had ticks at 1.5, 2.5, ..."""
    staffing = {
        "target_breach_pct": 5.0,
        "curve": pl.DataFrame(
            {
                "reviewers": [1, 2, 3, 4, 5],
                "expected_breach_pct": [0.0] * 5,
                "backlog_at_week_end": [1.0, 0.0, 0.0, 0.0, 0.0],
                "is_roster": [False, False, True, False, False],
                "is_recommended": [True, False, False, False, False],
            }
        ),
    }
    c, _ = chart("staffing-curve", staffing)
    fig = figure(c)
    assert fig.y_range.start == pytest.approx(-0.165) and fig.y_range.end == pytest.approx(5.5)
    assert fig.x_range.start < 1 and fig.x_range.end > 5  # the end markers drawn whole
    assert fig.xaxis[0].ticker.min_interval == 1
    # A curve above the target: the axis reaches past its highest point.
    staffing["curve"] = staffing["curve"].with_columns(pl.Series("expected_breach_pct", [60.0, 20.0, 4.0, 1.0, 0.0]))
    c.update(staffing)
    fig = figure(c)
    assert fig.y_range.end == pytest.approx(66.0)


@pytest.mark.parametrize(("reviewers", "height"), [(1, 200), (3, 200), (10, 350), (20, 620), (500, 620)])
def test_the_utilisation_chart_is_as_tall_as_the_roster_needs(reviewers, height):
    frame = pl.DataFrame(
        {
            "reviewer_id": [f"r{i:04d}" for i in range(reviewers)],
            "handled": [1] * reviewers,
            "utilisation_pct": [50.0] * reviewers,
        }
    )
    c, _ = chart("utilisation", frame, reviewers=reviewers)
    assert figure(c).height == height


def test_known_attack_triangles_are_drawn_over_alert_dots():
    frame = pl.DataFrame(
        {
            "date": [dt.date(2026, 3, d) for d in (1, 2, 3)],
            "flags": [10, 50, 12],
            "alert": [False, True, False],
            "attack": [False, True, False],
        }
    )
    c, _ = chart("attacks-volume", frame)
    glyphs = [type(r.glyph).__name__ for r in figure(c).renderers]
    assert glyphs == ["Line", "Scatter", "Scatter"]  # line, alert dots, then the triangles on top
    triangle = figure(c).renderers[-1].glyph
    assert triangle.marker == "triangle" and triangle.fill_alpha == 0.0
    assert figure(c).y_range.start == 0  # counts from 0 (it started near the quietest day's 10)


def test_no_ground_truth_draws_without_a_holoviews_error(caplog: pytest.LogCaptureFixture):
    frame = pl.DataFrame(
        {"date": [dt.date(2026, 3, 1), dt.date(2026, 3, 2)], "flags": [3, 4], "alert": [False, False]}
    ).with_columns(pl.lit(None, dtype=pl.Boolean).alias("attack"))
    with caplog.at_level(logging.WARNING):
        c, _ = chart("attacks-volume", frame)
        figure(c)
    assert [r.message for r in caplog.records if "Traceback" in r.message or r.levelno >= logging.ERROR] == []


def test_the_escalation_chart_says_why_it_is_flat_under_a_severity_filter():
    frame = pl.DataFrame(
        {
            "date": [dt.date(2026, 3, 1), dt.date(2026, 3, 2)],
            "flags": [4, 6],
            "high_critical": [4, 6],
            "escalation_rate": [1.0, 1.0],
            "rolling_7d": [1.0, 1.0],
        }
    )
    c, _ = chart("escalation", frame, Filters(severities=["high"]))
    assert "0% or 100% by construction" in c.card.title.object
    assert "ts-hidden" not in c.card.title.object
    plain, _ = chart("escalation", frame)
    # Without the filter the caveat keeps its line (the card keeps its height) but is hidden.
    hidden = plain.card.title.object.split('<span class="ts-hidden" aria-hidden="true">', 1)
    assert "by construction" not in hidden[0] and "by construction" in hidden[1]
    assert list(plain.pipe.data["Daily"]) == [100.0, 100.0]


def test_the_capacity_line_stays_in_view_when_everyone_is_far_below_capacity():
    frame = pl.DataFrame({"reviewer_id": ["r0000", "r0001"], "handled": [3, 4], "utilisation_pct": [10.0, 14.0]})
    c, _ = chart("utilisation", frame)
    fig = figure(c)
    assert (fig.x_range.start, fig.x_range.end) == (0, 110.0)
    assert [span.location for span in fig.center if type(span).__name__ == "Span"] == [100]


def test_a_click_on_a_box_or_a_calibration_point_selects_its_category_or_severity():
    quantiles = pl.DataFrame(
        {
            "category": ["spam", "fraud"],
            "count": [10, 4],
            "min": [0.1, 0.2],
            "p25": [0.4, 0.5],
            "median": [0.6, 0.7],
            "p75": [0.8, 0.9],
            "max": [0.95, 0.99],
        }
    )
    boxes, filters = chart("score-distribution", quantiles)
    assert list(boxes.pipe.data["label"]) == ["fraud", "spam"]  # sorted, at x = 0 and 1
    boxes.streams[0].event(x=1.2, y=0.5)
    assert filters.categories == ["spam"]
    boxes.streams[0].event(x=0.5, y=0.5)  # between two boxes: nothing
    assert filters.categories == ["spam"]
    calibration = pl.DataFrame(
        {
            "severity": ["low", "high"],
            "count": [5, 6],
            "mean_score": [0.8, 0.9],
            "ci_low": [0.75, 0.85],
            "ci_high": [0.85, 0.95],
            "rises_with_severity": [True, True],
        }
    )
    points, filters = chart("calibration", calibration)
    assert list(figure(points).x_range.factors) == ["low", "high"]
    points.streams[0].event(x="high", y=0.9)
    assert filters.severities == ["high"]
    assert "rises with severity, as it should" in points.card.title.object


def test_zero_filled_outputs_of_an_empty_selection_show_the_message():
    """The models fill excluded days and levels with zeros: that is still "no flags"."""
    zeros = severity_mix(low=1, medium=1, high=1, critical=1).with_columns(pl.lit(0).alias("flags"))
    bars, _ = chart("severity-mix", zeros)
    assert bars.card.reason.visible and "No flags match these filters" in bars.card.reason.object
    daily_zero = daily("category", [(dt.date(2026, 3, 1), "fraud", 0)])
    areas, _ = chart("volume-by-category", daily_zero)
    assert areas.card.reason.visible
    escalation = pl.DataFrame(
        {
            "date": [dt.date(2026, 3, 1)],
            "flags": [0],
            "high_critical": [0],
            "escalation_rate": [None],
            "rolling_7d": [0.0],
        },
        schema_overrides={"escalation_rate": pl.Float64},
    )
    line, _ = chart("escalation", escalation)
    assert line.card.reason.visible
    # One severity kept: the other three are gone from the chart, not drawn as empty rows.
    one = severity_mix(low=1, medium=1, high=1, critical=1).with_columns(
        pl.when(pl.col("severity") == "high").then(7).otherwise(0).alias("flags")
    )
    kept, _ = chart("severity-mix", one)
    assert list(figure(kept).y_range.factors) == ["high"]


@pytest.mark.parametrize("key", [s.key for specs in CHARTS.values() for s in specs])
def test_every_chart_opens_on_an_empty_selection(key):
    c, _ = chart(key, None)
    assert c.dmap is None  # nothing to plot yet: the plot is built with the first data
    assert c.card.reason.visible and not c.card.body.visible
    expected = {
        "staffing-curve": "Not enough data to forecast",
        "backlog-severity": "No review cases are open",
    }.get(key, "No flags match these filters")
    assert expected in c.card.reason.object


def test_a_chart_opened_empty_is_built_when_data_arrives():
    c, filters = chart("severity-mix", severity_mix(low=1).clear())
    assert c.dmap is None and c.card.reason.visible
    c.update(severity_mix(low=2, high=1))
    assert list(figure(c).y_range.factors) == ["low", "high"]
    assert c.card.body.visible and not c.card.reason.visible
    c.streams[0].event(x=1.0, y="high")
    assert filters.severities == ["high"]


def test_a_backlog_bar_click_drills_down_instead_of_toggling():
    levels = ["low", "medium", "high", "critical"]
    backlog = {"by_severity": pl.DataFrame({"severity": levels, "open_cases": [5, 3, 2, 1]})}
    c, filters = chart("backlog-severity", backlog)
    assert list(figure(c).y_range.factors) == ["low", "medium", "high", "critical"]
    opened: list[str | None] = []
    c.selection.show_flags = opened.append
    filters.severities = ["low", "high"]
    (tap,) = c.streams
    tap.event(x=0.5, y="critical")
    assert filters.severities == ["critical"] and opened == ["backlog"]
    tap.event(x=0.5, y="critical")  # again: still only critical, the table opened again
    assert filters.severities == ["critical"] and opened == ["backlog", "backlog"]
