"""The world's review queue: arrivals of every day, one simulation, times handed back per day.

Two passes over the days: the first replays each day's draws without the id hashing to
collect its human-review arrivals; the simulation then sees the whole horizon (a case opened on
day 3 may close on day 9); the second pass builds the day frames with the simulated times.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def simulate_world_queue(plan: Plan) -> WorldQueue:
    """Replay the days' arrivals and run the queue over the whole world."""
    from tspanel.synth.day import case_work, day_draws  # day imports this module's DayQueue

    arrival, sev, team, work, pick, counts = [], [], [], [], [], []
    for d in range(plan.config.days):
        draws = day_draws(plan, d, ids=False)
        hr = draws["hr"]
        arrival.append((d * 86_400 + draws["secs"][hr]) / 3600.0)
        sev.append(draws["sev"][hr])
        team.append(np.zeros(int(hr.sum()), dtype=np.int64))  # one follow-the-sun pool
        work.append(case_work(draws["sev"][hr], draws["z_work"][hr]))
        pick.append(draws["u_rev"][hr])
        counts.append(int(hr.sum()))
    result = simulate(
        np.concatenate(arrival),
        np.concatenate(sev),
        np.concatenate(team),
        np.concatenate(work),
        plan.roster,
        plan.config.days * 24.0,
        week_offset=plan.config.start.weekday() * 24.0,
        pick=np.concatenate(pick),
    )
    return WorldQueue(
        start_s=plan.start_s + result.start * 3600.0,
        end_s=plan.start_s + result.end * 3600.0,
        reviewer=result.reviewer,
        offsets=np.concatenate([[0], np.cumsum(counts)]),
    )
