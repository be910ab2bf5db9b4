"""`tspanel report`: the week's ops summary as Markdown or HTML, from Claude or offline.

A report is written whenever the input is valid: API trouble only switches the
summary to the offline one, with a line saying why (also printed to stderr), so
cron pipelines can rely on exit status 0 meaning "report written".
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from tspanel.cli._common import add_data_argument, local_path
from tspanel.errors import TspanelError
from tspanel.summary.llm import DEFAULT_MODEL, DEFAULT_TIMEOUT, MODEL_ENV

if TYPE_CHECKING:
    from tspanel.notify import Destination
    from tspanel.summary.payload import WeeklyPayload
    from tspanel.summary.report import Report

DESCRIPTION = """\
Write the weekly Trust & Safety summary: top risks, the category to watch, classifier \
health, a staffing recommendation and the key metric for next week.

Claude writes it when ANTHROPIC_API_KEY is set (in the environment or in a .env file \
in the working directory; variables already set win). ANTHROPIC_BASE_URL is honoured \
by the Anthropic SDK. Every number Claude cites is checked against the week's data; \
numbers that match nothing are marked "unverified". Without a key, with --offline, \
or when the API fails (rate limits, outages, timeouts), a deterministic rule-based \
summary is written instead, with a line saying why."""

EPILOG = """\
examples:
  tspanel report --offline
  tspanel report --data ./my-data --out week.html
  tspanel report --payload week.json --format md --timeout 60
  tspanel report --data ./my-data --send 'mailto://ops:PASSWORD@example.org?to=leads@example.org'
  tspanel report --data ./my-data --send jsons://hooks.example.org/weekly --out week.md

--send delivers the report through apprise (Slack, Teams, Discord, email, JSON webhooks ...):
HTML to services whose native format is HTML (email), Markdown to the others. It is sent
when Claude is unavailable too: the offline summary, with its one line saying why. The
URL is only ever shown with its secrets masked. Without --out, a sent report is not also
printed. Scheduling (cron, systemd timers): docs/operations.md.

exit status: 0 when a report was written or sent (by Claude or offline), 2 on bad input,
3 when it could not be delivered to a --send destination (the others still got it)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write the weekly ops summary (Claude, or offline rules)",
        description="\n\n".join(textwrap.fill(par, 88) for par in DESCRIPTION.split("\n\n")),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_argument(parser)
    parser.add_argument(
        "--payload",
        type=local_path,
        metavar="FILE.json",
        help="read the week's facts from a payload JSON file (the WeeklyPayload format, e.g. saved by "
        "a pipeline) instead of computing them from a dataset; cannot be combined with --data",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="do not call the Claude API; write the rule-based summary",
    )
    parser.add_argument(
        "--model",
        metavar="M",
        help=f"Claude model to use (default: ${MODEL_ENV} if set, else {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--format",
        choices=("md", "html"),
        help="output format (default: html when --out ends in .html or .htm, else md)",
    )
    parser.add_argument("--out", type=local_path, metavar="FILE", help="write the report to FILE instead of stdout")
    parser.add_argument(
        "--send",
        action="append",
        default=[],
        metavar="URL",
        help="deliver the report to this apprise notification URL (repeat for several); see below",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds to wait for each API attempt (default: {DEFAULT_TIMEOUT:g}; up to 2 retries)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tspanel.summary.payload import load_payload
    from tspanel.summary.render import render
    from tspanel.summary.report import build_report

    if args.payload is not None and args.data is not None:
        raise TspanelError("use either --data or --payload, not both")
    targets = _destinations(args.send)  # bad URLs: exit 2 before any work
    payload = load_payload(args.payload) if args.payload is not None else _dataset_payload(args.data)
    settings = None
    if not args.offline:
        from tspanel.summary.llm import settings_from_env

        settings = settings_from_env(model=args.model, timeout=args.timeout)
    report = build_report(payload, offline=args.offline, settings=settings)
    text = render(report, args.format or _format_for(args.out))

    if report.notice:
        print(f"tspanel report: {report.notice}", file=sys.stderr)
    if args.out is not None:
        try:
            args.out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise TspanelError(f"cannot write {args.out}: {exc.strerror or exc.__class__.__name__}") from None
        print(f"tspanel report: wrote {args.out} ({_origin(report)})", file=sys.stderr)
    elif not targets:
        sys.stdout.write(text)
    failed = _send(report, targets) if targets else False
    return 3 if failed else 0
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        args.out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise TspanelError(f"cannot write {args.out}: {exc.strerror or exc.__class__.__name__}") from None
    print(f"tspanel report: wrote {args.out} ({_origin(report)})", file=sys.stderr)
    return 3 if failed else 0


def _origin(report: Report) -> str:
    return f"Claude, {report.model}" if report.source == "claude" else "offline summary"


def _destinations(urls: list[str]) -> list[Destination]:
    if not urls:
        return []
    from tspanel.notify import destination

    return [destination(url, "--send") for url in urls]


def _send(report: Report, targets: list[Destination]) -> bool:
    """Deliver the report to every destination; True when any failed (each failure is reported)."""
    from tspanel.notify import deliver
    from tspanel.summary.render import TITLE, render

    week = report.payload["week"]
    title = f"{TITLE}: {week['start']} to {week['end']}"
    markdown, html = render(report, "md"), render(report, "html")
    failed = False
    for target in targets:
        error = deliver(target, title, markdown, html=html)
        if error is None:
            print(f"tspanel report: sent to {target} ({_origin(report)})", file=sys.stderr)
        else:
            failed = True
            print(f"tspanel report: {target}: delivery failed: {error}", file=sys.stderr)
    return failed


def _dataset_payload(data: Path | None) -> WeeklyPayload:
    """The week's payload computed from a dataset directory (None: the built-in synthetic world)."""
    from tspanel.cli._common import open_dataset
    from tspanel.models.dashboard import Dashboard
    from tspanel.summary.facts import build_payload

    return build_payload(Dashboard(open_dataset(data)))


def _format_for(out: Path | None) -> str:
    return "html" if out is not None and out.suffix.lower() in (".html", ".htm") else "md"


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"{text!r}: use a number of seconds above 0 and at most 600")
    return value
