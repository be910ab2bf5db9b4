"""The review-queue simulation: one core shared by the generator and the staffing model.

Why one place: the synthetic world's `assigned_at`/`resolved_at` and the staffing
recommendation must come from the same process, or the page contradicts itself.

The model (docs/staffing.md): each team (region) is a pool of reviewers working shifts on
given weekdays. Time advances in STEP_HOURS steps; in each step the reviewers on shift supply
`sum(rate) x step` hours of work, spent on the waiting cases in priority order (critical,
high, medium, low; first come first served within a severity). A case starts when the pooled
work reaches it (never before it arrives) and is then worked by one on-shift reviewer, drawn in
proportion to their speed, for `work / rate` hours. Cases not started (or not finished) by the
horizon stay open. The pooled start time is the standard M/G/c approximation: waiting (hours)
dominates service (minutes) in the regimes that matter for an SLA of a day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from tspanel.jit import jit

SHIFT_HOURS = 8.0  # length of one shift
STEP_HOURS = 0.25  # simulation step: 15 minutes
WEEK_HOURS = 168.0
WEEK_STEPS = int(WEEK_HOURS / STEP_HOURS)
PRIORITY: tuple[int, ...] = (3, 2, 1, 0)  # severity codes (low=0 ... critical=3) in service order
WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DEFAULT_WORKING_DAYS = "Mon,Tue,Wed,Thu,Fri"
DEFAULT_SHIFT_START_UTC = 9.0


def parse_working_days(text: str | None) -> np.ndarray:
    """'Mon,Tue,Wed' (any separator, any case) -> 7 booleans, Monday first; empty -> Mon-Fri."""
    if text is None or not str(text).strip():
        text = DEFAULT_WORKING_DAYS
    names = [w.strip()[:3].title() for w in str(text).replace(";", ",").replace(" ", ",").split(",") if w.strip()]
    days = np.zeros(7, dtype=bool)
    for name in names:
        if name in WEEKDAYS:
            days[WEEKDAYS.index(name)] = True
    return days if days.any() else parse_working_days(DEFAULT_WORKING_DAYS)


def format_working_days(days: np.ndarray) -> str:
    return ",".join(name for name, on in zip(WEEKDAYS, days, strict=True) if on)


@dataclass(frozen=True)
class Pool:
    """One team of a roster, summed per 15-minute slot of the week (what the pooled queue needs)."""

    members: np.ndarray  # indices into the roster
    rate: np.ndarray  # (WEEK_STEPS,) summed rate of the members on shift
    count: np.ndarray  # (WEEK_STEPS,) members on shift


@dataclass(frozen=True)
class Roster:
    """Who can work cases, when, and how fast.

    `rate` is hours of standard work a reviewer does per hour on shift: `capacity_per_day x
    mean_case_hours / SHIFT_HOURS`, so a reviewer closes `capacity_per_day` average cases a shift.
    """

    team: np.ndarray  # team (region) index of each reviewer
    rate: np.ndarray
    shift_start: np.ndarray  # UTC hour the shift starts
    working_days: np.ndarray  # (n, 7) bool, Monday first: the weekday the shift starts on

    @property
    def size(self) -> int:
        return len(self.team)

    @cached_property
    def slots(self) -> np.ndarray:
        """`on_shift()`, computed once per roster."""
        return self.on_shift()

    def on_shift(self) -> np.ndarray:
        """(reviewers, WEEK_STEPS) bool: on shift in each 15-minute slot of a UTC week (Monday 00:00 first).

        Computed once per distinct rota (shift start and working days): a big roster has a few
        dozen rotas for thousands of reviewers.
        """
        rotas = np.column_stack([self.shift_start.astype(np.float64), self.working_days.astype(np.float64)])
        order = np.lexsort(rotas.T[::-1])
        ranked = rotas[order]
        first = np.ones(len(ranked), dtype=bool)
        first[1:] = (ranked[1:] != ranked[:-1]).any(axis=1)
        unique = ranked[first]
        which = np.empty(len(ranked), dtype=np.int64)
        which[order] = np.cumsum(first) - 1
        mid = (np.arange(WEEK_STEPS) + 0.5) * STEP_HOURS
        starts = np.arange(7)[None, :] * 24.0 + unique[:, :1]  # (rotas, 7)
        since = (mid[None, None, :] - starts[:, :, None]) % WEEK_HOURS
        on = ((since < SHIFT_HOURS) & (unique[:, 1:, None] > 0)).any(axis=1)
        return on[which]

    def pool(self, team: int) -> Pool:
        """The team's members and, per slot of the week, their summed rate and on-shift count."""
        if team not in self._pools:
            members = np.flatnonzero(self.team == team)
            on = self.slots[members]
            self._pools[team] = Pool(members, on.T @ self.rate[members], on.sum(axis=0))
        return self._pools[team]

    @cached_property
    def _pools(self) -> dict[int, Pool]:
        return {}

    def team_rate(self, team: int, scale: float = 1.0) -> np.ndarray:
        """Work hours per hour the team supplies in each slot of the week."""
        members = self.team == team
        return scale * (self.slots[members].T @ self.rate[members])

    def weekly_hours(self) -> float:
        """Hours of standard work the whole roster supplies in a week."""
        return float((self.rate * self.working_days.sum(axis=1)).sum() * SHIFT_HOURS)


@dataclass(frozen=True)
class QueueResult:
    """Per case: hours (from the simulation's time 0) it started and finished; NaN if not; who."""

    start: np.ndarray
    end: np.ndarray
    reviewer: np.ndarray  # index into the roster, -1 if not started


def simulate(
    arrival: np.ndarray,
    severity: np.ndarray,
    team: np.ndarray,
    work: np.ndarray,
    roster: Roster,
    horizon: float,
    *,
    week_offset: float = 0.0,
    pick: np.ndarray | None = None,
    scale: float = 1.0,
    assign: bool = True,
) -> QueueResult:
    """Run the queue from time 0 to `horizon` hours.

    arrival: hours since time 0 (negative = already waiting at time 0, e.g. today's backlog);
    severity: 0..3 (low..critical); team: roster team index; work: standard hours of the case;
    week_offset: hours since Monday 00:00 UTC at time 0; pick: uniforms choosing the reviewer
    (default: a fixed stream); scale: multiplies the pool's capacity in every slot (fractional
    headcount; one reviewer works no faster); assign=False skips drawing reviewers (the staffing
    model needs times only): a case then takes `work x on-shift count / on-shift rate`, the mean
    over a draw in proportion to speed.
    """
    n = len(arrival)
    start = np.full(n, np.nan)
    end = np.full(n, np.nan)
    reviewer = np.full(n, -1, dtype=np.int64)
    if pick is None:
        pick = np.random.default_rng(0).random(n)
    slots = week_slots(horizon, week_offset)
    for t in np.unique(team):
        members = np.flatnonzero(roster.team == t)
        if len(members) == 0 or len(slots) == 0:
            continue
        queues = Queues.of(arrival, severity, work, np.flatnonzero(team == t))
        if not assign:
            start[queues.cases], end[queues.cases] = pooled_times(queues, roster.pool(int(t)), slots, scale)
            continue
        pool = roster.pool(int(t))
        start[queues.cases] = queues.start_times((scale * pool.rate)[slots])
        started = queues.cases[~np.isnan(start[queues.cases])]
        if len(started) == 0:
            continue
        slot = (slots[0] + np.floor(start[started] / STEP_HOURS).astype(np.int64)) % WEEK_STEPS
        on = roster.slots
        who = _pick_reviewers(slot, pick[started], on[members], roster.rate[members])
        reviewer[started] = members[who]
        end[started] = start[started] + work[started] / roster.rate[members[who]]
    return QueueResult(start=start, end=end, reviewer=reviewer)


def week_slots(horizon: float, week_offset: float) -> np.ndarray:
    """The slot of the week (0 = Monday 00:00 UTC) of each simulation step from time 0 to `horizon`."""
    steps = max(0, math.ceil(horizon / STEP_HOURS - 1e-9))
    return (round(week_offset / STEP_HOURS) + np.arange(steps)) % WEEK_STEPS


def pooled_times(queues: Queues, pool: Pool, slots: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (NaN if not) per case of `queues.cases`, without drawing reviewers: a case
    takes `work x on-shift count / on-shift rate` hours, the mean over a draw in proportion to speed.

    Why separate: the staffing search replays one set of prepared queues at many `scale`s.
    """
    slot_rate = scale * pool.rate
    start = queues.start_times(slot_rate[slots])
    unscaled = slot_rate / scale if scale > 0 else slot_rate
    return start, _pooled_ends(start, queues.work, int(slots[0]), pool.count, unscaled, STEP_HOURS)


@jit
def _pooled_ends(
    start: np.ndarray, work: np.ndarray, slot0: int, count: np.ndarray, rate: np.ndarray, step: float
) -> np.ndarray:
    """End per case (NaN if not started): work x on-shift count / on-shift rate of its start slot."""
    end = np.full(len(start), np.nan)
    weeks = len(rate)
    for m in range(len(start)):
        if np.isnan(start[m]):
            continue
        slot = (slot0 + int(np.floor(start[m] / step))) % weeks
        r = rate[slot]
        end[m] = start[m] + work[m] * (count[slot] / (r if r > 0 else 1.0))
    return end


@dataclass(frozen=True)
class Queues:
    """One team's cases in service order: the severity queues (critical first) end to end, each by
    arrival; prepared once, replayed at any capacity (`start_times`)."""

    cases: np.ndarray  # indices into the caller's case arrays, in queue order
    arrival: np.ndarray  # per queue position
    work: np.ndarray
    cum: np.ndarray  # queue q's cumulative work before position m is cum[q + m] (each queue: 0, then its sums)
    bounds: np.ndarray  # queue q holds positions bounds[q]:bounds[q + 1]

    @classmethod
    def of(cls, arrival: np.ndarray, severity: np.ndarray, work: np.ndarray, cases: np.ndarray) -> Queues:
        idx, bounds = [], [0]
        for s in PRIORITY:
            q = cases[severity[cases] == s]
            idx.append(q[np.argsort(arrival[q], kind="stable")])
            bounds.append(bounds[-1] + len(q))
        order = np.concatenate(idx)
        cum = np.empty(len(order) + len(PRIORITY))
        for qi in range(len(PRIORITY)):
            lo, hi = bounds[qi], bounds[qi + 1]
            cum[lo + qi] = 0.0
            cum[lo + qi + 1 : hi + qi + 1] = np.cumsum(work[order[lo:hi]])
        return cls(order, arrival[order], work[order], cum, np.asarray(bounds, dtype=np.int64))

    def start_times(self, rate: np.ndarray) -> np.ndarray:
        """Start (hours from time 0; NaN if not started) per queue position, given the pool's rate
        in each step."""
        out = np.full(len(self.cases), np.nan)
        _step_loop(self.arrival, self.cum, self.bounds, np.asarray(rate, dtype=np.float64), STEP_HOURS, out)
        return out


@jit
def _step_loop(
    arr: np.ndarray, cum: np.ndarray, bounds: np.ndarray, rate: np.ndarray, step: float, out: np.ndarray
) -> None:
    """The queue's step loop (compiled by numba when installed; the same float operations either way).

    In each step with capacity the pooled supply `rate x step`, less the work still running from
    earlier steps, goes to the waiting cases in queue order; a queue with arrived cases always
    starts at least one. A case of queue q at position m (cumulative work c_m before it) started
    in a step starts at `t0 + (used - c_p) / r + c_m / r`, never before it arrives.
    """
    n_queues = len(bounds) - 1
    pointers = bounds[:-1].copy()
    arrived = bounds[:-1].copy()  # per queue: the first case arriving after the step (never moves back)
    carried = 0.0  # work of cases started in an earlier step still running into this one
    for k in range(len(rate)):
        r = rate[k]
        if r <= 0.0:
            continue
        supply = r * step
        if carried >= supply:
            carried -= supply
            continue
        used = carried
        t0 = k * step
        t1 = t0 + step
        for qi in range(n_queues):
            p = pointers[qi]
            hi = bounds[qi + 1]
            if p >= hi or arr[p] > t1:
                continue
            # Linear scans, not bisection: both pointers only move forward, so over the whole run
            # they pass each case once (same indices as bisect on the sorted arrays).
            e = max(arrived[qi], p)
            while e < hi and arr[e] <= t1:
                e += 1
            arrived[qi] = e
            c = cum[qi:]  # queue qi's cumulative work before position m is c[m]
            base = c[p]
            target = base + supply - used
            i = p
            while i < e and c[i] < target:
                i += 1
            if i < p + 1:
                i = p + 1
            offset = t0 + (used - base) / r
            for m in range(p, i):
                when = offset + c[m] / r
                out[m] = when if when > arr[m] else arr[m]
            used += c[i] - base
            pointers[qi] = i
            if used >= supply:
                break
        over = used - supply
        carried = over if over > 0.0 else 0.0


def _pick_reviewers(slot: np.ndarray, u: np.ndarray, on: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """For each case, an on-shift member of its slot, drawn in proportion to speed."""
    weights = on.T * rate[None, :]  # (slots, members)
    totals = weights.sum(axis=1)
    cdf = np.cumsum(weights, axis=1) / np.where(totals > 0, totals, 1.0)[:, None]
    who = np.zeros(len(slot), dtype=np.int64)
    order = np.argsort(slot, kind="stable")
    bounds = np.searchsorted(slot[order], np.arange(WEEK_STEPS + 1))
    for s in np.flatnonzero(np.diff(bounds)):
        rows = order[bounds[s] : bounds[s + 1]]
        who[rows] = np.minimum(np.searchsorted(cdf[s], u[rows], side="right"), on.shape[0] - 1)
    return who
