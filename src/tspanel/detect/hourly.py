"""The streaming count-series detector on a dataset's own flags: hourly counts per category.

Why: the daily methods say *which day* a campaign ran; an ops lead also wants to know *how soon*
it could have been seen. When the flags carry ``created_at``, each category's hourly flag count is
fed, hour by hour, to the same :class:`tspanel.detect.series.SeriesDetector` that
``tspanel detect --series --follow`` runs, so its alerts are stamped at the hour they could first
have been raised. When the flags also carry the contract's account, content or target columns,
each hour's composition is tested beside its volume (:mod:`tspanel.detect.coordination`): a
campaign's opening trickle is unusual in kind long before it is unusual in number. Against ground
truth (:func:`time_to_detect`), the delay from a campaign's first flag to the first alert in its
category is measured in hours.
"""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

import polars as pl

from tspanel.detect.coordination import CompositionScorer, available_signals, hourly_marks, marks_grid
from tspanel.detect.series import DEFAULT_THRESHOLD, SeriesDetector

HOUR = dt.timedelta(hours=1)

HOURLY_ALERT_SCHEMA = {
    "category": pl.String,
    "timestamp": pl.Datetime("us"),  # the hour (bin start) whose arrival raised the alert
    "raised_at": pl.Datetime("us"),  # the end of that hour: when it could first be acted on
    "window_start": pl.Datetime("us"),
    "window_end": pl.Datetime("us"),
    "value": pl.Float64,
    "expected": pl.Float64,
    "score": pl.Float64,
    "signal": pl.String,  # what fired: "volume", or a coordination signal (tspanel.detect.coordination.SIGNALS)
}


def hourly_counts(flags: pl.LazyFrame) -> pl.DataFrame:
    """Flags an hour per category (UTC, naive), every hour from the data's first to its last, 0 when none."""
    ts = pl.col("created_at")
    counts = (
        flags.filter(ts.is_not_null())
        .select(
            pl.col("category").cast(pl.String),
            (ts.dt.convert_time_zone("UTC").dt.replace_time_zone(None) if _aware(flags) else ts)
            .dt.truncate("1h")
            .cast(pl.Datetime("us"))
            .alias("hour"),
        )
        .group_by("category", "hour")
        .agg(pl.len().cast(pl.Float64).alias("flags"))
        .collect()
    )
    if counts.height == 0:
        return pl.DataFrame(schema={"category": pl.String, "hour": pl.Datetime("us"), "flags": pl.Float64})
    hours = pl.DataFrame({"hour": pl.datetime_range(counts["hour"].min(), counts["hour"].max(), "1h", eager=True)})
    return (
        hours.with_columns(pl.col("hour").cast(pl.Datetime("us")))
        .join(counts.select("category").unique(), how="cross")
        .join(counts, on=["hour", "category"], how="left")
        .with_columns(pl.col("flags").fill_null(0.0))
        .sort("category", "hour")
    )


def _aware(flags: pl.LazyFrame) -> bool:
    return getattr(flags.collect_schema()["created_at"], "time_zone", None) is not None


REFRACTORY_HOURS = 12
"""Hours after a category's alert in which another signal's alarm is the same event (the series' refractory)."""

COORDINATION_COLUMNS = ("account_id", "account_age_days", "content_hash", "target_id")
"""Optional columns that add the coordination signals (tspanel.detect.coordination) to the volume."""


def hourly_alerts(flags: pl.LazyFrame, threshold: float = DEFAULT_THRESHOLD) -> pl.DataFrame:
    """Alerts on each category's hourly flags (HOURLY_ALERT_SCHEMA): volume, and coordination when possible.

    `flags` needs ``category`` and ``created_at`` (the caller checks that ``created_at`` exists).
    The volume alarm is the streaming series detector on the hour's count. When `flags` also
    carries any of COORDINATION_COLUMNS, the hour's composition is tested too
    (:mod:`tspanel.detect.coordination`): a campaign's first hours of young accounts and shared
    content are seen while its volume is still within noise. One event, one alert: a composition
    alarm within REFRACTORY_HOURS of the category's last firing of either kind, or a volume alarm
    within REFRACTORY_HOURS of the last composition firing, is the same event and not raised again
    (without the coordination columns, the volume alarms are exactly those of the series detector).
    ``signal`` says which fired; for a coordination alert ``value``/``expected`` are the window's
    marked flags and the number expected at the category's usual share.
    """
    signals = available_signals(flags.collect_schema().names())
    marks = hourly_marks(flags) if signals else None
    rows: list[dict[str, Any]] = []
    for (category,), group in hourly_counts(flags).group_by("category", maintain_order=True):
        hours = group["hour"]
        detector = SeriesDetector(hours[0], HOUR, threshold)
        composition = CompositionScorer(signals, threshold) if marks is not None else None
        grid = marks_grid(marks, hours, category, signals) if marks is not None else {}
        last = last_coordination = -(10**9)  # last hour anything fired; last hour the composition fired
        for i, count in enumerate(group["flags"].to_list()):
            alarm = detector.push(count)
            firing = (
                composition.push(float(grid["flags"][i]), {s: float(grid[s][i]) for s in signals})
                if composition is not None
                else None
            )
            if alarm is None and firing is None:
                continue
            # the volume detector has its own refractory period; it only yields to a coordination event under way
            quiet = i - (last if firing is not None and alarm is None else last_coordination) > REFRACTORY_HOURS
            last = i
            if firing is not None:
                last_coordination = i
            if not quiet:
                continue
            stamp = detector.timestamp(i)
            if alarm is not None:
                row = {
                    "window_start": detector.timestamp(alarm.window_from),
                    "window_end": detector.timestamp(alarm.window_to),
                    "value": count,
                    "expected": float(detector.scorer.expected[alarm.index]),
                    "score": alarm.score,
                    "signal": "volume",
                }
            else:
                assert firing is not None
                row = {
                    "window_start": detector.timestamp(i - firing.hours + 1),
                    "window_end": stamp,
                    "value": firing.marked,
                    "expected": firing.expected,
                    "score": firing.score,
                    "signal": firing.signal,
                }
            rows.append({"category": category, "timestamp": stamp, "raised_at": stamp + HOUR, **row})
    return pl.DataFrame(rows, schema=HOURLY_ALERT_SCHEMA).sort("timestamp", "category")


def attack_starts(flags: pl.LazyFrame, attacks: pl.DataFrame) -> pl.DataFrame:
    """Each attack's category, first flag (its start, to the second) and end (midnight after its last day)."""
    first = (
        flags.filter(pl.col("attack_id").is_not_null())
        .group_by("attack_id")
        .agg(pl.col("created_at").min().alias("start"))
        .collect()
    )
    if first.schema["start"].time_zone is not None:  # type: ignore[union-attr]
        first = first.with_columns(pl.col("start").dt.convert_time_zone("UTC").dt.replace_time_zone(None))
    return (
        attacks.select(
            "attack_id",
            pl.col("category").cast(pl.String),
            (pl.col("end_date").cast(pl.Datetime("us")) + pl.duration(days=1)).alias("end"),
        )
        .join(first.with_columns(pl.col("start").cast(pl.Datetime("us"))), on="attack_id", how="left")
        .sort("start")
    )


def time_to_detect(alerts: pl.DataFrame, starts: pl.DataFrame, span_days: float) -> dict[str, Any]:
    """Delay from each attack's first flag to the first alert raised in its category while it ran.

    An alert counts for an attack when raised between its first flag and its end, in its category;
    the delay is ``raised_at - start`` in hours (the end of the alerting hour: when a streaming user
    could act). Every other alert is a false alarm; they are reported per 30 days of data (all
    categories together).
    """
    per_attack = []
    used: set[tuple[str, dt.datetime]] = set()
    for a in starts.iter_rows(named=True):
        during = (pl.col("raised_at") > a["start"]) & (pl.col("timestamp") < a["end"])
        hits = alerts.filter((pl.col("category") == a["category"]) & during)
        used |= {(a["category"], t) for t in hits["timestamp"]}
        delay = (hits["raised_at"][0] - a["start"]) / HOUR if hits.height else None
        per_attack.append({"attack_id": a["attack_id"], "category": a["category"], "delay_hours": delay})
    delays = [p["delay_hours"] for p in per_attack if p["delay_hours"] is not None]
    false = sum((c, t) not in used for c, t in zip(alerts["category"], alerts["timestamp"], strict=True))
    return {
        "attacks": per_attack,
        "caught": len(delays),
        "median_delay_hours": statistics.median(delays) if delays else None,
        "false_alarms": false,
        "false_alarms_per_30_days": false / span_days * 30 if span_days else None,
    }
