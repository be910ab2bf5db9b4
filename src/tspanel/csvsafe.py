"""Text that is safe to open in a spreadsheet: the one rule every CSV tspanel writes follows.

Shared by the chart downloads (tspanel.ui.export) and the flags exports (tspanel.models.flags,
`tspanel flags`), so a CSV from any surface is neutralised the same way. No Panel import.
"""

from __future__ import annotations

import polars as pl

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets
# (OWASP "CSV injection"); tab and carriage return are included for the same reason.
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def is_text(dtype: pl.DataType) -> bool:
    """Columns whose cells a spreadsheet could read as a formula."""
    return dtype in (pl.String, pl.Categorical) or dtype == pl.Enum


def without_nul(text: pl.Expr) -> pl.Expr:
    """NUL bytes removed: they truncate cells or whole files in many readers."""
    return text.str.replace_all("\x00", "", literal=True)


def neutralised(text: pl.Expr) -> pl.Expr:
    """A String expression whose formula-like values get a leading apostrophe."""
    return (
        pl.when(pl.any_horizontal([text.str.starts_with(p) for p in FORMULA_PREFIXES]))
        .then(pl.lit("'") + text)
        .otherwise(text)
    )


def safe_text_columns(schema: pl.Schema, *, formulas: bool = True) -> list[pl.Expr]:
    """Expressions rewriting every text column of ``schema``: NULs stripped, formulas neutralised."""
    exprs = []
    for name, dtype in schema.items():
        if is_text(dtype):
            text = without_nul(pl.col(name).cast(pl.String))
            exprs.append((neutralised(text) if formulas else text).alias(name))
    return exprs


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """String cells that a spreadsheet would evaluate get a leading apostrophe (NULs kept as they are)."""
    exprs = [neutralised(pl.col(n).cast(pl.String)).alias(n) for n, t in frame.schema.items() if is_text(t)]
    return frame.with_columns(exprs) if exprs else frame
