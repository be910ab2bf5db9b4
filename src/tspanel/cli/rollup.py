"""`tspanel rollup [SOURCE] OUT`: the dashboard's aggregates, computed where the data lives."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tspanel.cli._common import check_output_dir, local_path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "rollup",
        help="write the dashboard's rollup (aggregates instead of rows) as Parquet, by Polars, PostgreSQL or Spark",
        description="Group the flags by day, category, region, severity, action, reviewer (human-review cases), "
        "0.01 score bins, 1-hour resolution bins and open/resolved day, with counts and sums, plus a day x "
        "category table of detection signals; write them to OUT/facts.parquet and OUT/signals.parquet with "
        "OUT/rollup.json, and the dataset's reviewers (and attacks) tables beside them as Parquet, so that "
        "`tspanel serve --data OUT` has the whole dataset. SOURCE is a dataset directory (default: the built-in "
        "world) or a postgresql:// URL "
        "(the GROUP BY runs in the database). See docs/rollup.md.",
        epilog="examples: tspanel rollup data/mine out/rollup | tspanel rollup --data postgresql://me@db/ts out/r "
        "| tspanel rollup --engine spark --master local[2] data/parquet out/r",
    )
    parser.add_argument(
        "source", nargs="?", metavar="SOURCE", help="dataset directory or postgresql:// URL (default: built-in world)"
    )
    parser.add_argument(
        "out", type=local_path, metavar="OUT", help="output directory (new, empty, or an earlier rollup)"
    )
    parser.add_argument("--data", metavar="SOURCE", help="the source, instead of the first positional argument")
    parser.add_argument(
        "--engine",
        choices=("polars", "postgres", "spark"),
        help="where the GROUP BY runs; default: postgres for a postgresql:// source, else polars",
    )
    parser.add_argument("--table", default=None, help="PostgreSQL table holding the flags (default: flags)")
    parser.add_argument(
        "--master", default=None, help="Spark master: local[N], spark://HOST:PORT, yarn (default: local[2])"
    )
    parser.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="spark engine only: a Spark setting, repeatable (e.g. --conf spark.driver.memory=4g; "
        "in local mode the driver's memory is the engine's)",
    )
    parser.add_argument(
        "--polars-engine",
        choices=("streaming", "in-memory"),
        default="streaming",
        help="polars engine only: streaming reads the flags in batches (bounded memory; default), "
        "in-memory holds the columns the rollup reads",
    )
    parser.set_defaults(func=run)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _spark_conf(items: list[str]) -> dict[str, str]:
    """``--conf KEY=VALUE`` options as a dict; a malformed one is the user's error (exit 2)."""
    from tspanel.errors import TspanelError

    conf = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise TspanelError(f"--conf {item!r}: give a Spark setting as KEY=VALUE, e.g. spark.driver.memory=4g")
        conf[key.strip()] = value.strip()
    return conf


def _collect(frame):  # a LazyFrame or None
    return None if frame is None else frame.collect()


def run(args: argparse.Namespace) -> int:
    from tspanel.errors import TspanelError
    from tspanel.rollup import engines, write_rollup, write_rollup_spark
    from tspanel.rollup.output import check_out

    if args.data and args.source:
        raise TspanelError("give the source once (SOURCE or --data) and one output directory OUT")
    source = args.data or args.source
    out = Path(args.out)
    check_out(out)  # before the work: a bad OUT is said in a second, not after the rollup
    check_output_dir(out, "OUT")
    is_url = source is not None and source.startswith(("postgresql://", "postgres://"))
    engine = args.engine or ("postgres" if is_url else "polars")
    if (engine == "postgres") != is_url:
        raise TspanelError(
            "the postgres engine needs a postgresql:// source"
            if engine == "postgres"
            else f"the {engine} engine reads a dataset directory, not a database URL; use --engine postgres"
        )
    if args.table is not None and engine != "postgres":
        raise TspanelError(f"--table names a PostgreSQL table; the {engine} engine reads a dataset directory")
    if args.master is not None and engine != "spark":
        raise TspanelError(f"--master sets the Spark master; the {engine} engine has none (use --engine spark)")
    table, master = args.table or "flags", args.master or "local[2]"
    conf = _spark_conf(args.conf)
    if conf and engine != "spark":
        raise TspanelError(f"--conf sets Spark options; the {engine} engine has none (use --engine spark)")
    started = time.perf_counter()
    shown = engines.mask_uri(source) if is_url else (source or "built-in world")
    _say(f"tspanel rollup: {engine} engine, source {shown}")
    tables: dict = {}
    if engine == "postgres":
        from tspanel.rollup.sources import side_tables

        rollup = engines.rollup_postgres(source, table, progress=_say)
        tables = side_tables(source)
    elif engine == "spark":
        if source is None:
            raise TspanelError("the spark engine needs a Parquet dataset directory as SOURCE")
        path = engines.parquet_flags(Path(source))
        _say(f"starting Spark (master {master})")
        session = engines.spark_session(master, conf)
        timing: dict[str, float] = {}

        def about() -> dict[str, object]:
            timing["seconds"] = time.perf_counter() - started
            return {"engine": engine, "source": shown, "seconds": round(timing["seconds"], 3)}

        # Spark writes the facts itself: at scale they never cross to the driver.
        import polars as pl

        side = {name: Path(source) / f"{name}.parquet" for name in ("reviewers", "attacks")}
        tables = {name: pl.read_parquet(file) for name, file in side.items() if file.is_file()}
        manifest = write_rollup_spark(session, path, out, about, progress=_say, tables=tables)
        print(
            f"{out}: {manifest['flags']:,} flags in {manifest['facts_rows']:,} fact rows and "
            f"{manifest['signals_rows']:,} signal rows ({engine}, {timing['seconds']:.1f} s)"
        )
        return 0
    else:
        from tspanel.cli._common import open_dataset

        _say("loading and validating the dataset")
        dataset = open_dataset(None if source is None else Path(source))
        _say(f"Polars: computing the rollup of {dataset.n_flags:,} flags")
        if dataset.weight is not None:
            raise TspanelError(f"{source} is a rollup already; give the dataset of flags it was made from")
        rollup = engines.rollup_polars(dataset.flags, dataset.columns, args.polars_engine, progress=_say)
        tables = {"reviewers": dataset.reviewers.collect(), "attacks": _collect(dataset.attacks)}
    seconds = time.perf_counter() - started
    write_rollup(rollup, out, {"engine": engine, "source": shown, "seconds": round(seconds, 3)}, tables)
    flags = int(rollup.facts["n"].sum())
    print(
        f"{out}: {flags:,} flags in {rollup.facts.height:,} fact rows and {rollup.signals.height:,} signal rows "
        f"({engine}, {seconds:.1f} s)"
    )
    return 0
