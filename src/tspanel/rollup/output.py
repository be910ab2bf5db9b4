"""The rollup on disk: OUT/facts.parquet, OUT/signals.parquet and OUT/rollup.json (what made it)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from tspanel.errors import TspanelError
from tspanel.rollup import spec
from tspanel.rollup.engines import Rollup, normalise

FILES = ("facts.parquet", "signals.parquet", "rollup.json")
SIDE_FILES = ("reviewers.parquet", "attacks.parquet")  # the small tables, so the rollup serves the dashboard


def write_rollup(
    rollup: Rollup, out: Path, about: dict[str, Any], tables: dict[str, pl.DataFrame | None] | None = None
) -> None:
    """Write the rollup into ``out`` all at once (a temporary directory, then moved), never half.

    ``out`` must be absent, empty or an earlier rollup (which is replaced). ``tables``: the
    reviewers and attacks tables, written beside it (``tspanel serve --data OUT`` reads them).
    """
    tables = {name: frame for name, frame in (tables or {}).items() if frame is not None}
    if out.exists():
        if not out.is_dir():
            raise TspanelError(f"{out} exists and is not a directory; give a new directory for the rollup")
        stray = sorted(p.name for p in out.iterdir() if p.name not in (*FILES, *SIDE_FILES))
        if stray:
            raise TspanelError(f"{out} holds other files ({', '.join(stray[:3])}); give a new or empty directory")
    out.mkdir(parents=True, exist_ok=True)
    manifest = {
        **about,
        "facts_rows": rollup.facts.height,
        "signals_rows": rollup.signals.height,
        "flags": int(rollup.facts["n"].sum()),
        "score_bin_width": 1 / spec.SCORE_BINS,
        "hours_bin_cap": spec.HOURS_BIN_CAP,
    }
    with tempfile.TemporaryDirectory(dir=out, prefix=".tmp-") as tmp:
        rollup.facts.write_parquet(Path(tmp) / "facts.parquet")
        rollup.signals.write_parquet(Path(tmp) / "signals.parquet")
        (Path(tmp) / "rollup.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        for name, frame in tables.items():
            frame.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String)).write_parquet(
                Path(tmp) / f"{name}.parquet"
            )
        for name in SIDE_FILES:
            (out / name).unlink(missing_ok=True)  # an earlier rollup's: not this one's
        for name in (*FILES, *(f"{name}.parquet" for name in tables)):
            shutil.move(Path(tmp) / name, out / name)


def read_rollup(out: Path) -> Rollup:
    """A rollup written by :func:`write_rollup`."""
    missing = [name for name in FILES[:2] if not (out / name).is_file()]
    if missing:
        raise TspanelError(f"{out} is not a rollup directory (missing {', '.join(missing)}); see tspanel rollup --help")
    return normalise(pl.read_parquet(out / "facts.parquet"), pl.read_parquet(out / "signals.parquet"))
