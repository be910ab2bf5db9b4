"""The built-in world's headline numbers, pinned as literals.

The UI and load tests take `tspanel kpis` as their oracle; that shares KpiModel with the
dashboard, so a bug there would pass both sides. These literals were read once from
`tspanel kpis --json` on the built-in world (seed 42) and must only change with the world.
SLA breach rate and backlog are left out on purpose: the review queue's simulation is
being reworked (issue #15); flags, actions, attacks and scores are not.
"""

from __future__ import annotations

import json

import pytest

from tspanel.cli import main


def test_the_built_in_worlds_headline_numbers(capsys) -> None:
    assert main(["kpis", "--json"]) == 0
    kpis = json.loads(capsys.readouterr().out)
    assert kpis["dataset"] == "built-in synthetic world (seed 42)"
    assert (kpis["start"], kpis["end"], kpis["days"]) == ("2026-08-24", "2026-11-21", 90)
    assert kpis["total_flags"] == 42_255
    assert kpis["auto_blocked"] == 6_133
    assert kpis["human_review"] == 13_053
    assert kpis["coordinated_pct"] == pytest.approx(100 * 4_881 / 42_255, abs=1e-9)  # 4,881 coordinated flags
    assert kpis["ml_score_first_week"] == pytest.approx(0.858085282517, abs=1e-9)
    assert kpis["ml_score_last_week"] == pytest.approx(0.783074597762, abs=1e-9)


def test_the_first_attack_in_the_built_in_world(capsys) -> None:
    """Spam on 2026-09-23..24, the days of ATK-001: most flags are coordinated."""
    assert main(["kpis", "--json", "--category", "spam", "--start", "2026-09-23", "--end", "2026-09-24"]) == 0
    kpis = json.loads(capsys.readouterr().out)
    assert (kpis["days"], kpis["total_flags"], kpis["auto_blocked"], kpis["human_review"]) == (2, 1_163, 263, 367)
    assert kpis["coordinated_pct"] == pytest.approx(100 * 796 / 1_163, abs=1e-9)
