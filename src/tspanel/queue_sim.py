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
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import cached_property

import numpy as np

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
        """(reviewers, WEEK_STEPS) bool: on shift in each 15-minute slot of a UTC week (Monday 00:00 first)."""
        mid = (np.arange(WEEK_STEPS) + 0.5) * STEP_HOURS
        starts = np.arange(7)[None, :] * 24.0 + self.shift_start[:, None]  # (n, 7)
        since = (mid[None, None, :] - starts[:, :, None]) % WEEK_HOURS
        return ((since < SHIFT_HOURS) & self.working_days[:, :, None]).any(axis=1)

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
    steps = max(0, math.ceil(horizon / STEP_HOURS - 1e-9))
    first_slot = round(week_offset / STEP_HOURS)
    slots = (first_slot + np.arange(steps)) % WEEK_STEPS
    on = roster.slots
    for t in np.unique(team):
        cases = np.flatnonzero(team == t)
        members = np.flatnonzero(roster.team == t)
        if len(members) == 0 or steps == 0:
            continue
        slot_rate = scale * (on[members].T @ roster.rate[members])
        _run_team(arrival, severity, work, cases, slot_rate[slots].tolist(), start)
        started = cases[~np.isnan(start[cases])]
        if len(started) == 0:
            continue
        slot = (first_slot + np.floor(start[started] / STEP_HOURS).astype(np.int64)) % WEEK_STEPS
        if not assign:
            count = on[members].sum(axis=0)
            unscaled = slot_rate / scale if scale > 0 else slot_rate
            per_case = count[slot] / np.where(unscaled[slot] > 0, unscaled[slot], 1.0)
            end[started] = start[started] + work[started] * per_case
            continue
        who = _pick_reviewers(slot, pick[started], on[members], roster.rate[members])
        reviewer[started] = members[who]
        end[started] = start[started] + work[started] / roster.rate[members[who]]
    return QueueResult(start=start, end=end, reviewer=reviewer)


def _run_team(
    arrival: np.ndarray, severity: np.ndarray, work: np.ndarray, cases: np.ndarray, rate: list[float], start: np.ndarray
) -> None:
    """Fill `start` for the team's cases: pooled work in priority order, step by step.

    The loop only moves pointers (bisect on Python lists); each queue's start times are then
    filled in one vectorised pass from the recorded segments.
    """
    queues = []
    for s in PRIORITY:
        idx = cases[severity[cases] == s]
        idx = idx[np.argsort(arrival[idx], kind="stable")]
        cum = np.concatenate([[0.0], np.cumsum(work[idx])])
        queues.append((idx, arrival[idx].tolist(), cum.tolist(), []))
    pointers = [0] * len(queues)
    carried = 0.0  # work of cases started in an earlier step still running into this one
    for k, r in enumerate(rate):
        if r <= 0.0:
            continue
        supply = r * STEP_HOURS
        if carried >= supply:
            carried -= supply
            continue
        used = carried
        t0 = k * STEP_HOURS
        t1 = t0 + STEP_HOURS
        for qi, (_, arr_list, cum_list, segments) in enumerate(queues):
            p = pointers[qi]
            if p >= len(arr_list) or arr_list[p] > t1:
                continue
            e = bisect_right(arr_list, t1, p)
            base = cum_list[p]
            i = max(bisect_left(cum_list, base + supply - used, p, e), p + 1)
            segments.append((p, i, t0 + (used - base) / r, r))  # start of case m: t0 + (used + cum[m] - base) / r
            used += cum_list[i] - base
            pointers[qi] = i
            if used >= supply:
                break
        carried = max(0.0, used - supply)
    for (idx, _, cum_list, segments), end in zip(queues, pointers, strict=True):
        if not segments:
            continue
        seg = np.array(segments)
        counts = (seg[:, 1] - seg[:, 0]).astype(np.int64)
        offset = np.repeat(seg[:, 2], counts)
        r = np.repeat(seg[:, 3], counts)
        cum = np.asarray(cum_list[:end])
        when = offset + cum / r
        start[idx[:end]] = np.maximum(when, arrival[idx[:end]])


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
