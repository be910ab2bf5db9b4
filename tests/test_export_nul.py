"""NUL bytes in Parquet strings never reach a CSV download (issue #18, item 7)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from tspanel.models.dashboard import Dashboard
from tspanel.source import load_dataset
from tspanel.ui.export import csv_buffer


def test_a_nul_from_parquet_is_replaced_in_the_download(tmp_path: Path) -> None:
    pl.DataFrame(
        {
            "flag_id": ["a", "b", "c"],
            "date": ["2026-01-01", "2026-01-01", "2026-01-02"],
            "category": ["spam\x00evil", "spam\x00evil", "fraud"],
            "severity": ["low", "low", "high"],
            "action": ["allow", "allow", "auto_block"],
            "ml_score": [0.5, 0.6, 0.9],
        }
    ).write_parquet(tmp_path / "flags.parquet")
    pl.DataFrame({"reviewer_id": ["R1"], "capacity_per_day": [40.0]}).write_parquet(tmp_path / "reviewers.parquet")
    dataset = load_dataset(tmp_path)
    assert "spam\x00evil" in dataset.categories  # the data keeps its value; only the download changes
    daily = Dashboard(dataset, use_cache=False).refresh()["volume"]["daily_by_category"]
    payload = csv_buffer(daily).getvalue()
    assert b"\x00" not in payload
    rows = list(csv.DictReader(io.StringIO(payload.decode("utf-8-sig"))))
    assert sorted((r["date"], r["category"], r["flags"]) for r in rows if r["flags"] != "0") == [
        ("2026-01-01", "spam\ufffdevil", "2"),
        ("2026-01-02", "fraud", "1"),
    ]
