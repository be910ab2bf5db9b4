"""The flags table: paging, sorting, search, status and exports on hand-made data, in every storage mode."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import polars as pl
import pytest

from tspanel.errors import TspanelError
from tspanel.models.filters import Filters
from tspanel.models.flags import FlagsTable
from tspanel.source import dataset_from_frames, load_dataset

D1, D2, D3 = dt.date(2026, 3, 2), dt.date(2026, 3, 3), dt.date(2026, 3, 4)

# Ten flags over three days. Scores are distinct except a tie (f3, f7 at 0.5) and a null
# resolution on open and automatic cases. Worked out by hand below.
ROWS = [
    # flag_id, date, category, severity, action, ml_score, account, resolution_hrs
    ("f0", D1, "spam", "low", "allow", 0.10, "acc-aa", None),
    ("f1", D1, "spam", "high", "human_review", 0.90, "acc-bb", 5.0),
    ("f2", D1, "fraud", "critical", "human_review", 0.70, "acc-cc", None),
    ("f3", D2, "spam", "medium", "auto_block", 0.50, "acc-aa", None),
    ("f4", D2, "spam", "critical", "human_review", 0.30, "acc-dd", 30.0),
    ("f5", D2, "fraud", "low", "downrank", 0.20, "acc-ee", None),
    ("f6", D3, "spam", "high", "human_review", 0.80, "acc-ff", None),
    ("f7", D3, "spam", "low", "allow", 0.50, "acc-gg", None),
    ("f8", D3, "fraud", "medium", "human_review", 0.60, "acc-hh", 2.0),
    ("f9", D3, "spam", "critical", "human_review", 0.40, "acc-aa", 1.0),
]


def _flags() -> pl.DataFrame:
    names = ["flag_id", "date", "category", "severity", "action", "ml_score", "account_id", "resolution_hrs"]
    frame = pl.DataFrame(ROWS, schema=names, orient="row")
    return frame.with_columns(
        pl.col("flag_id").str.replace("f", "content-").alias("content_hash"),
        pl.lit("target-1").alias("target_id"),
        pl.lit(40, dtype=pl.Int32).alias("account_age_days"),
    )


REVIEWERS = pl.DataFrame({"reviewer_id": ["r1"], "capacity_per_day": [10.0]})


def _write(directory: Path, flags: pl.DataFrame) -> Path:
    (directory / "flags").mkdir(parents=True)
    flags.write_parquet(directory / "flags" / "part-0.parquet")
    REVIEWERS.write_csv(directory / "reviewers.csv")
    return directory


@pytest.fixture(params=["memory", "lazy"])
def dataset(request, tmp_path):
    if request.param == "memory":
        return dataset_from_frames(_flags(), REVIEWERS, name="hand-made")
    return load_dataset(_write(tmp_path, _flags()), materialise=False)


def _ids(table: FlagsTable) -> list[str]:
    return table.page_frame().frame["flag_id"].to_list()


def test_count_and_pages_in_data_order(dataset):
    table = FlagsTable(dataset, Filters(categories=["spam"]), page_size=3)
    assert table.count() == 7
    assert _ids(table) == ["f0", "f1", "f3"]
    table.page = 1
    assert _ids(table) == ["f4", "f6", "f7"]
    table.page = 2
    page = table.page_frame()
    assert page.frame["flag_id"].to_list() == ["f9"]
    assert (page.total, page.pages, page.first_row) == (7, 3, 7)
    table.page = 99  # past the end: the last page
    assert _ids(table) == ["f9"]


def test_sort_every_page_including_the_reversed_tail(dataset):
    table = FlagsTable(dataset, Filters(), page_size=4, sort_by="ml_score", descending=True)
    # 0.9 f1, 0.8 f6, 0.7 f2, 0.6 f8, 0.5 f3 (tie, data order), 0.5 f7, 0.4 f9, 0.3 f4, 0.2 f5, 0.1 f0
    expected = ["f1", "f6", "f2", "f8", "f3", "f7", "f9", "f4", "f5", "f0"]
    pages = []
    for page in range(3):
        table.page = page
        pages += _ids(table)
    assert pages == expected
    table.descending = False
    pages = []
    for page in range(3):
        table.page = page
        pages += _ids(table)
    assert pages == ["f0", "f5", "f4", "f9", "f3", "f7", "f8", "f2", "f6", "f1"]


def test_nulls_sort_last_both_ways(dataset):
    table = FlagsTable(dataset, Filters(), page_size=4, sort_by="resolution_hrs")
    assert _ids(table) == ["f9", "f8", "f1", "f4"]
    table.descending = True
    assert _ids(table) == ["f4", "f1", "f8", "f9"]
    table.page = 2  # the tail (taken from the reversed order) holds the nulls in data order
    assert _ids(table) == ["f6", "f7"]


def test_sort_by_severity_uses_its_order_not_the_alphabet(dataset):
    table = FlagsTable(dataset, Filters(categories=["spam"]), page_size=7, sort_by="severity")
    assert table.page_frame().frame["severity"].to_list() == [
        "low", "low", "medium", "high", "high", "critical", "critical"
    ]  # fmt: skip


def test_filters_search_and_status(dataset):
    table = FlagsTable(dataset, Filters(start=D2, end=D3, categories=["spam"]), page_size=10)
    assert _ids(table) == ["f3", "f4", "f6", "f7", "f9"]
    table.search = "ACC-AA"  # case-insensitive substring of account_id
    assert _ids(table) == ["f3", "f9"]
    table.search = "tent-6"  # content_hash "content-6"
    assert _ids(table) == ["f6"]
    table.search = ""
    table.status = "open"  # human review without a resolution
    assert _ids(table) == ["f6"]
    table.status = "resolved"
    assert _ids(table) == ["f4", "f9"]
    frame = table.page_frame().frame
    assert frame["status"].to_list() == ["resolved", "resolved"]
    assert frame["resolution_hrs"].to_list() == [30.0, 1.0]


def test_columns_are_those_the_data_has(dataset):
    table = FlagsTable(dataset, Filters())
    # no created_at, region or reviewer_id in this data: none invented
    assert table.shown_columns() == [
        "flag_id", "date", "category", "severity", "action", "ml_score", "account_id", "account_age_days",
        "content_hash", "target_id", "status", "resolution_hrs",
    ]  # fmt: skip


def test_bad_requests_raise_a_message(dataset):
    with pytest.raises(TspanelError, match="cannot sort by 'region'"):
        FlagsTable(dataset, Filters(), sort_by="region").page_frame()
    with pytest.raises(TspanelError, match="too short"):
        FlagsTable(dataset, Filters(), search="ac").count()


def test_export_whole_selection_as_csv_and_parquet(dataset, tmp_path):
    table = FlagsTable(dataset, Filters(categories=["fraud"]), page_size=1, sort_by="ml_score", descending=True)
    assert table.export(tmp_path / "out.csv", "csv") == 3
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert [r["flag_id"] for r in rows] == ["f2", "f8", "f5"]  # the whole selection, sorted, not one page
    assert table.export(tmp_path / "out.parquet", "parquet") == 3
    assert pl.read_parquet(tmp_path / "out.parquet")["flag_id"].to_list() == ["f2", "f8", "f5"]


HOSTILE = {
    "flag_id": ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "ok\x00id", "<script>alert(1)</script>"],
    "category": ["=cmd|' /C calc'!A0", "spam", "spam", "spam", "spam", "<b>spam</b>"],
    "account_id": ["=acc", "+acc", "acc\x00", "plain", "-acc", "@acc"],  # the loader strips edge whitespace
}


def test_hostile_strings_are_neutralised_in_csv(tmp_path):
    n = len(HOSTILE["flag_id"])
    flags = pl.DataFrame(
        {
            **HOSTILE,
            "date": [D1] * n,
            "severity": ["low"] * n,
            "action": ["allow"] * n,
            "ml_score": [0.5] * n,
        }
    )
    dataset = dataset_from_frames(flags, REVIEWERS, name="hostile")
    table = FlagsTable(dataset, Filters())
    buffer = io.BytesIO()
    assert table.export(buffer, "csv") == n
    text = buffer.getvalue().decode("utf-8")
    assert "\x00" not in text
    cells = list(csv.DictReader(io.StringIO(text)))
    by_cell = {r["account_id"]: r for r in cells}
    assert set(by_cell) == {"'=acc", "'+acc", "acc", "plain", "'-acc", "'@acc"}
    flag_ids = sorted(r["flag_id"] for r in cells)
    assert flag_ids == sorted(
        ['\'=HYPERLINK("http://x")', "'+1+1", "'-2", "'@SUM(A1)", "okid", "<script>alert(1)</script>"]
    )
    assert "'=cmd|' /C calc'!A0" in {r["category"] for r in cells}
    for row in cells:  # no cell a spreadsheet would run
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    # Parquet keeps the values (minus NULs): it is data, not a spreadsheet.
    table.export(tmp_path / "h.parquet", "parquet")
    kept = pl.read_parquet(tmp_path / "h.parquet")
    assert sorted(kept["flag_id"].to_list()) == sorted(
        ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "okid", "<script>alert(1)</script>"]
    )


def test_hybrid_storage_reads_ids_from_the_files(tmp_path, monkeypatch):
    """Hybrid: ids are not in memory; pages, search and export still show them."""
    n = 20_000
    long = pl.int_range(n, eager=True).cast(pl.String).str.zfill(40)
    flags = pl.DataFrame(
        {
            "flag_id": "F" + long,
            "date": [D1 + dt.timedelta(days=i // 2_000) for i in range(n)],
            "category": ["spam", "fraud"] * (n // 2),
            "severity": ["low"] * n,
            "action": ["allow"] * n,
            "ml_score": [((i * 7919) % n) / n for i in range(n)],
            "account_id": "A" + long,
            # every 4th row (1, 5, 9, ...) a review case, resolved 2 h after it came in at 1, 9, 17, ...
            "created_at": [dt.datetime(2026, 3, 2, tzinfo=dt.UTC)] * n,
            "resolved_at": [dt.datetime(2026, 3, 2, 2, tzinfo=dt.UTC) if i % 8 == 1 else None for i in range(n)],
        }
    ).with_columns(action=pl.when(pl.int_range(n) % 4 == 1).then(pl.lit("human_review")).otherwise(pl.lit("allow")))
    monkeypatch.setenv("TSPANEL_MEMORY_BUDGET_MB", "1")
    dataset = load_dataset(_write(tmp_path / "data", flags))
    assert dataset.storage == "hybrid"
    table = FlagsTable(dataset, Filters(categories=["fraud"]), page_size=3, sort_by="ml_score", descending=True)
    assert table.count() == 10_000
    page = table.page_frame().frame
    # score(i) = (7919 i mod 20000) / 20000 for the odd rows i; the three highest:
    # 7919 * 2321 = 18379999 -> 19999; 7919 * 6963 = 55139997 -> 19997; 7919 * 11605 = 91899995 -> 19995.
    expected = [2321, 6963, 11605]
    assert page["flag_id"].to_list() == [f"F{i:040d}" for i in expected]
    assert page["account_id"].to_list() == [f"A{i:040d}" for i in expected]
    table.search = f"{11605:040d}"[-12:]
    assert _ids(table) == [f"F{11605:040d}"]
    table.filters.param.update(start=D1 + dt.timedelta(days=5), end=D1 + dt.timedelta(days=5))  # row 11605's day
    assert _ids(table) == [f"F{11605:040d}"]
    table.filters.param.update(start=D1 + dt.timedelta(days=6), end=D1 + dt.timedelta(days=6))
    assert _ids(table) == []
    table.filters.param.update(start=None, end=None)
    table.search = ""
    table.descending = False
    table.sort_by = None
    assert table.export(tmp_path / "all.csv", "csv") == 10_000
    ids = pl.read_csv(tmp_path / "all.csv")["flag_id"].to_list()
    assert ids[:2] == [f"F{1:040d}", f"F{3:040d}"]
    table.status = "resolved"  # hours from the timestamps (no resolution_hrs column), read from the files
    assert table.export(tmp_path / "resolved.csv", "csv") == 2_500
    resolved = pl.read_csv(tmp_path / "resolved.csv")
    assert resolved["resolution_hrs"].unique().to_list() == [2.0]
    assert resolved["flag_id"].head(2).to_list() == [f"F{1:040d}", f"F{9:040d}"]
    table.status = "open"
    assert table.count() == 2_500
    table.status = None
    table.sort_by = "account_id"  # an id column: sorted from the files
    table.descending = True
    table.page = 0
    assert _ids(table) == [f"F{i:040d}" for i in (19999, 19997, 19995)]


def test_deep_pages_match_the_order_near_both_ends():
    """Pages far from both ends sort once and keep the order; every page agrees with the stated order."""
    n = 60_000
    flags = pl.DataFrame(
        {
            "flag_id": [f"f{i}" for i in range(n)],
            "date": [D1] * n,
            "category": ["spam"] * n,
            "severity": ["low"] * n,
            "action": ["allow"] * n,
            "ml_score": [((i * 7919) % n) / n for i in range(n)],  # a permutation: 7919 is prime to 60000
        }
    )
    dataset = dataset_from_frames(flags, REVIEWERS, name="permutation")
    inverse = pow(7919, -1, n)

    def row_of_rank(rank: int) -> str:  # descending: rank r has score (n - 1 - r) / n
        return f"f{((n - 1 - rank) * inverse) % n}"

    table = FlagsTable(dataset, Filters(), sort_by="ml_score", descending=True, page_size=50)
    for page in (0, 300, 600, 601, 1199):  # 600 and 601 are deep (30,000 rows from either end)
        table.page = page
        assert _ids(table) == [row_of_rank(r) for r in range(page * 50, page * 50 + 50)], page
    table.filters.categories = ["spam"]  # a new selection forgets the kept order
    table.page = 600
    assert _ids(table) == [row_of_rank(r) for r in range(30_000, 30_050)]


def test_sort_by_date_keeps_data_order_within_a_day(dataset):
    table = FlagsTable(dataset, Filters(), page_size=4, sort_by="date", descending=True)
    pages = []
    for page in range(3):
        table.page = page
        pages += _ids(table)
    assert pages == ["f6", "f7", "f8", "f9", "f3", "f4", "f5", "f0", "f1", "f2"]


def test_sort_by_time_any_page():
    n = 3 * 30_000  # three days of 30,000 flags, one a second from midnight
    start = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    flags = pl.DataFrame(
        {
            "flag_id": [f"f{i}" for i in range(n)],
            "date": [D1 + dt.timedelta(days=i // 30_000) for i in range(n)],
            "created_at": [start + dt.timedelta(days=i // 30_000, seconds=i % 30_000) for i in range(n)],
            "category": ["spam"] * n,
            "severity": ["low"] * n,
            "action": ["allow"] * n,
            "ml_score": [0.5] * n,
        }
    )
    table = FlagsTable(dataset_from_frames(flags, REVIEWERS, name="clock"), Filters(), sort_by="created_at")
    table.descending, table.page_size = True, 50
    for page in (0, 599, 600, 1799):  # the newest first; page 600 opens the second-newest day
        table.page = page
        assert _ids(table) == [f"f{n - 1 - r}" for r in range(page * 50, page * 50 + 50)], page
    table.descending = False
    table.page = 900
    assert _ids(table) == [f"f{r}" for r in range(45_000, 45_050)]


def test_deep_pages_with_ties_and_nulls():
    """Deep pages of a sort with many ties and some nulls: ties in data order, nulls last."""
    n = 60_000
    # value(i) = (7919 i mod 60000) // 10: each value on 10 rows; every 1000th row has no value.
    hours = [None if i % 1000 == 0 else float(((i * 7919) % n) // 10) for i in range(n)]
    flags = pl.DataFrame(
        {
            "flag_id": [f"f{i}" for i in range(n)],
            "date": [D1] * n,
            "category": ["spam"] * n,
            "severity": ["low"] * n,
            "action": ["allow"] * n,
            "ml_score": [0.5] * n,
            "resolution_hrs": hours,
        }
    )
    table = FlagsTable(dataset_from_frames(flags, REVIEWERS, name="ties"), Filters(), sort_by="resolution_hrs")
    # The order stated by its definition: value descending, then row ascending; the 60 nulls last.
    order = sorted((i for i in range(n) if hours[i] is not None), key=lambda i: (-hours[i], i))
    order += [i for i in range(n) if hours[i] is None]
    table.descending, table.page_size = True, 50
    for page in (500, 501, 777, 1199):  # deep (beyond 20,000 rows from both ends) and the tail with the nulls
        table.page = page
        assert _ids(table) == [f"f{i}" for i in order[page * 50 : page * 50 + 50]], page
    table.descending = False
    ascending = sorted((i for i in range(n) if hours[i] is not None), key=lambda i: (hours[i], i))
    table.page = 600
    assert _ids(table) == [f"f{i}" for i in ascending[30_000:30_050]]


@pytest.mark.parametrize("budget", ["1", "4000"])  # hybrid (ids searched in the files as written), memory
def test_search_finds_ids_as_the_loader_cleans_them(tmp_path, monkeypatch, budget):
    """Hybrid search scans the id columns as the files hold them (padded, any case, not even text):
    it finds exactly what the memory storage's search of the cleaned ids finds."""
    n = 20_000
    flags = pl.DataFrame(
        {
            "flag_id": "F" + pl.int_range(n, eager=True).cast(pl.String).str.zfill(40),
            "date": [D1 + dt.timedelta(days=i // 2_000) for i in range(n)],
            "category": ["spam"] * n,
            "severity": ["low"] * n,
            "action": ["allow"] * n,
            "ml_score": [0.5] * n,
            "account_id": [f"  User{i % 500:03d}X  " for i in range(n)],  # padded: shown stripped
            "content_hash": ["   " if i % 2 else f"Hash{i}" for i in range(n)],  # blank on odd rows: missing
            "target_id": pl.int_range(0, n * 1000, 1000, eager=True),  # integers in the file
        }
    )
    monkeypatch.setenv("TSPANEL_MEMORY_BUDGET_MB", budget)
    dataset = load_dataset(_write(tmp_path / "data", flags))
    assert dataset.storage == ("hybrid" if budget == "1" else "memory")
    assert (dataset.cold_files is not None) == (budget == "1")
    table = FlagsTable(dataset, Filters(), page_size=3, search="user007x")  # case ignored
    page = table.page_frame()
    assert page.total == 40  # rows 7, 507, 1007, ... 19507
    assert page.frame["flag_id"].to_list() == [f"F{i:040d}" for i in (7, 507, 1007)]
    assert page.frame["account_id"].to_list() == ["User007X"] * 3
    assert page.frame["content_hash"].to_list() == [None] * 3
    table.search = "  r007X "  # the text is stripped; its inner match is found
    assert table.count() == 40
    table.search = "9999000"  # target 9999000 (row 9999) and 19999000 (row 19999)
    assert _ids(table) == [f"F{9999:040d}", f"F{19999:040d}"]
    assert table.page_frame().frame["target_id"].to_list() == ["9999000", "19999000"]
    table.search = "07x  "  # accounts User007X, User107X, ... User407X: 5 of 500, 40 rows each
    assert table.count() == 200
    table.search = "X  U"  # the files' padding is not part of an id, so never matched
    assert table.count() == 0
    table.search = "HASH"
    assert table.count() == 10_000  # the even rows; a blank hash matches nothing
    table.search = "01X  User"  # spans two ids of the file? No: each id is searched on its own
    assert table.count() == 0
