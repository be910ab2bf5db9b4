"""The "needs attention" rules: hand-made data worked out by hand, the built-in world, a quiet world."""

from __future__ import annotations

import datetime as dt

import pytest

from tspanel.models.attention import NOTHING, AttentionModel, view_query
from tspanel.models.filters import Filters
from tspanel.models.queue import QueueModel
from tspanel.source import dataset_from_frames, default_world
from tspanel.synth import WorldConfig, generate_world

from .helpers import day, make_dataset

UTC = dt.UTC
HR = {"action": "human_review"}


def at(n: int, hour: int) -> dt.datetime:
    return dt.datetime.combine(day(n), dt.time(hour), tzinfo=UTC)


def queue_world():
    """Five days of review cases; the open backlog at each midnight is worked out by hand below.

    c2 (high, day 1 08:00, never closed), c13 (low, day 2 06:00 -> day 3 06:00), c15 (critical,
    day 3 12:00 -> day 5 01:00), c14 (critical, day 4 23:00, open) and ten low cases of day 4 09:00.
    Open at the midnight starting day 2: c2 = 1; day 3: c2, c13 = 2; day 4: c2, c15 = 2;
    day 5 (the as-of time): c2, c15, c14 and the ten = 13.
    """
    rows = [
        {**HR, "date": day(0), "created_at": at(0, 10), "resolved_at": at(1, 12)},  # c1: closed before day 2
        {**HR, "date": day(1), "severity": "high", "created_at": at(1, 8), "resolved_at": None},  # c2
        {**HR, "date": day(2), "created_at": at(2, 6), "resolved_at": at(3, 6)},  # c13
        {**HR, "date": day(3), "severity": "critical", "created_at": at(3, 12), "resolved_at": at(5, 1)},  # c15
        {**HR, "date": day(4), "severity": "critical", "created_at": at(4, 23), "resolved_at": None},  # c14
        *({**HR, "date": day(4), "created_at": at(4, 9), "resolved_at": None} for _ in range(10)),
        {"action": "allow", "date": day(4), "severity": "critical", "created_at": at(0, 1), "resolved_at": None},
    ]
    return make_dataset(rows)


def by_kind(items):
    return {item.kind: item for item in items}


def test_sla_breaches_count_open_high_and_critical_cases_older_than_24_hours():
    items = by_kind(AttentionModel(queue_world()).items())
    sla = items["sla_breach"]
    # c2: high, open 88 h at day 5 00:00; c15: critical, open 36 h. c14 (1 h) is within the SLA;
    # the allowed critical flag is not a review case.
    assert sla.numbers["cases"] == 2
    assert sla.numbers["by_severity"] == {"high": 1, "critical": 1}
    assert sla.numbers["oldest_hours"] == 88.0
    assert sla.severity == "critical"
    assert sla.key == "sla_breach:critical"
    assert sla.view == "?tab=queue&severities=high,critical"
    assert sla.title == "2 open high/critical cases past the 24 h SLA (1 critical, 1 high); oldest 88.0 h"


def test_backlog_above_its_norm_compares_with_the_same_weekday_midnights():
    model = AttentionModel(queue_world(), backlog_norm_weeks=1)
    got = model.compute()["backlog"]
    assert got["open"] == 13
    assert got["open"] == QueueModel(queue_world()).backlog()["total"]  # the queue tab's number
    # One week back from day 5 00:00 is before the data's first full day: no norm, no item.
    assert got["norm"] is None
    assert "backlog" not in by_kind(model.items())


def test_backlog_item_with_a_norm_worked_out_by_hand():
    # Three earlier weeks: the same cases shifted back by 7, 14 and 21 days, minus the ten of day 4.
    base = [
        {**HR, "date": day(1), "severity": "high", "created_at": at(1, 8), "resolved_at": at(5, 2)},
        {**HR, "date": day(4), "created_at": at(4, 9), "resolved_at": None},
        {**HR, "date": day(4), "created_at": at(4, 9), "resolved_at": None},
    ]
    rows = []
    for week in (0, 1, 2, 3):
        for row in base:
            shift = dt.timedelta(days=7 * week)
            resolved = row["resolved_at"] + shift if row["resolved_at"] else at(5, 3) + shift
            rows.append(
                {**row, "date": row["date"] + shift, "created_at": row["created_at"] + shift, "resolved_at": resolved}
            )
    # The last week (week 3) keeps its two day-4 cases open and adds twelve more.
    for row in rows[-2:]:
        row["resolved_at"] = None
    rows += [{**HR, "date": day(25), "created_at": at(25, 9), "resolved_at": None} for _ in range(12)]
    dataset = make_dataset(rows)
    model = AttentionModel(dataset)
    got = model.compute()["backlog"]
    # At day 26 00:00: week 3's two day-4 cases + the twelve = 14 open (its high case closed at day 26 02:00,
    # so it is open too: 15). At days 19, 12 and 5 00:00 the same three cases of each week are open: 3.
    assert got["as_of"] == at(26, 0)
    assert got["open"] == 15
    assert got["norm"] == pytest.approx(3.0)
    assert got["norm_weeks"] == 3
    backlog = by_kind(model.items())["backlog"]
    assert backlog.numbers["open"] == 15
    assert backlog.numbers["above_pct"] == 400.0
    assert backlog.title == "Open backlog 15 cases, 400% above its norm of 3 (same weekday, 3 weeks)"
    assert backlog.view == "?tab=queue"
    # 15 is more than 1.5 x 3, but with backlog_min_excess=13 the 12 extra cases are not enough.
    assert "backlog" not in by_kind(AttentionModel(dataset, backlog_min_excess=13).items())


@pytest.fixture(scope="module")
def builtin():
    return default_world()


def test_builtin_world_lists_its_real_problems(builtin):
    items = AttentionModel(builtin).items()
    kinds = [item.kind for item in items]
    # Critical first: the last week's SLA breach rate and the last attack (ATK-005, spam, 2026-11-18),
    # then the classifier's warning, the backlog and spam's growth (that attack day is in this week's
    # count). The simulated queue serves critical and high cases first, so none is open past the SLA
    # at the end (no sla_breach item), but half of last week's were resolved late.
    assert kinds == ["sla_rate", "attack", "classifier", "backlog", "growth"]
    found = by_kind(items)
    rate = found["sla_rate"]
    assert rate.severity == "critical"
    assert (rate.numbers["breaches"], rate.numbers["eligible"], rate.numbers["breach_rate_pct"]) == (271, 537, 50.5)
    assert rate.view == "?tab=queue&start=2026-11-15&severities=high,critical"
    assert found["backlog"].numbers["open"] == 1182

    attack = found["attack"]
    assert attack.key == "attack:2026-11-18:spam"
    assert attack.numbers["score"] == 21.82
    assert attack.numbers["flags"] == 678
    assert attack.view == "?tab=attacks&start=2026-11-18&end=2026-11-18&categories=spam&method=multisignal&threshold=4"

    classifier = found["classifier"]
    assert (classifier.key, classifier.severity) == ("classifier:warning", "warning")
    assert classifier.numbers["rolling_mean"] == 0.7831
    assert classifier.view == "?tab=classifier"

    growth = found["growth"]
    assert growth.key == "growth:spam"
    assert (growth.numbers["previous_week"], growth.numbers["this_week"]) == (1170, 1678)
    assert growth.numbers["change_pct"] == 43.4
    assert growth.view == "?tab=volume&start=2026-11-08&end=2026-11-21&categories=spam"


def test_the_filters_scope_the_items_and_their_views(builtin):
    # Harassment only, the week of the brigading attack (ATK-004, 2026-11-08 to 2026-11-10).
    model = AttentionModel(builtin, Filters(end=dt.date(2026, 11, 12), categories=["harassment"]))
    attacks = [item for item in model.items() if item.kind == "attack"]
    assert [item.key for item in attacks] == [
        "attack:2026-11-10:harassment",
        "attack:2026-11-09:harassment",
        "attack:2026-11-08:harassment",
    ]
    assert attacks[0].view.startswith("?tab=attacks&start=2026-11-10&end=2026-11-10&categories=harassment&")
    queue = [item for item in model.items() if item.kind == "sla_breach"]
    assert all("categories=harassment" in item.view and "end=2026-11-12" in item.view for item in queue)


def test_an_attack_item_keeps_its_flag_count_under_a_severity_filter_without_recounting(builtin, monkeypatch):
    """The detector sees every severity, so an attack item's flag count does too; a severity toggle
    re-read ~1.5M rows for the same numbers at 10M flags, now it reads them from the shared cache."""
    from tspanel.models.attacks import AttacksModel

    AttentionModel(builtin).items()  # the unfiltered items: their counts are now in the shared cache
    reads: list[int] = []
    original = AttacksModel.detection_flags
    monkeypatch.setattr(AttacksModel, "detection_flags", lambda self: reads.append(1) or original(self))
    items = AttentionModel(builtin, Filters(severities=["low"])).items()
    attack = by_kind(items)["attack"]
    assert (attack.key, attack.numbers["flags"]) == ("attack:2026-11-18:spam", 678)  # as unfiltered
    assert reads == []  # no second pass over the flags for the same counts


def test_thresholds_are_parameters(builtin):
    model = AttentionModel(builtin, growth_pct=50.0, classifier_warning=False)
    kinds = {item.kind for item in model.items()}
    assert "growth" not in kinds  # spam's 43.4% is below 50%
    assert "classifier" not in kinds  # a warning is not an alert


@pytest.fixture(scope="module")
def quiet():
    """A synthetic world without attacks whose review queue has ample capacity (40 reviewers, twice
    the default roster, so every case is picked up and closed well within the SLA).

    Its classifier drifts like every synthetic world's; until the 7-day mean falls to the
    warning line (around day 46) it is healthy, so the days checked are days 7 to 45.
    """
    config = WorldConfig(n_attacks=0, reviewers=40)
    world = generate_world(config)
    return config, dataset_from_frames(world.flags, world.reviewers, world.attacks, name="quiet world")


def test_a_quiet_world_lists_nothing(quiet):
    config, dataset = quiet
    for n in range(7, 46):
        end = config.start + dt.timedelta(days=n)
        model = AttentionModel(dataset, Filters(end=end))
        assert model.items() == [], end
    assert model.report()["summary"] == NOTHING == "nothing needs attention"


def test_view_query_matches_the_dashboard_url_format():
    assert view_query("queue", {"start": dt.date(2026, 1, 2), "regions": ["EMEA", "APAC"]}) == (
        "?tab=queue&start=2026-01-02&regions=EMEA,APAC"
    )
    assert view_query("volume", {"categories": ["a,b", "c"]}) == "?tab=volume&categories=a%2Cb&categories=c"


def test_docs_state_the_default_thresholds():
    from pathlib import Path

    from tspanel.models.attention import DEFAULTS

    text = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")
    shown = {
        "sla_hours": f"{DEFAULTS['sla_hours']:g} h",
        "sla_rate_pct": f"{DEFAULTS['sla_rate_pct']:g}%",
        "growth_pct": f"{DEFAULTS['growth_pct']:g}%",
        "classifier_warning": str(DEFAULTS["classifier_warning"]).lower(),
    }
    for name, value in DEFAULTS.items():
        assert f"`{name}` = **{shown.get(name, f'{value:g}')}**" in text, name
