"""Headline numbers, defined once: the KPI cards, `tspanel kpis` and the summary use these."""

from __future__ import annotations

import datetime as dt
from typing import Any

import param
import polars as pl

from tspanel.models.base import DomainModel, Finish, Unavailable
from tspanel.schema import HIGH_SEVERITIES, SLA_HOURS

WEEK = 7
KPI_KEYS: tuple[str, ...] = (
    "total_flags",
    "auto_blocked",
    "human_review",
    "sla_breach_rate_pct",
    "coordinated_pct",
    "ml_score_first_week",
    "ml_score_last_week",
)


PERIOD_DAYS: tuple[int, ...] = (7, 28, 90)


class KpiModel(DomainModel):
    """The KPIs of a period and of the period of equal length just before it.

    The period is the selected days (``period_days`` None: the CLI and the report) or the
    last ``period_days`` of them (the dashboard's cards: an ops lead wants the last week
    against the week before). A period never reaches outside the selection.
    """

    sla_hours = param.Number(default=SLA_HOURS, bounds=(0, None))
    period_days = param.Integer(
        default=None,
        allow_None=True,
        bounds=(1, None),
        doc="compare the last N selected days with the N before; None: the whole selection",
    )

    def period(self) -> tuple[dt.date, dt.date]:
        """The days the current KPIs cover: the last ``period_days`` of the selection, or all of it."""
        start, end = self.date_range()
        if self.period_days is not None:
            start = max(start, end - dt.timedelta(days=self.period_days - 1))
        return start, end

    @param.depends("filters.param", "sla_hours", "period_days")
    def queries(self) -> dict[str, pl.LazyFrame | tuple[pl.LazyFrame, Finish] | Unavailable]:
        start, end = self.period()
        length = dt.timedelta(days=max((end - start).days + 1, 1))
        return {
            "current": self._kpis(start, end),
            "previous": self._kpis(start - length, start - dt.timedelta(days=1)),
            "selected": self._selected(),
        }

    def _selected(self) -> tuple[pl.LazyFrame, Finish]:
        """How many flags the whole selection holds (0: the page says so, once, with a way back)."""
        return self.filtered().select(self.count().cast(pl.Int64).alias("n")), lambda frame: int(frame["n"][0])

    def kpis(self) -> dict[str, Any]:
        """The headline numbers of the selected days (see docs for each definition)."""
        return self.output("current")

    def kpis_with_change(self) -> dict[str, Any]:
        """Current, previous and the change, for the KPI cards."""
        out = self.compute()
        return compare_periods(out["current"], out["previous"], self.dataset.first_day)

    def _kpis(self, start: dt.date, end: dt.date) -> tuple[pl.LazyFrame, Finish]:
        """One row of aggregates over [start, end]; the definitions are the issue's, exactly.

        - sla_breach_rate_pct: high and critical flags with a known resolution time,
          percentage resolved after more than 24 hours;
        - ml_score_first/last_week: mean of the daily mean score over the first/last
          7 calendar days of the range.
        """
        columns = self.columns
        frame = self.filtered(start=start, end=end)
        hours = self.resolution_hours()
        eligible = pl.col("severity").is_in(list(HIGH_SEVERITIES)) & hours.is_not_null()
        first_week_end = start + dt.timedelta(days=WEEK - 1)
        last_week_start = end - dt.timedelta(days=WEEK - 1)
        daily = frame.group_by("date").agg(self.score_mean().alias("daily_mean"))
        scores = daily.select(
            pl.col("daily_mean").filter(pl.col("date") <= first_week_end).mean().alias("ml_score_first_week"),
            pl.col("daily_mean").filter(pl.col("date") >= last_week_start).mean().alias("ml_score_last_week"),
        )
        counts = frame.select(
            self.count().cast(pl.Int64).alias("total_flags"),
            self.count(pl.col("action") == "auto_block").cast(pl.Int64).alias("auto_blocked"),
            self.count(pl.col("action") == "human_review").cast(pl.Int64).alias("human_review"),
            self.count(eligible).cast(pl.Int64).alias("sla_eligible"),
            self.breaches(eligible, hours, self.sla_hours).cast(pl.Int64).alias("sla_breaches"),
            (
                pl.col("coordinated_flag").sum().cast(pl.Int64)
                if "coordinated_flag" in columns
                else pl.lit(None, dtype=pl.Int64)
            ).alias("coordinated"),
        )
        query = pl.concat([counts, scores], how="horizontal")

        def finish(row_frame: pl.DataFrame) -> dict[str, Any]:
            row = row_frame.row(0, named=True)
            total = row["total_flags"]
            eligible_n = row["sla_eligible"]
            return {
                "start": start.isoformat(),
                "end": end.isoformat(),
                "days": (end - start).days + 1,
                "total_flags": total,
                "auto_blocked": row["auto_blocked"],
                "human_review": row["human_review"],
                "sla_breach_rate_pct": 100 * row["sla_breaches"] / eligible_n if eligible_n else None,
                "sla_breaches": row["sla_breaches"],
                "sla_eligible": eligible_n,
                "coordinated_pct": (
                    100 * row["coordinated"] / total if row["coordinated"] is not None and total else None
                ),
                "ml_score_first_week": row["ml_score_first_week"],
                "ml_score_last_week": row["ml_score_last_week"],
            }

        return query, finish


def compare_periods(current: dict[str, Any], previous: dict[str, Any], first_day: dt.date) -> dict[str, Any]:
    """Current, previous and the change of every KPI; no comparison against a partial earlier period.

    When the previous period starts before the data does, it is partial and every change
    would look like growth, so there is no comparison, only a note saying why.
    """
    if dt.date.fromisoformat(previous["start"]) < first_day:
        return {
            "current": current,
            "previous": None,
            "change": dict.fromkeys(KPI_KEYS),
            "note": f"no earlier {current['days']}-day period in the data to compare with",
        }
    change = {
        key: (current[key] - previous[key]) if current[key] is not None and previous[key] is not None else None
        for key in KPI_KEYS
    }
    return {"current": current, "previous": previous, "change": change, "note": None}
