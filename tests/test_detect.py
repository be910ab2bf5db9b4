"""Detectors on small hand-made flag tables: what each must and must not call an attack."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np
import polars as pl
import pytest

from tspanel.detect.registry import DETECTOR_COLUMNS, METHODS, detector_input, run_method
from tspanel.detect.signals import available_signals
from tspanel.errors import TspanelError
from tspanel.schema import GROUND_TRUTH_COLUMNS

MONDAY = dt.date(2026, 1, 5)
DAYS = 42
REGIONS = ("AMER", "EMEA", "APAC")
REGION_SHARE = (0.45, 0.35, 0.20)


@dataclass(frozen=True)
class Campaign:
    """Extra flags on one day in one category, from a few accounts, templates and targets."""

    day: int
    category: str
    flags: int
    old_accounts: bool = False
    accounts: int = 40
    templates: int = 3
    targets: int = 2
    region: str = "EMEA"
    burst_hour: int = 14


@dataclass(frozen=True)
class Surge:
    """More ordinary traffic on one day in one category: varied content, old accounts, every region."""

    day: int
    category: str
    lift: float


def make_flags(
    campaigns: tuple[Campaign, ...] = (),
    surges: tuple[Surge, ...] = (),
    *,
    base: dict[str, float] | None = None,
    seed: int = 3,
) -> pl.DataFrame:
    """Six weeks of organic flags (weekend lift 25%, 10% young accounts, a few viral items and
    popular targets, a daily cycle) plus the given surges and campaigns, with ground truth."""
    base = base or {"spam": 200.0, "harassment": 120.0, "fraud": 25.0}
    rng = np.random.default_rng(seed)
    parts = []
    for day in range(DAYS):
        date = MONDAY + dt.timedelta(days=day)
        weekend = 1.25 if date.weekday() >= 4 else 1.0
        for category, rate in base.items():
            lift = np.prod([s.lift for s in surges if s.day == day and s.category == category])
            n = int(rng.poisson(rate * weekend * lift))
            young = rng.random(n) < 0.10
            viral = rng.random(n) < 0.08
            popular = rng.random(n) < 0.20
            hour = np.clip(np.round(rng.normal(15, 5, n)), 0, 23).astype(int)
            parts.append(
                pl.DataFrame(
                    {
                        "date": [date] * n,
                        "category": [category] * n,
                        "region": rng.choice(REGIONS, n, p=REGION_SHARE),
                        "created_at": [
                            dt.datetime(date.year, date.month, date.day, int(h), int(m), tzinfo=dt.UTC)
                            for h, m in zip(hour, rng.integers(0, 60, n), strict=True)
                        ],
                        "account_id": [f"u{a}" for a in rng.integers(0, 200_000, n)],
                        "account_age_days": np.where(young, rng.integers(0, 30, n), rng.integers(30, 3000, n)),
                        "content_hash": [
                            f"v{v}" if is_v else f"c{c}"
                            for v, is_v, c in zip(
                                rng.integers(0, 300, n), viral, rng.integers(0, 2**40, n), strict=True
                            )
                        ],
                        "target_id": [
                            f"p{p}" if is_p else f"t{t}"
                            for p, is_p, t in zip(
                                rng.integers(0, 2000, n), popular, rng.integers(0, 2**40, n), strict=True
                            )
                        ],
                        "coordinated_flag": [False] * n,
                        "attack_id": [None] * n,
                    },
                    schema_overrides={"account_age_days": pl.Int32, "attack_id": pl.String},
                )
            )
        for i, c in enumerate(x for x in campaigns if x.day == day):
            n = c.flags
            minute = np.clip(np.round(rng.normal(c.burst_hour * 60, 30, n)), 0, 1439).astype(int)
            parts.append(
                pl.DataFrame(
                    {
                        "date": [date] * n,
                        "category": [c.category] * n,
                        "region": [c.region] * n,
                        "created_at": [
                            dt.datetime(date.year, date.month, date.day, int(m) // 60, int(m) % 60, tzinfo=dt.UTC)
                            for m in minute
                        ],
                        "account_id": [f"x{i}-{a}" for a in rng.integers(0, c.accounts, n)],
                        "account_age_days": rng.integers(400, 3000, n) if c.old_accounts else rng.integers(0, 10, n),
                        "content_hash": [f"tpl{t}" for t in rng.integers(0, c.templates, n)],
                        "target_id": [f"victim{t}" for t in rng.integers(0, c.targets, n)],
                        "coordinated_flag": [True] * n,
                        "attack_id": [f"A{day}"] * n,
                    },
                    schema_overrides={"account_age_days": pl.Int32},
                )
            )
    return pl.concat(parts)


def alerts_of(flags: pl.DataFrame, method: str = "multisignal", columns: list[str] | None = None) -> list[tuple]:
    frame = flags if columns is None else flags.select(columns)
    return run_method(method, frame).select("date", "category").rows()


def day(i: int) -> dt.date:
    return MONDAY + dt.timedelta(days=i)


@pytest.fixture(scope="module")
def quiet() -> pl.DataFrame:
    return make_flags()


@pytest.fixture(scope="module")
def surge_and_campaign() -> pl.DataFrame:
    # Day 30: spam doubles organically (news). Day 33: 150 harassment flags from 40 old,
    # compromised accounts posting 3 templates at 2 targets in one afternoon from EMEA.
    return make_flags(
        campaigns=(Campaign(33, "harassment", 150, old_accounts=True),),
        surges=(Surge(30, "spam", 2.0),),
    )


def test_no_alerts_on_ordinary_traffic(quiet: pl.DataFrame) -> None:
    assert alerts_of(quiet, "multisignal") == []
    assert alerts_of(quiet, "volume") == []


def test_organic_surge_is_volume_but_not_an_attack(surge_and_campaign: pl.DataFrame) -> None:
    assert (day(30), "spam") in alerts_of(surge_and_campaign, "volume")
    assert (day(30), "spam") not in alerts_of(surge_and_campaign, "multisignal")


def test_old_account_campaign_with_shared_content_is_an_attack(surge_and_campaign: pl.DataFrame) -> None:
    assert alerts_of(surge_and_campaign, "multisignal") == [(day(33), "harassment")]
    alert = run_method("multisignal", surge_and_campaign).row(0, named=True)
    signals = json.loads(alert["signals"])
    for fired in (
        "volume",
        "shared_content",
        "shared_targets",
        "repeat_accounts",
        "burstiness",
        "regional_concentration",
    ):
        assert signals[fired] >= 2.0, fired
    # Old accounts: the young-account share did not move, and the alert does not claim it did.
    assert "young_accounts" not in signals
    # The score is the coordination evidence: the strongest secondary signal.
    assert alert["score"] == pytest.approx(max(v for k, v in signals.items() if not k.startswith("volume")), abs=0.01)


def test_young_account_campaign_fires_the_young_account_signal() -> None:
    flags = make_flags(campaigns=(Campaign(35, "spam", 200, old_accounts=False, region="APAC"),))
    alerts = run_method("multisignal", flags)
    assert alerts.select("date", "category").rows() == [(day(35), "spam")]
    signals = json.loads(alerts["signals"][0])
    assert signals["young_accounts"] > 4
    assert signals["volume_APAC"] > signals["volume"]  # one region's excess is the clearer one


def test_ground_truth_columns_change_nothing(surge_and_campaign: pl.DataFrame) -> None:
    without = surge_and_campaign.drop(*GROUND_TRUTH_COLUMNS)
    # Scramble the answer key: if a detector read it, its alerts would move.
    scrambled = surge_and_campaign.with_columns(
        pl.col("coordinated_flag").shuffle(seed=1), pl.col("attack_id").shuffle(seed=2)
    )
    for method in METHODS:
        expected = run_method(method, without)
        assert run_method(method, surge_and_campaign).equals(expected), method
        assert run_method(method, scrambled).equals(expected), method


def test_detectors_only_ever_see_the_allowed_columns(surge_and_campaign: pl.DataFrame) -> None:
    lf, columns = detector_input(
        surge_and_campaign.with_columns(pl.lit(1).alias("severity")), [*surge_and_campaign.columns, "severity"]
    )
    assert set(lf.collect_schema().names()) == set(columns) <= set(DETECTOR_COLUMNS)
    assert not set(columns) & set(GROUND_TRUTH_COLUMNS)


def test_legacy_layout_runs_on_volume_alone() -> None:
    flags = make_flags(campaigns=(Campaign(33, "harassment", 250),))
    legacy = ["date", "category", "coordinated_flag", "attack_id"]
    assert available_signals(frozenset(legacy)) == []
    assert alerts_of(flags, "multisignal", legacy) == [(day(33), "harassment")]
    assert alerts_of(flags, "multisignal", legacy) == alerts_of(flags, "volume", legacy)
    signals = json.loads(run_method("multisignal", flags.select(legacy))["signals"][0])
    assert set(signals) == {"volume"}


def test_every_method_returns_the_alert_shape(surge_and_campaign: pl.DataFrame) -> None:
    for method in METHODS:
        alerts = run_method(method, surge_and_campaign)
        assert alerts.schema == pl.Schema(
            {"date": pl.Date, "category": pl.String, "score": pl.Float64, "signals": pl.String}
        )
        assert all(isinstance(json.loads(s), dict) for s in alerts["signals"])


def test_threshold_trades_alerts(surge_and_campaign: pl.DataFrame) -> None:
    default = run_method("volume", surge_and_campaign).height
    assert run_method("volume", surge_and_campaign, threshold=50.0).height == 0
    assert run_method("volume", surge_and_campaign, threshold=2.0).height >= default


def test_unknown_method_and_missing_columns_are_clear_errors(quiet: pl.DataFrame) -> None:
    with pytest.raises(TspanelError, match="unknown detection method 'best'; choose one of multisignal"):
        run_method("best", quiet)
    with pytest.raises(TspanelError, match="needs the flag columns category"):
        run_method("volume", quiet.select("date"))
