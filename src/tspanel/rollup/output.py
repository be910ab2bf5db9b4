"""The rollup on disk: OUT/facts.parquet, OUT/signals.parquet and OUT/rollup.json (what made it)."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from tspanel.errors import TspanelError
from tspanel.rollup import spec
from tspanel.rollup.engines import (
    FACT_SCHEMA,
    SIGNAL_SCHEMA,
    Progress,
    Rollup,
    conform,
    normalise,
    write_facts_spark,
)

FILES = ("facts.parquet", "signals.parquet", "rollup.json")
SIDE_FILES = ("reviewers.parquet", "attacks.parquet")  # the small tables, so the rollup serves the dashboard


def check_out(out: Path) -> None:
    """``out`` must be absent, empty or an earlier rollup (which is replaced)."""
    if out.exists():
        if not out.is_dir():
            raise TspanelError(f"{out} exists and is not a directory; give a new directory for the rollup")
        stray = sorted(p.name for p in out.iterdir() if p.name not in (*FILES, *SIDE_FILES))
        if stray:
            raise TspanelError(f"{out} holds other files ({', '.join(stray[:3])}); give a new or empty directory")


def _manifest(facts: Path, signals_rows: int, about: dict[str, Any]) -> dict[str, Any]:
    rows, flags = pl.scan_parquet(facts).select(pl.len(), pl.col("n").sum()).collect().row(0)
    return {
        **about,
        "facts_rows": int(rows),
        "signals_rows": signals_rows,
        "flags": int(flags or 0),
        "score_bin_width": 1 / spec.SCORE_BINS,
        "hours_bin_cap": spec.HOURS_BIN_CAP,
    }


def _publish(tmp: Path, out: Path, tables: dict[str, pl.DataFrame | None] | None) -> None:
    """Write the side tables into ``tmp``, then move everything into ``out`` (an earlier
    rollup's side tables go: they are not this one's)."""
    tables = {name: frame for name, frame in (tables or {}).items() if frame is not None}
    for name, frame in tables.items():
        frame.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String)).write_parquet(tmp / f"{name}.parquet")
    for name in SIDE_FILES:
        (out / name).unlink(missing_ok=True)
    for name in (*FILES, *(f"{name}.parquet" for name in tables)):
        shutil.move(tmp / name, out / name)


def write_rollup(
    rollup: Rollup, out: Path, about: dict[str, Any], tables: dict[str, pl.DataFrame | None] | None = None
) -> None:
    """Write the rollup into ``out`` all at once (a temporary directory, then moved), never half.

    ``out`` must be absent, empty or an earlier rollup (which is replaced). ``tables``: the
    reviewers and attacks tables, written beside it (``tspanel serve --data OUT`` reads them).
    """
    check_out(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".tmp-") as tmp:
        rollup.facts.write_parquet(Path(tmp) / "facts.parquet")
        rollup.signals.write_parquet(Path(tmp) / "signals.parquet")
        manifest = _manifest(Path(tmp) / "facts.parquet", rollup.signals.height, about)
        (Path(tmp) / "rollup.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        _publish(Path(tmp), out, tables)


def write_rollup_spark(
    session: Any,
    flags: Path,
    out: Path,
    about: Callable[[], dict[str, Any]],
    progress: Progress | None = None,
    tables: dict[str, pl.DataFrame | None] | None = None,
) -> dict[str, Any]:
    """The Spark rollup of the Parquet ``flags`` into ``out``, its facts written by Spark itself
    (never collected to the driver, so it scales with the cluster, not the driver's memory).

    Same files, schema and row order as :func:`write_rollup`; ``about()`` is called once the
    rollup is computed (for its timing). Returns the manifest.
    """
    check_out(out)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(dir=out, prefix=".tmp-") as tmp:
            signals = write_facts_spark(session, flags, Path(tmp) / "facts.parquet", progress)
            signals.write_parquet(Path(tmp) / "signals.parquet")
            manifest = _manifest(Path(tmp) / "facts.parquet", signals.height, about())
            (Path(tmp) / "rollup.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
            _publish(Path(tmp), out, tables)
    except BaseException:
        if created:  # nothing half-written is left behind
            shutil.rmtree(out, ignore_errors=True)
        raise
    return manifest


def read_rollup(out: Path) -> Rollup:
    """A rollup written by :func:`write_rollup`."""
    missing = [name for name in FILES[:2] if not (out / name).is_file()]
    if missing:
        raise TspanelError(f"{out} is not a rollup directory (missing {', '.join(missing)}); see tspanel rollup --help")
    return normalise(pl.read_parquet(out / "facts.parquet"), pl.read_parquet(out / "signals.parquet"))


def read_signals(out: Path) -> pl.DataFrame:
    """The signals table of a rollup directory, normalised (small: day x category)."""
    return conform(pl.read_parquet(out / "signals.parquet"), SIGNAL_SCHEMA, spec.SIGNAL_KEYS)


def fact_batches(out: Path, rows: int = 500_000) -> Iterator[pl.DataFrame]:
    """The facts of a rollup directory, normalised, a batch at a time in the file's order (by
    day: every writer sorts them), so a server never holds them whole in their wide form."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(out / "facts.parquet") as parquet:
        for batch in parquet.iter_batches(batch_size=rows):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield conform(frame, FACT_SCHEMA, None)
