"""`tspanel detect` end to end, the AttacksModel wiring, and NAB-style scoring of real series."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tspanel.cli import main
from tspanel.models.attacks import AttacksModel
from tspanel.models.base import Unavailable
from tspanel.models.filters import Filters
from tspanel.source import default_world

REPO = Path(__file__).resolve().parents[1]
# In CI the shared data sits beside the clone (../shared); on the dev machine, beside the work tree.
NAB = next((p for p in (REPO.parent / "shared" / "nab", REPO / "shared" / "nab") if (p / "data").is_dir()), None)

# The built-in world's five attacks (seed 42): spam x4, harassment x1, 9 days in all.
ATTACK_DAYS = {
    (dt.date(2026, 9, 23), "spam"),
    (dt.date(2026, 9, 24), "spam"),
    (dt.date(2026, 10, 11), "spam"),
    (dt.date(2026, 10, 12), "spam"),
    (dt.date(2026, 10, 27), "spam"),
    (dt.date(2026, 11, 8), "harassment"),
    (dt.date(2026, 11, 9), "harassment"),
    (dt.date(2026, 11, 10), "harassment"),
    (dt.date(2026, 11, 18), "spam"),
}


def detect_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["detect", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_shape_on_the_built_in_world(capsys: pytest.CaptureFixture[str]) -> None:
    out = detect_json(capsys)
    assert set(out) == {"dataset", "method", "threshold", "alerts", "evaluation"}
    assert out["method"] == "multisignal"
    assert out["threshold"] == 4.0
    alert = out["alerts"][0]
    assert set(alert) == {"date", "category", "score", "signals"}
    assert {(dt.date.fromisoformat(a["date"]), a["category"]) for a in out["alerts"]} == ATTACK_DAYS
    assert all(isinstance(v, float) for a in out["alerts"] for v in a["signals"].values())
    ev = out["evaluation"]
    assert ev["days"]["recall"] == 1.0
    assert ev["days"]["false_alarms"] == 0
    assert [a["caught"] for a in ev["attacks"]] == [True] * 5


def test_legacy_method_reproduces_the_earlier_dashboard(capsys: pytest.CaptureFixture[str]) -> None:
    out = detect_json(capsys, "--method", "zscore-legacy")
    assert out["threshold"] == 1.5
    assert all(a["category"] is None for a in out["alerts"])
    assert out["evaluation"]["day_category"] is None
    assert out["evaluation"]["days"]["true_positives"] == 6  # of 9 attack days


def test_human_output_has_alerts_evaluation_and_comparison(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", "--start", "2026-11-01"]) == 0
    text = capsys.readouterr().out
    assert "2026-11-08  harassment" in text
    assert "2026-09-23" not in text  # before --start: baseline only
    assert "ATK-004    harassment       2026-11-08..2026-11-10  caught (3/3 days)" in text
    assert "All methods on this data" in text
    for method in ("multisignal", "volume", "zscore-legacy"):
        assert f"  {method}" in text


def test_list_methods(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", "--list-methods"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].startswith("multisignal") and "(default)" in text.splitlines()[0]
    assert "zscore-legacy" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "magic"], "unknown detection method 'magic'"),
        (["--threshold", "-1"], "--threshold must be a positive number"),
        (["--category", "memes"], "--category: unknown value(s) 'memes'; choose from fraud, harassment"),
        (["--start", "2026-11-02", "--end", "2026-11-01"], "--start 2026-11-02 is after --end 2026-11-01"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(["detect", *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def write_series(path: Path) -> Path:
    """Seven days of 5-minute counts with a daily cycle, and a burst at 2026-01-11 03:00-03:15."""
    start = dt.datetime(2026, 1, 5)
    rng = np.random.default_rng(11)
    minutes = np.arange(7 * 288) * 5
    hour = (minutes // 60) % 24
    counts = rng.poisson(5 + 4 * np.sin(2 * np.pi * (hour - 6) / 24))
    burst = (minutes >= 6 * 1440 + 180) & (minutes < 6 * 1440 + 195)
    counts[burst] += 40  # +120 in one hour whose usual total is about 20
    lines = ["timestamp,value"] + [
        f"{start + dt.timedelta(minutes=int(m)):%Y-%m-%d %H:%M:%S},{c}" for m, c in zip(minutes, counts, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_series_json_names_the_burst_hour(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = detect_json(capsys, "--series", str(write_series(tmp_path / "s.csv")), "--freq", "1h")
    assert out["method"] == "volume"
    assert out["points"] == 7 * 24
    assert [a["timestamp"] for a in out["alerts"]] == ["2026-01-11T03:00:00"]
    assert set(out["alerts"][0]) == {
        "timestamp",
        "raised_at",
        "window_start",
        "window_end",
        "value",
        "expected",
        "score",
        "signals",
    }
    assert out["alerts"][0]["raised_at"] == "2026-01-11T04:00:00"  # the end of the bin that raised it
    assert out["alerts"][0]["value"] >= 120


def test_series_runs_as_a_subprocess(tmp_path: Path) -> None:
    path = write_series(tmp_path / "s.csv")
    done = subprocess.run(
        [sys.executable, "-m", "tspanel", "detect", "--series", str(path), "--freq", "1h"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "2026-01-11T03:00:00" in done.stdout
    assert done.stderr == ""  # 168 bins: too short to need a progress line


def test_a_long_series_reports_progress_on_stderr(tmp_path: Path) -> None:
    # 31 weeks of hourly counts (5,208 bins, a few seconds): progress goes to stderr, a line per
    # quarter when stderr is not a terminal, and stdout still holds exactly the JSON
    rng = np.random.default_rng(3)
    start = dt.datetime(2026, 1, 5)
    hours = 31 * 7 * 24
    counts = rng.poisson(50 + 30 * np.sin(2 * np.pi * (np.arange(hours) % 24 - 6) / 24))
    path = tmp_path / "long.csv"
    path.write_text(
        "timestamp,value\n"
        + "".join(f"{start + dt.timedelta(hours=i):%Y-%m-%d %H:%M:%S},{c}\n" for i, c in enumerate(counts))
    )
    done = subprocess.run(
        [sys.executable, "-m", "tspanel", "detect", "--series", str(path), "--freq", "1h", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout)["points"] == 5208
    lines = done.stderr.splitlines()
    assert lines[-1] == "scoring 5,208 bins of 1h: done"
    assert 3 <= len(lines) <= 5 and all(line.startswith("scoring 5,208 bins of 1h: ") for line in lines)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("time,count\n2026-01-01,3\n", "missing columns timestamp, value (found: 'time', 'count')"),
        ("timestamp,value\n", "no rows"),
        (
            "timestamp,value\nyesterday,3\n2026-01-01 00:05:00,4\n",
            "bad.csv: column 'timestamp': 1 row holds no timestamp like 2015-03-01 05:00:00 (first: 'yesterday')",
        ),
        (
            "timestamp,value\n2026-01-01 00:00:00,-3\n2026-01-01 00:05:00,many\n",
            "column 'value': 2 rows hold no count (a finite number >= 0) (first: '-3', 'many'). Fix or remove",
        ),
    ],
)
def test_bad_series_files_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert main(["detect", "--series", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_missing_series_file_and_bad_freq(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", "--series", str(tmp_path / "nope.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    path = write_series(tmp_path / "s.csv")
    assert main(["detect", "--series", str(path), "--freq", "hourly"]) == 2
    assert "--freq 'hourly' is not a duration" in capsys.readouterr().err


def test_model_runs_on_full_history_and_cuts_alerts_to_the_selection() -> None:
    filters = Filters(start=dt.date(2026, 9, 24), end=dt.date(2026, 10, 31), categories=["spam"])
    model = AttacksModel(default_world(), filters)
    # 09-24 is the second day of ATK-001: its baseline lies before the selected range.
    assert model.alerts().select("date", "category").rows() == [
        (dt.date(2026, 9, 24), "spam"),
        (dt.date(2026, 10, 11), "spam"),
        (dt.date(2026, 10, 12), "spam"),
        (dt.date(2026, 10, 27), "spam"),
    ]
    daily = model.daily_volume()
    assert daily.height == 38
    assert daily.filter("attack")["date"].to_list() == [
        dt.date(2026, 9, 24),
        dt.date(2026, 10, 11),
        dt.date(2026, 10, 12),
        dt.date(2026, 10, 27),
    ]
    assert daily.filter("alert").height == 4
    assert model.known_events()["attack_id"].to_list() == ["ATK-001", "ATK-002", "ATK-003"]
    ev = model.evaluation()
    assert ev["days"] == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "true_positives": 4,
        "false_alarms": 0,
        "missed": 0,
    }
    assert model.comparison()["method"].to_list() == ["multisignal", "volume", "zscore-legacy"]


def test_model_threshold_follows_the_method() -> None:
    model = AttacksModel(default_world(), Filters())
    assert model.threshold == 4.0
    model.method = "zscore-legacy"
    assert model.threshold == 1.5
    assert model.alerts()["category"].null_count() == model.alerts().height
    model.threshold = 100.0
    assert model.alerts().height == 0


def test_model_without_ground_truth(tmp_path: Path) -> None:
    from tspanel.source import dataset_from_frames

    world = default_world()
    flags = world.flags.drop("coordinated_flag", "attack_id").collect()
    model = AttacksModel(dataset_from_frames(flags, world.reviewers, None, name="no truth"), Filters())
    assert isinstance(model.evaluation(), Unavailable)
    assert isinstance(model.known_events(), Unavailable)
    assert model.daily_volume()["attack"].null_count() == model.daily_volume().height
    assert model.alerts().height == 9


def nab_scored(capsys: pytest.CaptureFixture[str], name: str) -> tuple[int, int, int, float, list[dict]]:
    """(windows caught, windows, false alarms, days, alerts) of one NAB series, scored by score.py's own functions."""
    spec = importlib.util.spec_from_file_location("nab_score", NAB / "score.py")
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    path = NAB / "data" / name
    out = detect_json(capsys, "--series", str(path), "--freq", "1h")
    called = {a["timestamp"].replace(" ", "T")[:13] for a in out["alerts"]}
    hours = score.hourly(str(path))["timestamp"].to_list()
    alarms = score.alarms_of(hours, [h.isoformat()[:13] in called for h in hours])
    labels = json.loads((NAB / "labels" / "windows.json").read_text())[name]
    windows = [(dt.datetime.fromisoformat(a[:19]), dt.datetime.fromisoformat(b[:19])) for a, b in labels]
    caught = sum(any(a0 <= w1 and a1 >= w0 for a0, a1 in alarms) for w0, w1 in windows)
    false = sum(not any(a0 <= w1 and a1 >= w0 for w0, w1 in windows) for a0, a1 in alarms)
    days = (hours[-1] - hours[0]).total_seconds() / 86400
    return caught, len(windows), false, days, out["alerts"]


@pytest.mark.skipif(NAB is None, reason="the NAB series (shared/nab beside the repository) are not available")
def test_nab_taxi_scored_by_the_benchmark_protocol(capsys: pytest.CaptureFixture[str]) -> None:
    """NYC taxi demand, scored exactly as shared/nab/score.py scores it (its own functions)."""
    caught, windows, false, days, alerts = nab_scored(capsys, "nyc_taxi.csv")
    assert caught == windows == 5
    assert false / days * 30 <= 3.0  # the goal's false-alarm budget (measured: 16 in 215 days, 2.2)
    # The strongest alarm of each labelled window, stamped at the hour that raised it (causal):
    # the night after Halloween, the day after Thanksgiving, Boxing Day, New Year's night and
    # the blizzard of 2015-01-27 (measured).
    peaks = [
        max((a for a in alerts if w0 <= a["timestamp"] <= w1), key=lambda a: a["score"])["timestamp"]
        for w0, w1 in (
            ("2014-10-30T15", "2014-11-03T22"),
            ("2014-11-25T12", "2014-11-29T19"),
            ("2014-12-23T11", "2014-12-27T18"),
            ("2014-12-29T21", "2015-01-03T04"),
            ("2015-01-24T20", "2015-01-29T03"),
        )
    ]
    assert peaks == [
        "2014-11-01T02:00:00",
        "2014-11-28T15:00:00",
        "2014-12-26T12:00:00",
        "2015-01-01T01:00:00",
        "2015-01-27T13:00:00",
    ]


@pytest.mark.skipif(NAB is None, reason="the NAB series (shared/nab beside the repository) are not available")
def test_nab_goal_on_all_six_series(capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's goal on the six NAB series: at least 90% of windows, at most 3 false alarms per 30 days."""
    names = sorted(json.loads((NAB / "labels" / "windows.json").read_text()))
    scored = [nab_scored(capsys, name)[:4] for name in names]
    caught, total, false, days = (sum(column) for column in zip(*scored, strict=True))
    assert total == 21
    assert caught >= 19  # measured: 19 (AMZN 2015-04-01 and CRM 2015-03-08 missed; docs/detection.md)
    assert false / days * 30 <= 3.0  # measured: 42 in 490 days, 2.6
