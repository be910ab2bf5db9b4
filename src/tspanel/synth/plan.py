"""Everything about a world that spans days: rates, the attack and surge calendar, reviewers.

The plan is computed once from the config (its own random streams, independent of how the
days are later chunked), then each day is generated from the plan and a per-day seed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from tspanel.errors import TspanelError
from tspanel.queue_sim import SHIFT_HOURS, Roster, parse_working_days
from tspanel.synth import config as c
from tspanel.synth.ids import mix64, unit_interval

# Random streams: the world seed plus one of these plus (for days) the day index.
STREAM_SCHEDULE = 1
STREAM_DAY = 2
STREAM_REVIEWERS = 3
STREAM_ATTACK_ACCOUNTS = 4

# Hash namespaces, so that ids of different kinds never coincide.
NS_ACCOUNT = 11
NS_ACCOUNT_AGE = 12
NS_CONTENT_VIRAL = 13
NS_CONTENT_ATTACK = 14
NS_TARGET = 15
NS_TARGET_ATTACK = 16

# Account numbers: [0, n_old) established accounts; young ones encode their creation day.
YOUNG_BASE = 1 << 40
ATTACK_BASE = 1 << 50
CREATED_OFFSET = 1 << 20  # added to a young account's creation day (may be negative)
DAY_SHIFT = 1 << 24  # young accounts created on one day: at most this many

OLD_ACCOUNTS_PER_UNIT = 120_000  # established accounts in the default world
YOUNG_ACCOUNTS_PER_DAY = 2_000  # distinct new accounts a day in the default world
POPULAR_TARGETS = 3_000
MEAN_OLD_AGE_DAYS = 700.0  # beyond the 30 days that make an account "old"

FIRST_NAMES = (
    "Ada", "Bruno", "Chen", "Dara", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas",
    "Kavya", "Luis", "Maya", "Nils", "Olu", "Priya", "Quinn", "Rosa", "Sami", "Tariq",
    "Uma", "Vera", "Wen", "Ximena", "Yusuf", "Zoe", "Amara", "Bo", "Carmen", "Dmitri",
)  # fmt: skip
LAST_NAMES = (
    "Abara", "Berg", "Costa", "Dube", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
    "Kaur", "Lopez", "Mensah", "Novak", "Okafor", "Park", "Quispe", "Rossi", "Sato", "Tan",
    "Usman", "Varga", "Wong", "Xu", "Yilmaz", "Zhou", "Alvarez", "Banda", "Cohen", "Diaz",
)  # fmt: skip


@dataclass(frozen=True)
class Attack:
    """One coordinated campaign: when, where, how big, and who runs it."""

    index: int
    attack_id: str
    category: int
    start_day: int
    duration: int
    lift: float
    region: int
    severity: str
    pattern: str
    old_accounts: bool
    account_numbers: np.ndarray  # the campaign's accounts
    account_created: np.ndarray  # their creation day (day index; negative = before the world)
    n_templates: int
    n_targets: int

    @property
    def days(self) -> range:
        return range(self.start_day, self.start_day + self.duration)

    @property
    def num_accounts(self) -> int:
        return len(self.account_numbers)


@dataclass(frozen=True)
class Surge:
    """An organic surge: more ordinary traffic in one category (news, a viral trend)."""

    category: int
    start_day: int
    duration: int
    lift: float


@dataclass(frozen=True)
class Plan:
    """The decisions that span days, made once per world by `make_plan`."""

    config: c.WorldConfig
    scale: float  # multiplier of all volumes (1.0 unless `flags` was given)
    rates: np.ndarray  # (days, categories) expected organic flags, unscaled, before surges
    surge_mult: np.ndarray  # (days, categories) organic multiplier from surges
    attacks: tuple[Attack, ...]
    surges: tuple[Surge, ...]
    reviewers: pl.DataFrame
    roster: Roster  # teams, speeds and shifts of the reviewers, for the queue simulation
    n_old_accounts: int
    young_block: int
    n_popular_targets: int
    expected_flags: float
    start_s: int  # epoch seconds of the first midnight (UTC)

    @property
    def end_s(self) -> int:
        """Epoch seconds of the end of the data: midnight after the last day."""
        return self.start_s + self.config.days * 86_400

    def attacks_on(self, day: int) -> list[Attack]:
        return [a for a in self.attacks if a.start_day <= day < a.start_day + a.duration]


def old_account_age0(seed: int, numbers: np.ndarray) -> np.ndarray:
    """Age on day 0 of an established account, a pure function of its number."""
    u = unit_interval(mix64(seed, NS_ACCOUNT_AGE, numbers))
    return 30 + np.minimum(np.floor(-MEAN_OLD_AGE_DAYS * np.log1p(-u)), 6000).astype(np.int64)


def weekly_factor(start: dt.date, days: int) -> np.ndarray:
    """Day-of-week multiplier with mean 1 over a week: Fri-Sun are 25% above Mon-Thu."""
    weekday = (start.weekday() + np.arange(days)) % 7
    lifted = np.isin(weekday, list(c.WEEKEND_DAYS))
    week_mean = (7 - len(c.WEEKEND_DAYS) + len(c.WEEKEND_DAYS) * c.WEEKEND_LIFT) / 7
    return np.where(lifted, c.WEEKEND_LIFT, 1.0) / week_mean


def organic_rates(config: c.WorldConfig) -> np.ndarray:
    day = np.arange(config.days, dtype=np.float64)[:, None]
    base = np.array([p.base for p in c.CATEGORIES])
    trend = np.array([p.trend for p in c.CATEGORIES])
    level = np.maximum(base + trend * day, 0.1 * base)
    return level * weekly_factor(config.start, config.days)[:, None]


def _durations(rng: np.random.Generator, n: int) -> np.ndarray:
    durations = np.ones(n, dtype=np.int64)
    extra = min(round(c.ATTACK_DAYS_PER_EVENT * n), 3 * n) - n
    for _ in range(extra):  # a handful of iterations: spread extra days, at most 3 per event
        open_ = np.flatnonzero(durations < 3)
        durations[rng.choice(open_)] += 1
    return durations


def _place_attacks(rng: np.random.Generator, config: c.WorldConfig, durations: np.ndarray) -> np.ndarray:
    """Start days in order, after the warm-up, with quiet gaps (shorter gaps in short worlds)."""
    n = len(durations)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    warmup = min(c.WARMUP_DAYS, config.days // 5)
    room = config.days - warmup - int(durations.sum())
    gap = min(c.MIN_GAP_DAYS, room // (n - 1)) if n > 1 else 0
    if room < 0 or (n > 1 and gap < 1):
        minimum = config.days + 1
        while minimum - min(c.WARMUP_DAYS, minimum // 5) - int(durations.sum()) < n - 1:
            minimum += 1
        raise TspanelError(
            f"{config.days} days are too few for {n} attacks ({durations.sum()} attack days, at least one "
            f"quiet day between them and {warmup} days of history first); "
            f"use more days (at least {minimum}) or fewer attacks"
        )
    free = room - gap * (n - 1)
    cuts = np.sort(rng.integers(0, free + 1, size=n))
    slack = np.diff(np.concatenate([[0], cuts]))
    gaps = np.concatenate([[0], durations[:-1] + gap])
    return warmup + np.cumsum(slack + gaps)


def _place_surges(rng: np.random.Generator, config: c.WorldConfig, busy: np.ndarray, n: int) -> list[tuple[int, int]]:
    warmup = min(c.WARMUP_DAYS, config.days // 5)
    placed: list[tuple[int, int]] = []
    for _ in range(n):  # one iteration per surge (a handful)
        duration = int(rng.integers(1, 3))
        starts = np.arange(warmup, config.days - duration + 1)
        ok = np.array([not busy[max(s - 1, 0) : s + duration + 1].any() for s in starts], dtype=bool)
        if not ok.any():
            raise TspanelError(
                f"no room for {n} organic surges beside the attacks in {config.days} days; "
                "use more days or fewer surges"
            )
        start = int(rng.choice(starts[ok]))
        busy[start : start + duration] = True
        placed.append((start, duration))
    return placed


def _lifts(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    """Stratified draws over [lo, hi]: every world gets a spread of small and large lifts."""
    strata = rng.permutation(n)
    return lo + (hi - lo) * (strata + rng.random(n)) / max(n, 1)


def _reviewers(config: c.WorldConfig, scale: float) -> tuple[pl.DataFrame, Roster]:
    rng = np.random.default_rng([config.seed, STREAM_REVIEWERS])
    n = config.reviewers or max(len(c.REGIONS), round(c.DEFAULT_REVIEWERS * scale))
    n = max(n, len(c.REGIONS))
    share = np.array(c.REGION_SHARE) * n
    per_team = np.maximum(np.floor(share).astype(int), 1)
    while per_team.sum() < n:  # largest remainder
        per_team[np.argmax(share - per_team)] += 1
    while per_team.sum() > n:
        per_team[np.argmax(per_team - share)] -= 1
    team = np.repeat(np.arange(len(c.REGIONS)), per_team)
    lo, hi = c.REVIEWER_CAPACITY
    level = rng.integers(0, 31, size=n)  # 0..30: the draw of the earlier version, so names stay
    capacity = lo + (hi - lo) * level / 30.0
    experience = 40.0 + level + rng.normal(0.0, 5.0, size=n)
    seniority = np.where(experience >= 62, "senior", np.where(experience >= 50, "mid", "junior"))
    combos = len(FIRST_NAMES) * len(LAST_NAMES)
    order = rng.permutation(combos)
    names = []
    for i in range(n):
        k = int(order[i % combos])
        name = f"{FIRST_NAMES[k // len(LAST_NAMES)]} {LAST_NAMES[k % len(LAST_NAMES)]}"
        names.append(name if i < combos else f"{name} {i // combos + 1}")
    # Rota: dealt in order within each team; shift starts are local hours turned into UTC.
    position = np.arange(n) - np.searchsorted(team, team)
    rota = [c.ROTA[k % len(c.ROTA)] for k in position]
    offsets = np.array(c.REGION_UTC_OFFSET)[team]
    shift_start = (np.array([start for _, start in rota]) - offsets) % 24.0
    working = [days for days, _ in rota]
    roster = Roster(
        team=np.zeros(n, dtype=np.int64),  # one pool: any reviewer on shift takes any case
        rate=capacity * c.MEAN_CASE_HOURS / SHIFT_HOURS,
        shift_start=shift_start,
        working_days=np.array([parse_working_days(w) for w in working]),
    )
    width = max(2, len(str(n)))
    frame = pl.DataFrame(
        {
            "reviewer_id": pl.Series([f"R{i + 1:0{width}d}" for i in range(n)], dtype=pl.Categorical),
            "name": names,
            "team": pl.Series(np.array(c.REGIONS)[team].tolist(), dtype=pl.Categorical),
            "capacity_per_day": capacity,
            "seniority": seniority.tolist(),
            "shift_start_utc": shift_start,
            "working_days": working,
        }
    )
    return frame, roster


def _attack_accounts(
    seed: int, attack: int, start_day: int, count: int, old: bool, n_old: int
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, STREAM_ATTACK_ACCOUNTS, attack])
    from_old = rng.random(count) < (0.85 if old else 0.12)
    numbers = ATTACK_BASE + attack * (1 << 24) + np.arange(count, dtype=np.int64)
    created = start_day - 1 - np.floor(rng.exponential(6.0, size=count)).astype(np.int64)
    picked = rng.integers(0, n_old, size=int(from_old.sum()))
    numbers[from_old] = picked
    created[from_old] = -old_account_age0(seed, picked)
    return numbers, created


def make_plan(config: c.WorldConfig) -> Plan:
    rng = np.random.default_rng([config.seed, STREAM_SCHEDULE])
    rates = organic_rates(config)
    n_cat = len(c.CATEGORIES)

    # Attacks: calendar, category, lift, region, severity, who runs them.
    n = config.n_attacks
    durations = _durations(rng, n)
    starts = _place_attacks(rng, config, durations)
    weights = np.array([p.attack_weight for p in c.CATEGORIES])
    categories = rng.choice(n_cat, size=n, p=weights / weights.sum())
    lifts = _lifts(rng, n, *config.attack_lift)
    regions = rng.choice(len(c.REGIONS), size=n, p=c.REGION_SHARE)
    n_old_campaigns = round(config.old_account_attack_share * n)
    old_campaign = np.zeros(n, dtype=bool)
    old_campaign[rng.permutation(n)[:n_old_campaigns]] = True
    per_account = rng.uniform(3.0, 8.0, size=n)
    templates = rng.integers(2, 7, size=n)
    targets = rng.integers(1, 4, size=n)
    severity_draw = rng.random(n)

    # Surges: calendar away from attack days.
    busy = np.zeros(config.days, dtype=bool)
    for s, d in zip(starts, durations, strict=True):
        busy[s : s + d] = True
    surge_days = _place_surges(rng, config, busy, config.organic_surges)
    base = np.array([p.base for p in c.CATEGORIES])
    surge_cats = rng.choice(n_cat, size=len(surge_days), p=base / base.sum())
    surge_lifts = _lifts(rng, len(surge_days), *config.attack_lift)
    surges = tuple(
        Surge(int(cat), s, d, float(lift))
        for (s, d), cat, lift in zip(surge_days, surge_cats, surge_lifts, strict=True)
    )
    surge_mult = np.ones_like(rates)
    for sg in surges:
        surge_mult[sg.start_day : sg.start_day + sg.duration, sg.category] *= sg.lift

    coordinated = np.array(
        [(lifts[i] - 1.0) * rates[starts[i] : starts[i] + durations[i], categories[i]].sum() for i in range(n)]
    )
    unit_total = float((rates * surge_mult).sum() + coordinated.sum())
    scale = config.flags / unit_total if config.flags is not None else 1.0

    n_old = max(1_000, round(OLD_ACCOUNTS_PER_UNIT * scale))
    attacks = []
    for i in range(n):
        cat = c.CATEGORIES[int(categories[i])]
        options = c.ATTACK_SEVERITY[cat.name]
        count = max(3, round(scale * coordinated[i] / per_account[i]))
        numbers, created = _attack_accounts(config.seed, i, int(starts[i]), count, bool(old_campaign[i]), n_old)
        attacks.append(
            Attack(
                index=i,
                attack_id=f"ATK-{i + 1:03d}",
                category=int(categories[i]),
                start_day=int(starts[i]),
                duration=int(durations[i]),
                lift=float(lifts[i]),
                region=int(regions[i]),
                severity=options[int(severity_draw[i] * len(options))],
                pattern=cat.pattern + (" (compromised accounts)" if old_campaign[i] else ""),
                old_accounts=bool(old_campaign[i]),
                account_numbers=numbers,
                account_created=created,
                n_templates=int(templates[i]),
                n_targets=int(targets[i]),
            )
        )

    reviewers, roster = _reviewers(config, scale)
    start_s = int(dt.datetime.combine(config.start, dt.time(), tzinfo=dt.UTC).timestamp())
    return Plan(
        config=config,
        scale=scale,
        rates=rates,
        surge_mult=surge_mult,
        attacks=tuple(attacks),
        surges=surges,
        reviewers=reviewers,
        roster=roster,
        n_old_accounts=n_old,
        young_block=min(max(100, round(YOUNG_ACCOUNTS_PER_DAY * scale)), DAY_SHIFT),
        n_popular_targets=max(100, round(POPULAR_TARGETS * scale)),
        expected_flags=unit_total * scale,
        start_s=start_s,
    )


def attacks_frame(plan: Plan) -> pl.DataFrame:
    """The ground-truth `attacks` table of the plan."""
    start = plan.config.start
    rows = plan.attacks
    return pl.DataFrame(
        {
            "attack_id": [a.attack_id for a in rows],
            "start_date": [start + dt.timedelta(days=a.start_day) for a in rows],
            "duration_days": [a.duration for a in rows],
            "end_date": [start + dt.timedelta(days=a.start_day + a.duration - 1) for a in rows],
            "category": [c.CATEGORY_NAMES[a.category] for a in rows],
            "num_accounts": [a.num_accounts for a in rows],
            "pattern": [a.pattern for a in rows],
            "severity": [a.severity for a in rows],
            "region": [c.REGIONS[a.region] for a in rows],
        },
        schema={
            "attack_id": pl.String,
            "start_date": pl.Date,
            "duration_days": pl.Int32,
            "end_date": pl.Date,
            "category": pl.Categorical,
            "num_accounts": pl.Int32,
            "pattern": pl.String,
            "severity": pl.String,
            "region": pl.Categorical,
        },
    )
