"""Detection benchmark: every method on synthetic worlds and on the NAB count series.

Run from the repository root (takes a few minutes on two cores):

    python bench/detection.py                 # everything, the figures quoted in docs/detection.md
    python bench/detection.py --seeds 5       # fewer synthetic worlds
    python bench/detection.py --skip-nab      # synthetic worlds only
    python bench/detection.py --sweep         # also: how the threshold trades recall for false alarms
    python bench/detection.py --heldout 20    # fewer held-out synthetic hourly series (default 40; 0: skip)
    python bench/detection.py --fast          # a quick check: 5 seeds, 10 held-out series, 2 quiet per setting
    python bench/detection.py --product-seeds 2   # fewer held-out worlds for time to first alert (default 5)

NAB's six series are looked for in ../shared/nab beside the checkout (the script says so
and skips them when absent). They are scored twice: with the windows/false-alarm protocol of
shared/nab/README.md (score.py's own functions) and with NAB's own standard-profile score
(shared/nab/nab_score.py, run on the alerts this script writes). The detector's design was
checked against these six series, so their figures are "tuned on", never held out; NAB has
other series (the ten Twitter-volume series, five of them not here) that this project has not
seen. Held-out claims come from the synthetic generators below, whose parameters were fixed
before any detector change was measured on them.

Synthetic worlds come from tspanel.synth: the default world (seed 42), `--seeds` other
seeds with the default settings, and the same seeds with `WorldConfig.hard` (smaller
lifts, 40% of campaigns from old accounts, organic surges). The NAB series are scored
with the protocol of shared/nab/README.md, using shared/nab/score.py's own functions.
The held-out hourly series (`heldout_series`) check the count-series detector on data
that is neither NAB nor the attack generator: their parameters were fixed before any
detector change was measured on them, and are drawn, not chosen per series.
Nothing here tunes anything: thresholds are the methods' defaults unless --sweep.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import io
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tspanel.detect.evaluate import evaluate, ground_truth
from tspanel.detect.hourly import COORDINATION_COLUMNS, attack_starts, hourly_alerts, time_to_detect
from tspanel.detect.registry import METHODS, run_method
from tspanel.detect.series import DEFAULT_THRESHOLD, detect_series
from tspanel.synth import WorldConfig, generate_world

ROOT = Path(__file__).resolve().parents[1]


NAB_CANDIDATES = (ROOT.parent / "shared" / "nab", ROOT / "shared" / "nab")


def find_nab() -> Path | None:
    """../shared/nab relative to the checkout (or shared/nab inside it), if it holds the labels."""
    for candidate in NAB_CANDIDATES:
        if (candidate / "labels" / "windows.json").is_file():
            return candidate
    return None


# --------------------------------------------------------------------------- synthetic worlds


def world_scores(config: WorldConfig, methods: list[str], thresholds: dict[str, float | None]) -> dict[str, dict]:
    world = generate_world(config)
    truth = ground_truth(world.flags, world.flags.columns, world.attacks)
    out = {}
    for method in methods:
        alerts = run_method(method, world.flags, world.flags.columns, thresholds.get(method))
        out[method] = evaluate(alerts, truth)
    return out


def summarise(evaluations: list[dict[str, Any]]) -> dict[str, Any]:
    pair = [e["day_category"] for e in evaluations]
    days = [e["days"] for e in evaluations]
    row: dict[str, Any] = {
        "day_f1": statistics.mean(d["f1"] or 0.0 for d in days),
        "false_alarm_days": sum(d["false_alarms"] for d in days),
        "missed_days": sum(d["missed"] for d in days),
    }
    if all(p is not None for p in pair):
        row |= {
            "pair_f1": statistics.mean(p["f1"] or 0.0 for p in pair),
            "pair_recall": statistics.mean(p["recall"] or 0.0 for p in pair),
            "pair_precision": statistics.mean(p["precision"] if p["precision"] is not None else 0.0 for p in pair),
            "min_pair_f1": min(p["f1"] or 0.0 for p in pair),
        }
    return row


def bench_worlds(seeds: list[int], methods: list[str]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    default = world_scores(WorldConfig(), methods, {})
    print("== Default world (seed 42): 5 attacks, 9 attack days ==")
    print(f"  {'method':<14} {'days caught':>11} {'false alarms':>12} {'day F1':>7} {'pair F1':>8}")
    for method, ev in default.items():
        pair = "n/a" if ev["day_category"] is None else f"{ev['day_category']['f1']:.3f}"
        print(
            f"  {method:<14} {ev['days']['true_positives']:>7} of 9 {ev['days']['false_alarms']:>12} "
            f"{ev['days']['f1']:>7.3f} {pair:>8}"
        )
    results["default_world"] = default
    for label, make in (("default settings", lambda s: WorldConfig(seed=s)), ("hard settings", WorldConfig.hard)):
        per_method: dict[str, list[dict]] = {m: [] for m in methods}
        for seed in seeds:
            for method, ev in world_scores(make(seed), methods, {}).items():
                per_method[method].append(ev)
        print(f"\n== {len(seeds)} worlds, seeds {seeds[0]}-{seeds[-1]}, {label} ==")
        print(f"  {'method':<14} {'pair F1':>8} {'min':>6} {'recall':>7} {'precision':>9} {'day F1':>7} {'FA days':>8}")
        summary = {}
        for method, evs in per_method.items():
            s = summarise(evs)
            summary[method] = s
            if "pair_f1" in s:
                print(
                    f"  {method:<14} {s['pair_f1']:>8.3f} {s['min_pair_f1']:>6.2f} {s['pair_recall']:>7.3f} "
                    f"{s['pair_precision']:>9.3f} {s['day_f1']:>7.3f} {s['false_alarm_days']:>8}"
                )
            else:
                print(
                    f"  {method:<14} {'n/a':>8} {'':>6} {'':>7} {'':>9} {s['day_f1']:>7.3f} {s['false_alarm_days']:>8}"
                )
        results[label] = summary
    return results


# --------------------------------------------------------------------------- NAB


def load_score_module(nab: Path) -> Any:
    spec = importlib.util.spec_from_file_location("nab_score", nab / "score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_nab_standard(nab: Path) -> Any | None:
    """shared/nab/nab_score.py (NAB's own standard-profile scorer), or None if this copy lacks it."""
    path = nab / "nab_score.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("nab_standard_score", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nab_standard_score(nab: Path, called: dict[str, set[str]]) -> dict[str, Any] | None:
    """NAB's standard score of these alerted hours, computed by nab_score.py itself on saved alerts."""
    scorer = load_nab_standard(nab)
    if scorer is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        for name, hours in called.items():
            alerts = [{"timestamp": f"{h}:00:00"} for h in sorted(hours)]
            (Path(folder) / f"{Path(name).stem}.json").write_text(json.dumps({"alerts": alerts}))
        with contextlib.redirect_stdout(io.StringIO()):
            out = scorer.main([str(nab), "--alerts", folder, "--json"])
    return {"score": out["score"], "raw": out["raw"], "files": {r["file"]: r["score"] for r in out["files"]}}


def legacy_hourly(window: int, threshold: float = 1.5) -> Callable[[pl.DataFrame], set[str]]:
    """The earlier z-score on hourly sums: rolling mean/sd of the last `window` points, current included."""

    def detect(frame: pl.DataFrame) -> set[str]:
        hourly = frame.sort("timestamp").group_by_dynamic("timestamp", every="1h").agg(pl.col("value").sum())
        z = hourly.with_columns(
            ((pl.col("value") - pl.col("value").rolling_mean(window)) / pl.col("value").rolling_std(window)).alias("z")
        )
        hits = z.filter(pl.col("z").is_not_nan() & (pl.col("z") > threshold))
        return {t.isoformat()[:13] for t in hits["timestamp"].to_list()}

    return detect


def robust_hourly(threshold: float) -> Callable[[pl.DataFrame], set[str]]:
    def detect(frame: pl.DataFrame) -> set[str]:
        scored = detect_series(frame, "1h", threshold)
        return {t.isoformat()[:13] for t in scored.filter("alert")["timestamp"].to_list()}

    return detect


def score_nab(nab: Path, detect: Callable[[pl.DataFrame], set[str]], verbose: bool = False) -> dict[str, Any]:
    """caught/windows and false alarms per 30 days, exactly as shared/nab/score.py counts them."""
    score = load_score_module(nab)
    labels = json.loads((nab / "labels" / "windows.json").read_text())
    caught = total = false = 0
    days = 0.0
    per_file = {}
    calls: dict[str, set[str]] = {}
    for name in sorted(labels):
        path = nab / "data" / name
        called = calls[name] = detect(pl.read_csv(path, try_parse_dates=True))
        hours = score.hourly(str(path))["timestamp"].to_list()
        alarms = score.alarms_of(hours, [h.isoformat()[:13] in called for h in hours])
        windows = [(dt.datetime.fromisoformat(a[:19]), dt.datetime.fromisoformat(b[:19])) for a, b in labels[name]]
        c = sum(any(a0 <= w1 and a1 >= w0 for a0, a1 in alarms) for w0, w1 in windows)
        f = sum(not any(a0 <= w1 and a1 >= w0 for w0, w1 in windows) for a0, a1 in alarms)
        span = (hours[-1] - hours[0]).total_seconds() / 86400
        per_file[name] = {"caught": c, "windows": len(windows), "false_alarms": f, "days": round(span, 1)}
        if verbose:
            print(f"    {name:<26} caught {c}/{len(windows)}, false alarms {f} in {span:.0f} days")
        caught, total, false, days = caught + c, total + len(windows), false + f, days + span
    standard = nab_standard_score(nab, calls)
    if verbose and standard is not None:
        per = ", ".join(f"{Path(k).stem.removeprefix('Twitter_volume_')} {v:.2f}" for k, v in standard["files"].items())
        print(f"    NAB standard score (nab_score.py): {standard['score']:.1f}  [raw per file: {per}]")
    return {
        "caught": caught,
        "windows": total,
        "false_alarms": false,
        "false_alarms_per_30_days": false / days * 30,
        "nab_standard": standard,
        "files": per_file,
    }


def bench_nab(nab: Path) -> dict[str, Any]:
    results = {}
    print(f"\n== NAB count series ({nab}), protocol of its README: hourly sums ==")
    print(
        "  TUNED ON, not held out: the detector's design was checked against these six series. NAB has other\n"
        "  series this project has not seen (the ten Twitter-volume series, five of them not here; issue #20 quotes\n"
        "  the earlier detector at 61.1 on all ten, 74.7 on the five here and 48.2 on the five unseen)."
    )
    if load_nab_standard(nab) is None:
        print(f"  (no nab_score.py in {nab}: NAB's standard score is skipped)")
    for label, detect in (
        (f"robust seasonal (volume), threshold {DEFAULT_THRESHOLD:g}", robust_hourly(DEFAULT_THRESHOLD)),
        ("zscore-legacy, 7-hour window", legacy_hourly(7)),
        ("zscore-legacy, 168-hour window", legacy_hourly(168)),
    ):
        start = time.perf_counter()
        print(f"  {label}:")
        r = score_nab(nab, detect, verbose=label.startswith("robust"))
        standard = f", NAB standard score {r['nab_standard']['score']:.1f}" if r["nab_standard"] else ""
        print(
            f"    TOTAL: caught {r['caught']}/{r['windows']} windows "
            f"({100 * r['caught'] / r['windows']:.0f}%), {r['false_alarms_per_30_days']:.2f} false alarms "
            f"per 30 days ({r['false_alarms']} in all){standard}  [{time.perf_counter() - start:.1f} s]"
        )
        results[label] = r
    return results


# --------------------------------------------------------------------------- held-out hourly series

HELDOUT_START = dt.datetime(2026, 1, 5)  # a Monday
HELDOUT_DURATIONS = (1, 3, 6, 12, 24)  # hours an injected excess lasts
HELDOUT_PAD = 12  # hours either side of an injected excess that still count as catching it


def heldout_series(seed: int, days: int = 70) -> tuple[pl.DataFrame, list[tuple[int, int, float]]]:
    """A synthetic hourly count series and its injected excesses (start hour, hours, lift).

    Everything is drawn from ranges fixed a priori: a base of 3 to 3,000 an hour, a daily
    cycle (amplitude 0.3-0.9 on the log scale, any phase), a weekend factor of 0.5-1.3, a
    trend of up to +-40% over the series, AR(1) log-scale noise (lag-1 correlation 0.5-0.95,
    sd 0.05-0.25: errors that persist from hour to hour), gamma-Poisson counts (shape 5-100:
    over-dispersion). Four excesses per series, at least 3 days apart, from day 8 on (some
    before a weekly profile exists), each lasting 1, 3, 6, 12 or 24 hours at 1.5-4 times
    the rate.
    """
    rng = np.random.default_rng(1000 + seed)
    n = days * 24
    hour = np.arange(n)
    base = np.exp(rng.uniform(np.log(3), np.log(3000)))
    amplitude, phase = rng.uniform(0.3, 0.9), rng.uniform(0, 24)
    rate = base * np.exp(amplitude * np.sin(2 * np.pi * (hour % 24 - phase) / 24))
    rate *= np.where((hour // 24) % 7 >= 5, rng.uniform(0.5, 1.3), 1.0)
    rate *= np.exp(rng.uniform(-0.4, 0.4) * hour / n)
    phi, sd = rng.uniform(0.5, 0.95), rng.uniform(0.05, 0.25)
    shocks = rng.normal(0, sd * np.sqrt(1 - phi**2), n)
    noise = np.zeros(n)
    noise[0] = rng.normal(0, sd)
    for i in range(1, n):
        noise[i] = phi * noise[i - 1] + shocks[i]
    rate *= np.exp(noise)
    starts: list[int] = []
    while len(starts) < 4:
        start = int(rng.integers(8 * 24, (days - 2) * 24))
        if all(abs(start - other) >= 3 * 24 for other in starts):
            starts.append(start)
    events = []
    for start in sorted(starts):
        hours = int(rng.choice(HELDOUT_DURATIONS))
        lift = float(np.exp(rng.uniform(np.log(1.5), np.log(4))))
        rate[start : start + hours] *= lift
        events.append((start, hours, lift))
    shape = rng.uniform(5, 100)
    counts = rng.poisson(rate * rng.gamma(shape, 1 / shape, n)).astype(float)
    stamps = [HELDOUT_START + dt.timedelta(hours=int(i)) for i in range(n)]
    return pl.DataFrame({"timestamp": stamps, "value": counts}), events


def score_heldout(series: int, thresholds: list[float]) -> dict[float, dict[str, Any]]:
    """Excesses caught and false alarms per 30 days on `series` held-out series, NAB's way.

    An excess is caught when an alarm (consecutive alerted hours) overlaps it or the
    HELDOUT_PAD hours either side; an alarm overlapping none is a false alarm.
    """
    out = {x: {"caught": 0, "excesses": 0, "false_alarms": 0, "days": 0.0, "by_hours": {}} for x in thresholds}
    for seed in range(1, series + 1):
        frame, events = heldout_series(seed)
        windows = [(s - HELDOUT_PAD, s + h - 1 + HELDOUT_PAD) for s, h, _ in events]
        for x in thresholds:
            flags = detect_series(frame, "1h", x)["alert"].to_list()
            alarms, start = [], None
            for i, flag in enumerate([*flags, False]):
                if flag and start is None:
                    start = i
                elif not flag and start is not None:
                    alarms.append((start, i - 1))
                    start = None
            r = out[x]
            for (w0, w1), (_, hours, _) in zip(windows, events, strict=True):
                hit = any(a0 <= w1 and a1 >= w0 for a0, a1 in alarms)
                r["caught"] += hit
                r["excesses"] += 1
                caught, total = r["by_hours"].get(hours, (0, 0))
                r["by_hours"][hours] = (caught + hit, total + 1)
            r["false_alarms"] += sum(not any(a0 <= w1 and a1 >= w0 for w0, w1 in windows) for a0, a1 in alarms)
            r["days"] += len(flags) / 24
    for r in out.values():
        r["false_alarms_per_30_days"] = r["false_alarms"] / r["days"] * 30
    return out


def bench_heldout(series: int, thresholds: list[float]) -> dict[float, dict[str, Any]]:
    print(f"\n== {series} held-out synthetic hourly series (bench/detection.py heldout_series), NAB's scoring ==")
    start = time.perf_counter()
    results = score_heldout(series, thresholds)
    for x, r in results.items():
        by_hours = ", ".join(f"{h} h {c}/{t}" for h, (c, t) in sorted(r["by_hours"].items()))
        print(
            f"  threshold {x:g}: caught {r['caught']}/{r['excesses']} excesses, "
            f"{r['false_alarms_per_30_days']:.2f} false alarms per 30 days ({r['false_alarms']} in all)  [{by_hours}]"
        )
    print(f"  [{time.perf_counter() - start:.0f} s]")
    return results


# --------------------------------------------------------------------------- quiet series

QUIET_BASES = (1.0, 3.0, 5.0, 10.0, 30.0)  # mean counts an hour around which the daily cycle runs
QUIET_SHAPES = (None, 20.0, 5.0)  # None: Poisson; else gamma-Poisson of that shape (over-dispersed)


def quiet_series(base: float, shape: float | None, seed: int, days: int = 42) -> pl.DataFrame:
    """An hourly count series with nothing unusual in it: a daily cycle, Poisson or over-dispersed."""
    rng = np.random.default_rng(seed)
    hour = np.arange(days * 24)
    rate = base * np.exp(0.8 * np.sin(2 * np.pi * (hour % 24 - 6) / 24))
    if shape is not None:
        rate = rate * rng.gamma(shape, 1 / shape, rate.size)
    stamps = [HELDOUT_START + dt.timedelta(hours=int(i)) for i in hour]
    return pl.DataFrame({"timestamp": stamps, "value": rng.poisson(rate).astype(float)})


def bench_quiet(series: int) -> dict[str, Any]:
    """False alarms (runs of alerted hours) on quiet series, where every alarm is false."""
    print(f"\n== Quiet hourly series: {series} per setting, 42 days each, nothing unusual in them ==")
    start = time.perf_counter()
    out: dict[str, Any] = {"alarms": 0, "days": 0.0, "by_setting": {}}
    for shape in QUIET_SHAPES:
        for base in QUIET_BASES:
            alarms = 0
            for seed in range(series):
                flags = detect_series(quiet_series(base, shape, seed), "1h")["alert"].to_numpy()
                alarms += int(np.count_nonzero(flags[1:] & ~flags[:-1]) + flags[0])
            label = f"{'Poisson' if shape is None else f'gamma-Poisson shape {shape:g}'}, {base:g} an hour"
            out["by_setting"][label] = alarms
            out["alarms"] += alarms
            out["days"] += series * 42
    out["false_alarms_per_30_days"] = out["alarms"] / out["days"] * 30
    by = ", ".join(f"{k}: {v}" for k, v in out["by_setting"].items() if v)
    print(
        f"  {out['alarms']} alarms in {out['days']:,.0f} days ({out['false_alarms_per_30_days']:.2f} per 30 days)"
        f"  [{by or 'none'}]  [{time.perf_counter() - start:.0f} s]"
    )
    return out


# --------------------------------------------------------------------------- the product: hourly, per category


def attack_onsets(flags: pl.LazyFrame, starts: pl.DataFrame, share: float = 0.25) -> dict[str, dt.datetime | None]:
    """The first hour in which an attack's own flags reach `share` of its busiest hour: when its bulk began.

    The generator knows each attack's flags; a campaign trickles for hours (a few extra flags an
    hour from midnight UTC) before its bulk, in the attacker region's evening.
    """
    own = (
        flags.filter(pl.col("attack_id").is_not_null() & pl.col("created_at").is_not_null())
        .select(
            "attack_id",
            pl.col("created_at").dt.replace_time_zone(None).dt.truncate("1h").cast(pl.Datetime("us")).alias("hour"),
        )
        .group_by("attack_id", "hour")
        .len()
        .collect()
        .sort("hour")
    )
    onsets: dict[str, dt.datetime | None] = {}
    for attack_id in starts["attack_id"]:
        hours = own.filter(pl.col("attack_id") == attack_id)
        big = hours.filter(pl.col("len") >= share * hours["len"].max()) if hours.height else hours
        onsets[attack_id] = big["hour"][0] if big.height else None
    return onsets


def _product_world(config: WorldConfig, columns: tuple[str, ...]) -> tuple[dict[str, Any], pl.LazyFrame, pl.DataFrame]:
    world = generate_world(config)
    flags = world.flags.lazy()
    alerts = hourly_alerts(flags.select("category", "created_at", *columns))
    starts = attack_starts(flags, world.attacks)
    return time_to_detect(alerts, starts, config.days), flags, starts


def _hours(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f} h"


def bench_product(seed: int = 42, other_seeds: int = 5) -> dict[str, Any]:
    """Time to first alert for the built-in world's attacks with the hourly per-category detector.

    "Start" is each attack's first flag: the generator opens every campaign at midnight UTC of its
    first day with a trickle (a quarter of its flags spread over the day) before its bursts, so the
    first flag is when it began. Seed 42 (default and hard presets) is where the coordination
    signals were designed and checked (tuned on); seeds 1..`other_seeds` of both presets were not
    looked at while choosing them and are reported as held out.
    """
    print(
        "\n== The product: the hourly detector per category on the built-in world (volume + coordination signals) =="
        "\n  delay: hours from an attack's FIRST FLAG (the generator's start: a trickle from midnight UTC) to the end"
        "\n  of the hour whose alert names its category; every other alert is a false alarm"
    )
    out: dict[str, Any] = {}
    for label, make in (("default", lambda s: WorldConfig(seed=s)), ("hard", WorldConfig.hard)):
        start = time.perf_counter()
        config = make(seed)
        volume, _, _ = _product_world(config, ())
        r, flags, starts = _product_world(config, COORDINATION_COLUMNS)
        onsets = attack_onsets(flags, starts)
        for a, row in zip(r["attacks"], starts.iter_rows(named=True), strict=True):
            onset = onsets[a["attack_id"]]
            a["onset"] = onset
            a["delay_from_onset_hours"] = (
                None
                if onset is None or a["delay_hours"] is None
                else a["delay_hours"] - (onset - row["start"]) / dt.timedelta(hours=1)
            )
        r["volume_only"] = {k: volume[k] for k in ("median_delay_hours", "caught", "false_alarms_per_30_days")}
        print(
            f"  {label} preset, seed {seed} (TUNED ON): {r['caught']}/{len(r['attacks'])} attacks alerted, "
            f"median delay {_hours(r['median_delay_hours'])} from the first attack flag, "
            f"{r['false_alarms']} false alarms "
            f"({r['false_alarms_per_30_days']:.2f} per 30 days, all categories)  [{time.perf_counter() - start:.0f} s]"
        )
        print(
            "    per attack (hours from first flag; from the start of its bulk, the first hour with a quarter of its "
            "busiest hour's flags): "
            + ", ".join(
                f"{a['attack_id']} {a['category']} "
                + (
                    "missed"
                    if a["delay_hours"] is None
                    else f"{a['delay_hours']:.1f} ({a['delay_from_onset_hours']:+.1f})"
                )
                for a in r["attacks"]
            )
        )
        print(
            f"    volume alone (no coordination columns): median {_hours(volume['median_delay_hours'])}, "
            f"{volume['caught']}/{len(volume['attacks'])} alerted, "
            f"{volume['false_alarms_per_30_days']:.2f} false alarms per 30 days"
        )
        held: list[dict[str, Any]] = []
        for s in range(1, other_seeds + 1):
            held.append(_product_world(make(s), COORDINATION_COLUMNS)[0])
        if held:
            delays = [a["delay_hours"] for h in held for a in h["attacks"] if a["delay_hours"] is not None]
            total = sum(len(h["attacks"]) for h in held)
            fa = sum(h["false_alarms"] for h in held) / (other_seeds * config.days) * 30
            summary = {
                "seeds": [1, other_seeds],
                "median_delay_hours": statistics.median(delays) if delays else None,
                "worst_world_median_hours": max(
                    (h["median_delay_hours"] for h in held if h["median_delay_hours"] is not None), default=None
                ),
                "caught": len(delays),
                "attacks": total,
                "within_3_hours": sum(d <= 3.0 for d in delays),
                "false_alarms_per_30_days": fa,
            }
            r["held_out"] = summary
            print(
                f"  {label} preset, seeds 1-{other_seeds} (HELD OUT): {len(delays)}/{total} attacks alerted, "
                f"median delay {_hours(summary['median_delay_hours'])} over all their attacks "
                f"({summary['within_3_hours']} within 3 h; worst world's median "
                f"{_hours(summary['worst_world_median_hours'])}), {fa:.2f} false alarms per 30 days  "
                f"[{time.perf_counter() - start:.0f} s]"
            )
        out[label] = r
    return out


# --------------------------------------------------------------------------- the two failure modes, held-out seeds


def _hourly_frame(counts: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame(
        {"timestamp": [HELDOUT_START + dt.timedelta(hours=int(i)) for i in range(counts.size)], "value": counts}
    )


def low_bursty_series(seed: int, days: int = 35) -> tuple[np.ndarray, int]:
    """About 1 an hour (gamma-Poisson, shape 2, a mild daily cycle, six bursts of 4-8) and a burst of 28 on day 28."""
    rng = np.random.default_rng(seed)
    n = days * 24
    rate = np.exp(0.5 * np.sin(2 * np.pi * (np.arange(n) % 24 - 6) / 24)) * rng.gamma(2.0, 0.5, n)
    counts = rng.poisson(rate).astype(float)
    for hour in rng.integers(3 * 24, n, 6):
        counts[hour] += rng.integers(4, 9)
    burst = 28 * 24 + int(rng.integers(0, 24))
    counts[burst] = 28
    return counts, burst


def recurring_series(seed: int) -> tuple[np.ndarray, list[int], int]:
    """~24 an hour, bursts of ~1,000 an hour every 1-3 days for 7 weeks, then 12 hours at ~150 an hour (new shape)."""
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
    new = 51 * 24 + int(rng.integers(0, 24))
    counts[new : new + 12] = rng.poisson(150, 12)
    return counts, bursts, new


def bench_failure_modes(series: int) -> dict[str, Any]:
    """The two failure modes of issue #20 on seeds 100 on (tests/test_detect_stream.py and tuning used 0-5)."""
    print(f"\n== The two failure modes, {series} held-out seeds each (100-{99 + series}) ==")
    start = time.perf_counter()
    caught = other = 0
    for seed in range(100, 100 + series):
        counts, burst = low_bursty_series(seed)
        alerted = np.flatnonzero(detect_series(_hourly_frame(counts), "1h")["alert"].to_numpy())
        caught += int(burst in alerted)
        other += int(np.count_nonzero(alerted != burst))
    low = {"caught": caught, "series": series, "other_alerts": other, "days": series * 35}
    print(
        f"  low, bursty (~1 an hour, a burst of 28): burst alerted in {caught}/{series} series, "
        f"{other} other alerts in {series * 35} days"
    )
    after_third = first = new_caught = n_bursts = 0
    for seed in range(100, 100 + series):
        counts, bursts, new = recurring_series(seed)
        alerted = np.flatnonzero(detect_series(_hourly_frame(counts), "1h")["alert"].to_numpy())
        n_bursts += len(bursts)
        first += int(bursts[0] in alerted)
        after_third += int(np.count_nonzero((alerted > bursts[2]) & (alerted < new)))
        new_caught += int(np.any((alerted >= new) & (alerted < new + 12)))
    recur = {
        "series": series,
        "bursts": n_bursts,
        "first_burst_alerted": first,
        "alerts_after_third_burst": after_third,
        "new_shape_caught": new_caught,
    }
    print(
        f"  recurring bursts (~1,000 an hour over ~24, {n_bursts} bursts in all): first alerted in {first}/{series}, "
        f"{after_third} alerts after the third burst ({after_third / series:.1f} per series of 7 weeks), "
        f"the new 12-hour lift alerted in {new_caught}/{series}  [{time.perf_counter() - start:.0f} s]"
    )
    return {"low_bursty": low, "recurring": recur}


# --------------------------------------------------------------------------- threshold sweep


def sweep(seeds: list[int], nab: Path | None, thresholds: list[float]) -> None:
    print("\n== Threshold sweep (one setting for both: the same X for multisignal and the NAB series) ==")
    print(f"  {'X':>4} {'default pair F1':>16} {'hard pair F1':>13} {'NAB caught':>11} {'NAB FA/30d':>11}")
    for x in thresholds:
        cells = []
        for make in (lambda s: WorldConfig(seed=s), WorldConfig.hard):
            evs = [world_scores(make(s), ["multisignal"], {"multisignal": x})["multisignal"] for s in seeds]
            cells.append(summarise(evs)["pair_f1"])
        if nab is not None:
            r = score_nab(nab, robust_hourly(x))
            nab_cells = f"{r['caught']:>5}/{r['windows']:<5} {r['false_alarms_per_30_days']:>11.1f}"
        else:
            nab_cells = f"{'n/a':>11} {'n/a':>11}"
        print(f"  {x:>4g} {cells[0]:>16.3f} {cells[1]:>13.3f} {nab_cells}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="synthetic worlds per setting (default 20)")
    parser.add_argument("--skip-nab", action="store_true", help="do not score the NAB series")
    parser.add_argument("--sweep", action="store_true", help="also sweep the threshold (slow)")
    parser.add_argument(
        "--heldout", type=int, default=40, metavar="N", help="held-out synthetic hourly series (default 40; 0: skip)"
    )
    parser.add_argument(
        "--quiet", type=int, default=10, metavar="N", help="quiet hourly series per setting (default 10; 0: skip)"
    )
    parser.add_argument(
        "--failure-modes", type=int, default=20, metavar="N", help="held-out seeds per failure mode (20; 0: skip)"
    )
    parser.add_argument("--skip-product", action="store_true", help="skip time-to-detect on the built-in world")
    parser.add_argument(
        "--product-seeds", type=int, default=5, metavar="N", help="held-out worlds per preset for time-to-detect (5)"
    )
    parser.add_argument(
        "--fast", action="store_true", help="quick check: 5 seeds, 10 held-out series, 2 quiet, 5 failure-mode seeds"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure to FILE as JSON")
    args = parser.parse_args(argv)
    if args.fast:
        args.seeds, args.heldout, args.quiet, args.failure_modes, args.product_seeds = 5, 10, 2, 5, 2
    started = time.perf_counter()
    seeds = list(range(1, args.seeds + 1))
    results: dict[str, Any] = {"worlds": bench_worlds(seeds, list(METHODS))}
    nab = None if args.skip_nab else find_nab()
    if not args.skip_nab:
        if nab is None:
            looked = " or ".join(str(p) for p in NAB_CANDIDATES)
            print(
                f"\nNAB SERIES NOT FOUND: looked for {looked} (labels/windows.json). The NAB figures (windows "
                "protocol and NAB standard score) are SKIPPED; put the shared NAB folder at ../shared/nab beside "
                "this checkout to get them."
            )
        else:
            results["nab"] = bench_nab(nab)
    if not args.skip_product:
        results["product"] = bench_product(other_seeds=args.product_seeds)
    if args.failure_modes:
        results["failure_modes"] = bench_failure_modes(args.failure_modes)
    if args.heldout:
        swept = [3.5, DEFAULT_THRESHOLD, 4.5] if args.sweep else [DEFAULT_THRESHOLD]
        results["heldout"] = bench_heldout(args.heldout, swept)
    if args.quiet:
        results["quiet"] = bench_quiet(args.quiet)
    if args.sweep:
        sweep(seeds, nab, [3.0, 3.5, 4.0, 4.5, 5.0])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    print(f"\n(done in {time.perf_counter() - started:.0f} s; numpy {np.__version__}, polars {pl.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
