"""A database's rollup fetched by a child process into Parquet files, for the server to read.

Why a child: streaming a 10M-flag rollup (3.3M fact rows) out of PostgreSQL through the ADBC
driver left the serving process ~450 MB larger than reading the same rollup from files
(docs/rollup.md, "Serving memory"): memory the driver and Arrow held and the process never gave
back. In a child that memory goes back to the system when it exits; the server reads the files
batch by batch (tspanel.rollup.output.fact_batches) as it reads a rollup directory.

The URL (it may hold a password) goes to the child in its environment, never on its command line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl

from tspanel.errors import TspanelError

URL_ENV = "TSPANEL_FETCH_URL"


def fetch_rollup(url: str, table: str, since: dt.date | None = None) -> Path:
    """Run the child; return the temporary directory holding facts.parquet and signals.parquet
    (the caller removes it). Its errors (an unknown table, a failed query) are a TspanelError."""
    out = Path(tempfile.mkdtemp(prefix="tspanel-fetch-"))
    command = [sys.executable, "-m", "tspanel.rollup.fetch", table, str(out)]
    if since is not None:
        command += ["--since", since.isoformat()]
    done = subprocess.run(command, env={**os.environ, URL_ENV: url}, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        shutil.rmtree(out, ignore_errors=True)
        from tspanel.rollup.engines import _first_line

        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        last = _first_line(lines[-1]) if lines else f"exit status {done.returncode}"  # a password, masked
        raise TspanelError(last if done.returncode == 2 else f"fetching the rollup from PostgreSQL failed: {last}")
    return out


def _write(url: str, table: str, out: Path, since: dt.date | None) -> None:
    """In the child: the rollup, batch by batch into facts.parquet (day order), and signals.parquet."""
    import pyarrow.parquet as pq

    from tspanel.rollup.engines import FACT_SCHEMA, serving_rollup_postgres

    batches, signals = serving_rollup_postgres(url, table, since=since)
    writer = None
    try:
        for batch in batches:
            arrow = batch.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(out / "facts.parquet", arrow.schema, compression="lz4")
            writer.write_table(arrow, row_group_size=500_000)
        if writer is None:  # no facts (an incremental refresh of days whose flags are gone)
            pl.DataFrame(schema=FACT_SCHEMA).write_parquet(out / "facts.parquet")
    finally:
        if writer is not None:
            writer.close()
    signals.write_parquet(out / "signals.parquet")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tspanel.rollup.fetch", description=__doc__.split("\n\n")[0])
    parser.add_argument("table")
    parser.add_argument("out", type=Path)
    parser.add_argument("--since", type=dt.date.fromisoformat)
    args = parser.parse_args(argv)
    url = os.environ.get(URL_ENV)
    if not url:
        print(f"${URL_ENV} is not set", file=sys.stderr)
        return 2
    try:
        _write(url, args.table, args.out, args.since)
    except TspanelError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
