"""An alert written up for investigators: one JSON (alert, evidence, flag ids) and the flags as CSV.

One code path for `tspanel detect --explain DATE CATEGORY --case DIR` (two files in a
directory) and the dashboard's "Export case" button (the same two files in one ZIP, as a
browser download is one file). The CSV is the flags table's export: spreadsheet formulas
neutralised (tspanel.csvsafe), NUL bytes removed. No Panel import.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import polars as pl

from tspanel.models.evidence import Evidence
from tspanel.models.filters import Filters
from tspanel.models.flags import FlagsTable


def case_name(evidence: Evidence) -> str:
    """A file-name stem for the case: the category's letters and digits only (it comes from the data)."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", evidence.category).strip("_") or "category"
    span = evidence.start.isoformat() if evidence.start == evidence.end else f"{evidence.start}_{evidence.end}"
    return f"case-{span}-{safe[:40]}"


def alert_records(
    dataset: Any, start: dt.date, end: dt.date, category: str, method: str, threshold: float | None = None
) -> list[dict[str, Any]]:
    """The detector's alerts for the category on these days, at ``method``'s (or the given) threshold."""
    from tspanel.models.attacks import AttacksModel  # (detection is only needed here)

    model = AttacksModel(dataset, Filters(start=start, end=end, categories=[category]), method=method)
    if threshold is not None:
        model.threshold = threshold
    return [
        {
            "date": r["date"].isoformat(),
            "category": r["category"],
            "score": r["score"],
            "signals": json.loads(r["signals"]),
            "method": method,
            "threshold": model.threshold,
        }
        for r in model.alerts().iter_rows(named=True)
        if r["category"] in (category, None)
    ]


def case_table(dataset: Any, evidence: Evidence) -> FlagsTable:
    """The flags of the case: the evidence's days and category, every region."""
    return FlagsTable(dataset, Filters(start=evidence.start, end=evidence.end, categories=[evidence.category]))


def case_record(dataset: Any, evidence: Evidence, alerts: list[dict[str, Any]], csv_name: str) -> dict[str, Any]:
    """The case's JSON content: what was selected, the alerts, the evidence and every flag id."""
    table = case_table(dataset, evidence)
    ids: list[str] = []
    if "flag_id" in table.shown_columns():
        frame = table.export_frame(formulas=False).select("flag_id").collect()
        ids = frame["flag_id"].cast(pl.String).to_list()
    return {
        "dataset": dataset.name,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "selection": {"category": evidence.category, "start": evidence.start, "end": evidence.end},
        "alerts": alerts,
        "evidence": evidence.to_dict(),
        "flag_count": table.count(),
        "flag_ids": ids,
        "flags_csv": csv_name,
    }


def _json(case: dict[str, Any]) -> str:
    return json.dumps(case, indent=2, default=str) + "\n"


def write_case(dataset: Any, evidence: Evidence, alerts: list[dict[str, Any]], out_dir: Path) -> tuple[Path, Path, int]:
    """The case as two files in ``out_dir`` (created if missing): <stem>.json and <stem>-flags.csv."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = case_name(evidence)
    csv_path = out_dir / f"{stem}-flags.csv"
    count = case_table(dataset, evidence).export(csv_path, "csv")
    case = case_record(dataset, evidence, alerts, csv_path.name)
    json_path = out_dir / f"{stem}.json"
    json_path.write_text(_json(case), encoding="utf-8")
    return json_path, csv_path, count


def case_zip(dataset: Any, evidence: Evidence, alerts: list[dict[str, Any]]) -> io.BytesIO:
    """The same two files as :func:`write_case`, in one ZIP (a browser download is one file)."""
    stem = case_name(evidence)
    csv = io.BytesIO()
    case_table(dataset, evidence).export(csv, "csv")
    case = case_record(dataset, evidence, alerts, f"{stem}-flags.csv")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{stem}/{stem}.json", _json(case))
        archive.writestr(f"{stem}/{stem}-flags.csv", csv.getvalue())
    out.seek(0)
    return out
