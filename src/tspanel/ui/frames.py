"""Small reshapes of the models' aggregated frames into what a chart draws (pandas, after aggregating).

Series from the data (categories, regions) become columns ``s0, s1, ...`` in a fixed
order with the value kept as the label, so a category name never becomes a column or
dimension name and every chart of a session draws the same set of series.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import polars as pl


def series_columns(universe: Sequence[str]) -> list[str]:
    return [f"s{i}" for i in range(len(universe))]


def wide_by(frame: pl.DataFrame, column: str, value: str, universe: Sequence[str], index: str = "date") -> pd.DataFrame:
    """``index`` x one column per value of ``universe`` (zero where the selection leaves it out)."""
    names = series_columns(universe)
    rename = dict(zip(universe, names, strict=True))
    if frame.height == 0:
        return pd.DataFrame(
            {index: pd.Series([], dtype="datetime64[ms]"), **{n: pd.Series([], dtype=float) for n in names}}
        )
    pivot = (
        frame.filter(pl.col(column).is_in(list(universe)))
        .pivot(on=column, index=index, values=value, aggregate_function="sum")
        .sort(index)
    )
    out = pivot.to_pandas()
    out = out.rename(columns=rename)
    for name in names:
        if name not in out.columns:
            out[name] = 0.0
    out[names] = out[names].fillna(0).astype(float)
    if out[index].dtype.kind != "M":
        out[index] = pd.to_datetime(out[index])
    return out[[index, *names]]


def dates_to_pandas(frame: pl.DataFrame, column: str = "date") -> pd.DataFrame:
    """A small frame as pandas with its date column as datetime64, so Bokeh draws a date axis."""
    out = frame.to_pandas()
    if column in out.columns and out[column].dtype.kind != "M":
        out[column] = pd.to_datetime(out[column])
    return out


def complete(frame: pd.DataFrame, key: str, universe: Sequence[str]) -> pd.DataFrame:
    """``frame`` with exactly one row per value of ``universe`` (in ``frame``'s order, then the rest).

    Values the selection leaves out get empty (NaN) rows, so a bar chart keeps one bar slot
    per value: its Bokeh source never changes length (BokehJS raised "Size mismatch" when a
    bar chart's row count changed on update) and an empty slot can still be clicked.
    """
    allowed = set(universe)
    present = [v for v in frame[key] if v in allowed]
    seen = set(present)
    order = present + [v for v in universe if v not in seen]
    return frame.set_index(key).reindex(order).rename_axis(key).reset_index()
