"""How many reviewers meet the SLA next week: re-simulate the queue, don't divide by capacity.

Why a simulation: waiting time explodes well before 100% utilisation, and weekends, shifts,
bursts and priority order make an under-utilised team breach the SLA. The same core
(tspanel.queue_sim) that generates the built-in world's queue re-runs next week here:
forecast arrivals (tspanel.models.forecast), the measured service times, today's backlog and
today's rota scaled to N reviewers. See docs/staffing.md.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

from tspanel.jit import jit
from tspanel.models.forecast import Forecast
from tspanel.queue_sim import (
    DEFAULT_SHIFT_START_UTC,
    SHIFT_HOURS,
    STEP_HOURS,
    WEEK_STEPS,
    Queues,
    Roster,
    parse_working_days,
    pooled_times,
    week_slots,
)
from tspanel.schema import SEVERITIES

TARGET_BREACH_PCT = 5.0  # at most this share of next week's high/critical cases resolved after the SLA
BACKLOG_DAYS = 7  # today's backlog must be cleared within this many days
REPLICATIONS = 3  # simulated weeks averaged per headcount (common random numbers across headcounts)
WEEK_H = 168.0
HIGH_CODES = (SEVERITIES.index("high"), SEVERITIES.index("critical"))
CURVE_POINTS = 10
MAX_SIM_CASES = 20_000  # cases per simulated fortnight before thinning (see thinning())


@dataclass(frozen=True)
class Week:
    """Everything the re-simulation needs, measured from the data up to `as_of`."""

    as_of: dt.datetime
    forecast: Forecast
    backlog_age_h: np.ndarray  # hours each open case has waited at as_of
    backlog_severity: np.ndarray  # 0..3
    service_h: dict[int, np.ndarray]  # measured hands-on hours by severity code (may be empty)
    hour_profile: np.ndarray  # (7, 24) share of a weekday's arrivals in each UTC hour
    roster: Roster  # today's reviewers; rate 1 = a reviewer of mean capacity
    mean_capacity: float
    headcount: int  # reviewers on the roster today (the roster may hold pseudo-shifts, see roster_from_frame)


def roster_from_frame(reviewers: pl.DataFrame) -> Roster:
    """Today's roster as one pool (rate 1 = a reviewer of mean capacity).

    Without `shift_start_utc` and `working_days` the rota is unknown; the model then assumes
    shifts spread evenly over the week (five 8-hour shifts per reviewer, 21 shift slots a week),
    the most favourable rota for a given headcount. Missing values in present columns default to
    09:00 UTC, Monday to Friday.
    """
    n = reviewers.height
    capacity = reviewers["capacity_per_day"].cast(pl.Float64).fill_null(0.0).to_numpy()
    mean = capacity.mean() if n and capacity.mean() > 0 else 1.0
    if "shift_start_utc" not in reviewers.columns and "working_days" not in reviewers.columns:
        slots = 21  # 7 days x 3 shifts
        per_slot = (capacity / mean).sum() * 5 / slots
        return Roster(
            team=np.zeros(slots, dtype=np.int64),
            rate=np.full(slots, per_slot),
            shift_start=np.tile([0.0, 8.0, 16.0], 7),
            working_days=np.repeat(np.eye(7, dtype=bool), 3, axis=0),
        )
    if "shift_start_utc" in reviewers.columns:
        start = reviewers["shift_start_utc"].cast(pl.Float64).fill_null(DEFAULT_SHIFT_START_UTC).to_numpy() % 24.0
    else:
        start = np.full(n, DEFAULT_SHIFT_START_UTC)
    days = reviewers["working_days"].to_list() if "working_days" in reviewers.columns else [None] * n
    parsed = {d: parse_working_days(d) for d in set(days)}  # a few distinct rotas for thousands of reviewers
    return Roster(
        team=np.zeros(n, dtype=np.int64),
        rate=capacity / mean,
        shift_start=np.asarray(start, dtype=np.float64),
        working_days=np.array([parsed[d] for d in days]).reshape(n, 7),
    )


@dataclass(frozen=True)
class Outcome:
    """Mean of the replications for one headcount."""

    reviewers: int
    breach_pct: float | None
    backlog_end: float
    backlog_left: float  # of today's backlog, still open after BACKLOG_DAYS
    meets: bool


def _draw_arrivals(
    week: Week, rng: np.random.Generator, days: int, level: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson arrivals of the forecast (times `level`) per day and severity, placed by the hour profile.

    The hour of each arrival is drawn as `Generator.choice(24, size=k, p=profile)` draws it (the
    profile's normalised cumulative sum searched with `k` uniforms), with the cumulative sums made
    once per weekday: the same numbers from the same stream, without choice's per-call checks
    (~100 calls a plan).
    """
    daily = week.forecast.daily
    rows = list(zip(daily["date"].to_list(), daily["severity"].to_list(), daily["cases"].to_list(), strict=True))
    dates = sorted({date for date, _, _ in rows})
    position = {date: i for i, date in enumerate(dates)}
    means = np.zeros((len(dates), len(SEVERITIES)))
    for date, sev_name, mean in rows:
        means[position[date], SEVERITIES.index(sev_name)] = max(mean, 0.0)
    cdfs: dict[int, np.ndarray] = {}
    times, sevs = [], []
    start_dow = week.as_of.weekday()
    for d in range(days):
        dow = (start_dow + d) % 7
        for s, mean in enumerate(means[d % len(dates)] if len(dates) else []):
            k = int(rng.poisson(mean * level))
            if k == 0:
                continue
            if dow not in cdfs:
                cdf = np.asarray(week.hour_profile[dow], dtype=np.float64).cumsum()
                cdf /= cdf[-1]
                cdfs[dow] = cdf
            hour = cdfs[dow].searchsorted(rng.random(k), side="right")
            times.append(d * 24.0 + hour + rng.random(k))
            sevs.append(np.full(k, s))
    if not times:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    return np.concatenate(times), np.concatenate(sevs)


def _service(week: Week, sev: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Hands-on hours per case: resampled from the measured ones of its severity (or all)."""
    fallback = np.concatenate([v for v in week.service_h.values() if len(v)] or [np.zeros(0)])
    out = np.empty(len(sev))
    for s in range(len(SEVERITIES)):
        m = sev == s
        pool = week.service_h.get(s, np.zeros(0))
        pool = pool if len(pool) else fallback
        if len(pool):
            out[m] = rng.choice(pool, size=int(m.sum()))
        else:  # no measured times: a shift divided by the mean capacity
            out[m] = rng.exponential(SHIFT_HOURS / max(week.mean_capacity, 1e-9), size=int(m.sum()))
    return out


@dataclass(frozen=True)
class Scenario:
    """One replication's cases: today's backlog, then the week's forecast arrivals and a little more."""

    arrival: np.ndarray
    severity: np.ndarray
    work: np.ndarray
    pick: np.ndarray
    n_backlog: int
    thin: int = 1  # 1 in `thin` cases kept (big queues): the team is thinned alike, counts scaled back

    @cached_property
    def queues(self) -> Queues:
        """The cases in service order, prepared once for every headcount the search tries."""
        return Queues.of(self.arrival, self.severity, self.work, np.arange(len(self.arrival)))

    @cached_property
    def judged(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per queue position: arrival, next week's high/critical arrivals (judged by the SLA),
        arrived before the week's end, and today's backlog."""
        order = self.queues.cases
        arrival = self.arrival[order]
        new = order >= self.n_backlog
        week1 = new & (arrival < WEEK_H) & np.isin(self.severity[order], HIGH_CODES)
        return arrival, week1, arrival < WEEK_H, ~new


def thinning(week: Week) -> int:
    """Keep 1 case in k (and 1/k of the team) when two weeks hold more than MAX_SIM_CASES cases.

    Why: the re-simulation runs a few dozen times per refresh; a 10M-flag world has ~250,000
    reviews a week. A k-times smaller team with k-times fewer cases waits slightly longer than the
    real one (smaller pools), so the thinned answer errs towards more reviewers.
    """
    cases = 2 * week.forecast.total + len(week.backlog_age_h)
    return max(1, math.ceil(cases / MAX_SIM_CASES))


def levels(week: Week, replications: int = REPLICATIONS) -> np.ndarray:
    """Volume multipliers of the replications: evenly spaced quantiles of the forecast's backtest
    actual/forecast ratios, so the expected breach rate carries the forecast's measured error."""
    ratios = week.forecast.weekly_ratio
    if len(ratios) < 2:
        return np.ones(replications)
    return np.quantile(ratios, (np.arange(replications) + 0.5) / replications)


def horizon(sla_hours: float) -> float:
    """A case arriving before the week's end is judged by then + the SLA: unfinished by then is a breach."""
    return WEEK_H + max(sla_hours, 0.0)


def scenarios(week: Week, sla_hours: float, seed: int = 0, replications: int = REPLICATIONS) -> list[Scenario]:
    """Common random numbers: the same scenarios are replayed for every headcount."""
    out = []
    thin = thinning(week)
    for r, level in enumerate(levels(week, replications)):
        rng = np.random.default_rng([seed, r])
        # Arrivals go on after the week while its last cases are judged (horizon()).
        arr, sev = _draw_arrivals(week, rng, math.ceil(horizon(sla_hours) / 24), float(level) / thin)
        keep = rng.random(len(week.backlog_age_h)) < 1 / thin if thin > 1 else slice(None)
        back_age, back_sev = week.backlog_age_h[keep], week.backlog_severity[keep]
        arrival = np.concatenate([-back_age, arr])
        severity = np.concatenate([back_sev, sev]).astype(np.int64)
        work = _service(week, severity, rng)
        out.append(Scenario(arrival, severity, work, rng.random(len(arrival)), len(back_age), thin))
    return out


def run_week(
    week: Week, cases: list[Scenario], reviewers: int, sla_hours: float, target_pct: float = TARGET_BREACH_PCT
) -> Outcome:
    """Simulate `reviewers` on today's rota (each slot's on-shift capacity scaled) over each scenario."""
    n_today = max(week.headcount, 1)
    breaches, eligible, end_backlog, left = 0, 0, [], []
    slots = week_slots(horizon(sla_hours), week.as_of.weekday() * 24.0 + week.as_of.hour + week.as_of.minute / 60)
    pool = week.roster.pool(0)
    for sc in cases:
        if len(slots) == 0 or len(pool.members) == 0:
            end = np.full(len(sc.arrival), np.nan)
        else:
            _, end = pooled_times(sc.queues, pool, slots, reviewers / (n_today * sc.thin))
        b, e, at_end, still = _tally(end, *sc.judged, sla_hours, WEEK_H, BACKLOG_DAYS * 24.0)
        breaches += b
        eligible += e
        end_backlog.append(sc.thin * at_end)
        left.append(sc.thin * still)
    breach = 100 * breaches / eligible if eligible else None
    # A team that meets the SLA on high/critical cases while low ones pile up is not enough:
    # the queue must also keep up: over the week it grows by less than one day's intake.
    keeps_up = float(np.mean(end_backlog)) <= len(week.backlog_age_h) + max(week.forecast.total / 7, 1.0)
    meets = (breach is None or breach <= target_pct) and max(left, default=0) == 0 and keeps_up
    return Outcome(reviewers, breach, float(np.mean(end_backlog)), float(np.mean(left)), meets)


@jit
def _tally(
    end: np.ndarray,
    arrival: np.ndarray,
    week1: np.ndarray,
    in_week: np.ndarray,
    backlog: np.ndarray,
    sla_hours: float,
    week_h: float,
    backlog_h: float,
) -> tuple[int, int, int, int]:
    """(high/critical of next week resolved over the SLA, how many were judged, cases arrived in
    the week still open at its end, of today's backlog still open after BACKLOG_DAYS); an
    unfinished case (NaN) counts as open for ever."""
    breaches = eligible = at_end = still = 0
    for m in range(len(end)):
        done = np.inf if np.isnan(end[m]) else end[m]
        if week1[m]:
            eligible += 1
            if done - arrival[m] > sla_hours:
                breaches += 1
        if in_week[m] and done > week_h:
            at_end += 1
        if backlog[m] and done > backlog_h:
            still += 1
    return breaches, eligible, at_end, still


def erlang_c_reviewers(week: Week, sla_hours: float, target_pct: float) -> int | None:
    """Steady-state M/M/c sanity check: roster size if arrivals were even and every hour staffed alike."""
    lam = week.forecast.total / WEEK_H
    pooled = np.concatenate([v for v in week.service_h.values() if len(v)] or [np.zeros(0)])
    service = float(pooled.mean()) if len(pooled) else SHIFT_HOURS / max(week.mean_capacity, 1e-9)
    # Share of the week an average reviewer is on shift (rates are 1 for a reviewer of mean capacity).
    on_share = week.roster.weekly_hours() / (WEEK_H * week.headcount) if week.headcount else 0.0
    if lam <= 0 or service <= 0 or on_share <= 0:
        return None
    a = lam * service
    c = max(1, math.floor(a) + 1)
    # Erlang C by the stable recursion on the Erlang B blocking probability: b is B(c), carried
    # from one c to the next (the same steps as recomputing it from k = 1 for each c).
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    while c < 100_000:
        wait_p = c * b / (c - a * (1 - b))
        if wait_p * math.exp(-(c - a) * sla_hours / service) <= target_pct / 100:
            return math.ceil(c / on_share)
        c += 1
        b = a * b / (c + a * b)
    return None


def plan_staffing(week: Week, sla_hours: float, target_pct: float = TARGET_BREACH_PCT, seed: int = 0) -> dict[str, Any]:
    """Smallest headcount meeting the target, the curve around it and the arithmetic in words."""
    cases = scenarios(week, sla_hours, seed)
    n_today = week.headcount
    cache: dict[int, Outcome] = {}

    def at(n: int) -> Outcome:
        if n not in cache:
            cache[n] = run_week(week, cases, n, sla_hours, target_pct)
        return cache[n]

    ceiling = 4 * n_today + 10

    def smallest(ok: Any) -> int | None:
        """Bisection for the fewest reviewers passing `ok` (monotone: more reviewers never wait longer)."""
        if not ok(at(ceiling)):
            return None
        lo, hi = 0, ceiling  # invariant: hi passes, lo does not (0 reviewers serve nobody)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if ok(at(mid)) else (mid, hi)
        return hi

    nothing = week.forecast.total <= 0 and len(week.backlog_age_h) == 0
    needed = 0 if nothing else smallest(lambda o: o.meets)  # nothing to review: nobody needed
    sla_only = smallest(lambda o: o.breach_pct is None or o.breach_pct <= target_pct)
    top = max(n_today, needed or ceiling)
    low = max(1, 0.5 * min(n_today, needed or n_today))
    grid = {max(1, round(v)) for v in np.linspace(low, 1.25 * top + 1, CURVE_POINTS)}
    grid |= {n_today, *(x for x in (needed, (needed or 0) - 1) if x and x > 0)}
    curve = pl.DataFrame(
        [
            {
                "reviewers": o.reviewers,
                "expected_breach_pct": o.breach_pct,
                "backlog_at_week_end": o.backlog_end,
                "todays_backlog_left": o.backlog_left,
                "meets_target": o.meets,
                "is_roster": o.reviewers == n_today,
                "is_recommended": o.reviewers == needed,
            }
            for o in sorted((at(n) for n in grid), key=lambda o: o.reviewers)
        ],
        schema={
            "reviewers": pl.Int64,
            "expected_breach_pct": pl.Float64,
            "backlog_at_week_end": pl.Float64,
            "todays_backlog_left": pl.Float64,
            "meets_target": pl.Boolean,
            "is_roster": pl.Boolean,
            "is_recommended": pl.Boolean,
        },
    )
    roster_out = at(n_today)
    best = at(needed) if needed else None
    erlang = erlang_c_reviewers(week, sla_hours, target_pct)
    return {
        "reviewers_needed": needed,
        "expected_breach_pct_at_roster": roster_out.breach_pct,
        "expected_backlog_at_roster": roster_out.backlog_end,
        "expected_breach_pct_recommended": best.breach_pct if best else None,
        "erlang_c_reviewers": erlang,
        "reviewers_for_sla_alone": sla_only,
        "curve": curve,
        "arithmetic": arithmetic(week, sla_hours, target_pct, needed, roster_out, best, erlang, ceiling, sla_only),
    }


def _longest_gap_hours(roster: Roster) -> float:
    """Longest stretch of the week (hours, wrapping around) with nobody on shift."""
    covered = roster.slots.any(axis=0) if roster.size else np.zeros(WEEK_STEPS, dtype=bool)
    if covered.all():
        return 0.0
    if not covered.any():
        return WEEK_H
    run = best = 0
    for c in np.concatenate([covered, covered]):
        run = 0 if c else run + 1
        best = max(best, run)
    return min(best, WEEK_STEPS) * STEP_HOURS


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def arithmetic(
    week: Week,
    sla_hours: float,
    target_pct: float,
    needed: int | None,
    roster_out: Outcome,
    best: Outcome | None,
    erlang: int | None,
    ceiling: int,
    sla_only: int | None = None,
) -> str:
    """The recommendation and how it was reached, in words (the card, the CLI and the report quote it)."""
    f = week.forecast
    interval = (
        f" (80% interval {f.low_80:,.0f}-{f.high_80:,.0f})" if f.low_80 is not None and f.high_80 is not None else ""
    )
    error = f", backtest error {f.error_pct:.1f}% MAPE per day" if f.error_pct is not None else ""
    n_today = week.headcount
    head = (
        f"Forecast {f.total:,.0f} human-review cases next week{interval} by {f.method.replace('_', ' ')}{error}; "
        f"{_n(len(week.backlog_age_h), 'case')} open now. Re-simulating the week with today's rota, priority by "
        f"severity and the measured service times: {_n(n_today, 'reviewer')} leave {_pct(roster_out.breach_pct)} of "
        f"high/critical cases over {sla_hours:g} h and {roster_out.backlog_end:,.0f} open at the week's end"
    )
    if needed is None:
        gap = _longest_gap_hours(week.roster)
        why = (
            f" The rota leaves {gap:g} hours in a row with nobody on shift, so more people on the same rota cannot "
            "meet it: cover those hours."
            if gap > sla_hours / 2
            else ""
        )
        return head + f"; even {ceiling} reviewers do not reach at most {target_pct:g}% with the backlog cleared." + why
    tail = (
        f"; {_n(needed, 'reviewer')} {'is' if needed == 1 else 'are'} the fewest that keep breaches "
        f"at or under {target_pct:g}% "
        f"({_pct(best.breach_pct if best else None)}), clear today's backlog within {BACKLOG_DAYS} days "
        "and keep up with the intake"
    )
    if sla_only is not None and sla_only < needed:
        tail += f" (the breach target alone needs {sla_only}; clearing the backlog needs the rest)"
    gap = needed - n_today
    verdict = f", {gap} more than on the roster." if gap > 0 else "; the roster covers it."
    sanity = (
        f" Erlang C, which assumes even arrivals and every hour staffed alike, would say {erlang}."
        if erlang is not None
        else ""
    )
    return head + tail + verdict + sanity
