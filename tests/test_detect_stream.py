"""Causal, streaming series alerts (issue #20): batch and --follow agree, nothing is backdated,
and the two failure modes seen on real Twitter series are reproduced synthetically."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from tspanel.detect.alarms import AlarmTracker
from tspanel.detect.counts import low_count_model, nb_tail_z
from tspanel.detect.hourly import hourly_alerts, time_to_detect
from tspanel.detect.series import detect_series
from tspanel.detect.series_io import Binner

START = dt.datetime(2026, 1, 5)  # a Monday
HOUR = dt.timedelta(hours=1)


def hourly(counts: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({"timestamp": [START + int(i) * HOUR for i in range(counts.size)], "value": counts})


def alert_hours(scored: pl.DataFrame) -> list[int]:
    return [int((t - START) / HOUR) for t in scored.filter("alert")["timestamp"]]


def five_minute_csv(path: Path, days: int = 21, seed: int = 4) -> Path:
    """5-minute counts with a daily cycle and three bursts (days 9, 13 and 17), as a timestamp,value CSV."""
    rng = np.random.default_rng(seed)
    n = days * 288
    slot = np.arange(n)
    rate = 4.0 * np.exp(0.6 * np.sin(2 * np.pi * ((slot // 12) % 24 - 6) / 24))
    for day, hours, lift in ((9, 2, 6.0), (13, 6, 2.5), (17, 1, 12.0)):
        first = day * 288 + 14 * 12
        rate[first : first + hours * 12] *= lift
    counts = rng.poisson(rate)
    stamps = [START + dt.timedelta(minutes=5 * int(i)) for i in slot]
    rows = "".join(f"{t:%Y-%m-%d %H:%M:%S},{c}\n" for t, c in zip(stamps, counts, strict=True))
    path.write_text("timestamp,value\n" + rows)
    return path


def run_cli(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tspanel", "detect", *args], input=stdin, capture_output=True, text=True, check=True
    )
    return done.stdout


def follow(series: str, **popen: Any) -> tuple[subprocess.Popen, list[str], threading.Thread]:
    """``tspanel detect --series SERIES --follow --json`` running, and the lines it prints as they come."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tspanel", "detect", "--series", series, "--follow", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    return proc, lines, reader


@pytest.mark.slow
def test_follow_on_stdin_gives_exactly_the_batch_alerts(tmp_path: Path) -> None:
    path = five_minute_csv(tmp_path / "s.csv")
    batch = json.loads(run_cli("--series", str(path), "--freq", "1h", "--json"))["alerts"]
    out = run_cli("--series", "-", "--follow", "--json", stdin=path.read_text())
    streamed = [json.loads(line) for line in out.splitlines()]
    # the three bursts raise an alert each (measured: 14:00 on days 9, 13 and 17)
    assert [a["timestamp"][:10] for a in batch] == ["2026-01-14", "2026-01-18", "2026-01-22"]
    assert streamed == batch


@pytest.mark.slow
def test_follow_on_a_pipe_left_open_alerts_without_waiting_for_more_rows(tmp_path: Path) -> None:
    """``tail -f file | tspanel detect --series - --follow``: the pipe never ends, so the rows read
    must go to the detector when no more are waiting (they were held back until 10,000 arrived)."""
    path = five_minute_csv(tmp_path / "s.csv")
    first_burst = json.loads(run_cli("--series", str(path), "--freq", "1h", "--json"))["alerts"][0]
    text = path.read_text().splitlines(keepends=True)
    proc, lines, reader = follow("-", stdin=subprocess.PIPE)
    try:
        proc.stdin.write("".join(text[: 1 + 10 * 288]))  # the header and days 0-9 (the burst: day 9, 14:00)
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        while not lines and time.monotonic() < deadline:
            time.sleep(0.2)
        arrived = list(lines)
    finally:
        proc.stdin.close()  # the end of the data: the process finishes its last bin and exits
        proc.wait(timeout=30)
    reader.join(timeout=10)
    assert [json.loads(line)["timestamp"] for line in arrived] == ["2026-01-14T14:00:00"]
    assert json.loads(arrived[0]) == first_burst
    assert proc.returncode == 0


@pytest.mark.slow
def test_follow_a_file_being_written(tmp_path: Path) -> None:
    """Rows appended in pieces (one cut mid-line) while --follow runs: alerts come as their bins close."""
    source = five_minute_csv(tmp_path / "full.csv").read_text()
    batch = json.loads(run_cli("--series", str(tmp_path / "full.csv"), "--freq", "1h", "--json"))["alerts"]
    growing = tmp_path / "growing.csv"
    cut = len(source) // 3
    growing.write_text(source[:cut])
    proc, lines, reader = follow(str(growing))
    try:
        rest = source[cut:]
        pieces = [rest[i : i + len(rest) // 4 + 7] for i in range(0, len(rest), len(rest) // 4 + 7)]
        for piece in pieces:  # piece boundaries fall mid-line: the reader must wait for the newline
            time.sleep(0.7)
            with growing.open("a") as f:
                f.write(piece)
        deadline = time.monotonic() + 60
        while len(lines) < len(batch) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    reader.join(timeout=10)
    # the file's last hour is still open (no later row has arrived), but no alert is due there
    assert [json.loads(line) for line in lines] == batch
    assert proc.returncode == 0


@pytest.mark.slow
def test_an_alert_is_never_stamped_before_the_hour_that_completed_its_evidence(tmp_path: Path) -> None:
    frame = pl.read_csv(five_minute_csv(tmp_path / "s.csv"), try_parse_dates=True)
    full = detect_series(frame, "1h")
    alerts = full.filter("alert")
    assert alerts.height == 3
    assert (alerts["window_start"] <= alerts["window_end"]).all()
    assert (alerts["window_end"] <= alerts["timestamp"]).all()  # the excess lies at or before the stamp
    for stamp in alerts["timestamp"]:
        # with the data up to the stamped hour, the alert is there, exactly as in the full run ...
        upto = detect_series(frame.filter(pl.col("timestamp") < stamp + HOUR), "1h").filter("alert")
        assert upto.select("timestamp", "window_start", "window_end").equals(
            alerts.filter(pl.col("timestamp") <= stamp).select("timestamp", "window_start", "window_end")
        )
        # ... and without that hour it is not: the evidence was not complete before it
        before = detect_series(frame.filter(pl.col("timestamp") < stamp), "1h").filter("alert")
        assert stamp not in before["timestamp"].to_list()
        assert before.height == alerts.filter(pl.col("timestamp") < stamp).height


def low_bursty(seed: int, days: int = 35) -> np.ndarray:
    """About 1 an hour, over-dispersed (gamma-Poisson, shape 2), a mild daily cycle, six small bursts of 4-8."""
    rng = np.random.default_rng(seed)
    n = days * 24
    rate = np.exp(0.5 * np.sin(2 * np.pi * (np.arange(n) % 24 - 6) / 24)) * rng.gamma(2.0, 0.5, n)
    counts = rng.poisson(rate).astype(float)
    for hour in rng.integers(3 * 24, n, 6):
        counts[hour] += rng.integers(4, 9)
    return counts


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_burst_of_28_on_a_low_bursty_series_alerts(seed: int) -> None:
    # The first failure mode: 28 mentions where about 1 is usual scored 2.4 on a real series, because
    # the log-scale noise fitted around medians of 0s, 1s and 2s is wide. Expected: an alert at that
    # very hour (scored about 5 to 7 by the negative binomial), and no other alert in the five weeks.
    counts = low_bursty(seed)
    burst = 28 * 24 + 14
    counts[burst] = 28
    scored = detect_series(hourly(counts), "1h")
    assert alert_hours(scored) == [burst]
    assert scored["score"][burst] > 5.0


def recurring(seed: int) -> tuple[np.ndarray, list[int]]:
    """About 24 an hour with a daily cycle; bursts of ~1,000 an hour (1-2 hours) every 1-3 days for 7 weeks."""
    rng = np.random.default_rng(seed)
    n = 56 * 24
    rate = 24 * np.exp(0.4 * np.sin(2 * np.pi * (np.arange(n) % 24 - 6) / 24))
    counts = rng.poisson(rate * rng.gamma(20, 1 / 20, n)).astype(float)
    bursts = []
    t = 4 * 24 + int(rng.integers(0, 24))
    while t < 49 * 24:
        hours = int(rng.integers(1, 3))
        counts[t : t + hours] = rng.poisson(1000, hours)
        bursts.append(t)
        t += int(rng.integers(24, 72))
    return counts, bursts


NEW = 51 * 24 + 8  # after the recurring bursts: day 51, 08:00


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recurring_bursts_become_normal_but_a_new_kind_of_burst_alerts(seed: int) -> None:
    # The second failure mode: ~1,000 an hour over a median of 24, recurring for weeks (21 to 27
    # bursts here). Expected: the first burst alerts; after the third, at most 3 more alerts in the
    # remaining 6 weeks (measured: 3, 1 and 1; every burst alerted before the memory); then a
    # burst of a new shape - 12 hours at 150 an hour, far below the spikes - alerts within its first
    # 4 hours, as does a spike of 6,000 on another copy.
    counts, bursts = recurring(seed)
    assert len(bursts) >= 20
    lift = counts.copy()
    lift[NEW : NEW + 12] = np.random.default_rng(seed).poisson(150, 12)
    hours = alert_hours(detect_series(hourly(lift), "1h"))
    assert bursts[0] in hours
    assert len([h for h in hours if bursts[2] < h < NEW]) <= 3
    assert any(NEW <= h < NEW + 4 for h in hours)
    spike = counts.copy()
    spike[NEW] = 6000
    assert NEW in alert_hours(detect_series(hourly(spike), "1h"))


def tracker() -> AlarmTracker:
    return AlarmTracker(threshold=4.0, refractory=3, memory=100, windows=(3,), familiar_after=2, tolerance=0.0)


def step(tr: AlarmTracker, t: int, point: float, excess: float = 1.0) -> bool:
    corrected = np.array([point, np.nan])
    out = tr.update(t, corrected, np.array([excess, np.nan]), np.ones(2), point, np.array([t, t]), np.array([t, t]))
    return out is not None


def test_the_refractory_period_makes_one_event_one_alarm() -> None:
    tr = tracker()
    # fires at 10, 11 and 13 (one event: gaps shorter than 3 quiet points), then again at 20
    fired = [t for t in range(30) if step(tr, t, 5.0 if t in (10, 11, 13, 20) else 0.0, excess=float(t))]
    assert fired == [10, 20]


def test_an_excess_seen_twice_before_is_familiar_and_a_larger_one_is_not() -> None:
    tr = tracker()
    sizes = {10: 2.0, 20: 2.1, 30: 1.9, 40: 2.0, 50: 3.0}
    fired = [t for t in range(60) if step(tr, t, 5.0 if t in sizes else 0.0, excess=sizes.get(t, 0.0))]
    # 10 and 20 are new; 30 (1.9) and 40 (2.0) are matched by two remembered peaks of at least their
    # size; 50 (3.0) is larger than anything seen
    assert fired == [10, 20, 50]


def test_memory_fades() -> None:
    tr = AlarmTracker(threshold=4.0, refractory=1, memory=20, windows=(), familiar_after=1, tolerance=0.0)

    def at(t: int, z: float) -> bool:
        a = np.array([z])
        return tr.update(t, a, np.array([2.0]), np.ones(1), z, np.array([t]), np.array([t])) is not None

    fired = [t for t in range(80) if at(t, 5.0 if t in (10, 25, 60) else 0.0)]
    assert fired == [10, 60]  # 25 is within 20 points of 10's episode; 60 is not


def test_negative_binomial_tails_by_hand() -> None:
    # mean 1, 1/r = 1: geometric, P(X >= k) = 0.5**k; mid-p of 28 = (0.5**28 + 0.5**29) / 2 = 2.794e-9
    assert nb_tail_z(28, 1.0, 1.0) == pytest.approx(5.8286, abs=1e-3)
    # 1/r = 0 is Poisson: mid-p of 10 at mean 5 = 0.022762 (as in tests/test_detect_counts.py)
    assert nb_tail_z(10, 5.0, 0.0) == pytest.approx(1.99979, abs=1e-4)


def test_the_low_count_model_takes_the_higher_mean_and_a_winsorised_spread() -> None:
    history = np.array([1.0, 0.0, 2.0, 1.0] * 25 + [0.0] * 20)  # 120 points, mean 0.8333; last 20 are 0
    mean, inv_r = low_count_model(history, recent=20)
    assert mean == pytest.approx(100 / 120)
    # winsorised at its 99th percentile (2: unchanged), var 0.5278 against mean 0.8333: 1/r = 0 (under-dispersed)
    assert inv_r == 0.0
    bursty = np.concatenate([history, [40.0]])
    _, inv_r_bursty = low_count_model(bursty, recent=20)
    assert inv_r_bursty < 1.0  # the one burst of 40 is cut to the 99th percentile before the spread is taken


def test_the_binner_closes_a_bin_when_a_later_row_arrives() -> None:
    b = Binner(HOUR)
    rows = pl.DataFrame(
        {
            "timestamp": [START, START + dt.timedelta(minutes=30), START + 3 * HOUR, START + dt.timedelta(minutes=5)],
            "value": [2.0, 3.0, 7.0, 1.0],
        }
    )
    closed = list(b.add(rows))
    assert closed == [(START, 5.0), (START + HOUR, 0.0), (START + 2 * HOUR, 0.0)]
    assert b.late == 1  # 00:05 arrived after hour 00:00 had been scored
    assert list(b.flush()) == [(START + 3 * HOUR, 7.0)]


def test_hourly_alerts_per_category_from_created_at() -> None:
    # Two categories over 3 weeks, ~10 and ~3 flags an hour; at 2026-01-20 15:00 spam gets 80 extra flags.
    rng = np.random.default_rng(11)
    hours = 21 * 24
    rows: list[tuple[str, dt.datetime]] = []
    for category, rate in (("spam", 10.0), ("fraud", 3.0)):
        for h, n in enumerate(rng.poisson(rate, hours)):
            rows += [(category, START + h * HOUR + dt.timedelta(minutes=int(m))) for m in rng.integers(0, 60, n)]
    burst = START + (15 * 24 + 15) * HOUR
    rows += [("spam", burst + dt.timedelta(minutes=int(m))) for m in rng.integers(0, 60, 80)]
    flags = pl.DataFrame(rows, schema={"category": pl.String, "created_at": pl.Datetime("us", "UTC")}, orient="row")
    alerts = hourly_alerts(flags.lazy())
    # expected: one alert, in spam, stamped at the burst hour and raised at its end
    assert alerts.select("category", "timestamp", "raised_at").rows() == [("spam", burst, burst + HOUR)]


def test_time_to_detect_counts_hours_from_the_first_attack_flag() -> None:
    t0 = dt.datetime(2026, 3, 2)
    alerts = pl.DataFrame(
        {
            "category": ["spam", "spam", "fraud"],
            "timestamp": [t0 + 2 * HOUR, t0 + 30 * HOUR, t0 + 100 * HOUR],
            "raised_at": [t0 + 3 * HOUR, t0 + 31 * HOUR, t0 + 101 * HOUR],
        }
    )
    starts = pl.DataFrame(
        {
            "attack_id": ["A", "B"],
            "category": ["spam", "fraud"],
            "start": [t0 + dt.timedelta(minutes=30), t0 + 10 * HOUR],
            "end": [t0 + 48 * HOUR, t0 + 24 * HOUR],
        }
    )
    r = time_to_detect(alerts, starts, span_days=15.0)
    # A: first alert raised at 03:00, 2.5 h after its first flag (its second alert is the same attack);
    # B: no alert in fraud while it ran; the fraud alert at hour 100 is the one false alarm
    assert [a["delay_hours"] for a in r["attacks"]] == [2.5, None]
    assert r["caught"] == 1 and r["median_delay_hours"] == 2.5
    assert r["false_alarms"] == 1 and r["false_alarms_per_30_days"] == 2.0


def test_the_attacks_model_says_why_without_created_at() -> None:
    from tspanel.models.attacks import AttacksModel
    from tspanel.models.base import Unavailable
    from tspanel.source import dataset_from_frames
    from tspanel.synth import WorldConfig, generate_world

    world = generate_world(WorldConfig(days=40, n_attacks=1))
    flags = world.flags.lazy().drop("created_at", "assigned_at", "resolved_at").collect()
    model = AttacksModel(dataset_from_frames(flags, world.reviewers, None, name="no times"))
    out = model.hourly_alerts()
    assert isinstance(out, Unavailable) and "created_at" in out.reason


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timestamp,value\n2026-01-01 00:00:00,abc\n", "column 'value': 1 row holds no count"),
        ("ts,v\n1,2\n", "missing columns timestamp, value"),
        ("", "no header"),
    ],
)
def test_bad_streamed_input_exits_2_with_a_message(text: str, message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tspanel", "detect", "--series", "-", "--follow", "--json"],
        input=text,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
