"""Output and input paths on the command line: a URL is never taken for a folder (nor its password
printed), and a path that cannot be written is said at once with exit status 2, not as a traceback
after the work."""

from __future__ import annotations

from pathlib import Path

import pytest

from tspanel.cli import main

LEGACY = str(Path(__file__).resolve().parents[1] / "data" / "legacy_sample")
URL = "postgresql://u:hunter2@127.0.0.1:9/db"


@pytest.mark.parametrize(
    "argv",
    [
        ["rollup", LEGACY, URL],
        ["generate", URL, "--days", "20"],
        ["detect", "--series", URL],
        ["flags", "--data", LEGACY, "--out", URL],
        ["report", "--out", URL],
        ["detect", "--data", LEGACY, "--explain", "2024-01-10", "spam", "--case", URL],
        ["alert", "--state", URL],
        ["bench", "--data", URL],
    ],
)
def test_a_url_given_as_a_path_is_refused_without_its_password(tmp_path, monkeypatch, capsys, argv):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "hunter2" not in err
    assert "argument" in err and ("is a URL" in err or "reads a dataset directory" in err)
    assert list(tmp_path.iterdir()) == []  # before: rollup and generate made ./postgresql:/u:hunter2@.../db


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["generate", "{tmp}/file.txt/world"], "OUT_DIR"),
        (["rollup", LEGACY, "{tmp}/file.txt/rollup"], "OUT"),
        (["detect", "--data", LEGACY, "--explain", "2024-01-10", "spam", "--case", "{tmp}/file.txt/case"], "--case"),
    ],
)
def test_an_output_directory_that_cannot_be_made_exits_2(tmp_path, capsys, argv, option):
    (tmp_path / "file.txt").write_text("x")
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert f"{option} {tmp_path}/file.txt/" in err and "cannot create this directory (Not a directory)" in err
    assert "Traceback" not in err and "computing" not in err  # said before any work


def test_a_made_output_directory_is_checked_without_leaving_it_behind(tmp_path, capsys):
    out = tmp_path / "new" / "rollup"
    (tmp_path / "stray").mkdir()
    (tmp_path / "stray" / "notes.txt").write_text("mine")
    assert main(["rollup", LEGACY, str(tmp_path / "stray")]) == 2
    err = capsys.readouterr().err
    assert "holds other files (notes.txt)" in err
    assert "computing" not in err  # the non-empty OUT is refused before the rollup is computed
    assert main(["rollup", LEGACY, str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "attacks.parquet",
        "facts.parquet",
        "reviewers.parquet",
        "rollup.json",
        "signals.parquet",
    ]


@pytest.mark.parametrize("url", ["mysql://u:hunter2@h:1/db", "u:hunter2@h/db"])
def test_load_db_does_not_echo_a_password_in_a_wrong_url(capsys, url):
    assert main(["load-db", url, "--data", LEGACY]) == 2
    err = capsys.readouterr().err
    assert "is not a postgresql:// URL" in err
    assert "hunter2" not in err


@pytest.mark.parametrize(
    ("start", "days", "shown"),
    [("2100-12-01", "60", "2100-12-01..2101-01-29"), ("1960-01-01", "10", "1960-01-01..1960-01-10")],
)
def test_generate_refuses_days_that_validate_would_refuse(tmp_path, capsys, start, days, shown):
    out = tmp_path / "world"
    assert main(["generate", str(out), "--start", start, "--days", days]) == 2
    err = capsys.readouterr().err
    assert (
        f"--start must put every day within 1970-01-01..2100-12-31, the dates the data contract accepts (got {shown})"
        in err
    )
    assert not out.exists()
