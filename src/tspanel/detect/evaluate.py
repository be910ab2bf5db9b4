"""How good are the alerts? Metrics against the ground truth the dataset carries, if any.

Ground truth is the attacks table (each attack's days x its category) when present,
else the days and categories that hold flags marked `coordinated_flag`. Metrics are
given at two levels: days (was an attack going on that day?) and (day, category) pairs
(was it in the category the alert names?). Only this module reads the ground truth;
the detectors never see it (tspanel.detect.registry).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl

from tspanel.detect.registry import METHODS, run_method

Pair = tuple[dt.date, str]


@dataclass(frozen=True)
class KnownAttack:
    attack_id: str
    category: str
    days: tuple[dt.date, ...]


@dataclass(frozen=True)
class GroundTruth:
    """The attacked (day, category) pairs and, when known, the attacks they belong to."""

    source: str  # "attacks table" or "coordinated_flag"
    pairs: frozenset[Pair]
    attacks: tuple[KnownAttack, ...]

    @property
    def days(self) -> frozenset[dt.date]:
        return frozenset(d for d, _ in self.pairs)

    def between(self, start: dt.date | None, end: dt.date | None) -> GroundTruth:
        """Only the attack days in [start, end] (None leaves that side open)."""

        def inside(day: dt.date) -> bool:
            return (start is None or day >= start) and (end is None or day <= end)

        attacks = tuple(
            KnownAttack(a.attack_id, a.category, tuple(d for d in a.days if inside(d))) for a in self.attacks
        )
        return GroundTruth(
            self.source, frozenset(p for p in self.pairs if inside(p[0])), tuple(a for a in attacks if a.days)
        )


def ground_truth(
    flags: pl.LazyFrame | pl.DataFrame, columns: Collection[str], attacks: pl.LazyFrame | pl.DataFrame | None
) -> GroundTruth | None:
    """The dataset's ground truth, or None when it has neither an attacks table nor coordinated_flag."""
    if attacks is not None:
        table = (
            attacks.lazy()
            .select(pl.col("attack_id").cast(pl.String), pl.col("category").cast(pl.String), "start_date", "end_date")
            .collect()
        )
        known = tuple(
            KnownAttack(
                r["attack_id"],
                r["category"],
                tuple(
                    r["start_date"] + dt.timedelta(days=i) for i in range((r["end_date"] - r["start_date"]).days + 1)
                ),
            )
            for r in table.sort("start_date", "attack_id").iter_rows(named=True)
        )
        pairs = frozenset((d, a.category) for a in known for d in a.days)
        return GroundTruth("attacks table", pairs, known)
    if "coordinated_flag" not in columns:
        return None
    keys = ["attack_id"] if "attack_id" in columns else []
    marked = (
        flags.lazy()
        .filter(pl.col("coordinated_flag"))
        .group_by("date", pl.col("category").cast(pl.String), *keys)
        .len()
        .collect()
        .sort("date")
    )
    pairs = frozenset(zip(marked["date"].to_list(), marked["category"].to_list(), strict=True))
    known: tuple[KnownAttack, ...] = ()
    if keys:
        grouped = (
            marked.filter(pl.col("attack_id").is_not_null())
            .group_by("attack_id", maintain_order=True)
            .agg(pl.col("category").first(), pl.col("date").unique().sort())
        )
        known = tuple(
            KnownAttack(r["attack_id"], r["category"], tuple(r["date"])) for r in grouped.iter_rows(named=True)
        )
    return GroundTruth("coordinated_flag", pairs, known)


def _scores(predicted: set[Any], actual: frozenset[Any]) -> dict[str, Any]:
    tp = len(predicted & actual)
    fp = len(predicted - actual)
    fn = len(actual - predicted)
    return {
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
        "true_positives": tp,
        "false_alarms": fp,
        "missed": fn,
    }


def evaluate(alerts: pl.DataFrame, truth: GroundTruth) -> dict[str, Any]:
    """Precision, recall and F1 at day and (day, category) level, and which attacks were caught.

    Alerts without a category (total-volume detectors) are scored at day level only;
    their (day, category) metrics are None.
    """
    dates = alerts["date"].to_list()
    categories = alerts["category"].to_list()
    named = all(c is not None for c in categories)
    pairs = set(zip(dates, categories, strict=True)) if named else set()
    alert_days = set(dates)
    attacks = []
    for a in truth.attacks:
        hit = [d for d in a.days if ((d, a.category) in pairs if named else d in alert_days)]
        attacks.append(
            {
                "attack_id": a.attack_id,
                "category": a.category,
                "start": a.days[0].isoformat(),
                "end": a.days[-1].isoformat(),
                "days": len(a.days),
                "days_caught": len(hit),
                "caught": bool(hit),
            }
        )
    return {
        "truth": truth.source,
        "attack_days": len(truth.days),
        "days": _scores(alert_days, truth.days),
        "day_category": _scores(pairs, truth.pairs) if named else None,
        "attacks": attacks,
        "false_alarm_days": sorted(d.isoformat() for d in alert_days - truth.days),
    }


def comparison(
    flags: pl.LazyFrame | pl.DataFrame,
    columns: Collection[str],
    truth: GroundTruth | None,
    methods: Iterable[str] | None = None,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    rolled: Any = None,
) -> pl.DataFrame:
    """One row per method: alerts and, with ground truth, the day and (day, category) metrics.

    ``rolled``: a rollup's detection signals (tspanel.detect.signals.RolledShares), see run_method.
    """
    rows = []
    scoped = truth.between(start, end) if truth is not None else None
    for name in methods or METHODS:
        alerts = restrict(run_method(name, flags, columns, rolled=rolled), start, end)
        row: dict[str, Any] = {"method": name, "alerts": alerts.height}
        if scoped is not None:
            ev = evaluate(alerts, scoped)
            pair = ev["day_category"] or {}
            caught = sum(a["caught"] for a in ev["attacks"])
            row |= {
                "day_precision": ev["days"]["precision"],
                "day_recall": ev["days"]["recall"],
                "day_f1": ev["days"]["f1"],
                "false_alarm_days": ev["days"]["false_alarms"],
                "pair_precision": pair.get("precision"),
                "pair_recall": pair.get("recall"),
                "pair_f1": pair.get("f1"),
                "attacks_caught": f"{caught}/{len(ev['attacks'])}" if ev["attacks"] else None,
            }
        rows.append(row)
    return pl.DataFrame(
        rows, schema=COMPARISON_SCHEMA if scoped is not None else {"method": pl.String, "alerts": pl.Int64}
    )


COMPARISON_SCHEMA: dict[str, pl.DataType] = {
    "method": pl.String(),
    "alerts": pl.Int64(),
    "day_precision": pl.Float64(),
    "day_recall": pl.Float64(),
    "day_f1": pl.Float64(),
    "false_alarm_days": pl.Int64(),
    "pair_precision": pl.Float64(),
    "pair_recall": pl.Float64(),
    "pair_f1": pl.Float64(),
    "attacks_caught": pl.String(),
}


def restrict(alerts: pl.DataFrame, start: dt.date | None, end: dt.date | None) -> pl.DataFrame:
    """Alerts dated within [start, end] (None leaves that side open)."""
    if start is not None:
        alerts = alerts.filter(pl.col("date") >= start)
    if end is not None:
        alerts = alerts.filter(pl.col("date") <= end)
    return alerts
