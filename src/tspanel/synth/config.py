"""What a synthetic world looks like: the user-facing knobs and the fixed profiles behind them.

The numbers here are calibrated so that the default world (seed 42, 90 days) reproduces the
reference figures of the earlier dashboard; change them together with tests/test_generator.py.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace

from tspanel.errors import TspanelError

REGIONS: tuple[str, ...] = ("AMER", "EMEA", "APAC")
REGION_SHARE: tuple[float, ...] = (0.42, 0.33, 0.25)
# UTC offset of each region's "local evening", for the diurnal pattern of created_at.
REGION_UTC_OFFSET: tuple[int, ...] = (-5, 1, 8)

WEEKEND_LIFT = 1.25  # Fri, Sat and Sun carry 25% more flags than Mon-Thu
WEEKEND_DAYS: frozenset[int] = frozenset({4, 5, 6})  # date.weekday() of Fri, Sat, Sun

ML_SCORE_START = 0.86  # classifier's mean score on the first day ...
ML_SCORE_END = 0.7825  # ... and on the last day: it drifts down in between
ML_SCORE_DAY_NOISE = 0.006  # sd of the day-to-day wobble of the mean score
ML_SCORE_CONCENTRATION = 14.0  # Beta(a + b): spread of single scores around the day's mean
AUTO_BLOCK_MIN_SCORE = 0.72  # below this the classifier may not block; the case goes to a human

DEFAULT_REVIEWERS = 20
# Cases of average work a reviewer closes in one shift: LOW + k * STEP for k drawn in 0..30.
# Calibrated with the rota below so the queue, not a formula, yields the reference SLA figure.
REVIEWER_CAPACITY = (7.5, 13.5)
# Rota of each team, dealt to its reviewers in order: (working days, local shift start hour).
# Weekends are covered by fewer people than weekdays, as in most T&S teams.
ROTA: tuple[tuple[str, float], ...] = (
    ("Mon,Tue,Wed,Thu,Fri", 8.0),
    ("Wed,Thu,Fri,Sat,Sun", 10.0),
    ("Mon,Tue,Wed,Thu,Fri", 12.0),
    ("Mon,Tue,Wed,Thu,Fri", 9.0),
    ("Fri,Sat,Sun,Mon,Tue", 11.0),
    ("Mon,Tue,Wed,Thu,Fri", 10.0),
    ("Mon,Tue,Wed,Thu,Fri", 8.0),
    ("Tue,Wed,Thu,Fri,Sat", 12.0),
)
WARMUP_DAYS = 14  # no attack before this day, so detectors have history to learn from
ATTACK_DAYS_PER_EVENT = 1.8  # 5 events -> 9 attack days
MIN_GAP_DAYS = 7  # quiet days between two attacks, so one campaign does not hide in the last one's baseline


@dataclass(frozen=True)
class CategoryProfile:
    """How one policy category behaves: volume, trend, who posts it and how bad it is."""

    name: str
    base: float  # flags a day on day 0 of the default world (weekly-normalised)
    trend: float  # change of `base` per day
    young_share: float  # share of organic flags from accounts younger than 30 days
    viral_share: float  # share of organic flags re-sharing popular content
    severity: tuple[float, float, float, float]  # low, medium, high, critical
    attack_weight: float  # how likely an attack picks this category
    pattern: str  # name of a coordinated campaign in this category
    content_share: float  # share of a campaign's flags that re-use its content templates
    target_share: float  # share of a campaign's flags that hit its few targets
    auto_block_boost: float = 1.0  # multiplier of the auto-block probability


_P = CategoryProfile
# fmt: off
CATEGORIES: tuple[CategoryProfile, ...] = (
    #  name              base  trend young viral  severity mix               attack pattern           content target
    _P("harassment",     128.0,  0.8, 0.06, 0.06, (0.25, 0.40, 0.26, 0.09), 0.5, "brigading",        0.45, 0.80),
    _P("hate_speech",     32.0,  0.0, 0.07, 0.08, (0.15, 0.35, 0.35, 0.15), 0.0, "hate_raid",        0.60, 0.60),
    _P("spam",           205.0, -0.5, 0.22, 0.14, (0.50, 0.34, 0.12, 0.04), 0.5, "spam_wave",        0.75, 0.15, 1.4),
    _P("sexual_content",  17.0,  0.0, 0.06, 0.10, (0.15, 0.35, 0.32, 0.18), 0.0, "sextortion_ring",  0.50, 0.50),
    _P("self_harm",        6.0,  0.0, 0.05, 0.05, (0.05, 0.25, 0.40, 0.30), 0.0, "challenge_spread", 0.70, 0.10, 0.5),
    _P("fraud",           12.0,  0.0, 0.20, 0.08, (0.20, 0.35, 0.30, 0.15), 0.0, "scam_ring",        0.70, 0.20),
)
# fmt: on
CATEGORY_NAMES: tuple[str, ...] = tuple(c.name for c in CATEGORIES)

ATTACK_SEVERITY: dict[str, tuple[str, ...]] = {
    "harassment": ("high", "critical"),
    "hate_speech": ("high", "critical"),
    "spam": ("medium", "high"),
    "sexual_content": ("high", "critical"),
    "self_harm": ("critical",),
    "fraud": ("high",),
}
# Severity mix of a campaign's flags given the campaign's severity.
ATTACK_FLAG_SEVERITY: dict[str, tuple[float, float, float, float]] = {
    "medium": (0.25, 0.45, 0.22, 0.08),
    "high": (0.10, 0.30, 0.42, 0.18),
    "critical": (0.05, 0.20, 0.40, 0.35),
}

# Moderation action given severity: allow, downrank, human_review, auto_block.
ACTION_BY_SEVERITY: tuple[tuple[float, float, float, float], ...] = (
    (0.508, 0.340, 0.111, 0.041),
    (0.235, 0.378, 0.290, 0.097),
    (0.078, 0.165, 0.457, 0.300),
    (0.020, 0.058, 0.516, 0.406),
)

# Hands-on work of a human-review case (hours of a standard reviewer), log-normal by severity.
# Waiting, not work, makes up most of `resolution_hrs`: it comes out of the queue simulation.
WORK_MEDIAN_HRS: tuple[float, ...] = (0.45, 0.5, 0.6, 0.7)
SERVICE_SIGMA = 0.5
MEAN_CASE_HOURS = 0.64  # mean work of a case over the default severity mix: capacity -> work rate

APPEAL_RATE: tuple[float, ...] = (0.0, 0.03, 0.05, 0.08)  # by action
OVERTURN_RATE: tuple[float, ...] = (0.0, 0.20, 0.12, 0.15)  # by action, before the score effect


@dataclass(frozen=True)
class WorldConfig:
    """The knobs of a synthetic world; two equal configs produce byte-identical datasets.

    `flags` scales the daily rates (and campaign sizes, accounts and reviewers) so the total
    lands near that number. The attack knobs make detection harder without changing the
    shape of the organic traffic.
    """

    seed: int = 42
    days: int = 90
    start: dt.date = dt.date(2026, 8, 24)  # a Monday
    flags: int | None = None
    attack_lift: tuple[float, float] = (3.0, 5.0)
    old_account_attack_share: float = 0.0
    organic_surges: int = 0
    n_attacks: int = 5
    reviewers: int | None = None  # default: 20, scaled with `flags`

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise TspanelError(f"seed must be a non-negative integer (got {self.seed!r})")
        if not isinstance(self.days, int) or self.days < 1:
            raise TspanelError(f"days must be a positive number of days (got {self.days!r})")
        from tspanel.validate import MAX_SPAN_ENV, max_span_days  # the contract's longest span

        if self.days > (longest := max_span_days()):
            raise TspanelError(
                f"days must be at most {longest} (the longest span the data contract accepts, {MAX_SPAN_ENV}); "
                f"got {self.days}"
            )
        if not isinstance(self.start, dt.date) or isinstance(self.start, dt.datetime):
            raise TspanelError(f"start must be a date (got {self.start!r})")
        from tspanel.validate import plausible_dates  # what `tspanel validate` accepts: never write less

        first, last = plausible_dates()
        end = self.start + dt.timedelta(days=self.days - 1)
        if self.start < first or end > last:
            raise TspanelError(
                f"start must put every day within {first}..{last}, the dates the data contract accepts "
                f"(got {self.start}..{end})"
            )
        if self.flags is not None and (not isinstance(self.flags, int) or self.flags < 1):
            raise TspanelError(f"flags must be a positive number of flags (got {self.flags!r})")
        lift = tuple(self.attack_lift)
        if len(lift) != 2 or not all(isinstance(x, int | float) and math.isfinite(x) for x in lift):
            raise TspanelError(f"attack_lift must be two numbers LOW HIGH (got {self.attack_lift!r})")
        if not 1.0 < lift[0] <= lift[1] <= 100.0:
            raise TspanelError(
                f"attack_lift must satisfy 1 < LOW <= HIGH <= 100 (got {lift[0]:g} {lift[1]:g}); "
                "it is the factor by which an attack multiplies its category's volume"
            )
        object.__setattr__(self, "attack_lift", (float(lift[0]), float(lift[1])))
        share = self.old_account_attack_share
        if not isinstance(share, int | float) or not 0.0 <= share <= 1.0:
            raise TspanelError(f"old_account_attack_share must be between 0 and 1 (got {share!r})")
        if not isinstance(self.organic_surges, int) or self.organic_surges < 0:
            raise TspanelError(f"organic_surges must be a non-negative integer (got {self.organic_surges!r})")
        if self.reviewers is not None and (
            isinstance(self.reviewers, bool) or not isinstance(self.reviewers, int) or self.reviewers < 1
        ):
            raise TspanelError(f"reviewers must be a positive number of reviewers (got {self.reviewers!r})")
        if not isinstance(self.n_attacks, int) or self.n_attacks < 0:
            raise TspanelError(f"n_attacks must be a non-negative integer (got {self.n_attacks!r})")

    @classmethod
    def hard(cls, seed: int = 42, **overrides: object) -> WorldConfig:
        """A world where volume alone is not enough: small lifts, compromised accounts, surges."""
        base = cls(
            seed=seed,
            attack_lift=(1.5, 3.0),
            old_account_attack_share=0.4,
            organic_surges=4,
        )
        return replace(base, **overrides) if overrides else base

    @property
    def end(self) -> dt.date:
        """Last day of the world, inclusive."""
        return self.start + dt.timedelta(days=self.days - 1)
