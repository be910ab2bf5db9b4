"""The flags table's "backlog" status: exactly the cases a backlog bar counts (tspanel.models.queue)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from tspanel.models.filters import Filters
from tspanel.models.flags import FlagsTable
from tspanel.models.queue import QueueModel
from tspanel.source import dataset_from_frames, load_dataset

D1, D2, D3 = dt.date(2026, 3, 2), dt.date(2026, 3, 3), dt.date(2026, 3, 4)
# flag_id, date, severity, action, resolution_hrs (day-level data: a case opens at its day's midnight)
ROWS = [
    ("f1", D1, "critical", "human_review", 5.0),  # closed at D1 05:00
    ("f2", D1, "critical", "human_review", None),  # never resolved
    ("f3", D1, "critical", "auto_block", None),  # not a review case
    ("f4", D2, "critical", "human_review", 30.0),  # closed at D3 06:00
    ("f5", D2, "high", "human_review", None),
    ("f6", D3, "critical", "human_review", 1.0),
]
REVIEWERS = pl.DataFrame({"reviewer_id": ["r1"], "capacity_per_day": [10.0]})


@pytest.fixture(params=["memory", "lazy"])
def dataset(request, tmp_path):
    names = ["flag_id", "date", "severity", "action", "resolution_hrs"]
    flags = pl.DataFrame(ROWS, schema=names, orient="row").with_columns(
        pl.lit("spam").alias("category"), pl.col("flag_id").alias("account_id"), pl.lit(0.5).alias("ml_score")
    )
    if request.param == "memory":
        return dataset_from_frames(flags, REVIEWERS, name="hand-made")
    (tmp_path / "flags").mkdir()
    flags.write_parquet(tmp_path / "flags" / "part-0.parquet")
    REVIEWERS.write_csv(tmp_path / "reviewers.csv")
    dataset = load_dataset(tmp_path, materialise=False)
    assert dataset.in_memory is None
    return dataset


def _ids(table: FlagsTable) -> list[str]:
    return table.page_frame().frame["flag_id"].to_list()


def test_the_backlog_is_the_cases_open_at_the_end_of_the_selected_days(dataset):
    # Selecting D2 only: the backlog at D3 00:00 holds f2 (opened D1, never closed) and f4
    # (closed on D3), not f6: a flag of D3 opens at D3's midnight but belongs to D3, after the
    # selection ("opened < as of", as a rollup counts it: its day's noon).
    table = FlagsTable(dataset, Filters(start=D2, end=D2, severities=["critical"]), status="backlog")
    assert _ids(table) == ["f2", "f4"]
    # "open" is as of the end of the data and among the selected days' flags: none of them.
    table.status = "open"
    assert _ids(table) == []
    table.param.update(status="backlog", sort_by="date", descending=True)
    assert _ids(table) == ["f4", "f2"]


@pytest.mark.parametrize("end", [D1, D2, D3])
@pytest.mark.parametrize("severity", ["critical", "high"])
def test_the_backlog_matches_the_queue_models_bar(dataset, end, severity):
    filters = Filters(start=D1, end=end, severities=[severity])
    backlog = QueueModel(dataset, filters).backlog()["by_severity"]
    bar = backlog.filter(pl.col("severity") == severity)["open_cases"].item()
    assert FlagsTable(dataset, filters, status="backlog").count() == bar


@pytest.mark.parametrize(("end", "open_cases"), [(D1, 1), (D2, 3), (D3, 2)])
def test_the_backlog_at_a_midnight_leaves_out_the_next_days_flags(dataset, end, open_cases):
    # At D2 00:00: f2 only (f1 closed at D1 05:00; f4, f5 are D2's). At D3 00:00: f2, f4, f5.
    # At D4 00:00: f2, f5 (f4 closed D3 06:00, f6 D3 01:00). Before, D2's and D3's flags opened
    # "at" the midnight counted: 3, 4 and 2.
    filters = Filters(end=end)
    assert QueueModel(dataset, filters).backlog()["total"] == open_cases
    assert FlagsTable(dataset, filters, status="backlog").count() == open_cases


def test_rows_and_their_rollup_count_the_same_backlog_before_the_last_day(tmp_path):
    from pathlib import Path

    from tspanel.cli import main
    from tspanel.rollup.sources import load_source

    legacy = Path(__file__).resolve().parents[1] / "data" / "legacy_sample"
    assert main(["rollup", str(legacy), str(tmp_path / "r")]) == 0
    filters = Filters(end=dt.date(2024, 1, 10))
    for source in (load_dataset(legacy), load_source(tmp_path / "r")):
        # F022 (high, 2024-01-10, 30 h to resolve); F023 and F026 are 2024-01-11's flags.
        assert QueueModel(source, filters).backlog()["total"] == 1
    assert _ids(FlagsTable(load_dataset(legacy), filters, status="backlog")) == ["F022"]
