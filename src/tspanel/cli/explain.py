"""`tspanel detect --explain DATE CATEGORY [--json] [--case OUT_DIR]`: the evidence behind an alert.

Kept apart from cli/detect.py (which only registers these options and hands over), so the
detection command and the investigation command change independently.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

from tspanel.cli._common import check_output_dir, iso_date, local_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The investigation options of `tspanel detect`."""
    parser.add_argument(
        "--explain",
        nargs=2,
        metavar=("DATE", "CATEGORY"),
        help="print the evidence of coordination for one day and category (an alert, or any other day): "
        "top accounts, shared content and targets, account ages, the hour profile and the region split, "
        "each against the category's previous 28 days",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=None,
        metavar="N",
        help="with --explain: look at N days from DATE (default 1)",
    )
    parser.add_argument(
        "--case",
        type=local_path,
        metavar="OUT_DIR",
        help="with --explain: write the case for investigators to OUT_DIR: one JSON with the alert, its "
        "evidence and its flag ids, and a CSV of the flags",
    )


def run_explain(args: argparse.Namespace) -> int:
    from tspanel.cli._common import open_dataset
    from tspanel.errors import TspanelError
    from tspanel.models.evidence import explain

    if args.explain is None:
        raise TspanelError("--case needs --explain DATE CATEGORY: which day and category to write up")
    text_date, category = args.explain
    try:
        start = iso_date(text_date)
    except argparse.ArgumentTypeError as exc:
        raise TspanelError(f"--explain: {exc}") from None
    days = 1 if args.days is None else args.days
    if days < 1:
        raise TspanelError(f"--days must be 1 or more (got {days})")
    if args.series is not None:
        raise TspanelError("--explain works on a dataset (--data), not on --series")
    if args.case is not None:
        check_output_dir(args.case, "--case")
    end = start + dt.timedelta(days=days - 1)
    dataset = open_dataset(args.data)
    if category not in dataset.categories:
        raise TspanelError(f"--explain: unknown category {category!r}; choose from {', '.join(dataset.categories)}")
    evidence = explain(dataset, start, end, category)
    alerts = _alerts(dataset, args, start, end, category)
    if args.case is not None:
        from tspanel.models.case import write_case  # (the case's modules only when one is written)

        json_path, csv_path, count = write_case(dataset, evidence, alerts, args.case)
        print(f"wrote the case ({count:,} flags) to {json_path} and {csv_path}", file=sys.stderr)
    if args.json:
        print(json.dumps({"dataset": dataset.name, "alerts": alerts, **evidence.to_dict()}, indent=2, default=str))
        return 0
    span = str(start) if start == end else f"{start} to {end}"
    print(f"{dataset.name}: {category}, {span}: {evidence.flags:,} flags")
    if alerts:
        for a in alerts:
            print(f"  alert on {a['date']}: score {a['score']:.1f} ({a['method']})")
    else:
        print("  no detector alert on these days")
    print(f"Evidence against {evidence.baseline}:")
    for item in evidence.items:
        mark = "!" if item.suspicious else " "
        print(f"  {mark} {item.kind:<12} {item.statement}")
    if evidence.why_empty:
        print(f"  {evidence.why_empty}")
        return 0
    n = len(evidence.suspicious)
    print("Nothing out of the ordinary." if n == 0 else f"{n} item{'s' if n != 1 else ''} out of the ordinary (!).")
    return 0


def _alerts(dataset: Any, args: argparse.Namespace, start: dt.date, end: dt.date, category: str) -> list[dict]:
    """The detector's alerts for the category on these days (the method and threshold of the command)."""
    from tspanel.detect.registry import DEFAULT_METHOD, get_method
    from tspanel.models.case import alert_records

    method = get_method(args.method or DEFAULT_METHOD).name
    return alert_records(dataset, start, end, category, method, args.threshold)
