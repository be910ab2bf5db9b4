"""`tspanel kpis`: the headline numbers for a dataset and a selection."""

from __future__ import annotations

import argparse
import json
from typing import Any

from tspanel.cli._common import add_data_argument, add_filter_arguments, filters_from_args, open_dataset
from tspanel.vocab import KPI_LABELS, dataset_label

# The cards' names (tspanel.vocab), so the terminal and the page say the same thing.
LABELS: dict[str, str] = dict(KPI_LABELS)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "kpis",
        help="print the headline numbers (total, actions, SLA, coordinated share, ML score)",
        description="Print the headline numbers of a dataset for the selected days and filters. "
        "Definitions: docs/data.md#kpis.",
    )
    add_data_argument(parser)
    add_filter_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.set_defaults(func=run)


def format_value(key: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if key.endswith("_pct"):
        return f"{value:.1f}%"
    if key.startswith("ml_score"):
        return f"{value:.3f}"
    return f"{value:,}"


def run(args: argparse.Namespace) -> int:
    from tspanel.models.dashboard import Dashboard

    dataset = open_dataset(args.data)
    dashboard = Dashboard(dataset, filters_from_args(args, dataset))
    kpis = dashboard.headline()
    if args.json:
        print(json.dumps({"dataset": dataset.name, **kpis}, indent=2, default=str))
        return 0
    print(f"{dataset_label(dataset.name)}: {kpis['start']} to {kpis['end']} ({kpis['days']} days)")
    width = max(len(label) for label in LABELS.values())
    for key, label in LABELS.items():
        print(f"  {label:<{width}}  {format_value(key, kpis[key])}")
    return 0
