"""Data directories that are not plain files (issue #18, item 7): link loops, named pipes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tspanel.cli import main
from tspanel.errors import DataError
from tspanel.source import load_dataset, load_dataset_cached

FLAGS = "flag_id,date,category,severity,action,ml_score\nf1,2026-01-01,spam,low,allow,0.5\n"
REVIEWERS = "reviewer_id,capacity_per_day\nR1,40\n"


@pytest.fixture
def loop(tmp_path: Path) -> Path:
    link = tmp_path / "loop"
    link.symlink_to(link)
    return link


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    directory = tmp_path / "fifo"
    directory.mkdir()
    (directory / "reviewers.csv").write_text(REVIEWERS)
    os.mkfifo(directory / "flags.csv")  # nobody ever writes: a read would block forever
    return directory


LOOP_MESSAGE = "a symbolic link loop (a link leading back to itself). Fix the link."
FIFO_MESSAGE = "flags.csv is a named pipe (FIFO); a table must be a regular file (or a directory of Parquet files)."


def test_a_link_loop_directory_is_named(loop: Path) -> None:
    for load in (load_dataset, load_dataset_cached):
        with pytest.raises(DataError) as info:
            load(loop)
        assert str(info.value) == f"{loop}: {LOOP_MESSAGE}"


def test_a_link_loop_table_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "reviewers.csv").write_text(REVIEWERS)
    (tmp_path / "flags.csv").symlink_to(tmp_path / "flags.csv")
    with pytest.raises(DataError, match=r"flags\.csv: a symbolic link loop"):
        load_dataset(tmp_path)


@pytest.mark.parametrize("command", [["validate", "{data}"], ["serve", "--data", "{data}", "--no-show", "--port", "0"]])
@pytest.mark.parametrize(("case", "message"), [("loop", LOOP_MESSAGE), ("fifo", FIFO_MESSAGE)])
def test_validate_and_serve_exit_2_without_hanging(request, command, case, message, capsys) -> None:
    data = request.getfixturevalue(case)
    assert main([part.format(data=data) for part in command]) == 2
    assert message in capsys.readouterr().err


def test_serve_on_a_link_loop_is_a_message_not_a_traceback(loop: Path) -> None:
    command = [sys.executable, "-m", "tspanel", "serve", "--data", str(loop), "--no-show", "--port", "0"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert LOOP_MESSAGE in out.stderr


def test_a_fifo_does_not_hang_validate_in_a_subprocess(fifo: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tspanel", "validate", str(fifo)], capture_output=True, text=True, timeout=120
    )
    assert (out.returncode, out.stderr.strip()) == (2, f"tspanel validate: error: {FIFO_MESSAGE}")
