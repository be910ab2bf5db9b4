"""The contract bounds dates (issue #18, item 2): sentinel dates are refused by name, long spans too.

A single row dated 9999-12-31 or 0001-01-01 used to pass validation ("2,912,208 days") and
then blank every page (OverflowError), crash `kpis` and `report` and hang `detect`.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tspanel.cli import main
from tspanel.errors import DataError
from tspanel.models.dashboard import Dashboard
from tspanel.models.filters import Filters
from tspanel.source import dataset_from_frames, load_dataset

HEADER = "flag_id,date,category,severity,action,ml_score,created_at,resolved_at,reviewer_id,region"
REVIEWERS = "reviewer_id,capacity_per_day\nR1,40\n"


def write(directory: Path, *rows: str, attacks: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "flags.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    (directory / "reviewers.csv").write_text(REVIEWERS)
    if attacks is not None:
        (directory / "attacks.csv").write_text(attacks)
    return directory


@pytest.fixture
def sentinel(tmp_path: Path) -> Path:
    return write(
        tmp_path / "sentinel",
        "f1,2026-01-01,spam,low,allow,0.5,,,,EMEA",
        "f2,2026-01-02,fraud,high,human_review,0.9,2026-01-02T10:00:00Z,9999-12-31T00:00:00Z,R1,AMER",
        "f3,9999-12-31,spam,low,allow,0.5,,,,EMEA",
        "f4,2026-01-03,spam,low,allow,0.5,,,,EMEA",
        "f5,0001-01-01,spam,low,allow,0.5,,,,EMEA",
    )


DATE_PROBLEM = (
    "flags.csv: column 'date': 2 rows have a date outside 1970-01-01..2100-12-31, the plausible range "
    "(first: row 3 ('9999-12-31'), row 5 ('0001-01-01')). Fix or remove these rows"
)
RESOLVED_PROBLEM = (
    "flags.csv: column 'resolved_at': 1 row has a date outside 1970-01-01..2100-12-31, the plausible range "
    "(first: row 2 ('9999-12-31T00:00:00Z'))"
)


@pytest.mark.parametrize(
    "command",
    [
        ["validate", "{data}"],
        ["kpis", "--data", "{data}"],
        ["kpis", "--data", "{data}", "--json"],
        ["report", "--data", "{data}", "--offline"],
        ["detect", "--data", "{data}"],
        ["serve", "--data", "{data}", "--no-show", "--port", "0"],
    ],
)
def test_sentinel_dates_are_refused_by_every_command_naming_the_rows(sentinel: Path, capsys, command) -> None:
    assert main([part.format(data=sentinel) for part in command]) == 2
    captured = capsys.readouterr()
    assert DATE_PROBLEM in captured.err
    assert RESOLVED_PROBLEM in captured.err
    assert "TSPANEL_DATE_RANGE=FIRST..LAST" in captured.err
    assert captured.out == ""


def test_the_refusal_is_a_message_not_a_traceback(sentinel: Path) -> None:
    command = [sys.executable, "-m", "tspanel", "detect", "--data", str(sentinel)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and DATE_PROBLEM in out.stderr


def test_typed_parquet_and_in_memory_dates_are_bounded_too(tmp_path: Path) -> None:
    flags = pl.DataFrame(
        {
            "flag_id": ["a", "b"],
            "date": [dt.date(2026, 1, 1), dt.date(9999, 12, 31)],
            "category": ["spam", "spam"],
            "severity": ["low", "low"],
            "action": ["allow", "allow"],
            "ml_score": [0.5, 0.5],
        }
    )
    reviewers = pl.DataFrame({"reviewer_id": ["R1"], "capacity_per_day": [40.0]})
    with pytest.raises(DataError, match=r"'date': 1 row has a date outside .* \(first: row 2 \('9999-12-31'\)\)"):
        dataset_from_frames(flags, reviewers, name="mem")
    flags.write_parquet(tmp_path / "flags.parquet")
    reviewers.write_parquet(tmp_path / "reviewers.parquet")
    with pytest.raises(DataError, match=r"flags.parquet: column 'date': 1 row has a date outside 1970-01-01"):
        load_dataset(tmp_path)


def test_an_attack_lasting_longer_than_the_calendar_cannot_overflow(tmp_path: Path) -> None:
    attacks = "attack_id,start_date,category,duration_days\nA1,2026-01-01,spam,2147483647\nA2,2026-01-01,spam,2\n"
    directory = write(tmp_path / "d", "f1,2026-01-01,spam,low,allow,0.5,,,,EMEA", attacks=attacks)
    with pytest.raises(DataError) as info:
        load_dataset(directory)
    assert "attacks.csv: column 'duration_days': 1 row has a value above 47,847 days" in str(info.value)
    attacks = "attack_id,start_date,category,end_date\nA1,2026-01-01,spam,9999-12-31\n"
    (directory / "attacks.csv").write_text(attacks)
    with pytest.raises(DataError, match=r"column 'end_date': 1 row has a date outside .*row 1 \('9999-12-31'\)"):
        load_dataset(directory)


def test_the_range_is_configurable_within_what_the_charts_can_show(tmp_path: Path, monkeypatch) -> None:
    rows = ("f1,1965-06-01,spam,low,allow,0.5,,,,EMEA", "f2,1965-06-03,spam,low,allow,0.5,,,,EMEA")
    directory = write(tmp_path / "old", *rows)
    with pytest.raises(DataError, match=r"row 1 \('1965-06-01'\)"):
        load_dataset(directory)
    monkeypatch.setenv("TSPANEL_DATE_RANGE", "1960-01-01..2030-12-31")
    dataset = load_dataset(directory)
    assert (dataset.first_day, dataset.last_day) == (dt.date(1965, 6, 1), dt.date(1965, 6, 3))
    monkeypatch.setenv("TSPANEL_DATE_RANGE", "0001-01-01..9999-12-31")
    with pytest.raises(DataError, match=r"reaches beyond 1678-01-01..2261-12-31, the days the charts can show"):
        load_dataset(directory)
    monkeypatch.setenv("TSPANEL_DATE_RANGE", "1965")
    with pytest.raises(DataError, match=r"TSPANEL_DATE_RANGE='1965' is not a date range; give FIRST..LAST"):
        load_dataset(directory)


def test_date_arithmetic_at_the_edges_of_the_widest_range(tmp_path: Path, monkeypatch) -> None:
    """The KPIs compare with the period before; at 1678-01-01 that period is still a date."""
    monkeypatch.setenv("TSPANEL_DATE_RANGE", "1678-01-01..2261-12-31")
    rows = [f"f{i},1678-01-{i:02d},spam,low,allow,0.5,,,,EMEA" for i in range(1, 11)]
    kpis = Dashboard(load_dataset(write(tmp_path / "edge", *rows)), use_cache=False).refresh()["kpis"]
    assert kpis["current"]["total_flags"] == 10
    assert kpis["current"]["days"] == 10


# --------------------------------------------------------------------------- the longest span

FIRST, LAST = dt.date(2016, 1, 1), dt.date(2026, 1, 7)  # 3,660 days: the longest span accepted by default


@pytest.fixture(scope="module")
def longest(tmp_path_factory) -> Path:
    rows = [
        f"f{i},{day},{cat},{sev},{act},0.{5 + i % 4},{day}T10:00:00Z,{day}T20:00:00Z,R1,{region}"
        for i, (day, cat, sev, act, region) in enumerate(
            [
                (FIRST, "spam", "high", "human_review", "EMEA"),
                (dt.date(2020, 5, 5), "fraud", "critical", "auto_block", "AMER"),
                (dt.date(2025, 12, 31), "spam", "low", "allow", "EMEA"),
                (LAST, "spam", "high", "human_review", "AMER"),
            ]
        )
    ]
    attacks = f"attack_id,start_date,category,end_date\nA1,{FIRST},spam,{LAST}\n"
    return write(tmp_path_factory.mktemp("longest"), *rows, attacks=attacks)


def test_the_longest_accepted_span_loads_and_one_day_more_is_refused(longest: Path, tmp_path: Path) -> None:
    assert (LAST - FIRST).days + 1 == 3660
    dataset = load_dataset(longest)
    assert (dataset.first_day, dataset.last_day, dataset.n_flags) == (FIRST, LAST, 4)
    text = (longest / "flags.csv").read_text().replace(str(LAST), str(LAST + dt.timedelta(days=1)))
    (tmp_path / "flags.csv").write_text(text)
    (tmp_path / "reviewers.csv").write_text(REVIEWERS)
    with pytest.raises(DataError) as info:
        load_dataset(tmp_path)
    assert str(info.value) == (
        "flags.csv: the flags span 3,661 days, from 2016-01-01 (row 1) to 2026-01-08 (row 4); daily charts and "
        "detection are unusable beyond 3,660 days. Load a shorter period, fix the dates of these rows, or set "
        "TSPANEL_MAX_SPAN_DAYS to a larger number of days to accept it."
    )


def test_no_command_hangs_on_the_longest_accepted_span(longest: Path, capsys) -> None:
    """Each command finishes (a hang would hit the suite's time); the numbers are the four rows'."""
    assert main(["kpis", "--data", str(longest), "--json"]) == 0
    kpis = json.loads(capsys.readouterr().out)
    assert (kpis["days"], kpis["total_flags"], kpis["human_review"], kpis["auto_blocked"]) == (3660, 4, 2, 1)
    assert main(["detect", "--data", str(longest), "--json"]) == 0
    detected = json.loads(capsys.readouterr().out)
    assert detected["alerts"] == []  # four flags in ten years: nothing to call a spike
    assert detected["evaluation"]["attack_days"] == 3660
    assert main(["report", "--data", str(longest), "--offline"]) == 0
    assert "2026-01-01" in capsys.readouterr().out  # the last week: 2026-01-01..2026-01-07
    refresh = Dashboard(load_dataset(longest), Filters(), use_cache=False).refresh()
    assert refresh["volume"]["daily_by_category"].shape == (2 * 3660, 3)  # spam and fraud, every day
    assert refresh["queue"]["daily_intake"]["date"].n_unique() == 3660
