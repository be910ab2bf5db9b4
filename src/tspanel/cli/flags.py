"""`tspanel flags`: the flags behind a selection, as the dashboard's table has them, streamed to a file."""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys

from tspanel.cli._common import add_data_argument, add_filter_arguments, filters_from_args, local_path, open_dataset

DEFAULT_JSON_ROWS = 100  # JSON is for looking and for scripts: the count is exact, rows up to --limit
FORMATS = ("csv", "parquet", "json")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "flags",
        help="list or export the flags matching a selection (CSV, Parquet or JSON)",
        description="The flags matching the filters, with the columns the dataset has (flag id, time, category, "
        "region, severity, action, ML score, account, account age, content hash, target, reviewer, status, "
        "resolution time). CSV and Parquet stream the whole selection (or --limit rows) to --out or standard "
        "output in bounded memory; CSV cells a spreadsheet would run as formulas get a leading apostrophe. "
        f"JSON prints the exact count and the first --limit rows (default {DEFAULT_JSON_ROWS}).",
        epilog="Example: tspanel flags --start 2026-11-18 --end 2026-11-18 --category spam --format json",
    )
    add_data_argument(parser, sources=True)
    add_filter_arguments(parser)
    parser.add_argument("--reviewer", nargs="+", metavar="ID", help="keep only flags handled by these reviewers")
    parser.add_argument(
        "--search",
        metavar="TEXT",
        default="",
        help="keep flags whose flag, account, content or "
        "target id contains TEXT (case-insensitive, at least 3 characters)",
    )
    parser.add_argument(
        "--status",
        choices=("open", "resolved", "backlog"),
        help="keep only open or only resolved review cases (as of the end of the data), or the backlog: the "
        "cases still open at the end of the selected days, whenever opened (the Review backlog's count)",
    )
    parser.add_argument("--sort", metavar="COL", help="sort by this column (default: the data's order)")
    parser.add_argument("--desc", action="store_true", help="sort from the largest value")
    parser.add_argument("--limit", type=int, metavar="N", help="at most N rows")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="output format (default: from --out's extension, .parquet or .json, else csv)",
    )
    parser.add_argument("--out", type=local_path, metavar="FILE", help="write here instead of standard output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import polars as pl

    from tspanel.errors import TspanelError
    from tspanel.models.flags import FlagsTable

    if args.limit is not None and args.limit < 0:
        raise TspanelError(f"--limit must be 0 or more (got {args.limit})")
    suffix = args.out.suffix.lower().lstrip(".") if args.out is not None else ""
    named = suffix if suffix in FORMATS else None
    if args.format is not None and named is not None and args.format != named:
        raise TspanelError(
            f"--out {args.out} ends in .{suffix} but --format is {args.format}; drop --format or rename the file"
        )
    args.format = args.format or named or "csv"
    if args.format == "parquet" and args.out is None:
        raise TspanelError("--format parquet writes a binary file: give --out FILE.parquet")
    if args.out is not None and not args.out.parent.is_dir():
        raise TspanelError(f"--out {args.out}: the directory {args.out.parent} does not exist")
    if args.out is not None and args.out.is_dir():
        raise TspanelError(f"--out {args.out} is a directory; give a file name")
    dataset = open_dataset(args.data)
    filters = filters_from_args(args, dataset)
    if args.reviewer:
        if not dataset.has("reviewer_id"):
            raise TspanelError("--reviewer: this dataset has no reviewer_id column")
        known = set(dataset.reviewers.select(pl.col("reviewer_id").cast(pl.String)).collect().to_series().to_list())
        unknown = [r for r in args.reviewer if r not in known]
        if unknown:
            raise TspanelError(f"--reviewer: unknown reviewer(s) {', '.join(map(repr, unknown))}")
        filters.reviewers = list(args.reviewer)
    table = FlagsTable(dataset, filters, search=args.search or "", status=args.status, descending=args.desc)
    table.sort_by = args.sort
    table.check()
    if args.format == "json":
        return _json(table, args, dataset.name)
    if args.out is None:
        return _to_stdout(table, args)
    written = table.export(args.out, args.format, limit=args.limit)
    if args.out is not None:
        print(f"wrote {written:,} flags to {args.out}", file=sys.stderr)
    return 0


def _to_stdout(table, args: argparse.Namespace) -> int:  # table: FlagsTable
    """Stream to standard output; a reader that stops early (`| head`) ends the command quietly."""
    sys.stdout.flush()
    try:
        table.export(sys.stdout.buffer, args.format, limit=args.limit)
        sys.stdout.flush()
    except OSError as exc:  # Polars reports a closed pipe as OSError, not BrokenPipeError
        if exc.errno != errno.EPIPE and "Broken pipe" not in str(exc):
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
    return 0


def _json(table, args: argparse.Namespace, name: str) -> int:  # table: FlagsTable
    limit = DEFAULT_JSON_ROWS if args.limit is None else args.limit
    count = table.count()
    rows = table.export_frame(formulas=False).head(limit).collect() if limit else None
    payload = {
        "dataset": name,
        "filters": {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in table.filters.active().items()},
        "search": table.search or None,
        "status": table.status,
        "sort": table.sort_by,
        "descending": table.descending,
        "count": count,
        "columns": table.shown_columns(),
        "rows": rows.to_dicts() if rows is not None else [],
        "truncated": count > limit,
    }
    text = json.dumps(payload, indent=2, default=str)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {count:,} flags ({min(count, limit):,} rows) to {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0
