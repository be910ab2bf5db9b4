"""Options that do not apply are refused (exit status 2, saying why), never silently ignored, and
``flags --out`` writes the format its file name says."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tspanel.cli import main

LEGACY = str(Path(__file__).resolve().parents[1] / "data" / "legacy_sample")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["detect", "--series", "{tmp}/s.csv", "--end", "2024-01-02"], "--series scores the whole count series; --end"),
        (["detect", "--series", "{tmp}/s.csv", "--category", "spam"], "--category work on a dataset (--data)"),
        (["detect", "--data", LEGACY, "--days", "3"], "--days works with --explain DATE CATEGORY"),
        (["kpis", "--data", LEGACY, "--rule", "growth_pct=5"], "--rule changes a threshold of --attention"),
        (["rollup", LEGACY, "{tmp}/r", "--master", "local[2]"], "--master sets the Spark master; the polars engine"),
        (["rollup", LEGACY, "{tmp}/r", "--table", "x"], "--table names a PostgreSQL table; the polars engine"),
        (["validate", LEGACY, "--table", "other"], "--table names the flags table of a database URL"),
        (
            ["flags", "--data", LEGACY, "--out", "{tmp}/f.parquet", "--format", "csv"],
            "ends in .parquet but --format is csv",
        ),
    ],
)
def test_an_option_that_does_not_apply_exits_2(tmp_path, capsys, argv, message):
    (tmp_path / "s.csv").write_text("timestamp,value\n2024-01-01 00:00:00,3\n")
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv"]  # nothing written


def test_flags_out_writes_the_format_its_extension_names(tmp_path):
    assert main(["flags", "--data", LEGACY, "--out", str(tmp_path / "f.parquet")]) == 0
    frame = pl.read_parquet(tmp_path / "f.parquet")  # was CSV text in a .parquet file
    assert frame.height == 48 and frame["flag_id"][0] == "F001"
    assert main(["flags", "--data", LEGACY, "--out", str(tmp_path / "f.json"), "--category", "spam"]) == 0
    assert json.loads((tmp_path / "f.json").read_text())["count"] == 17
    assert main(["flags", "--data", LEGACY, "--out", str(tmp_path / "f.txt")]) == 0
    assert (tmp_path / "f.txt").read_text().splitlines()[1].startswith("F001,2024-01-01,spam,low,allow,0.92")


def test_report_send_names_its_own_option(capsys):
    assert main(["report", "--data", LEGACY, "--offline", "--send", "notaurl"]) == 2
    err = capsys.readouterr().err
    assert "--send (not a URL): not a notification URL apprise understands" in err
    assert "--notify" not in err  # an option of alert and serve, not of report


def test_one_day_is_one_day(capsys):
    assert main(["kpis", "--data", LEGACY, "--start", "2024-01-21"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "legacy_sample: 2024-01-21 to 2024-01-21 (1 day)"
