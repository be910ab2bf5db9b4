"""Moved to tspanel.source.rows (the loader owns the row index); kept so old imports work."""

from tspanel.source.rows import HOURS_COLUMN, FlagRows, ScoreBlocks, index_flags

__all__ = ["HOURS_COLUMN", "FlagRows", "ScoreBlocks", "index_flags"]
