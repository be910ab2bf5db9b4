"""What needs attention now: the rules behind the "needs attention" strip and `tspanel alert`.

Each rule reads the current data and the session's filters through the domain models, so
the strip, `tspanel kpis --attention` and the notifications always agree with the charts.
The thresholds are the parameters of :class:`AttentionModel`, with their defaults in
:data:`DEFAULTS` (one place; docs/operations.md quotes them).

An item's ``key`` names the *condition* (``sla_breach:critical``, ``attack:2026-11-18:spam``),
not its numbers, so a notifier can send a condition once while it lasts and again only when
it comes back or gets worse. Its ``view`` is the dashboard URL query that explains it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

import param
import polars as pl

from tspanel.detect.registry import DEFAULT_METHOD, METHODS
from tspanel.models import timing
from tspanel.models.attacks import AttacksModel
from tspanel.models.base import DomainModel, Finish, Unavailable, as_text
from tspanel.models.classifier import ClassifierModel
from tspanel.models.filters import LIST_FILTERS
from tspanel.models.kpis import KpiModel
from tspanel.models.volume import VolumeModel
from tspanel.schema import HIGH_SEVERITIES, SLA_HOURS

# Every threshold of every rule, in one place.
DEFAULTS: dict[str, Any] = {
    "sla_hours": SLA_HOURS,  # an open high/critical case older than this breaches the SLA
    "sla_min_cases": 1,  # ... and this many such cases make an item
    "sla_rate_pct": 5.0,  # high/critical cases of the last 7 days resolved after the SLA: above 5% (staffing's target)
    "sla_rate_min_cases": 20,  # ... among at least 20 resolved high/critical cases (a handful proves nothing)
    "backlog_norm_weeks": 4,  # the norm: mean open backlog at the same weekday's midnight of the 4 weeks before
    "backlog_ratio": 1.5,  # an item when the backlog is above 1.5 x the norm ...
    "backlog_min_excess": 10,  # ... and at least 10 cases above it (tiny queues stay quiet)
    "classifier_warning": True,  # the classifier's "warning" state makes an item ("alert" always does)
    "attack_days": 7,  # attack alerts of the last 7 days (default detector, default threshold)
    "growth_pct": 25.0,  # week-over-week growth of a category above 25% ...
    "growth_min_flags": 100,  # ... with at least 100 flags this week ...
    "growth_min_z": 3.0,  # ... and a rise of 3+ standard deviations of count noise: (this - prev) / sqrt(this + prev)
}

KINDS: tuple[str, ...] = ("sla_breach", "sla_rate", "attack", "classifier", "backlog", "growth")
LEVELS: tuple[str, ...] = ("critical", "warning")
NOTHING = "nothing needs attention"


@dataclass(frozen=True)
class AttentionItem:
    """One thing that needs a person: what, how bad, the numbers, and where to look."""

    kind: str  # one of KINDS
    severity: str  # one of LEVELS
    key: str  # identity of the condition (stable while it lasts), for de-duplicating notifications
    title: str  # one line, numbers included
    numbers: dict[str, Any] = field(default_factory=dict)  # JSON-ready values
    view: str = ""  # dashboard URL query, e.g. "?tab=queue&severities=high,critical"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def view_query(tab: str, filters: dict[str, Any], **extra: Any) -> str:
    """``?tab=...&start=...&categories=a,b&...`` in the format of tspanel.ui.url (lists comma-joined).

    A list value that itself holds a comma is repeated as its own key, as tspanel.ui.url does.
    """
    parts = [f"tab={quote(tab, safe='')}"]
    for key in ("start", "end", *LIST_FILTERS):
        value = filters.get(key)
        if not value:
            continue
        if isinstance(value, dt.date):
            parts.append(f"{key}={value.isoformat()}")
        elif any("," in v for v in value):
            parts.extend(f"{key}={quote(v, safe='')}" for v in value)
        else:
            parts.append(f"{key}=" + ",".join(quote(v, safe="") for v in value))
    parts.extend(f"{key}={quote(str(value), safe='')}" for key, value in extra.items() if value is not None)
    return "?" + "&".join(parts)


def _ceil_day(stamp: pl.Expr) -> pl.Expr:
    """The first midnight at or after ``stamp``: the first daily backlog count it takes part in."""
    day = stamp.dt.truncate("1d")
    return pl.when(stamp == day).then(day).otherwise(day.dt.offset_by("1d"))


class AttentionModel(DomainModel):
    """The "needs attention" rules over the session's data and filters.

    Measured at the as-of time of the queue model: midnight after the last selected day.
    """

    sla_hours = param.Number(default=DEFAULTS["sla_hours"], bounds=(0, None))
    sla_min_cases = param.Integer(default=DEFAULTS["sla_min_cases"], bounds=(1, None))
    sla_rate_pct = param.Number(default=DEFAULTS["sla_rate_pct"], bounds=(0, 100))
    sla_rate_min_cases = param.Integer(default=DEFAULTS["sla_rate_min_cases"], bounds=(1, None))
    backlog_norm_weeks = param.Integer(default=DEFAULTS["backlog_norm_weeks"], bounds=(1, 52))
    backlog_ratio = param.Number(default=DEFAULTS["backlog_ratio"], bounds=(1.0, None))
    backlog_min_excess = param.Integer(default=DEFAULTS["backlog_min_excess"], bounds=(0, None))
    classifier_warning = param.Boolean(default=DEFAULTS["classifier_warning"])
    attack_days = param.Integer(default=DEFAULTS["attack_days"], bounds=(1, 366))
    growth_pct = param.Number(default=DEFAULTS["growth_pct"], bounds=(0, None))
    growth_min_flags = param.Integer(default=DEFAULTS["growth_min_flags"], bounds=(0, None))
    growth_min_z = param.Number(default=DEFAULTS["growth_min_z"], bounds=(0, None))

    # --- lazy queries ------------------------------------------------------------
    def as_of_time(self) -> dt.datetime:
        _, end = self.date_range()
        return dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)

    def _reviews(self) -> pl.LazyFrame:
        # Cases opened before the selected range are still in the queue: no date filter.
        return self.filtered(skip=("dates",)).filter(pl.col("action") == "human_review")

    @param.depends(
        "filters.param", "sla_hours", "sla_min_cases", "backlog_norm_weeks", "backlog_ratio", "backlog_min_excess"
    )
    def queries(self) -> dict[str, pl.LazyFrame | tuple[pl.LazyFrame, Finish] | Unavailable]:
        return {"overdue": self._overdue(), "backlog": self._backlog()}

    def _overdue(self) -> tuple[pl.LazyFrame, Finish]:
        """Open high/critical cases older than the SLA at the as-of time, by severity."""
        as_of = pl.lit(self.as_of_time())
        opened, resolved = timing.opened(self.columns), timing.resolved(self.columns)
        age_hours = (as_of - opened).dt.total_seconds(fractional=True) / 3600
        query = (
            self._reviews()
            .filter(
                pl.col("severity").is_in(list(HIGH_SEVERITIES))
                & (opened < as_of)
                & (resolved.is_null() | (resolved > as_of))
                & (age_hours > self.sla_hours)
            )
            .group_by("severity")
            .agg(self.count().cast(pl.Int64).alias("cases"), age_hours.max().alias("oldest_hours"))
            .with_columns(as_text("severity"))
        )

        def finish(frame: pl.DataFrame) -> dict[str, Any]:
            by = {row["severity"]: row for row in frame.iter_rows(named=True)}
            oldest = frame["oldest_hours"].max() if frame.height else None
            return {
                "cases": int(frame["cases"].sum()) if frame.height else 0,
                "by_severity": {s: int(by[s]["cases"]) if s in by else 0 for s in HIGH_SEVERITIES},
                "oldest_hours": None if oldest is None else round(float(oldest), 1),
            }

        return query, finish

    def _backlog(self) -> tuple[pl.LazyFrame, Finish]:
        """Open cases now and at the same weekday's midnight of the previous weeks, in one pass.

        The same weekday, because the queue has a weekly rhythm (more flags Fri-Sun): a
        Sunday-night backlog compared with an all-week mean would be "high" every week.

        A case counts at every midnight A with opened < A < resolved (the queue model's
        rule), so backlog(A) = #cases whose first midnight after opening is <= A minus
        #cases whose first midnight after both opening and resolving is <= A: two small
        group_bys and a running sum instead of one backlog query per day.
        """
        as_of = self.as_of_time()
        opened, resolved = timing.opened(self.columns), timing.resolved(self.columns)
        first = opened.dt.truncate("1d").dt.offset_by("1d")  # a case opened at midnight A belongs to A's day
        last = pl.max_horizontal(first, _ceil_day(resolved))
        reviews = self._reviews().filter(opened < pl.lit(as_of))
        ins = reviews.group_by(first.alias("at")).agg(self.count().cast(pl.Int64).alias("delta"))
        outs = (
            reviews.filter(resolved.is_not_null() & (resolved <= pl.lit(as_of)))
            .group_by(last.alias("at"))
            .agg((-self.count().cast(pl.Int64)).alias("delta"))
        )
        query = (
            pl.concat([ins, outs])
            .with_columns(pl.col("at").dt.cast_time_unit("us"))
            .group_by("at")
            .agg(pl.col("delta").sum())
        )
        history_start = as_of - dt.timedelta(weeks=self.backlog_norm_weeks)
        data_start = dt.datetime.combine(self.dataset.first_day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)

        def finish(frame: pl.DataFrame) -> dict[str, Any]:
            frame = frame.sort("at").with_columns(pl.col("delta").cum_sum().alias("open"))
            grid = pl.DataFrame(
                {"at": pl.datetime_range(history_start, as_of, "1w", time_zone="UTC", eager=True)}
            ).with_columns(pl.col("at").dt.cast_time_unit("us"))
            series = grid.join_asof(frame.select("at", "open"), on="at").with_columns(pl.col("open").fill_null(0))
            now = int(series["open"][-1])
            # Midnights before the data's first full day have no queue to compare with.
            history = series.filter((pl.col("at") >= data_start) & (pl.col("at") < as_of))["open"]
            norm = float(history.mean()) if history.len() else None
            return {"open": now, "norm": norm, "norm_weeks": history.len(), "as_of": as_of}

        return query, finish

    # --- the rules ---------------------------------------------------------------
    def items(self) -> list[AttentionItem]:
        """Everything that needs attention, critical first; [] when nothing does."""
        out = [
            *self._queue_items(),
            *self._sla_rate_items(),
            *self._attack_items(),
            *self._classifier_items(),
            *self._growth_items(),
        ]
        return sorted(out, key=lambda item: (LEVELS.index(item.severity), KINDS.index(item.kind)))

    def report(self) -> dict[str, Any]:
        """The items with their context, JSON-ready (what `tspanel kpis --attention --json` prints)."""
        items = self.items()
        return {
            "as_of": self.as_of_time().isoformat(),
            "thresholds": {name: getattr(self, name) for name in DEFAULTS},
            "items": [item.as_dict() for item in items],
            "summary": summary(items),
        }

    def _scope(self, **overrides: Any) -> dict[str, Any]:
        """The active filters (so a view keeps the user's selection), with some replaced."""
        return {**self.filters.active(), **overrides}

    def _queue_items(self) -> list[AttentionItem]:
        if not self.has("severity"):
            return []
        got = self.compute()
        out: list[AttentionItem] = []
        overdue = got["overdue"]
        if overdue["cases"] >= self.sla_min_cases:
            severe = [s for s in HIGH_SEVERITIES if overdue["by_severity"][s]]
            level = "critical" if overdue["by_severity"]["critical"] else "warning"
            parts = ", ".join(f"{overdue['by_severity'][s]} {s}" for s in reversed(severe))
            out.append(
                AttentionItem(
                    kind="sla_breach",
                    severity=level,
                    key=f"sla_breach:{'critical' if level == 'critical' else 'high'}",
                    title=(
                        f"{overdue['cases']} open high/critical case{'s' if overdue['cases'] != 1 else ''} past the "
                        f"{self.sla_hours:g} h SLA ({parts}); oldest {overdue['oldest_hours']:.1f} h"
                    ),
                    numbers={**overdue, "sla_hours": self.sla_hours, "as_of": self.as_of_time().isoformat()},
                    view=view_query("queue", self._scope(severities=severe)),
                )
            )
        backlog = got["backlog"]
        norm = backlog["norm"]
        if (
            norm is not None
            and backlog["open"] > norm * self.backlog_ratio
            and backlog["open"] - norm >= self.backlog_min_excess
        ):
            above = 100 * (backlog["open"] - norm) / norm if norm else None
            out.append(
                AttentionItem(
                    kind="backlog",
                    severity="warning",
                    key="backlog",
                    title=(
                        f"Open backlog {backlog['open']:,} cases, "
                        + (f"{above:.0f}% above" if above is not None else "above")
                        + f" its norm of {norm:,.0f} (same weekday, {backlog['norm_weeks']} weeks)"
                    ),
                    numbers={
                        "open": backlog["open"],
                        "norm": round(norm, 1),
                        "norm_weeks": backlog["norm_weeks"],
                        "above_pct": None if above is None else round(above, 1),
                        "ratio_threshold": self.backlog_ratio,
                        "as_of": backlog["as_of"].isoformat(),
                    },
                    view=view_query("queue", self._scope()),
                )
            )
        return out

    def _sla_rate_items(self) -> list[AttentionItem]:
        """The last 7 days' SLA breach rate (the KPI's own definition) above the staffing target.

        Open cases past the SLA are one signal; a queue that keeps up with its critical cases
        yet resolves a fifth of the high ones late is the other, and the one staffing answers.
        """
        if not self.has("severity"):
            return []
        current = KpiModel(self.dataset, self.filters, sla_hours=self.sla_hours, period_days=7).kpis()
        rate, eligible = current["sla_breach_rate_pct"], current["sla_eligible"]
        if rate is None or eligible < self.sla_rate_min_cases or rate <= self.sla_rate_pct:
            return []
        return [
            AttentionItem(
                kind="sla_rate",
                severity="critical" if rate >= 2 * self.sla_rate_pct else "warning",
                key="sla_rate",
                title=(
                    f"SLA breach rate {rate:.1f}% {_period(current['start'], current['end'])} "
                    f"({current['sla_breaches']:,} of "
                    f"{eligible:,} high/critical cases over {self.sla_hours:g} h; target {self.sla_rate_pct:g}%)"
                ),
                numbers={
                    "breach_rate_pct": round(rate, 1),
                    "breaches": current["sla_breaches"],
                    "eligible": eligible,
                    "target_pct": self.sla_rate_pct,
                    "start": current["start"],
                    "end": current["end"],
                },
                view=view_query(
                    "queue",
                    self._scope(start=dt.date.fromisoformat(current["start"]), severities=list(HIGH_SEVERITIES)),
                ),
            )
        ]

    def _classifier_items(self) -> list[AttentionItem]:
        status = ClassifierModel(self.dataset, self.filters).status()
        if status["state"] not in (("warning", "alert") if self.classifier_warning else ("alert",)):
            return []
        state = status["state"]
        return [
            AttentionItem(
                kind="classifier",
                severity="critical" if state == "alert" else "warning",
                key=f"classifier:{state}",
                title=(
                    f"Classifier {state}: 7-day mean score {status['rolling_mean']:.3f} "
                    f"(baseline {status['baseline']:.2f}, alert at {status['threshold']:.2f})"
                ),
                numbers={
                    "state": state,
                    "rolling_mean": round(float(status["rolling_mean"]), 4),
                    "latest_score": None if status["score"] is None else round(float(status["score"]), 4),
                    "baseline": status["baseline"],
                    "threshold": status["threshold"],
                    "date": status["date"].isoformat(),
                },
                view=view_query("classifier", self._scope()),
            )
        ]

    def _attack_items(self) -> list[AttentionItem]:
        _, end = self.date_range()
        start = max(end - dt.timedelta(days=self.attack_days - 1), self.dataset.first_day)
        window = self.filters.derive(start=start, end=end)
        model = AttacksModel(self.dataset, window, method=DEFAULT_METHOD)
        alerts = model.alerts()
        if alerts.height == 0:
            return []
        counts = model.daily_counts(start, end)
        threshold = METHODS[DEFAULT_METHOD].default_threshold
        out = []
        for row in alerts.sort("date", "category", descending=[True, False]).iter_rows(named=True):
            day, category, score = row["date"], row["category"], float(row["score"])
            signals = json.loads(row["signals"]) if isinstance(row["signals"], str) else (row["signals"] or {})
            top = sorted(((k, float(v)) for k, v in signals.items() if v is not None), key=lambda kv: -kv[1])[:3]
            flags = counts.get((day, category))
            out.append(
                AttentionItem(
                    kind="attack",
                    severity="critical",
                    key=f"attack:{day.isoformat()}:{category}",
                    title=(
                        f"Coordinated attack alert: {category} on {day.isoformat()} (score {score:.1f}"
                        + (f", {flags:,} flags" if flags is not None else "")
                        + ")"
                    ),
                    numbers={
                        "date": day.isoformat(),
                        "category": category,
                        "score": round(score, 2),
                        "flags": flags,
                        "signals": {k: round(v, 2) for k, v in top},
                        "method": DEFAULT_METHOD,
                        "threshold": threshold,
                    },
                    view=view_query(
                        "attacks",
                        self._scope(start=day, end=day, categories=[category]),
                        method=DEFAULT_METHOD,
                        threshold=f"{threshold:g}",
                    ),
                )
            )
        return out

    def _growth_items(self) -> list[AttentionItem]:
        wow = VolumeModel(self.dataset, self.filters).week_over_week()
        if isinstance(wow, Unavailable):
            return []
        # Two Poisson counts: their difference has a standard deviation of about sqrt(this + prev).
        noise = (pl.col("this_week") + pl.col("previous_week")).cast(pl.Float64).sqrt()
        z = (pl.col("this_week") - pl.col("previous_week")) / noise
        rising = (
            wow.with_columns(z.alias("z"))
            .filter(
                (pl.col("change_pct") > self.growth_pct)
                & (pl.col("this_week") >= self.growth_min_flags)
                & (pl.col("z") >= self.growth_min_z)
            )
            .sort("change_pct", "category", descending=[True, False])
        )
        out = []
        for row in rising.iter_rows(named=True):
            category = row["category"]
            out.append(
                AttentionItem(
                    kind="growth",
                    severity="warning",
                    key=f"growth:{category}",
                    title=(
                        f"{category} up {row['change_pct']:.0f}% week over week "
                        f"({row['previous_week']:,} -> {row['this_week']:,} flags)"
                    ),
                    numbers={
                        "category": category,
                        "this_week": int(row["this_week"]),
                        "previous_week": int(row["previous_week"]),
                        "change_pct": round(float(row["change_pct"]), 1),
                        "z": round(float(row["z"]), 1),
                        "this_week_start": row["this_week_start"].isoformat(),
                        "this_week_end": row["this_week_end"].isoformat(),
                        "threshold_pct": self.growth_pct,
                    },
                    view=view_query(
                        "volume",
                        self._scope(start=row["previous_week_start"], end=row["this_week_end"], categories=[category]),
                    ),
                )
            )
        return out


def parse_rules(pairs: list[str]) -> dict[str, Any]:
    """Thresholds from ``NAME=VALUE`` strings (the CLI's ``--rule``), typed like DEFAULTS."""
    from tspanel.errors import TspanelError

    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or name not in DEFAULTS:
            raise TspanelError(f"--rule {pair!r}: use NAME=VALUE with NAME one of {', '.join(DEFAULTS)}")
        default = DEFAULTS[name]
        try:
            if isinstance(default, bool):
                if text.strip().lower() not in ("true", "false", "yes", "no", "1", "0"):
                    raise ValueError
                value: Any = text.strip().lower() in ("true", "yes", "1")
            else:
                value = type(default)(text)
        except ValueError:
            kind = {bool: "true or false", int: "a whole number", float: "a number"}[type(default)]
            raise TspanelError(f"--rule {pair!r}: {name} takes {kind}") from None
        low, high = getattr(AttentionModel.param[name], "bounds", None) or (None, None)
        if isinstance(value, float) and not math.isfinite(value):
            raise TspanelError(f"--rule {pair!r}: {name} must be a finite number")
        if not isinstance(value, bool) and ((low is not None and value < low) or (high is not None and value > high)):
            allowed = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise TspanelError(f"--rule {pair!r}: {name} must be {allowed}")
        out[name] = value
    return out


def summary(items: list[AttentionItem]) -> str:
    """'2 items need attention', '1 item needs attention' or NOTHING."""
    if not items:
        return NOTHING
    return f"{len(items)} items need attention" if len(items) > 1 else "1 item needs attention"


def attention(dataset: Any, filters: Any = None, **thresholds: Any) -> list[AttentionItem]:
    """The items for a dataset and filters (thresholds: any of DEFAULTS' names)."""
    return AttentionModel(dataset, filters, **thresholds).items()


__all__ = [
    "DEFAULTS",
    "KINDS",
    "NOTHING",
    "AttentionItem",
    "AttentionModel",
    "attention",
    "parse_rules",
    "summary",
    "view_query",
]


def _period(start: str, end: str) -> str:
    """The days a 7-day item covers, as said: a shorter selection is not "the last 7 days"."""
    days = (dt.date.fromisoformat(end) - dt.date.fromisoformat(start)).days + 1
    if days == 7:
        return "over the last 7 days"
    return f"on {start}" if days == 1 else f"over {start} → {end}"
