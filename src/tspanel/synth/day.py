"""One day of flags, generated column-wise with NumPy from the plan and the day's own seed.

Seeding per day (not per chunk) is what makes the output independent of the chunk size.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

from tspanel import schema
from tspanel.synth import config as c
from tspanel.synth.ids import hex_ids, mix64
from tspanel.synth.plan import (
    CREATED_OFFSET,
    DAY_SHIFT,
    NS_ACCOUNT,
    NS_CONTENT_ATTACK,
    NS_CONTENT_VIRAL,
    NS_TARGET,
    NS_TARGET_ATTACK,
    STREAM_DAY,
    YOUNG_BASE,
    Plan,
    old_account_age0,
)
from tspanel.synth.queue import DayQueue

N_CAT = len(c.CATEGORIES)
HUMAN_REVIEW = schema.ACTIONS.index("human_review")
AUTO_BLOCK = schema.ACTIONS.index("auto_block")

_CAT_NAMES = pl.Series(c.CATEGORY_NAMES, dtype=pl.Categorical)
_REGION_NAMES = pl.Series(c.REGIONS, dtype=pl.Categorical)
_SEVERITY = pl.Series(schema.SEVERITIES, dtype=schema.SEVERITY)
_ACTION = pl.Series(schema.ACTIONS, dtype=schema.ACTION)

_REGION_CDF = np.cumsum(c.REGION_SHARE)[:-1]
_SEVERITY_CDF = np.cumsum([p.severity for p in c.CATEGORIES], axis=1)[:, :3]
_ATTACK_SEVERITY_CDF = {k: np.cumsum(v)[:3] for k, v in c.ATTACK_FLAG_SEVERITY.items()}
_YOUNG = np.array([p.young_share for p in c.CATEGORIES])
_VIRAL = np.array([p.viral_share for p in c.CATEGORIES])
_BLOCK_BOOST = np.array([p.auto_block_boost for p in c.CATEGORIES])
_ACTION_P = np.array(c.ACTION_BY_SEVERITY)
_WORK_MEDIAN_HRS = np.array(c.WORK_MEDIAN_HRS)
_APPEAL = np.array(c.APPEAL_RATE)
_OVERTURN = np.array(c.OVERTURN_RATE)

BURST_SHARE = 0.75  # share of a campaign's flags posted in its bursts
DAY_NOISE_SHAPE = 1111.0  # Gamma shape of the day-to-day wobble of a category (CV 3%)
BURST_SD_S = 35 * 60  # spread of a burst around its centre, seconds
IN_REGION = 0.85  # share of a campaign's flags in its home region
POPULAR_TARGET_SHARE = 0.25  # organic flags about a popular account
VIRAL_RANKS = 200  # popular content items alive at once per category
MEAN_YOUNG_AGE = 8.0  # days, for accounts younger than 30 days
SECONDS_PER_CASE_UNIT = 36  # resolution times are multiples of 0.01 h, so hours print exactly


def _hour_cdf() -> np.ndarray:
    """Per region, cumulative share of flags by UTC hour: busiest in the local evening."""
    hours = np.arange(24) + 0.5
    cdfs = []
    for offset in c.REGION_UTC_OFFSET:
        local = (hours + offset) % 24
        weight = 1.0 + 0.8 * np.cos(2 * np.pi * (local - 20.0) / 24.0)
        cdfs.append(np.cumsum(weight / weight.sum())[:-1])
    return np.array(cdfs)


_HOUR_CDF = _hour_cdf()


def _nullable(values: np.ndarray, missing: np.ndarray, dtype: pl.DataType) -> pl.Series:
    series = pl.Series(values)
    if missing.any():
        series = series.scatter(np.flatnonzero(missing), None)
    return series.cast(dtype)


def _timestamps(seconds: np.ndarray, missing: np.ndarray | None = None) -> pl.Series:
    micros = seconds.astype(np.int64) * 1_000_000
    if missing is None:
        missing = np.zeros(len(seconds), dtype=bool)
    return _nullable(micros, missing, pl.Int64).cast(schema.UTC)


def day_draws(plan: Plan, day: int, ids: bool = True) -> dict[str, Any]:
    """Every random draw of day `day` (0-based), in the fixed order that makes the world.

    `ids=False` skips the id hashing (no random draws) for the queue's first pass, which only
    needs the human-review arrivals.
    """
    cfg = plan.config
    seed = cfg.seed
    rng = np.random.default_rng([seed, STREAM_DAY, day])

    # Volume: organic per category (with day-to-day noise and surges), then the campaigns.
    noise = rng.gamma(DAY_NOISE_SHAPE, 1 / DAY_NOISE_SHAPE, size=N_CAT)
    n_org = rng.poisson(plan.scale * plan.rates[day] * plan.surge_mult[day] * noise)
    active = plan.attacks_on(day)
    n_att = [int(rng.poisson(plan.scale * (a.lift - 1.0) * plan.rates[day, a.category])) for a in active]
    cat = np.concatenate(
        [np.repeat(np.arange(N_CAT), n_org)] + [np.full(k, a.category) for a, k in zip(active, n_att, strict=True)]
    ).astype(np.int64)
    atk = np.concatenate(
        [np.full(int(n_org.sum()), -1)] + [np.full(k, a.index) for a, k in zip(active, n_att, strict=True)]
    ).astype(np.int64)
    n = len(cat)
    coord = atk >= 0

    # Where and when.
    region = np.searchsorted(_REGION_CDF, rng.random(n), side="right")
    u_hour = rng.random(n)
    hour = np.empty(n, dtype=np.int64)
    for r in range(len(c.REGIONS)):
        m = region == r
        hour[m] = np.searchsorted(_HOUR_CDF[r], u_hour[m], side="right")
    secs = hour * 3600 + rng.integers(0, 3600, size=n)

    # What: severity, classifier score, action.
    sev_cdf = _SEVERITY_CDF[cat]
    for a in active:
        sev_cdf[atk == a.index] = _ATTACK_SEVERITY_CDF[a.severity]
    sev = (rng.random(n)[:, None] >= sev_cdf).sum(axis=1)
    frac = day / max(cfg.days - 1, 1)
    mean = c.ML_SCORE_START + (c.ML_SCORE_END - c.ML_SCORE_START) * frac
    mean += rng.normal(0.0, c.ML_SCORE_DAY_NOISE)
    k = c.ML_SCORE_CONCENTRATION
    score = np.round(rng.beta(mean * k, (1.0 - mean) * k, size=n), 4)
    probs = _ACTION_P[sev]
    block = np.minimum(probs[:, AUTO_BLOCK] * _BLOCK_BOOST[cat], 0.95)
    rest = probs[:, :AUTO_BLOCK] * ((1.0 - block) / (1.0 - probs[:, AUTO_BLOCK]))[:, None]
    action = (rng.random(n)[:, None] >= np.cumsum(rest, axis=1)).sum(axis=1)
    action[(action == AUTO_BLOCK) & (score < c.AUTO_BLOCK_MIN_SCORE)] = HUMAN_REVIEW

    # Who: accounts (young ones encode their creation day), content and targets.
    young = rng.random(n) < _YOUNG[cat]
    young_age = np.minimum(np.floor(rng.exponential(MEAN_YOUNG_AGE, size=n)), 29).astype(np.int64)
    young_k = rng.integers(0, plan.young_block, size=n)
    old_idx = np.floor(plan.n_old_accounts * rng.random(n) ** 2.5).astype(np.int64)
    account = np.where(young, YOUNG_BASE + (day - young_age + CREATED_OFFSET) * DAY_SHIFT + young_k, old_idx)
    created = np.where(young, day - young_age, 0)
    created[~young] = -old_account_age0(seed, old_idx[~young])

    content = rng.integers(0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True)
    viral = rng.random(n) < _VIRAL[cat]
    rank = np.floor(VIRAL_RANKS * rng.random(n) ** 5).astype(np.int64)
    period = (day + cat) // 3  # a popular item circulates for about three days
    if ids:
        content[viral] = mix64(seed, NS_CONTENT_VIRAL, cat[viral], period[viral], rank[viral])

    target = rng.integers(0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True)
    popular = rng.random(n) < POPULAR_TARGET_SHARE
    target_idx = np.floor(plan.n_popular_targets * rng.random(n) ** 3).astype(np.int64)
    if ids:
        target[popular] = mix64(seed, NS_TARGET, target_idx[popular])

    # Campaign traffic: own region, bursts, its accounts, templates and targets.
    for a in active:
        rows = np.flatnonzero(atk == a.index)
        m = len(rows)
        profile = c.CATEGORIES[a.category]
        home = rng.random(m) < IN_REGION
        region[rows[home]] = a.region
        n_bursts = int(rng.integers(1, 4))
        centres = np.searchsorted(_HOUR_CDF[a.region], rng.random(n_bursts), side="right") * 3600
        centres = centres + rng.integers(0, 3600, size=n_bursts)
        burst_t = centres[rng.integers(0, n_bursts, size=m)] + rng.normal(0.0, BURST_SD_S, size=m)
        in_burst = rng.random(m) < BURST_SHARE
        secs[rows[in_burst]] = np.clip(np.round(burst_t[in_burst]), 0, 86_399).astype(np.int64)
        who = rng.integers(0, a.num_accounts, size=m)
        account[rows] = a.account_numbers[who]
        created[rows] = a.account_created[who]
        template = rng.integers(0, a.n_templates, size=m)
        shared = rng.random(m) < profile.content_share
        if ids:
            content[rows[shared]] = mix64(seed, NS_CONTENT_ATTACK, a.index, template[shared])
        victim = rng.integers(0, a.n_targets, size=m)
        hit = rng.random(m) < profile.target_share
        if ids:
            target[rows[hit]] = mix64(seed, NS_TARGET_ATTACK, a.index, victim[hit])

    # Human review: the reviewer pick and the case's work come from these draws (the queue
    # simulation turns them into times); `wait` is no longer used but still drawn, so that the
    # appeal draws after it, and every other column, stay those of the earlier version.
    hr = action == HUMAN_REVIEW
    u_rev = rng.random(n)
    z_work = rng.standard_normal(n)
    rng.beta(1.5, 4.0, size=n)
    u_appeal = rng.random(n)
    u_overturn = rng.random(n)
    return {
        "n": n, "cat": cat, "atk": atk, "coord": coord, "region": region, "secs": secs, "sev": sev,
        "score": score, "action": action, "account": account, "created": created, "content": content,
        "target": target, "hr": hr, "u_rev": u_rev, "z_work": z_work, "u_appeal": u_appeal,
        "u_overturn": u_overturn,
    }  # fmt: skip


def case_work(sev: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Standard hours of work of each case: log-normal around its severity's median."""
    return _WORK_MEDIAN_HRS[sev] * np.exp(c.SERVICE_SIGMA * z)


def day_flags(plan: Plan, day: int, queue: DayQueue, draws: dict[str, Any] | None = None) -> pl.DataFrame:
    """All flags of day `day` (0-based) of the plan's world, sorted by created_at.

    `queue` holds the simulated start, end (epoch seconds, NaN if not reached) and reviewer of
    the day's human-review cases, in draw order. `draws`: the day's `day_draws` if already made.
    """
    cfg = plan.config
    seed = cfg.seed
    d = draws if draws is not None else day_draws(plan, day)
    n = d["n"]
    cat, atk, coord, region, secs, sev = d["cat"], d["atk"], d["coord"], d["region"], d["secs"], d["sev"]
    score, action, account, created = d["score"], d["action"], d["account"], d["created"]
    content, target, hr = d["content"], d["target"], d["hr"]

    created_s = plan.start_s + day * 86_400 + secs
    reviewer = np.full(n, -1, dtype=np.int64)
    start_s = np.full(n, np.nan)
    end_s = np.full(n, np.nan)
    reviewer[hr] = queue.reviewer
    start_s[hr] = queue.start_s
    end_s[hr] = queue.end_s
    unassigned = hr & ~(start_s < plan.end_s)
    open_ = hr & ~(end_s <= plan.end_s)
    # Resolution times are whole multiples of 36 s (0.01 h), so hours print exactly.
    units = np.maximum(1, np.round((np.nan_to_num(end_s) - created_s) / SECONDS_PER_CASE_UNIT)).astype(np.int64)
    resolved_s = created_s + SECONDS_PER_CASE_UNIT * units
    assigned_s = np.minimum(np.maximum(np.floor(np.nan_to_num(start_s)), created_s), resolved_s).astype(np.int64)

    # Appeals of decided cases; low-score blocks are overturned more often.
    decided = ~open_
    appealed = decided & (d["u_appeal"] < _APPEAL[action] * np.where(coord, 0.15, 1.0))
    overturn_p = _OVERTURN[action] * (1.0 + 3.0 * np.maximum(0.0, 0.85 - score))
    overturned = appealed & (d["u_overturn"] < overturn_p)

    order = np.argsort(secs, kind="stable")
    cat, sev, action, score, reviewer, hr, atk, coord = (
        x[order] for x in (cat, sev, action, score, reviewer, hr, atk, coord)
    )
    region, account, created, content, target = (x[order] for x in (region, account, created, content, target))
    created_s, resolved_s, assigned_s, units = (x[order] for x in (created_s, resolved_s, assigned_s, units))
    open_, unassigned, appealed, overturned = (x[order] for x in (open_, unassigned, appealed, overturned))

    date = cfg.start + dt.timedelta(days=day)
    no_reviewer = ~hr | unassigned
    reviewer_ids = pl.concat([plan.reviewers["reviewer_id"], pl.Series([None], dtype=pl.Categorical)])
    attack_ids = pl.Series([a.attack_id for a in plan.attacks] + [None], dtype=pl.String)
    frame = pl.DataFrame(
        {
            "flag_id": pl.select(
                pl.concat_str(pl.lit(f"F{date:%Y%m%d}-"), pl.int_range(n).cast(pl.String).str.zfill(6))
            ).to_series(),
            "date": pl.repeat(date, n, eager=True, dtype=pl.Date),
            "category": _CAT_NAMES.gather(cat),
            "severity": _SEVERITY.gather(sev),
            "action": _ACTION.gather(action),
            "ml_score": score,
            "reviewer_id": reviewer_ids.gather(np.where(no_reviewer, len(reviewer_ids) - 1, reviewer)),
            "resolution_hrs": _nullable(units / 100.0, ~hr | open_, pl.Float64),
            "coordinated_flag": coord,
            "attack_id": attack_ids.gather(np.where(coord, atk, len(attack_ids) - 1)),
            "created_at": _timestamps(created_s),
            "region": _REGION_NAMES.gather(region),
            "account_id": hex_ids(mix64(seed, NS_ACCOUNT, account), "u", 7),
            "account_age_days": (day - created).astype(np.int32),
            "content_hash": hex_ids(content, "", 8),
            "target_id": hex_ids(target, "t", 7),
            "assigned_at": _timestamps(assigned_s, ~hr | unassigned),
            "resolved_at": _timestamps(resolved_s, ~hr | open_),
            "appealed": appealed,
            "appeal_overturned": overturned,
        }
    )
    return frame
