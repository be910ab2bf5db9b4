"""Arguments and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="dataset directory (flags, reviewers, optional attacks; .csv or .parquet; see docs/data.md). "
        "Default: the built-in synthetic world.",
    )


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=iso_date, metavar="DATE", help="first day, YYYY-MM-DD (inclusive)")
    parser.add_argument("--end", type=iso_date, metavar="DATE", help="last day, YYYY-MM-DD (inclusive)")
    parser.add_argument("--category", nargs="+", metavar="C", help="keep only these policy categories")
    parser.add_argument("--region", nargs="+", metavar="R", help="keep only these regions")
    parser.add_argument("--severity", nargs="+", metavar="S", help="keep only these severities")
    parser.add_argument("--action", nargs="+", metavar="A", help="keep only these moderation actions")
