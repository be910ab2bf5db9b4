"""CSV downloads of the data behind a chart, safe to open in a spreadsheet."""

from __future__ import annotations

import io
from typing import Any

import polars as pl

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets
# (OWASP "CSV injection"); tab and carriage return are included for the same reason.
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """String cells that a spreadsheet would evaluate get a leading apostrophe."""
    risky = [name for name, dtype in frame.schema.items() if dtype in (pl.String, pl.Categorical) or dtype == pl.Enum]
    if not risky:
        return frame
    exprs = []
    for name in risky:
        text = pl.col(name).cast(pl.String)
        exprs.append(
            pl.when(pl.any_horizontal([text.str.starts_with(p) for p in FORMULA_PREFIXES]))
            .then(pl.lit("'") + text)
            .otherwise(text)
            .alias(name)
        )
    return frame.with_columns(exprs)


def to_csv(data: pl.DataFrame | dict[str, Any]) -> str:
    """CSV text of a frame (or a one-row dict of numbers), formulas neutralised."""
    frame = data if isinstance(data, pl.DataFrame) else pl.DataFrame([{k: _plain(v) for k, v in data.items()}])
    frame = frame.select([c for c, t in frame.schema.items() if not isinstance(t, pl.List | pl.Struct | pl.Object)])
    return neutralise_formulas(frame).write_csv()


def csv_buffer(data: pl.DataFrame | dict[str, Any]) -> io.BytesIO:
    """What a download button serves: UTF-8 with a BOM so Excel picks the encoding.

    NUL (which Parquet strings may hold) becomes U+FFFD: CSV readers stop at a NUL or refuse
    the file ("line contains NUL"), and the replacement still shows a character was there.
    """
    return io.BytesIO(("\ufeff" + to_csv(data).replace("\x00", "\ufffd")).encode("utf-8"))


def _plain(value: Any) -> Any:
    if isinstance(value, pl.DataFrame):
        return None
    return value if isinstance(value, int | float | bool | str) or value is None else str(value)
