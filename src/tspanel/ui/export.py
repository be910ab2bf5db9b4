"""CSV downloads of the data behind a chart, safe to open in a spreadsheet."""

from __future__ import annotations

import io
from typing import Any

import polars as pl

from tspanel.csvsafe import FORMULA_PREFIXES, neutralise_formulas

__all__ = ["FORMULA_PREFIXES", "csv_buffer", "neutralise_formulas", "to_csv"]


def to_csv(data: pl.DataFrame | dict[str, Any]) -> str:
    """CSV text of a frame (or a one-row dict of numbers), formulas neutralised."""
    if isinstance(data, pl.DataFrame):
        frame = data
    else:  # a frame inside the dict is not a cell: left out, not written as an empty column
        frame = pl.DataFrame([{k: _plain(v) for k, v in data.items() if not isinstance(v, pl.DataFrame)}])
    frame = frame.select([c for c, t in frame.schema.items() if not isinstance(t, pl.List | pl.Struct | pl.Object)])
    return neutralise_formulas(frame).write_csv()


def csv_buffer(data: pl.DataFrame | dict[str, Any]) -> io.BytesIO:
    """What a download button serves: UTF-8 with a BOM so Excel picks the encoding.

    NUL (which Parquet strings may hold) becomes U+FFFD: CSV readers stop at a NUL or refuse
    the file ("line contains NUL"), and the replacement still shows a character was there.
    """
    return io.BytesIO(("\ufeff" + to_csv(data).replace("\x00", "\ufffd")).encode("utf-8"))


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | float | bool | str) or value is None else str(value)
