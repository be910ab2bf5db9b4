"""Staffing against the SLA (tspanel.models.staffing): a known queue, re-simulated next week.

The validation world is built here from a known arrival process (Poisson days with a weekend
lift, flat hours, a fixed severity mix), known hands-on times and a known roster, run through
the shared queue core; the model only sees the resulting flags and reviewers tables up to the
cut, like a user's data. Its recommendation is then checked against the true process: 40 fresh
draws of next week, re-simulated with the true roster scaled to N and to N - 1 reviewers.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from tspanel.models.filters import Filters
from tspanel.models.queue import QueueModel
from tspanel.queue_sim import SHIFT_HOURS, Roster, parse_working_days, simulate
from tspanel.source import dataset_from_frames

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)  # a Monday
HISTORY_DAYS = 56
PER_DAY = np.array([90, 90, 90, 90, 115, 115, 115])  # Mon..Sun mean arrivals
SEVERITY_MIX = (0.15, 0.35, 0.35, 0.15)
WORK_MEDIAN, WORK_SIGMA = 0.6, 0.5
MEAN_WORK = WORK_MEDIAN * np.exp(WORK_SIGMA**2 / 2)
CAPACITY = 10.0
# 16 reviewers: (working days, UTC shift start)
ROTA = [("Mon,Tue,Wed,Thu,Fri", h) for h in (6, 8, 10, 12, 14, 16, 7, 9, 11, 13, 15)] + [
    ("Wed,Thu,Fri,Sat,Sun", 8), ("Wed,Thu,Fri,Sat,Sun", 14), ("Fri,Sat,Sun,Mon,Tue", 10),
    ("Fri,Sat,Sun,Mon,Tue", 16), ("Sat,Sun,Mon,Tue,Wed", 12),
]  # fmt: skip


def true_roster() -> Roster:
    return Roster(
        team=np.zeros(len(ROTA), dtype=np.int64),
        rate=np.full(len(ROTA), CAPACITY * MEAN_WORK / SHIFT_HOURS),
        shift_start=np.array([float(h) for _, h in ROTA]),
        working_days=np.array([parse_working_days(d) for d, _ in ROTA]),
    )


def draw_cases(rng: np.random.Generator, first_day: int, days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrival hours (from START), severity codes and hands-on hours of `days` days of the process."""
    counts = rng.poisson(PER_DAY[(first_day + np.arange(days)) % 7])
    day = np.repeat(first_day + np.arange(days), counts)
    arrival = day * 24.0 + rng.random(len(day)) * 24.0
    order = np.argsort(arrival)
    arrival = arrival[order]
    severity = rng.choice(4, size=len(arrival), p=SEVERITY_MIX)
    work = WORK_MEDIAN * np.exp(WORK_SIGMA * rng.standard_normal(len(arrival)))
    return arrival, severity, work


@pytest.fixture(scope="module")
def known_world():
    """History of HISTORY_DAYS days run through the queue; the dataset holds what was known at the cut."""
    rng = np.random.default_rng(2026)
    arrival, severity, work = draw_cases(rng, 0, HISTORY_DAYS + 14)
    roster = true_roster()
    res = simulate(arrival, severity, np.zeros(len(arrival), dtype=np.int64), work, roster, (HISTORY_DAYS + 14) * 24.0)
    cut = HISTORY_DAYS * 24.0
    seen = arrival < cut
    assigned = np.where(res.start <= cut, res.start, np.nan)[seen]
    resolved = np.where(res.end <= cut, res.end, np.nan)[seen]
    n = int(seen.sum())

    def stamps(hours: np.ndarray) -> pl.Series:
        micros = np.nan_to_num(hours * 3.6e9).astype(np.int64) + int(START.timestamp() * 1e6)
        return pl.Series(micros).cast(pl.Datetime("us", "UTC")).scatter(np.flatnonzero(np.isnan(hours)), None)

    sev_names = np.array(["low", "medium", "high", "critical"])
    created = stamps(arrival[seen])
    flags = pl.DataFrame(
        {
            "flag_id": [f"f{i}" for i in range(n)],
            "category": ["spam"] * n,
            "severity": sev_names[severity[seen]].tolist(),
            "action": ["human_review"] * n,
            "ml_score": [0.5] * n,
            "reviewer_id": [
                f"r{int(r) + 1}" if r >= 0 and t <= cut else None
                for r, t in zip(res.reviewer[seen], res.start[seen], strict=True)
            ],
            "created_at": created,
            "assigned_at": stamps(assigned),
            "resolved_at": stamps(resolved),
        }
    ).with_columns(pl.col("created_at").dt.date().alias("date"))
    reviewers = pl.DataFrame(
        {
            "reviewer_id": [f"r{i + 1}" for i in range(len(ROTA))],
            "capacity_per_day": [CAPACITY] * len(ROTA),
            "shift_start_utc": [float(h) for _, h in ROTA],
            "working_days": [d for d, _ in ROTA],
        }
    )
    backlog = seen & ~(res.end <= cut)
    return {
        "dataset": dataset_from_frames(flags, reviewers, name="known queue"),
        "backlog": (arrival[backlog] - cut, severity[backlog], work[backlog]),
    }


def true_outcome(known_world, reviewers: int, draws: int = 40) -> tuple[float, float]:
    """Mean breach % of next week's high/critical cases and share of draws leaving old backlog after 7 days."""
    b_arr, b_sev, b_work = known_world["backlog"]
    roster = true_roster()
    breach, left = [], []
    for k in range(draws):
        rng = np.random.default_rng([99, k])
        arr, sev, work = draw_cases(rng, HISTORY_DAYS, 14)
        arr = arr - HISTORY_DAYS * 24.0
        arrival = np.concatenate([b_arr, arr])
        severity = np.concatenate([b_sev, sev])
        res = simulate(
            arrival,
            severity,
            np.zeros(len(arrival), dtype=np.int64),
            np.concatenate([b_work, work]),
            roster,
            336.0,
            scale=reviewers / roster.size,
        )
        done = np.where(np.isnan(res.end), np.inf, res.end)
        new = np.arange(len(arrival)) >= len(b_arr)
        week = new & (arrival < 168) & (severity >= 2)
        breach.append(100 * float(((done - arrival) > 24)[week].mean()))
        left.append(bool((done[: len(b_arr)] > 168).any()))
    return float(np.mean(breach)), float(np.mean(left))


def test_recommendation_meets_the_target_and_one_fewer_does_not(known_world):
    plan = QueueModel(known_world["dataset"]).staffing()
    assert plan["current_reviewers"] == 16
    assert plan["reviewers_needed"] == 14  # the roster of 16 is more than enough
    assert plan["forecast_cases_7d"] == pytest.approx(7 * PER_DAY.mean(), rel=0.05)  # 714 vs 720 true mean
    breach, backlog_left = true_outcome(known_world, 14)
    assert breach <= 5.0 and backlog_left == 0.0  # 2.6% measured
    breach, _ = true_outcome(known_world, 13)
    assert breach > 5.0  # 5.7% measured


def test_curve_marks_the_roster_and_the_recommendation(known_world):
    plan = QueueModel(known_world["dataset"]).staffing()
    curve = plan["curve"]
    assert curve["reviewers"].is_sorted() and curve["reviewers"].n_unique() == curve.height
    roster = curve.filter(pl.col("is_roster"))
    recommended = curve.filter(pl.col("is_recommended"))
    assert roster["reviewers"].to_list() == [16] and recommended["reviewers"].to_list() == [14]
    assert roster["expected_breach_pct"].item() == plan["expected_breach_pct_at_roster"]
    assert recommended["meets_target"].item()
    assert not curve.filter(pl.col("reviewers") == 13)["meets_target"].item()
    # more reviewers never leave a bigger backlog at the week's end
    assert (curve["backlog_at_week_end"].diff().drop_nulls() <= 1e-9).all()


def test_without_enough_history_the_plan_says_so(known_world):
    first = START.date()
    model = QueueModel(known_world["dataset"], Filters(end=first + dt.timedelta(days=4)))
    plan = model.staffing()
    assert plan["reviewers_needed"] is None and plan["forecast_error_pct"] is None
    assert plan["arithmetic"].startswith("not enough data")


def test_arrival_profile_counts_utc_weekday_and_hour():
    """The profile's (weekday, UTC hour) counts, stated by hand: Monday is 0, hours are UTC, and a
    flag that is not a human review does not count."""
    created = [
        dt.datetime(2026, 11, 30, 0, 30, tzinfo=dt.UTC),  # Monday 00:xx
        dt.datetime(2026, 11, 30, 0, 59, tzinfo=dt.UTC),  # Monday 00:xx
        dt.datetime(2026, 12, 1, 13, 0, tzinfo=dt.UTC),  # Tuesday 13:xx
        dt.datetime(2026, 12, 6, 23, 59, tzinfo=dt.UTC),  # Sunday 23:xx
        dt.datetime(2026, 12, 6, 23, 0, tzinfo=dt.UTC),  # Sunday 23:xx, auto-blocked: not counted
    ]
    flags = pl.DataFrame(
        {
            "flag_id": [f"f{i}" for i in range(len(created))],
            "category": ["spam"] * len(created),
            "severity": ["high"] * len(created),
            "action": ["human_review"] * 4 + ["auto_block"],
            "ml_score": [0.5] * len(created),
            "created_at": pl.Series(created, dtype=pl.Datetime("us", "UTC")),
        }
    ).with_columns(pl.col("created_at").dt.date().alias("date"))
    reviewers = pl.DataFrame({"reviewer_id": ["r1"], "capacity_per_day": [10.0]})
    model = QueueModel(dataset_from_frames(flags, reviewers, name="profile"), Filters())
    counts = model._hour_profile_query(dt.date(2026, 12, 6)).collect().sort("dow", "hour")
    assert counts.rows() == [(0, 0, 2), (1, 13, 1), (6, 23, 1)]
    profile = model._hour_profile(dt.date(2026, 12, 6))
    assert profile[0, 0] == 1.0 and profile[1, 13] == 1.0 and profile[6, 23] == 1.0
    assert profile[2].tolist() == [1 / 24] * 24  # Wednesday had no arrivals: flat
