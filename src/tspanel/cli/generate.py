"""`tspanel generate`: write a synthetic dataset with known attacks (csv or parquet)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tspanel.cli._common import check_output_dir, iso_date, local_path
from tspanel.errors import TspanelError

if TYPE_CHECKING:
    from tspanel.synth import WorldConfig

PROGRESS_MIN_FLAGS = 1_000_000  # show a progress line from this expected size on

# WorldConfig field -> the option that sets it, so config errors name what to fix.
_OPTION_OF = {
    "seed": "--seed",
    "days": "--days",
    "flags": "--flags",
    "attack_lift": "--attack-lift",
    "old_account_attack_share": "--old-account-share",
    "organic_surges": "--organic-surges",
    "n_attacks": "--attacks",
    "start": "--start",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="write a synthetic dataset with known coordinated attacks",
        description="Write a synthetic Trust & Safety dataset (flags, reviewers, attacks) to OUT_DIR. "
        "The same options always produce the same bytes. The default world has 90 days, about "
        "42,000 flags and 5 coordinated attacks; --preset hard makes attacks harder to detect.",
        epilog="Example: tspanel generate data/big --flags 10000000 --format parquet",
    )
    parser.add_argument("out_dir", type=local_path, metavar="OUT_DIR", help="directory to write the tables into")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    parser.add_argument("--days", type=int, default=90, help="number of days (default: 90)")
    parser.add_argument(
        "--flags",
        type=int,
        metavar="N",
        help="scale daily volumes (and campaign sizes, accounts, reviewers) so the total is about N",
    )
    parser.add_argument(
        "--format",
        choices=("csv", "parquet"),
        default="csv",
        help="csv: one flags.csv; parquet: a flags/ directory of part files (default: csv)",
    )
    parser.add_argument("--start", type=iso_date, metavar="DATE", help="first day, YYYY-MM-DD (default: 2026-08-24)")
    parser.add_argument(
        "--preset",
        choices=("default", "hard"),
        default="default",
        help="hard: lifts of 1.5-3x, 40%% of attacks from old compromised accounts, 4 organic surges",
    )
    knobs = parser.add_argument_group("attack knobs (override the preset)")
    knobs.add_argument("--attacks", type=int, metavar="N", help="number of coordinated attacks (default: 5)")
    knobs.add_argument(
        "--attack-lift",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="an attack multiplies its category's daily volume by a factor in this range (default: 3 5)",
    )
    knobs.add_argument(
        "--old-account-share",
        type=float,
        metavar="X",
        help="share of attacks run from old, compromised accounts, 0-1 (default: 0)",
    )
    knobs.add_argument(
        "--organic-surges",
        type=int,
        metavar="N",
        help="organic (non-attack) surges of ordinary traffic (default: 0)",
    )
    parser.add_argument("--force", action="store_true", help="replace a dataset already in OUT_DIR")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    parser.set_defaults(func=run)


def _config(args: argparse.Namespace) -> WorldConfig:
    from tspanel.synth import WorldConfig

    overrides: dict[str, object] = {"seed": args.seed, "days": args.days, "flags": args.flags}
    if args.start is not None:
        overrides["start"] = args.start
    for field, value in (
        ("n_attacks", args.attacks),
        ("attack_lift", tuple(args.attack_lift) if args.attack_lift else None),
        ("old_account_attack_share", args.old_account_share),
        ("organic_surges", args.organic_surges),
    ):
        if value is not None:
            overrides[field] = value
    try:
        if args.preset == "hard":
            return WorldConfig.hard(**overrides)
        return WorldConfig(**overrides)
    except TspanelError as exc:
        message = str(exc)
        for field, option in _OPTION_OF.items():
            if message.startswith(field + " "):
                message = option + message[len(field) :]
                break
        raise TspanelError(message) from None


def _count_rows(path: Path) -> int:
    import polars as pl

    if path.is_dir():
        frame = pl.scan_parquet(path / "*.parquet")
    elif path.suffix == ".csv":
        frame = pl.scan_csv(path, infer_schema=False)
    else:
        frame = pl.scan_parquet(path)
    return int(frame.select(pl.len()).collect().item())


def run(args: argparse.Namespace) -> int:
    from tspanel.synth import expected_flags, write_world

    config = _config(args)
    out_dir: Path = args.out_dir
    check_output_dir(out_dir, "OUT_DIR")
    show_progress = not args.quiet and expected_flags(config) >= PROGRESS_MIN_FLAGS
    tty = sys.stderr.isatty()
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        line = f"generating flags: day {done}/{total} ({100 * done // total}%)"
        print(("\r" + line) if tty else line, end="" if tty and done < total else "\n", file=sys.stderr, flush=True)

    written = write_world(config, out_dir, args.format, progress if show_progress else None, overwrite=args.force)
    if args.quiet:
        return 0
    elapsed = time.monotonic() - started
    print(
        f"wrote a synthetic world ({args.preset} preset, seed {config.seed}, {config.days} days "
        f"from {config.start.isoformat()}) to {out_dir} in {elapsed:.1f} s:"
    )
    for table, path in written.items():
        print(f"  {table:<10} {path!s:<40} {_count_rows(path):>12,} rows")
    return 0
