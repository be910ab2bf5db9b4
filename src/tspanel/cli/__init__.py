"""The `tspanel` command: one subcommand per module in this package.

Each subcommand module exposes `register(subparsers)` and imports its heavy
dependencies (Panel, the Anthropic SDK) inside its handler, so `tspanel --help`
stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Sequence

from tspanel import __version__
from tspanel.cli._common import TerminalSafe, for_terminal
from tspanel.errors import TspanelError

# Order is the order shown in `tspanel --help`.
COMMANDS: tuple[str, ...] = (
    "serve",
    "generate",
    "kpis",
    "flags",
    "validate",
    "detect",
    "report",
    "alert",
    "rollup",
    "load-db",
    "bench",
)

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tspanel",
        description="Trust & Safety operations dashboard: flag volume, classifier drift, "
        "reviewer queues, coordinated attacks and a weekly summary.",
        epilog="Run `tspanel COMMAND --help` for a command's options. The data contract is described in docs/data.md.",
    )
    parser.add_argument("--version", action="version", version=f"tspanel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"tspanel.cli.{name.replace('-', '_')}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # Data strings (categories, ids, column names) reach the output: escape what a terminal would run.
        with contextlib.redirect_stdout(TerminalSafe(sys.stdout)):
            return int(args.func(args) or 0)
    except TspanelError as exc:
        print(f"tspanel {args.command}: error: {for_terminal(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `tspanel detect ... | head`: the reader has gone, stop quietly
        sys.stderr.close()
        return 0
