"""The data contract: every table, column, type and allowed value in one place.

The loader validates against this, the generator writes it and the docs describe it,
so a contract change is a one-file change.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import polars as pl

SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
ACTIONS: tuple[str, ...] = ("allow", "downrank", "human_review", "auto_block")
HIGH_SEVERITIES: tuple[str, ...] = ("high", "critical")
SLA_HOURS = 24.0

SEVERITY = pl.Enum(list(SEVERITIES))
ACTION = pl.Enum(list(ACTIONS))
UTC = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Column:
    """One column of the contract and the canonical Polars type it is cast to."""

    name: str
    dtype: pl.DataType
    required: bool = False
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    unique: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Table:
    """A table of a dataset: a file stem and its columns."""

    name: str
    columns: tuple[Column, ...]
    required: bool = True
    doc: str = ""
    by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


FLAGS = Table(
    "flags",
    (
        Column("flag_id", pl.String, required=True, unique=True, doc="unique id of the flag"),
        Column("date", pl.Date, required=True, doc="calendar day (UTC); derived from created_at when absent"),
        Column("category", pl.Categorical, required=True, doc="policy category, any string"),
        Column("severity", SEVERITY, required=True, allowed=SEVERITIES),
        Column("action", ACTION, required=True, allowed=ACTIONS),
        Column("ml_score", pl.Float64, required=True, minimum=0.0, maximum=1.0, doc="classifier score"),
        Column("reviewer_id", pl.Categorical, doc="who reviewed it (human-review cases)"),
        Column("resolution_hrs", pl.Float64, minimum=0.0, doc="hours from flag to resolution"),
        Column("coordinated_flag", pl.Boolean, doc="ground truth: part of a coordinated attack"),
        Column("attack_id", pl.String, doc="ground truth: which attack"),
        Column("created_at", UTC, doc="UTC timestamp of the flag"),
        Column("region", pl.Categorical, doc="e.g. AMER, EMEA, APAC"),
        Column("account_id", pl.String, doc="the flagged account"),
        Column("account_age_days", pl.Int32, minimum=0.0, doc="age of the flagged account"),
        Column("content_hash", pl.String, doc="near-duplicate cluster key of the content"),
        Column("target_id", pl.String, doc="who or what was targeted"),
        Column("assigned_at", UTC, doc="UTC timestamp the case reached a reviewer"),
        Column("resolved_at", UTC, doc="UTC timestamp the case was resolved"),
        Column("appealed", pl.Boolean, doc="the decision was appealed"),
        Column("appeal_overturned", pl.Boolean, doc="the appeal overturned the decision"),
    ),
    doc="one row per flag (report or classifier hit)",
)

REVIEWERS = Table(
    "reviewers",
    (
        Column("reviewer_id", pl.Categorical, required=True, unique=True),
        Column("capacity_per_day", pl.Float64, required=True, minimum=0.0, doc="cases a day"),
        Column("name", pl.String),
        Column("team", pl.Categorical, doc="region the reviewer covers"),
        Column("seniority", pl.String),
        Column("shift_start_utc", pl.Float64, minimum=0.0, maximum=24.0, doc="UTC hour an 8-hour shift starts"),
        Column("working_days", pl.String, doc="weekdays the shift starts on, e.g. Mon,Tue,Wed,Thu,Fri"),
    ),
    doc="one row per reviewer",
)

ATTACKS = Table(
    "attacks",
    (
        Column("attack_id", pl.String, required=True, unique=True),
        Column("start_date", pl.Date, required=True),
        Column("category", pl.Categorical, required=True),
        Column("duration_days", pl.Int32, minimum=1.0, doc="required unless end_date is given"),
        Column("end_date", pl.Date, doc="last day of the attack, inclusive"),
        Column("num_accounts", pl.Int32, minimum=0.0),
        Column("pattern", pl.String),
        Column("severity", pl.String),
        Column("region", pl.Categorical),
    ),
    required=False,
    doc="ground truth of known attacks (optional)",
)

TABLES: tuple[Table, ...] = (FLAGS, REVIEWERS, ATTACKS)

# Columns the detectors must never read: they are the answer key.
GROUND_TRUTH_COLUMNS: tuple[str, ...] = ("coordinated_flag", "attack_id")


def resolution_hours(columns: Collection[str]) -> pl.Expr:
    """Hours to resolution: resolution_hrs, else resolved_at - created_at, else null.

    Part of the contract (docs/data.md) because the loader precomputes it for the row
    index and the SLA reads it; both must mean the same thing.
    """
    from_stamps = None
    if "resolved_at" in columns and "created_at" in columns:
        from_stamps = (pl.col("resolved_at") - pl.col("created_at")).dt.total_seconds(fractional=True) / 3600
    if "resolution_hrs" in columns:
        return pl.col("resolution_hrs") if from_stamps is None else pl.col("resolution_hrs").fill_null(from_stamps)
    return from_stamps if from_stamps is not None else pl.lit(None, dtype=pl.Float64)
