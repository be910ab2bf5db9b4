"""The world's review queue: arrivals of every day, one simulation, times handed back per day.

Two passes over the days: the first replays each day's draws without the id hashing to
collect its human-review arrivals; the simulation then sees the whole horizon (a case opened on
day 3 may close on day 9); the second pass builds the day frames with the simulated times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tspanel.queue_sim import simulate
from tspanel.synth.plan import Plan


@dataclass(frozen=True)
class DayQueue:
    """The simulated fate of one day's human-review cases, in the day's draw order."""

    start_s: np.ndarray  # epoch seconds the case reached a reviewer; NaN if it did not
    end_s: np.ndarray  # epoch seconds it was resolved; NaN if it was not started
    reviewer: np.ndarray  # roster index; -1 if not started


@dataclass(frozen=True)
class WorldQueue:
    """All days' outcomes, concatenated; `offsets[d]:offsets[d + 1]` are day d's cases."""

    start_s: np.ndarray
    end_s: np.ndarray
    reviewer: np.ndarray
    offsets: np.ndarray

    def day(self, d: int) -> DayQueue:
        sl = slice(int(self.offsets[d]), int(self.offsets[d + 1]))
        return DayQueue(self.start_s[sl], self.end_s[sl], self.reviewer[sl])


@dataclass(frozen=True)
class Arrivals:
    """Every human-review case of a world, in day and draw order (what the queue is fed)."""

    hours: np.ndarray  # arrival, hours since the world's first midnight
    severity: np.ndarray  # 0..3
    work: np.ndarray  # standard hours of hands-on work
    pick: np.ndarray  # uniform choosing the reviewer
    counts: list[int]  # cases per day


def world_arrivals(plan: Plan, days: list[dict[str, Any]] | None = None) -> Arrivals:
    """Replay each day's draws (without id hashing), or use `days` already drawn; keep the reviews."""
    from tspanel.synth.day import case_work, day_draws  # day imports this module's DayQueue

    arrival, sev, work, pick, counts = [], [], [], [], []
    for d in range(plan.config.days):
        draws = days[d] if days is not None else day_draws(plan, d, ids=False)
        hr = draws["hr"]
        arrival.append((d * 86_400 + draws["secs"][hr]) / 3600.0)
        sev.append(draws["sev"][hr])
        work.append(case_work(draws["sev"][hr], draws["z_work"][hr]))
        pick.append(draws["u_rev"][hr])
        counts.append(int(hr.sum()))
    return Arrivals(np.concatenate(arrival), np.concatenate(sev), np.concatenate(work), np.concatenate(pick), counts)


def simulate_world_queue(plan: Plan, days: list[dict[str, Any]] | None = None) -> WorldQueue:
    """Run the queue over the whole world: one follow-the-sun pool of the plan's reviewers."""
    a = world_arrivals(plan, days)
    result = simulate(
        a.hours,
        a.severity,
        np.zeros(len(a.hours), dtype=np.int64),
        a.work,
        plan.roster,
        plan.config.days * 24.0,
        week_offset=plan.config.start.weekday() * 24.0,
        pick=a.pick,
    )
    return WorldQueue(
        start_s=plan.start_s + result.start * 3600.0,
        end_s=plan.start_s + result.end * 3600.0,
        reviewer=result.reviewer,
        offsets=np.concatenate([[0], np.cumsum(a.counts)]),
    )
