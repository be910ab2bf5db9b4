"""`tspanel kpis` end to end: real files, real command, numbers worked out by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tspanel.cli import main

FLAGS = """flag_id,date,category,severity,action,ml_score,resolution_hrs,coordinated_flag,region
a,2026-03-02,spam,high,auto_block,0.9,30,true,AMER
b,2026-03-02,spam,critical,human_review,0.7,10,false,EMEA
c,2026-03-03,fraud,high,human_review,0.6,,false,EMEA
d,2026-03-14,fraud,low,human_review,0.4,40,false,AMER
e,2026-03-15,spam,low,auto_block,0.5,,false,AMER
f,2026-03-15,spam,low,allow,0.5,,false,EMEA
g,2026-03-15,fraud,medium,allow,0.8,,false,EMEA
"""
REVIEWERS = "reviewer_id,capacity_per_day\nr1,40\n"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "flags.csv").write_text(FLAGS)
    (tmp_path / "reviewers.csv").write_text(REVIEWERS)
    return tmp_path


def kpis(capsys, *args: str) -> dict:
    assert main(["kpis", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_the_defined_keys_and_values(data_dir: Path):
    out = subprocess.run(
        [sys.executable, "-m", "tspanel", "kpis", "--data", str(data_dir), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(out.stdout)
    assert got["total_flags"] == 7
    assert got["auto_blocked"] == 2
    assert got["human_review"] == 3
    assert got["sla_breach_rate_pct"] == 50.0  # a (30 h) breaches, b (10 h) does not, c has no time
    assert got["coordinated_pct"] == pytest.approx(100 / 7)
    assert got["ml_score_first_week"] == pytest.approx(0.7)  # (0.8 + 0.6) / 2
    assert got["ml_score_last_week"] == pytest.approx(0.5)  # (0.4 + 0.6) / 2


def test_filters_on_the_command_line(data_dir: Path, capsys):
    got = kpis(capsys, "--data", str(data_dir), "--category", "fraud")
    assert (got["total_flags"], got["human_review"], got["auto_blocked"]) == (3, 2, 0)
    got = kpis(capsys, "--data", str(data_dir), "--region", "EMEA", "--start", "2026-03-03")
    assert got["total_flags"] == 3  # c, f and g
    assert got["ml_score_first_week"] == pytest.approx(0.6)  # c alone in 03-03..03-09
    assert got["ml_score_last_week"] == pytest.approx(0.65)  # f and g on 03-15
    assert got["sla_breach_rate_pct"] is None
    assert got["coordinated_pct"] == 0.0


def test_table_output_is_readable(data_dir: Path, capsys):
    assert main(["kpis", "--data", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "Total flags" in out and "50.0%" in out and "2026-03-02 to 2026-03-15" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--category", "phishing"], "unknown value(s) 'phishing'; choose from fraud, spam"),
        (["--start", "2026-03-10", "--end", "2026-03-01"], "is after --end"),
    ],
)
def test_bad_filters_exit_2_with_a_message(data_dir: Path, capsys, args, message):
    assert main(["kpis", "--data", str(data_dir), *args]) == 2
    assert message in capsys.readouterr().err


def test_missing_dataset_exits_2_without_traceback(tmp_path: Path):
    out = subprocess.run(
        [sys.executable, "-m", "tspanel", "kpis", "--data", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "nope" in out.stderr


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        (
            "kpis",
            ["--start", "2027-01-01"],
            "--start 2027-01-01 is after the last day of the data: the data covers 2026-03-02 to 2026-03-15",
        ),
        (
            "kpis",
            ["--end", "2026-01-31", "--json"],
            "--end 2026-01-31 is before the first day of the data: the data covers 2026-03-02 to 2026-03-15",
        ),
        (
            "detect",
            ["--start", "2026-04-01", "--json"],
            "--start 2026-04-01 is after the last day of the data: the data covers 2026-03-02 to 2026-03-15",
        ),
        (
            "detect",
            ["--start", "2025-01-01", "--end", "2025-02-01"],
            "--end 2025-02-01 is before the first day of the data",
        ),
    ],
)
def test_a_range_outside_the_data_exits_2_never_negative_days(data_dir: Path, capsys, command, args, message):
    assert main([command, "--data", str(data_dir), *args]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""  # no "(-40 days)", no JSON with negative days


def test_a_range_overlapping_the_data_is_clipped_to_it(data_dir: Path, capsys):
    got = kpis(capsys, "--data", str(data_dir), "--start", "2026-03-14", "--end", "2027-01-01")
    assert (got["start"], got["end"], got["days"], got["total_flags"]) == ("2026-03-14", "2026-03-15", 2, 4)
