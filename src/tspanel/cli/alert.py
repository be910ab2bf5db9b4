"""`tspanel alert`: send each new "needs attention" item to every destination, once (cron-safe)."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

from tspanel.cli._common import add_data_argument, local_path
from tspanel.errors import TspanelError

NOTIFY_ENV = "TSPANEL_NOTIFY"
EXIT_NONE_NEW = 0
EXIT_SENT = 1
EXIT_DELIVERY_FAILED = 3
DEFAULT_BASE_URL = "http://localhost:5006/"

DESCRIPTION = f"""\
Evaluate the "needs attention" rules on the latest data (high/critical cases past the SLA, \
backlog above its norm, classifier warning/alert, attack alerts of the last 7 days, category \
growth; see `tspanel kpis --attention` and docs/operations.md) and send each NEW item once \
to every destination, with its numbers and a link to the dashboard view that explains it.

Destinations are apprise URLs: json://host/path or jsons:// (a JSON webhook), slack://, \
msteams://, discord://, mailto:// and many more. Give them with --notify, or in ${NOTIFY_ENV} \
(space-separated) to keep tokens out of the process list and crontab. URLs are only ever \
shown with their secrets masked.

The state file records what was sent to each destination: a repeated run sends nothing \
new, a failed destination is retried on the next run, and a condition that clears and \
comes back is sent again. Overlapping runs wait for each other."""

EPILOG = f"""\
examples:
  tspanel alert --data /srv/exports --notify jsons://hooks.example.org/tspanel --base-url https://dash.example.org/
  {NOTIFY_ENV}='slack://T0/B0/XXXX mailto://ops:pw@example.org' tspanel alert --data /srv/exports
  tspanel alert --dry-run

exit status:
  {EXIT_NONE_NEW}  nothing new to send (or, with --dry-run, nothing would be sent)
  {EXIT_SENT}  new alerts were sent to every destination (with --dry-run: there are new alerts)
  2  bad input (data, URL, state file); nothing sent
  {EXIT_DELIVERY_FAILED}  a destination failed; what it did not get is retried on the next run"""


def default_state_path() -> Path:
    """$XDG_STATE_HOME/tspanel/alert-state.json (~/.local/state/... when unset)."""
    root = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(root) / "tspanel" / "alert-state.json"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "alert",
        help="send new 'needs attention' alerts to Slack, Teams, email, webhooks ... once (cron-safe)",
        description="\n\n".join(textwrap.fill(par, 88) for par in DESCRIPTION.split("\n\n")),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_argument(parser)
    parser.add_argument(
        "--notify",
        action="append",
        metavar="URL",
        default=[],
        help=f"an apprise notification URL; repeat for several (default: ${NOTIFY_ENV})",
    )
    parser.add_argument(
        "--state",
        type=local_path,
        metavar="FILE",
        default=None,
        help=f"where to record what was sent (default: {default_state_path()})",
    )
    parser.add_argument(
        "--base-url",
        default=DEFAULT_BASE_URL,
        metavar="URL",
        help=f"the dashboard's address, for the links in alerts (default: {DEFAULT_BASE_URL})",
    )
    parser.add_argument(
        "--rule",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change a threshold, e.g. --rule growth_pct=40 --rule sla_min_cases=5 (names: docs/operations.md)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="show what would be sent; send nothing, write no state",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tspanel.alerting import dispatch, locked, read_state, write_state
    from tspanel.cli._common import open_dataset
    from tspanel.models.attention import AttentionModel, parse_rules, summary
    from tspanel.notify import destination

    urls = list(args.notify) or os.environ.get(NOTIFY_ENV, "").split()
    if not urls and not args.dry_run:
        raise TspanelError(f"give at least one destination with --notify URL (or ${NOTIFY_ENV})")
    targets = [destination(url) for url in urls]  # bad URLs: exit 2 before anything is sent
    rules = parse_rules(args.rule)
    if not args.base_url.startswith(("http://", "https://")):
        raise TspanelError(f"--base-url {args.base_url!r}: use the dashboard's http:// or https:// address")
    state_path = (args.state or default_state_path()).expanduser()
    dataset = open_dataset(args.data)
    scope = "built-in" if args.data is None else str(Path(args.data).expanduser().resolve())
    model = AttentionModel(dataset, **rules)
    items = model.items()
    as_of = model.as_of_time().strftime("%Y-%m-%d %H:%M UTC")
    print(f"tspanel alert: {dataset.name}, as of {as_of}: {summary(items)}")

    with locked(state_path):
        state = read_state(state_path)
        outcomes = dispatch(
            items,
            targets,
            state,
            scope=scope,
            dataset=dataset.name,
            as_of=as_of,
            base_url=args.base_url,
            dry_run=args.dry_run,
        )
        if not args.dry_run:
            try:
                write_state(state)
            except OSError as exc:
                raise TspanelError(f"--state {state_path}: cannot write it ({exc.strerror or exc})") from None

    if args.dry_run:
        would = [(item, str(o.target)) for o in outcomes for item in o.new]
        if not targets:  # no destination given: everything current would be new to a first one
            would = [(item, "(no destination given)") for item in items]
        for item, where in would:
            print(f"  would send [{item.severity}] {item.title} -> {where}")
        return EXIT_SENT if would else EXIT_NONE_NEW

    failed = False
    any_sent = False
    for outcome in outcomes:
        for item in outcome.sent:
            print(f"  sent [{item.severity}] {item.title} -> {outcome.target}")
        any_sent = any_sent or bool(outcome.sent)
        if outcome.error is not None:
            failed = True
            pending = len(outcome.new) - len(outcome.sent)
            print(
                f"tspanel alert: {outcome.target}: delivery failed: {outcome.error}; "
                f"{pending} alert{'s' if pending != 1 else ''} will be retried on the next run",
                file=sys.stderr,
            )
    if not any_sent and not failed:
        print("  nothing new to send")
    if failed:
        return EXIT_DELIVERY_FAILED
    return EXIT_SENT if any_sent else EXIT_NONE_NEW
