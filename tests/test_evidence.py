"""Evidence of coordination on the built-in world, and `tspanel flags` / `tspanel detect --explain` on it.

The ground truth below is the generator's (tspanel.synth, seed 42; the attacks table and each
campaign's template content and targets), written out here, not recomputed by the code under
test. None of it depends on the review-queue timing columns.
"""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest

from tspanel import cli
from tspanel.models.evidence import explain
from tspanel.source import default_world

# attack, first day, days, category, its most shared template content hash, its main target
ATTACKS = [
    ("ATK-001", dt.date(2026, 9, 23), 2, "spam", "d65a9dd25c2f8177", "tcad025815db57d"),
    ("ATK-002", dt.date(2026, 10, 11), 2, "spam", "3bf34a9848040789", "tcdf2282f2f4213"),
    ("ATK-003", dt.date(2026, 10, 27), 1, "spam", "17a97a975da3cbba", "tbe1a2e04dd37ac"),
    ("ATK-004", dt.date(2026, 11, 8), 3, "harassment", "692c254406ac9be0", "t84cb2bfb4ed012"),
    ("ATK-005", dt.date(2026, 11, 18), 1, "spam", "498c124474427bf1", "t09f428b66a7d4a"),
]
ALERT_DAY, ALERT_CATEGORY, ALERT_FLAGS = "2026-11-18", "spam", 678  # ATK-005's day: spam flags that day


@pytest.fixture(scope="module")
def world():
    return default_world()


@pytest.mark.parametrize(("attack", "start", "days", "category", "content", "target"), ATTACKS)
def test_each_known_attack_shows_its_shared_content(world, attack, start, days, category, content, target):
    evidence = explain(world, start, start + dt.timedelta(days=days - 1), category)
    shared = evidence.item("content")
    assert shared is not None and shared.suspicious, shared
    assert content in shared.statement  # names the campaign's template
    assert shared.rows[0]["content_hash"] == content
    targets = evidence.item("targets")
    assert targets is not None and targets.rows[0]["target_id"] == target
    assert shared.value >= 2 * shared.normal  # the number that makes it suspicious, against the normal
    assert {"content", "targets", "account_age", "regions"} <= {i.kind for i in evidence.suspicious}


def test_an_attack_names_its_accounts(world):
    """ATK-005 (77 accounts, 3-8 flags each): many accounts file far more flags than anyone usually does."""
    accounts = explain(world, dt.date(2026, 11, 18), dt.date(2026, 11, 18), "spam").item("accounts")
    assert accounts is not None and accounts.suspicious
    assert accounts.value >= 20  # accounts above the usual daily maximum
    assert accounts.rows[0]["account_id"] in accounts.statement


@pytest.mark.parametrize(
    ("day", "category"),
    [(dt.date(2026, 11, 12), "spam"), (dt.date(2026, 10, 20), "harassment"), (dt.date(2026, 11, 1), "hate_speech")],
)
def test_an_ordinary_day_shows_nothing(world, day, category):
    evidence = explain(world, day, day, category)
    assert evidence.flags > 0
    assert evidence.suspicious == (), [i.statement for i in evidence.suspicious]
    assert len(evidence.items) == 6  # every item is still shown, with its numbers


def test_too_little_history_is_said_not_guessed(world):
    evidence = explain(world, dt.date(2026, 8, 25), dt.date(2026, 8, 25), "spam")  # day 2 of the data
    assert evidence.suspicious == ()
    assert all("too little history" in i.statement for i in evidence.items)


def test_flags_json_counts_the_alert_day(capsys):
    code = cli.main(
        ["flags", "--start", ALERT_DAY, "--end", ALERT_DAY, "--category", ALERT_CATEGORY, "--format", "json"]
    )
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["count"] == ALERT_FLAGS
    assert len(payload["rows"]) == 100 and payload["truncated"] is True
    assert {r["category"] for r in payload["rows"]} == {"spam"}


def test_flags_count_agrees_with_the_kpis_total(capsys):
    filters = ["--start", ALERT_DAY, "--end", ALERT_DAY, "--category", ALERT_CATEGORY]
    assert cli.main(["kpis", *filters, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_flags"] == ALERT_FLAGS
    assert cli.main(["flags", *filters, "--severity", "critical", "--format", "json", "--limit", "0"]) == 0
    critical = json.loads(capsys.readouterr().out)
    assert critical["rows"] == [] and critical["count"] == 49  # of 678: 220 low, 277 medium, 132 high, 49 critical


def test_flags_csv_streams_the_whole_selection(tmp_path, capsys):
    out = tmp_path / "flags.csv"
    args = ["flags", "--start", ALERT_DAY, "--end", ALERT_DAY, "--category", ALERT_CATEGORY, "--sort", "ml_score"]
    assert cli.main([*args, "--desc", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == ALERT_FLAGS
    scores = [float(r["ml_score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert f"wrote {ALERT_FLAGS} flags" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["flags", "--sort", "nope"], "cannot sort by 'nope'"),
        (["flags", "--category", "spa"], "unknown value(s) 'spa'"),
        (["flags", "--format", "parquet"], "give --out"),
        (["flags", "--limit", "-1"], "--limit must be"),
        (["flags", "--search", "ab"], "too short"),
        (["detect", "--explain", "2026-13-01", "spam"], "is not a date"),
        (["detect", "--explain", "2026-11-18", "spa"], "unknown category 'spa'"),
        (["detect", "--case", "x"], "--case needs --explain"),
    ],
)
def test_bad_input_exits_2_with_a_message(argv, message, capsys):
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_explain_json_and_case_export(tmp_path, capsys):
    out_dir = tmp_path / "case"
    argv = ["detect", "--explain", ALERT_DAY, ALERT_CATEGORY, "--json", "--case", str(out_dir)]
    assert cli.main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["flags"] == ALERT_FLAGS
    assert [a["date"] for a in printed["alerts"]] == [ALERT_DAY]  # the detector's alert for that day
    assert "498c124474427bf1" in next(i["statement"] for i in printed["items"] if i["kind"] == "content")
    case = json.loads((out_dir / "case-2026-11-18-spam.json").read_text(encoding="utf-8"))
    assert case["flag_count"] == ALERT_FLAGS and len(case["flag_ids"]) == ALERT_FLAGS
    assert case["alerts"][0]["category"] == "spam"
    assert "content" in case["evidence"]["suspicious"]
    with (out_dir / "case-2026-11-18-spam-flags.csv").open(encoding="utf-8") as fh:
        ids = [r["flag_id"] for r in csv.DictReader(fh)]
    assert ids == case["flag_ids"]


def test_explain_text_marks_an_ordinary_day_as_such(capsys):
    assert cli.main(["detect", "--explain", "2026-11-12", "spam"]) == 0
    out = capsys.readouterr().out
    assert "no detector alert on these days" in out
    assert "Nothing out of the ordinary." in out


def test_flags_to_a_pipe_that_closes_early_ends_quietly():
    """`tspanel flags | head -1`: the reader leaves after a line; no traceback, exit 0."""
    import subprocess
    import sys

    code = "import sys, tspanel.cli as c; sys.exit(c.main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "flags", "--category", "spam"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    header = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert header.startswith(b"flag_id,date,")
    assert "Traceback" not in err


def test_an_empty_selection_has_no_items(world):
    evidence = explain(world, dt.date(2026, 11, 18), dt.date(2026, 11, 18), "spam", regions=["nowhere"])
    assert (evidence.flags, evidence.items) == (0, ())


def test_without_evidence_columns_the_explanation_says_so_not_that_there_are_no_flags(capsys):
    """The legacy layout has no account, content, target, time or region column: 2 spam flags on
    2024-01-10 and 5 days with spam flags among the 28 before (the data starts 2024-01-01)."""
    from pathlib import Path

    from tspanel.source import load_dataset
    from tspanel.ui.detection import evidence_html

    legacy = Path(__file__).resolve().parents[1] / "data" / "legacy_sample"
    assert cli.main(["detect", "--data", str(legacy), "--explain", "2024-01-10", "spam"]) == 0
    out = capsys.readouterr().out
    assert "spam, 2024-01-10: 2 flags" in out
    assert "Evidence against the category's previous 28 days (5 with flags):" in out
    assert "this dataset has none of the columns the evidence reads (account_id," in out
    assert "no flags in this selection" not in out  # what it said before, with 2 flags shown above
    evidence = explain(load_dataset(legacy), dt.date(2024, 1, 10), dt.date(2024, 1, 10), "spam")
    html = evidence_html(evidence)
    assert "2 flags, against the category&#x27;s previous 28 days (5 with flags). this dataset has none" in html


def test_the_first_day_is_compared_with_no_days_and_says_so():
    evidence = explain(default_world(), dt.date(2026, 8, 24), dt.date(2026, 8, 24), "spam")
    assert evidence.flags > 0 and evidence.why_empty is None  # the world's first day: flags and items
    assert evidence.baseline == "the category's previous 28 days (0 with flags)"


def _hand_made(rows: list[tuple], columns: list[str]):
    import polars as pl

    from tspanel.source import dataset_from_frames

    flags = pl.DataFrame(rows, schema=["flag_id", "date", *columns], orient="row").with_columns(
        pl.lit("spam").alias("category"),
        pl.lit("low").alias("severity"),
        pl.lit("allow").alias("action"),
        pl.lit(0.5).alias("ml_score"),
    )
    return dataset_from_frames(flags, pl.DataFrame({"reviewer_id": ["r1"], "capacity_per_day": [10.0]}), name="hm")


def test_flags_without_a_region_do_not_make_a_regional_concentration():
    # 15 identical days: 40 AMER, 40 EMEA and 80 flags without a region. The last day is its own
    # baseline: half of the located flags from AMER, as always. Before, the baseline's shares were
    # of all flags (25%) and the day's of located ones (50%): "robust z 5.2", suspicious.
    d0 = dt.date(2026, 3, 2)
    rows = [
        (f"f{d}_{i}", d0 + dt.timedelta(days=d), "AMER" if i < 40 else "EMEA" if i < 80 else None)
        for d in range(15)
        for i in range(160)
    ]
    last = d0 + dt.timedelta(days=14)
    item = explain(_hand_made(rows, ["region"]), last, last, "spam").item("regions")
    assert not item.suspicious
    assert item.statement == "50% of flags from AMER; usually 50% (robust z 0.0)"


def test_a_flag_without_created_at_leaves_the_hour_profile_to_the_others():
    # 10 days of 5 flags at 10:00-14:00 UTC; one baseline flag has no created_at (the contract
    # allows an empty cell): it raised a TypeError (int(None)) for the whole explanation.
    d0 = dt.date(2026, 3, 2)
    rows = [
        (
            f"f{d}_{i}",
            d0 + dt.timedelta(days=d),
            dt.datetime.combine(d0 + dt.timedelta(days=d), dt.time(10 + i), dt.UTC),
        )
        for d in range(10)
        for i in range(5)
    ]
    rows[3] = (rows[3][0], rows[3][1], None)
    last = d0 + dt.timedelta(days=9)
    evidence = explain(_hand_made(rows, ["created_at"]), last, last, "spam")
    assert evidence.item("hours").statement.startswith("20% of 2026-03-11's flags in its busiest hour (10:00 UTC)")
