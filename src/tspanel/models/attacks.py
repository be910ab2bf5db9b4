"""Coordinated-attack detection for a session: the chosen method, its alerts and how good they are.

All detection logic lives in tspanel.detect; this model only wires the session's
parameters to it. Detection runs on the flags of the selected categories and regions
over the *whole* history (a baseline needs the days before the selected range) and the
alerts are then cut to the selected days. Severity, action and reviewer filters do not
apply: they would hide part of a campaign's traffic from the detector.
"""

from __future__ import annotations

from typing import Any

import param
import polars as pl

from tspanel.detect.evaluate import GroundTruth, comparison, evaluate, ground_truth, restrict
from tspanel.detect.hourly import COORDINATION_COLUMNS, hourly_alerts
from tspanel.detect.registry import DEFAULT_METHOD, METHODS, run_method
from tspanel.models.base import DomainModel, Unavailable, as_text
from tspanel.models.cache import RESULTS, dataset_token

# Filters that do not narrow the traffic a detector sees: they would hide part of a campaign
# (the Attacks tab names them when they are on). Dates are applied to the alerts instead.
IGNORED_BY_DETECTION = ("severities", "actions", "reviewers")
_NOT_FOR_DETECTION = ("dates", *IGNORED_BY_DETECTION)


class AttacksModel(DomainModel):
    """Alerts of the selected detection method, the daily volume they sit on, and their evaluation."""

    method = param.Selector(objects=list(METHODS), default=DEFAULT_METHOD, doc="detection method")
    threshold = param.Number(
        default=METHODS[DEFAULT_METHOD].default_threshold,
        bounds=(0.0, None),
        softbounds=(1.0, 10.0),
        step=0.5,
        doc="alert when the method's score exceeds this (robust z; resets to the method's default)",
    )

    def __init__(self, dataset: Any, filters: Any = None, **params: Any) -> None:
        if "threshold" not in params:
            params["threshold"] = METHODS[params.get("method", DEFAULT_METHOD)].default_threshold
        super().__init__(dataset, filters, **params)

    @param.depends("method", watch=True)
    def _reset_threshold(self) -> None:
        self.threshold = METHODS[self.method].default_threshold

    # --- inputs -------------------------------------------------------------------
    def detection_flags(self) -> pl.LazyFrame:
        """The flags of the selected categories and regions, all days."""
        return self.filters.apply(self.dataset.flags, self.columns, skip=_NOT_FOR_DETECTION)

    def _cache_key(self, output: str, *parts: Any) -> tuple[Any, ...]:
        """A key in the process-wide result cache: detection is costly and the same for every session.

        A session opening on the same data and selection as another reuses its alerts instead of
        re-running every detector (seconds on a big dataset) while the page is being built.
        """
        scope = (tuple(sorted(self.filters.categories)), tuple(sorted(self.filters.regions)))
        return (dataset_token(self.dataset), f"attacks.{output}", *scope, *parts)

    def _truth_flags(self) -> pl.LazyFrame:
        """The flags ground_truth reads; a rollup's coordinated_flag is a count, made a mark again."""
        if self.weight is None or "coordinated_flag" not in self.columns:
            return self.dataset.flags
        marked = self.dataset.flags.filter(pl.col("coordinated_flag") > 0)
        return marked.with_columns(pl.lit(True).alias("coordinated_flag"))

    def truth(self) -> GroundTruth | None:
        """The dataset's ground truth for the selected categories (None without any)."""
        truth = RESULTS.get_or_compute(
            (dataset_token(self.dataset), "attacks.truth"),
            lambda: ground_truth(self._truth_flags(), self.columns, self.dataset.attacks),
        )
        if truth is None:
            return None
        chosen = set(self.filters.categories)
        if not chosen:
            return truth
        return GroundTruth(
            truth.source,
            frozenset(p for p in truth.pairs if p[1] in chosen),
            tuple(a for a in truth.attacks if a.category in chosen),
        )

    # --- outputs ------------------------------------------------------------------
    @param.depends("filters.param", "method", "threshold")
    def alerts(self) -> pl.DataFrame:
        """date, category, score, signals (JSON {name: strength}) of the selected days.

        A per-category method runs once over every category (of the selected regions) and the
        selected ones are picked from it: a category toggle then costs a lookup, not a detection
        (seconds at 1M flags, on every toggle, for the attention strip), and a category's alerts
        are the same whichever others are selected.
        """
        method, threshold = self.method, self.threshold
        if not METHODS[method].per_category:
            alerts = RESULTS.get_or_compute(
                self._cache_key("alerts", method, threshold),
                lambda: run_method(method, self.detection_flags(), self.columns, threshold, rolled=self.dataset.rolled),
            )
        else:
            every = self.filters.apply(self.dataset.flags, self.columns, skip=(*_NOT_FOR_DETECTION, "categories"))
            regions = tuple(sorted(self.filters.regions))
            alerts = RESULTS.get_or_compute(
                (dataset_token(self.dataset), "attacks.alerts", (), regions, method, threshold),
                lambda: run_method(method, every, self.columns, threshold, rolled=self.dataset.rolled),
            )
            if self.filters.categories:
                alerts = alerts.filter(pl.col("category").cast(pl.String).is_in(list(self.filters.categories)))
        start, end = self.date_range()
        return restrict(alerts, start, end)

    @param.depends("filters.param")
    def hourly_alerts(self) -> pl.DataFrame | Unavailable:
        """Alerts of the streaming series detector on each category's hourly count (tspanel.detect.hourly).

        Stamped at the hour each could first have been raised, for time-to-detect in hours; needs created_at.
        """
        if "created_at" not in self.columns:
            return Unavailable("hourly detection needs each flag's created_at time")
        alerts = RESULTS.get_or_compute(
            self._cache_key("hourly"),
            lambda: hourly_alerts(
                self.detection_flags().select(
                    "category", "created_at", *(c for c in COORDINATION_COLUMNS if c in self.columns)
                )
            ),
        )
        start, end = self.date_range()
        return alerts.filter(pl.col("timestamp").dt.date().is_between(start, end))

    @param.depends("filters.param", "method", "threshold")
    def daily_volume(self) -> pl.DataFrame:
        """date, flags, alert (any alert that day) and attack (a known attack that day; null without truth)."""
        start, end = self.date_range()
        counts = (
            self.detection_flags()
            .filter(pl.col("date").is_between(start, end))
            .group_by("date")
            .agg(self.count().cast(pl.Int64).alias("flags"))
        )
        frame = (
            self.day_grid()
            .join(counts, on="date", how="left")
            .with_columns(pl.col("flags").fill_null(0))
            .sort("date")
            .pipe(self.collect)
        )
        alert_days = self.alerts()["date"].unique().implode()
        truth = self.truth()
        attack = (
            pl.col("date").is_in(pl.Series(sorted(truth.days), dtype=pl.Date).implode())
            if truth is not None
            else pl.lit(None, pl.Boolean)
        )
        return frame.with_columns(pl.col("date").is_in(alert_days).alias("alert"), attack.alias("attack"))

    def daily_counts(self, start: Any, end: Any) -> dict[tuple[Any, str], int]:
        """Flags per (day, category) of the traffic the detector sees, ``start``-``end`` (shared cache).

        Like the alerts they go with, they ignore severity, action and reviewer: the attention
        strip asks for them on every filter change, and at 10M flags re-counting ~1.5M rows for
        a severity toggle cost 0.6 s of CPU for the same numbers.
        """
        return RESULTS.get_or_compute(
            self._cache_key("daily_counts", start, end),
            lambda: dict(
                ((d, c), n)
                for d, c, n in self.detection_flags()
                .filter(pl.col("date").is_between(start, end))
                .group_by("date", "category")
                .agg(self.count())
                .with_columns(as_text("category"))
                .pipe(self.collect)
                .iter_rows()
            ),
        )

    @param.depends("filters.param")
    def known_events(self) -> pl.DataFrame | Unavailable:
        """The attacks table rows that overlap the selected days and categories."""
        if self.dataset.attacks is None:
            return Unavailable("this dataset has no attacks table")
        start, end = self.date_range()
        events = self.dataset.attacks.filter((pl.col("start_date") <= end) & (pl.col("end_date") >= start))
        if self.filters.categories:
            events = events.filter(pl.col("category").cast(pl.String).is_in(list(self.filters.categories)))
        return self.collect(events.sort("start_date"))

    @param.depends("filters.param", "method", "threshold")
    def evaluation(self) -> dict[str, Any] | Unavailable:
        """Precision, recall and F1 (days and day x category) and the attacks caught, for the selected days."""
        truth = self.truth()
        if truth is None:
            return Unavailable("no ground truth: the dataset has neither an attacks table nor coordinated_flag")
        start, end = self.date_range()
        return evaluate(self.alerts(), truth.between(start, end))

    @param.depends("filters.param")
    def comparison(self) -> pl.DataFrame:
        """One row per method (default thresholds) with its alerts and, with ground truth, its metrics."""
        start, end = self.date_range()
        return RESULTS.get_or_compute(
            self._cache_key("comparison", start, end),
            lambda: comparison(
                self.detection_flags(), self.columns, self.truth(), start=start, end=end, rolled=self.dataset.rolled
            ),
        )
