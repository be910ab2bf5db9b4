"""bench/load.py at tiny scale, so the load benchmark cannot rot.

A real `tspanel serve` on 127.0.0.1 serves a 3,000-flag world; two Bokeh client sessions
make two category changes each, then two sessions are opened and closed. The numbers each
refresh delivered to the client must be the ones `tspanel kpis --json` computes for the
same selection (a separate process and code path: the CLI, not the server).
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ui.dashboard import KPI_KEYS

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "bench" / "load.py"


@pytest.fixture(scope="module")
def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_load", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def data(generated_small: Path) -> Path:
    return generated_small


def cli_kpis(data: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tspanel", "kpis", "--json", "--data", str(data), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(done.stdout)
    return {key: out[key] for key in KPI_KEYS}


def test_change_plan_adds_then_removes_and_never_repeats_a_neighbour(load: ModuleType) -> None:
    plan = load.change_plan(["a", "b", "c"], 1, 7)
    assert plan == [["b"], ["b", "c"], ["b", "c", "a"], ["c", "a"], ["a"], [], ["b"]]
    assert all(x != y for x, y in itertools.pairwise(plan))


def test_sessions_receive_the_cli_numbers_and_cycles_record_rss(load: ModuleType, data: Path, tmp_path: Path) -> None:
    whole = json.loads(
        subprocess.run(
            [sys.executable, "-m", "tspanel", "kpis", "--json", "--data", str(data)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    with load.Server(data, tmp_path / "serve.log") as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.proc is not None
        pages = int(Path(f"/proc/{server.proc.pid}/statm").read_text().split()[1])  # resident pages, read here
        own = pages * os.sysconf("SC_PAGE_SIZE") / 2**20
        assert server.rss_mb() == pytest.approx(own, rel=0.1)  # one process: its RSS, by another route
        result = load.load_phase(
            server, sessions=2, changes=2, think=0, warmup=False, timeout=120, first_day=whole["start"], pause=0.2
        )
        cycles = load.cycles_phase(server, cycles=2, timeout=120, settle=0)

    assert result["failures"] == []
    records = sorted(result["records"], key=lambda r: (r["session"], r["change"]))
    # Session 0 opens on the whole range and first selects the widget's first category (the
    # synthetic world's six, alphabetical); session 1 opens from the data's second day and
    # starts one category further. The CLI below checks the date independently.
    # The widget offers the categories by their display names (tspanel.vocab); the CLI takes codes.
    assert [(r["session"], r["start"], r["categories"]) for r in records] == [
        (0, None, ["Fraud"]),
        (0, None, ["Fraud", "Harassment"]),
        (1, load._day(whole["start"], 1), ["Harassment"]),
        (1, load._day(whole["start"], 1), ["Harassment", "Hate speech"]),
    ]
    codes = {"Fraud": "fraud", "Harassment": "harassment", "Hate speech": "hate_speech"}
    for record in records:
        dates = ["--start", record["start"]] if record["start"] else []
        expected = cli_kpis(data, *dates, "--category", *[codes[c] for c in record["categories"]])
        shown = record["kpis"]
        assert shown.keys() == expected.keys()
        for key, want in expected.items():
            assert shown[key] == (None if want is None else pytest.approx(want, rel=1e-9)), (record, key)
    # A category filter really changed the numbers: fraud alone is a strict part of all flags.
    assert 0 < records[0]["kpis"]["total_flags"] < whole["total_flags"]
    assert result["refresh_s"]["n"] == 4 and result["open_s"]["n"] == 2
    # RSS is the server's (not this test's, not the launcher's): a Panel server holding a
    # 3,000-flag world is a few hundred MiB (measured 242 MiB loaded, 315 MiB with both sessions
    # open) and each open session's documents cost memory (measured 37 MiB a session).
    rss = result["rss_mb"]
    assert 150 < rss["data_loaded"] < 1024
    assert rss["all_open"] > rss["data_loaded"]
    assert 2 < result["per_session_mb"] < 200

    assert cycles["failures"] == []
    assert len(cycles["rss_mb"]) == 2 and all(150 < mb < 1024 for mb in cycles["rss_mb"])
    assert cycles["rss_start_mb"] == pytest.approx(rss["after_close"], rel=0.25)  # the same server, later
    assert cycles["open_s"]["n"] == 2

    report = load.markdown(
        {
            "date": "today",
            "command": "python bench/load.py",
            "conditions": load.conditions(),
            "flags": whole["total_flags"],
            "load": result,
            "cycles": cycles | {"settle_s": 0},
        }
    )
    assert "| refresh latency p50 / p95 / max (s) |" in report["load"]
    assert "| after cycle | server RSS (MiB) | vs cycle 1 |" in report["cycles"]
    doc = tmp_path / "reliability.md"
    doc.write_text("# Reliability\n\n<!-- load:begin -->\nold\n<!-- load:end -->\n\nkept\n")
    load.write_doc({"date": "today", "command": "c", "conditions": load.conditions(), "flags": 1, "load": result}, doc)
    text = doc.read_text()
    assert "old" not in text and "kept" in text and "refresh latency" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sessions", "-1"], "must be 0 or more"),
        (["--data", "/nonexistent/tspanel-data"], "no such directory"),
        (["--sessions", "0", "--cycles", "0"], "nothing to run"),
    ],
)
def test_bad_options_are_a_message_and_exit_2(args: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
