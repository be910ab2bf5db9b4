"""Malformed datasets thrown at the loader: each gets a DataError or a contract-clean Dataset.

Never another exception (a traceback for the user) and never a half-checked load.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tspanel.errors import DataError
from tspanel.schema import ACTIONS, FLAGS, SEVERITIES
from tspanel.source import load_dataset

GOOD = {
    "flag_id": ["f1", "f2", "f3"],
    "date": ["2026-01-01", "2026-01-02", "2026-01-02"],
    "category": ["spam", "fraud", "hate_speech"],
    "severity": ["low", "high", "critical"],
    "action": ["allow", "auto_block", "human_review"],
    "ml_score": ["0.5", "0.9", "0.1"],
    "resolution_hrs": ["", "", "30"],
    "region": ["AMER", "EMEA", "APAC"],
    "coordinated_flag": ["False", "True", "False"],
    "created_at": ["2026-01-01T10:00:00Z", "2026-01-02 11:00:00", "2026-01-02T12:30:00+01:00"],
}

weird_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "NaN", "inf", "-1", "1e309", "9" * 40, "null", "None", "🚨", "<script>", "=1+1"]),
)


@st.composite
def mutated_flags(draw: st.DrawFn) -> dict[str, list[str | None]]:
    table: dict[str, list[str | None]] = {name: list(values) for name, values in GOOD.items()}
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["drop", "cell", "null", "rename", "extra", "duplicate-row"]))
        columns = list(table)
        if not columns:
            break
        name = draw(st.sampled_from(columns))
        if kind == "drop":
            del table[name]
        elif kind == "cell":
            table[name][draw(st.integers(0, 2))] = draw(weird_text)
        elif kind == "null":
            table[name][draw(st.integers(0, 2))] = None
        elif kind == "rename":
            table[draw(st.text(min_size=1, max_size=8).filter(lambda s: s not in table))] = table.pop(name)
        elif kind == "extra":
            table[f"x_{len(table)}"] = [draw(weird_text) for _ in range(3)]
        else:
            for values in table.values():
                values[2] = values[0]
    return table


def write_csv(path: Path, table: dict[str, list[str | None]]) -> None:
    if not table:
        path.write_text("")
        return
    pl.DataFrame(table, schema=dict.fromkeys(table, pl.String)).write_csv(path)


def assert_contract(ds) -> None:
    flags = ds.flags.collect()
    assert flags.height == ds.n_flags > 0
    for column in FLAGS.required_columns:
        assert flags[column].null_count() == 0, column
    assert flags["flag_id"].n_unique() == flags.height
    assert set(flags["severity"].cast(pl.String)) <= set(SEVERITIES)
    assert set(flags["action"].cast(pl.String)) <= set(ACTIONS)
    scores = flags["ml_score"].to_list()
    assert all(0.0 <= s <= 1.0 and not math.isnan(s) for s in scores)
    if "resolution_hrs" in flags.columns:
        assert all(h is None or (h >= 0 and math.isfinite(h)) for h in flags["resolution_hrs"].to_list())
    for column in flags.columns:
        assert flags.schema[column] == FLAGS.by_name[column].dtype or column in ("category", "region")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flags=mutated_flags(), as_parquet=st.booleans(), reviewers_empty=st.booleans())
def test_malformed_flags_get_a_clear_error_or_a_clean_load(flags, as_parquet, reviewers_empty):
    directory = Path(tempfile.mkdtemp())
    try:
        if as_parquet and flags:
            pl.DataFrame(flags, schema=dict.fromkeys(flags, pl.String)).write_parquet(directory / "flags.parquet")
        else:
            write_csv(directory / "flags.csv", flags)
        (directory / "reviewers.csv").write_text("" if reviewers_empty else "reviewer_id,capacity_per_day\nR1,40\n")
        try:
            ds = load_dataset(directory)
        except DataError as exc:
            event("rejected")
            message = str(exc)
            assert message and "Traceback" not in message
            assert "flags" in message or "reviewers" in message
            return
        event("loaded")
        assert not reviewers_empty
        assert_contract(ds)
    finally:
        shutil.rmtree(directory)


@settings(max_examples=40, deadline=None)
@given(payload=st.binary(max_size=300))
def test_arbitrary_bytes_as_a_csv_never_crash(payload):
    directory = Path(tempfile.mkdtemp())
    try:
        (directory / "flags.csv").write_bytes(payload)
        (directory / "reviewers.csv").write_text("reviewer_id,capacity_per_day\nR1,40\n")
        try:
            load_dataset(directory)
        except DataError as exc:
            assert "flags.csv" in str(exc)
    finally:
        shutil.rmtree(directory)
