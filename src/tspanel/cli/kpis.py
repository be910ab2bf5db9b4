"""`tspanel kpis`: the headline numbers for a dataset and a selection."""

from __future__ import annotations

import argparse
import json
from typing import Any

from tspanel.cli._common import add_data_argument, add_filter_arguments, filters_from_args, open_dataset, plural
from tspanel.vocab import KPI_LABELS, dataset_label

# The cards' names (tspanel.vocab), so the terminal and the page say the same thing.
LABELS: dict[str, str] = dict(KPI_LABELS)
# From the queue model's staffing plan (tspanel.models.staffing): the same figures as the card.
STAFFING_KEYS = ("reviewers_needed", "expected_breach_pct_at_roster", "forecast_error_pct")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "kpis",
        help="print the headline numbers (total, actions, SLA, coordinated share, ML score, staffing)",
        description="Print the headline numbers of a dataset for the selected days and filters. "
        "Definitions: docs/data.md#kpis.",
    )
    add_data_argument(parser, sources=True)
    add_filter_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument(
        "--attention",
        action="store_true",
        help="print what needs attention instead (SLA breaches, backlog, classifier, attacks, growth; "
        "thresholds in docs/operations.md)",
    )
    parser.add_argument(
        "--rule", action="append", default=[], metavar="NAME=VALUE", help="with --attention: change a threshold"
    )
    parser.set_defaults(func=run)


def format_value(key: str, value: Any) -> str:
    if value is None:
        return "not enough data" if key in STAFFING_KEYS else "n/a"
    if key.endswith("_pct") or "_pct_" in key:
        return f"{value:.1f}%"
    if key.startswith("ml_score"):
        return f"{value:.3f}"
    return f"{value:,}"


def run(args: argparse.Namespace) -> int:
    from tspanel.models.dashboard import Dashboard

    if args.rule and not args.attention:
        from tspanel.errors import TspanelError

        raise TspanelError("--rule changes a threshold of --attention; add --attention")
    dataset = open_dataset(args.data)
    if args.attention:
        return _attention(args, dataset)
    dashboard = Dashboard(dataset, filters_from_args(args, dataset))
    kpis = dashboard.headline()
    staffing = dashboard.queue.staffing()
    kpis.update({key: staffing.get(key) for key in STAFFING_KEYS})
    if args.json:
        print(json.dumps({"dataset": dataset.name, **kpis}, indent=2, default=str))
        return 0
    print(f"{dataset_label(dataset.name)}: {kpis['start']} to {kpis['end']} ({plural(kpis['days'], 'day')})")
    width = max(len(label) for label in LABELS.values())
    for key, label in LABELS.items():
        print(f"  {label:<{width}}  {format_value(key, kpis[key])}")
    return 0


def _attention(args: argparse.Namespace, dataset: Any) -> int:
    from tspanel.models.attention import AttentionModel, parse_rules

    report = AttentionModel(dataset, filters_from_args(args, dataset), **parse_rules(args.rule)).report()
    if args.json:
        print(json.dumps({"dataset": dataset.name, **report}, indent=2, default=str))
        return 0
    as_of = report["as_of"][:16].replace("T", " ")
    print(f"{dataset_label(dataset.name)}: as of {as_of} UTC: {report['summary']}")
    for item in report["items"]:
        print(f"  [{item['severity']}] {item['title']}")
        print(f"      view: {item['view']}")
    return 0
