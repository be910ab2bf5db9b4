"""How many bytes one refresh sends to the browser.

Every output frame is converted as the UI converts it (Polars -> pandas) and serialised
as a Bokeh ColumnDataSource in a standalone document's JSON (numeric columns as base64
buffers, text as JSON lists); a server session sends the same columns as binary
websocket frames, about a quarter smaller. Dict outputs (KPIs, status, SLA) count as
their JSON. The point: the payload depends on days x categories, not on the number
of flags.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl


def frame_bytes(frame: pl.DataFrame) -> int:
    """Bytes of the ColumnDataSource JSON the frame becomes."""
    from bokeh.core.serialization import Serializer
    from bokeh.models import ColumnDataSource

    table = frame.to_pandas()
    columns = {name: table[name].to_numpy() for name in table.columns}  # what HoloViews puts in the source
    serialized = Serializer(deferred=False).serialize(ColumnDataSource(data=columns))
    return len(json.dumps(serialized.content).encode())


def payload_bytes(value: Any) -> int:
    """Bytes of every frame and value in a refresh result (nested dicts walked)."""
    if isinstance(value, pl.DataFrame):
        return frame_bytes(value)
    if isinstance(value, dict):
        return sum(payload_bytes(v) for v in value.values())
    if hasattr(value, "reason"):  # Unavailable: the reason is shown in place of the chart
        return len(str(value.reason).encode())
    return len(json.dumps(value, default=str).encode())


def payload_breakdown(result: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Bytes per output, e.g. {"volume.daily_by_category": 41234, ...}."""
    return {
        f"{model}.{name}": payload_bytes(value) for model, outputs in result.items() for name, value in outputs.items()
    }
