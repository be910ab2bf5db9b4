"""`tspanel load-db URL`: copy a dataset (default: the built-in world) into PostgreSQL tables.

For trying the database path (`tspanel rollup --data postgresql://...`) without an export of
one's own; the tables are named and typed as in the data contract (docs/data.md).
"""

from __future__ import annotations

import argparse
import sys

from tspanel.cli._common import add_data_argument


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "load-db",
        help="copy a dataset into PostgreSQL tables flags, reviewers and attacks (needs the postgres extra)",
        description="Load and validate a dataset directory (default: the built-in world) and write its tables "
        "into PostgreSQL as flags, reviewers and (when present) attacks. Existing tables are left alone unless "
        "--replace is given. See docs/rollup.md.",
    )
    parser.add_argument("url", metavar="URL", help="postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
    add_data_argument(parser)
    parser.add_argument("--replace", action="store_true", help="replace tables that already exist")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tspanel.cli._common import open_dataset
    from tspanel.errors import TspanelError
    from tspanel.rollup.engines import load_postgres, mask_uri

    if not args.url.startswith(("postgresql://", "postgres://")):
        shown = mask_uri(args.url) if "://" in args.url else "URL"  # never echo what may hold a password
        raise TspanelError(f"{shown} is not a postgresql:// URL; give postgresql://USER@HOST/DB")
    print("loading and validating the dataset", file=sys.stderr, flush=True)
    dataset = open_dataset(args.data)
    if dataset.weight is not None:
        raise TspanelError(f"{args.data} is a rollup, not a dataset of flags; give the dataset it was made from")
    tables = {"flags": dataset.flags, "reviewers": dataset.reviewers}
    if dataset.attacks is not None:
        tables["attacks"] = dataset.attacks
    for name, frame in tables.items():
        rows = load_postgres(args.url, frame, name, replace=args.replace)
        print(f"{mask_uri(args.url)}: {name}: {rows:,} rows")
    return 0
