"""Strings from the data never reach the operator's terminal as control sequences (issue #18, item 7)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tspanel.cli._common import for_terminal

CLEAR = "\x1b[2J\x1b[H"  # clear the screen, cursor home
CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"  # OSC 52: write "rm -rf ~" to the clipboard
CSI = "\x9b"  # the one-byte C1 form of ESC [


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    category = f"spam{CLEAR}"
    rows = [f"f{i},2026-01-{1 + i % 28:02d},{category},low,allow,0.5,EMEA{CSI}31m" for i in range(60)]
    (tmp_path / "flags.csv").write_text(
        "flag_id,date,category,severity,action,ml_score,region\n" + "\n".join(rows) + "\n"
    )
    (tmp_path / "reviewers.csv").write_text("reviewer_id,capacity_per_day\nR1,40\n")
    (tmp_path / "attacks.csv").write_text(
        f"attack_id,start_date,category,duration_days\nATK{CLIPBOARD},2026-01-05,{category},2\n"
    )
    return tmp_path


def run(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "tspanel", *args], capture_output=True, timeout=300)


def test_escaping_keeps_text_and_writes_controls_as_escapes() -> None:
    assert for_terminal(f"a{CLEAR}b\tc\nd{CSI}é ✓\u202e") == "a\\x1b[2J\\x1b[Hb\tc\nd\\x9bé ✓\\u202e"


@pytest.mark.parametrize("command", [["validate", "{data}"], ["detect", "--data", "{data}"]])
def test_validate_and_detect_print_escapes_not_control_sequences(hostile: Path, command: list[str]) -> None:
    out = run(*[part.format(data=hostile) for part in command])
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    assert not any(c in text for c in ("\x1b", "\x07", "\x9b")), text
    assert "spam\\x1b[2J\\x1b[H" in text  # the category, shown as what it is


def test_detect_names_the_attack_escaped(hostile: Path) -> None:
    text = run("detect", "--data", str(hostile)).stdout.decode()
    assert "ATK\\x1b]52;c;cm0gLXJmIH4=\\x07" in text


def test_error_messages_escape_data_too(tmp_path: Path) -> None:
    (tmp_path / "flags.csv").write_text(f"flag_id,date{CLEAR}\nf1,2026-01-01\n")
    (tmp_path / "reviewers.csv").write_text("reviewer_id,capacity_per_day\nR1,40\n")
    out = run("validate", str(tmp_path))
    assert out.returncode == 2
    err = out.stderr.decode()
    assert "\x1b" not in err and "date\\x1b[2J\\x1b[H" in err
