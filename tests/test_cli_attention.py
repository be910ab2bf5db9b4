"""`tspanel kpis --attention [--json]`: the "needs attention" items headless."""

from __future__ import annotations

import json

from tspanel.cli import main

FLAGS = """flag_id,date,category,severity,action,ml_score,created_at,resolved_at
a,2026-03-02,spam,high,human_review,0.9,2026-03-02T08:00:00Z,
b,2026-03-03,spam,low,allow,0.9,2026-03-03T09:00:00Z,
c,2026-03-04,fraud,critical,human_review,0.9,2026-03-04T20:00:00Z,2026-03-04T22:00:00Z
"""


def test_json_lists_the_items_with_their_numbers_and_views(make_dataset, capsys):
    # Case a (high) has been open since 2026-03-02 08:00: 64 h at 2026-03-05 00:00.
    assert main(["kpis", "--data", str(make_dataset(flags=FLAGS)), "--attention", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["as_of"] == "2026-03-05T00:00:00+00:00"
    assert [item["kind"] for item in got["items"]] == ["sla_breach"]
    item = got["items"][0]
    assert item["numbers"]["cases"] == 1
    assert item["numbers"]["oldest_hours"] == 64.0
    assert item["view"] == "?tab=queue&severities=high"
    assert got["thresholds"]["sla_hours"] == 24.0
    assert got["summary"] == "1 item needs attention"


def test_text_says_nothing_needs_attention_when_that_is_true(make_dataset, capsys):
    quiet = FLAGS.replace("2026-03-02T08:00:00Z,", "2026-03-02T08:00:00Z,2026-03-02T09:00:00Z")
    assert main(["kpis", "--data", str(make_dataset(flags=quiet)), "--attention"]) == 0
    out = capsys.readouterr().out
    assert "nothing needs attention" in out
    assert "[" not in out.split(":", 2)[-1]  # no item lines


def test_filters_apply(make_dataset, capsys):
    # Only fraud: its one case was closed in 2 hours.
    assert main(["kpis", "--data", str(make_dataset(flags=FLAGS)), "--attention", "--category", "fraud", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["items"] == []


def test_builtin_world_text(capsys):
    assert main(["kpis", "--attention"]) == 0
    out = capsys.readouterr().out
    assert "items need attention" in out
    assert "[critical] Coordinated attack alert: spam on 2026-11-18 (score 21.8, 678 flags)" in out
    assert "view: ?tab=classifier" in out


def test_the_sla_rate_item_names_the_days_it_covers(capsys):
    # The cards' 7-day window is cut to a shorter selection: the item said "last 7 days" for one day.
    assert main(["kpis", "--attention", "--start", "2026-11-18", "--end", "2026-11-18"]) == 0
    assert "SLA breach rate 77.6% on 2026-11-18 (104 of 134 high/critical cases" in capsys.readouterr().out
    assert main(["kpis", "--attention", "--start", "2026-11-17", "--end", "2026-11-19"]) == 0
    assert "SLA breach rate 62.3% over 2026-11-17 → 2026-11-19 (167 of 268 high/critical" in capsys.readouterr().out
    assert main(["kpis", "--attention"]) == 0
    assert "SLA breach rate 50.5% over the last 7 days (271 of 537" in capsys.readouterr().out


def test_rules_change_thresholds(make_dataset, capsys):
    data = str(make_dataset(flags=FLAGS))
    # Case a is 64 h old: past a 48 h SLA, not past a 72 h one.
    assert main(["kpis", "--data", data, "--attention", "--json", "--rule", "sla_hours=48"]) == 0
    assert [i["kind"] for i in json.loads(capsys.readouterr().out)["items"]] == ["sla_breach"]
    assert main(["kpis", "--data", data, "--attention", "--json", "--rule", "sla_hours=72"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["items"] == [] and got["thresholds"]["sla_hours"] == 72.0


def test_a_bad_rule_exits_2(make_dataset, capsys):
    data = str(make_dataset(flags=FLAGS))
    assert main(["kpis", "--data", data, "--attention", "--rule", "sla_min_cases=two"]) == 2
    assert "sla_min_cases takes a whole number" in capsys.readouterr().err
    assert main(["kpis", "--data", data, "--attention", "--rule", "speed=3"]) == 2
    assert "use NAME=VALUE with NAME one of sla_hours," in capsys.readouterr().err
