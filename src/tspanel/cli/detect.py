"""`tspanel detect`: coordinated-attack alerts for a dataset, or spikes in any count series."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from tspanel.cli._common import add_data_argument, iso_date, local_path, plural
from tspanel.cli.explain import add_arguments as add_explain_arguments
from tspanel.cli.explain import run_explain

PROGRESS_MIN_BINS = 5_000  # a series this long takes several seconds: show progress on stderr


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "detect",
        help="find coordinated attacks in a dataset, or spikes in a timestamp,value count series",
        description="Run a detection method over a dataset's flags and print its alerts: one per "
        "(day, category) with a score and the signals that fired. With ground truth in the data (an "
        "attacks table, or coordinated_flag) it also prints precision/recall/F1 and a comparison of all "
        "methods. With --series it scores any count series instead (CSV with columns timestamp,value, "
        "summed into --freq bins). Methods and their evidence: docs/detection.md.",
    )
    add_data_argument(parser)
    parser.add_argument(
        "--method", default=None, metavar="NAME", help="detection method (default: multisignal); see --list-methods"
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        metavar="X",
        help="alert when the score exceeds X (default: the method's own, 4 robust z "
        "for multisignal and volume, 1.5 for zscore-legacy)",
    )
    parser.add_argument(
        "--start",
        type=iso_date,
        metavar="DATE",
        help="report alerts from this day (the days before still serve as baseline)",
    )
    parser.add_argument("--end", type=iso_date, metavar="DATE", help="report alerts up to this day")
    parser.add_argument("--category", nargs="+", metavar="C", help="only these policy categories")
    parser.add_argument("--region", nargs="+", metavar="R", help="only flags from these regions")
    parser.add_argument(
        "--series",
        type=local_path,
        metavar="FILE.csv",
        help="score a count series (CSV: timestamp,value) with the robust seasonal detector; "
        "with --follow, '-' reads stdin",
    )
    parser.add_argument(
        "--follow",
        action="store_true",
        help="with --series: keep reading rows appended to FILE (or stdin: --series -) and print each "
        "alert as soon as the bin that raises it is complete (a bin closes when a later row arrives; "
        "stdin's last bin closes at its end); Ctrl-C stops. Same alerts as the batch run on the same rows",
    )
    parser.add_argument(
        "--freq",
        default="1h",
        metavar="STEP",
        help="with --series: bin size the values are summed into, e.g. 5m, 1h, 1d (default 1h)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--list-methods", action="store_true", help="list the detection methods and exit")
    add_explain_arguments(parser)  # --explain DATE CATEGORY, --days, --case (tspanel.cli.explain)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tspanel.detect.registry import DEFAULT_METHOD, get_method
    from tspanel.errors import TspanelError

    if args.list_methods:
        return _list_methods(args.json)
    if args.explain is not None or args.case is not None:
        return run_explain(args)
    if args.days is not None:
        raise TspanelError("--days works with --explain DATE CATEGORY (how many days to look at)")
    if args.threshold is not None and not (math.isfinite(args.threshold) and args.threshold > 0):
        raise TspanelError(f"--threshold must be a positive number (got {args.threshold})")
    if args.follow and args.series is None:
        raise TspanelError("--follow needs --series FILE (or --series - for stdin)")
    if args.series is not None:
        if args.data is not None:
            raise TspanelError("use either --series FILE or --data DIR, not both")
        if args.method not in (None, "volume"):
            raise TspanelError("--series always uses the volume detector; drop --method")
        dataset_only = [f"--{o}" for o in ("start", "end", "category", "region") if getattr(args, o) is not None]
        if dataset_only:
            raise TspanelError(
                f"--series scores the whole count series; {', '.join(dataset_only)} work on a dataset (--data): "
                "cut the file instead"
            )
        return _run_series(args)
    return _run_dataset(args, get_method(args.method or DEFAULT_METHOD).name)


def _list_methods(as_json: bool) -> int:
    from tspanel.detect.registry import DEFAULT_METHOD, METHODS

    if as_json:
        print(
            json.dumps(
                [
                    {
                        "name": m.name,
                        "default_threshold": m.default_threshold,
                        "default": m.name == DEFAULT_METHOD,
                        "description": m.description,
                    }
                    for m in METHODS.values()
                ],
                indent=2,
            )
        )
        return 0
    width = max(len(name) for name in METHODS)
    for m in METHODS.values():
        mark = " (default)" if m.name == DEFAULT_METHOD else ""
        print(f"{m.name:<{width}}  threshold {m.default_threshold:g}{mark}\n{'':<{width}}  {m.description}")
    return 0


def _alert_record(
    stamp: Any, value: float, expected: float, score: float, first: Any, last: Any, step: Any
) -> dict[str, Any]:
    """One series alert as printed: stamped at the bin that raised it, the excess it refers to beside it."""
    return {
        "timestamp": stamp.isoformat(),
        "raised_at": (stamp + step).isoformat(),
        "window_start": first.isoformat(),
        "window_end": last.isoformat(),
        "value": value,
        "expected": round(expected, 2),
        "score": round(score, 3),
        "signals": {"volume": round(score, 2)},
    }


def _print_alert_line(a: dict[str, Any]) -> None:
    span = a["window_start"] if a["window_start"] == a["window_end"] else f"{a['window_start']}..{a['window_end']}"
    print(f"  {a['timestamp']:<26} {a['value']:>12,.0f} {a['expected']:>12,.1f} {a['score']:>7.1f}  {span}", flush=True)


def _run_series(args: argparse.Namespace) -> int:
    from tspanel.detect.series import DEFAULT_THRESHOLD, detect_series, parse_step
    from tspanel.detect.series_io import read_series_csv

    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    step = parse_step(args.freq)
    if args.follow:
        return _follow_series(args, step, threshold)
    tty = sys.stderr.isatty()
    printed: list[int] = []  # percentages shown so far (a log gets a line every 25%, a terminal every 5%)

    def progress(done: int, total: int) -> None:
        pct = 100 * done // total
        if total < PROGRESS_MIN_BINS or (not tty and printed and pct // 25 == printed[-1] // 25):
            return
        printed.append(pct)
        line = f"scoring {total:,} bins of {args.freq}: {pct}%"
        print(("\r" + line) if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)

    scored = detect_series(read_series_csv(args.series), step, threshold, progress)
    if printed:
        done = f"scoring {scored.height:,} bins of {args.freq}: done"
        print(("\r" + done) if tty else done, file=sys.stderr, flush=True)
    alerts = [
        _alert_record(
            r["timestamp"], r["value"], r["expected"], r["alert_score"], r["window_start"], r["window_end"], step
        )
        for r in scored.filter("alert").iter_rows(named=True)
    ]
    if args.json:
        print(
            json.dumps(
                {
                    "method": "volume",
                    "series": str(args.series),
                    "freq": args.freq,
                    "threshold": threshold,
                    "points": scored.height,
                    "alerts": alerts,
                    "evaluation": None,
                }
            )
        )
        return 0
    print(
        f"{args.series}: {scored.height:,} bins of {args.freq}, "
        f"{plural(len(alerts), 'alert')} above robust z {threshold:g}"
    )
    if alerts:
        print(f"  {'raised for bin':<26} {'value':>12} {'expected':>12} {'score':>7}  excess in")
        for a in alerts:
            _print_alert_line(a)
    return 0


def _follow_series(args: argparse.Namespace, step: Any, threshold: float) -> int:
    """Stream mode: one alert per line (JSON lines with --json) as soon as its bin is complete."""
    import contextlib
    import signal

    from tspanel.detect.series import SeriesDetector
    from tspanel.detect.series_io import Binner, follow_rows

    stdin = str(args.series) == "-"
    if not stdin and not args.series.is_file():
        from tspanel.errors import DataError

        raise DataError(f"{args.series}: no such file; give a CSV file with columns timestamp,value.")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    binner = Binner(step)
    detector: SeriesDetector | None = None
    bins = 0

    def emit(closed: Any) -> None:
        nonlocal detector, bins
        for start, total in closed:
            if detector is None:
                detector = SeriesDetector(start, step, threshold)
            alarm = detector.push(total)
            bins += 1
            if alarm is None:
                continue
            sc = detector.scorer
            a = _alert_record(
                detector.timestamp(alarm.index),
                float(sc.x[alarm.index]),
                float(sc.expected[alarm.index]),
                alarm.score,
                detector.timestamp(alarm.window_from),
                detector.timestamp(alarm.window_to),
                step,
            )
            if args.json:
                print(json.dumps(a), flush=True)
            else:
                _print_alert_line(a)

    name = "stdin" if stdin else args.series.name
    if not args.json:
        print(f"following {name} in bins of {args.freq} (alerts above robust z {threshold:g}); Ctrl-C stops")
    with contextlib.ExitStack() as stack:
        stream = sys.stdin if stdin else stack.enter_context(args.series.open(encoding="utf-8", newline=""))
        try:
            for rows in follow_rows(stream, name, until_eof=stdin):
                emit(binner.add(rows))
            emit(binner.flush())
        except KeyboardInterrupt:
            pass
    if binner.late:
        print(f"{name}: {binner.late} rows arrived after their bin was scored and were skipped", file=sys.stderr)
    return 0


def _run_dataset(args: argparse.Namespace, method: str) -> int:
    from tspanel.cli._common import check_dates, open_dataset
    from tspanel.errors import TspanelError
    from tspanel.models.attacks import AttacksModel
    from tspanel.models.base import Unavailable
    from tspanel.models.filters import Filters

    dataset = open_dataset(args.data)
    for option, known in (("category", dataset.categories), ("region", dataset.regions)):
        unknown = [v for v in getattr(args, option) or [] if v not in known]
        if unknown:
            hint = ", ".join(known) if known else f"none: this dataset has no {option} column"
            raise TspanelError(f"--{option}: unknown value(s) {', '.join(map(repr, unknown))}; choose from {hint}")
    check_dates(args.start, args.end, dataset)
    filters = Filters(start=args.start, end=args.end, categories=args.category or [], regions=args.region or [])
    model = AttacksModel(dataset, filters, method=method)
    if args.threshold is not None:
        model.threshold = args.threshold
    alerts = model.alerts()
    evaluation = model.evaluation()
    evaluation = None if isinstance(evaluation, Unavailable) else evaluation
    rows = [
        {
            "date": r["date"].isoformat(),
            "category": r["category"],
            "score": r["score"],
            "signals": json.loads(r["signals"]),
        }
        for r in alerts.iter_rows(named=True)
    ]
    if args.json:
        print(
            json.dumps(
                {
                    "dataset": dataset.name,
                    "method": method,
                    "threshold": model.threshold,
                    "alerts": rows,
                    "evaluation": evaluation,
                },
                indent=2,
            )
        )
        return 0
    start, end = model.date_range()
    print(f"{dataset.name}: {start} to {end}, method {method} (threshold {model.threshold:g})")
    _print_alerts(rows)
    if evaluation is not None:
        _print_evaluation(evaluation)
        print("\nAll methods on this data (default thresholds):")
        _print_comparison(model.comparison())
    else:
        print("\nNo ground truth in this dataset (no attacks table, no coordinated_flag): no evaluation.")
    return 0


def _print_alerts(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("No alerts.")
        return
    print(f"{len(rows)} alert{'s' if len(rows) != 1 else ''}:")
    print(f"  {'date':<10}  {'category':<16} {'score':>6}  signals (robust z)")
    for r in rows:
        signals = ", ".join(f"{k} {v:.1f}" for k, v in sorted(r["signals"].items(), key=lambda kv: -kv[1]))
        print(f"  {r['date']:<10}  {r['category'] or '(all)':<16} {r['score']:>6.1f}  {signals}")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _print_evaluation(ev: dict[str, Any]) -> None:
    days = ev["days"]
    print(f"\nAgainst the ground truth ({ev['truth']}, {plural(ev['attack_days'], 'attack day')}):")
    print(
        f"  days:           precision {_fmt(days['precision'])}  recall {_fmt(days['recall'])}  "
        f"F1 {_fmt(days['f1'])}  ({days['true_positives']} caught, {days['false_alarms']} false alarms, "
        f"{days['missed']} missed)"
    )
    pair = ev["day_category"]
    if pair is None:
        print("  day x category: n/a (this method does not name a category)")
    else:
        print(
            f"  day x category: precision {_fmt(pair['precision'])}  recall {_fmt(pair['recall'])}  "
            f"F1 {_fmt(pair['f1'])}  ({pair['true_positives']} caught, {pair['false_alarms']} false alarms, "
            f"{pair['missed']} missed)"
        )
    for a in ev["attacks"]:
        mark = "caught" if a["caught"] else "MISSED"
        print(
            f"  {a['attack_id']:<10} {a['category']:<16} {a['start']}..{a['end']}  "
            f"{mark} ({a['days_caught']}/{a['days']} days)"
        )


def _print_comparison(frame: Any) -> None:
    header = f"  {'method':<14} {'alerts':>6} {'day P':>6} {'day R':>6} {'day F1':>6} {'pair F1':>7} {'attacks':>8}"
    print(header)
    for r in frame.iter_rows(named=True):
        print(
            f"  {r['method']:<14} {r['alerts']:>6} {_fmt(r.get('day_precision')):>6} "
            f"{_fmt(r.get('day_recall')):>6} {_fmt(r.get('day_f1')):>6} {_fmt(r.get('pair_f1')):>7} "
            f"{r.get('attacks_caught') or 'n/a':>8}"
        )
