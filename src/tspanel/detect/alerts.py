"""The one shape every detector returns, so the CLI, the model and the evaluation share it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

ALERT_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "category": pl.String(),  # null when the detector looks at total volume only
    "score": pl.Float64(),
    "signals": pl.String(),  # JSON object {signal name: strength}
}


def alerts_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Alerts from dicts with date, category, score and a ``signals`` dict, sorted by date."""
    records = [
        {
            "date": r["date"],
            "category": r.get("category"),
            "score": round(float(r["score"]), 3),
            "signals": json.dumps({k: round(float(v), 2) for k, v in r["signals"].items()}, sort_keys=True),
        }
        for r in rows
    ]
    return pl.DataFrame(records, schema=ALERT_SCHEMA).sort("date", "category", nulls_last=True)


def signals_of(alerts: pl.DataFrame) -> list[dict[str, float]]:
    """The ``signals`` column decoded, one dict per alert."""
    return [json.loads(s) for s in alerts["signals"].to_list()]
