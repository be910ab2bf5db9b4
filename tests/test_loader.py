"""The dataset loader: real files in tmp_path, every bad-input case, the legacy layout, the CLI."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tspanel import schema
from tspanel.cli import main
from tspanel.errors import DataError
from tspanel.source import (
    clear_dataset_cache,
    dataset_from_frames,
    default_world,
    load_dataset,
    load_dataset_cached,
)

UTC = dt.UTC
REPO = Path(__file__).resolve().parents[1]
HEADER = "flag_id,date,category,severity,action,ml_score"
FLAGS_CSV = f"{HEADER}\nf1,2026-01-01,spam,low,allow,0.5\nf2,2026-01-02,fraud,high,auto_block,0.9\n"  # as in conftest
REVIEWERS_CSV = "reviewer_id,capacity_per_day\nR1,40\n"


def load_error(path: Path) -> str:
    with pytest.raises(DataError) as info:
        load_dataset(path)
    return str(info.value)


def flags_csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


# --------------------------------------------------------------------------- the legacy layout


def test_legacy_sample_loads_unchanged(legacy_dir: Path) -> None:
    ds = load_dataset(legacy_dir)
    assert ds.name == str(legacy_dir)
    assert ds.n_flags == 48
    assert (ds.first_day, ds.last_day) == (dt.date(2024, 1, 1), dt.date(2024, 1, 21))
    assert ds.categories == ("fraud", "harassment", "hate_speech", "spam")
    assert ds.regions == ()
    assert ds.columns == {
        "flag_id", "date", "category", "severity", "action", "reviewer_id",
        "resolution_hrs", "ml_score", "coordinated_flag", "attack_id",
    }  # fmt: skip
    assert ds.has("reviewer_id", "resolution_hrs") and not ds.has("region")
    flags = ds.flags.collect()
    assert dict(flags.schema) == {
        "flag_id": pl.String,
        "date": pl.Date,
        "category": pl.Categorical,
        "severity": pl.Enum(["low", "medium", "high", "critical"]),
        "action": pl.Enum(["allow", "downrank", "human_review", "auto_block"]),
        "ml_score": pl.Float64,
        "reviewer_id": pl.Categorical,
        "resolution_hrs": pl.Float64,
        "coordinated_flag": pl.Boolean,
        "attack_id": pl.String,
    }
    f022 = flags.filter(pl.col("flag_id") == "F022").row(0, named=True)
    assert f022 == {
        "flag_id": "F022", "date": dt.date(2024, 1, 10), "category": "spam", "severity": "high",
        "action": "human_review", "ml_score": 0.65, "reviewer_id": "R3", "resolution_hrs": 30.0,
        "coordinated_flag": True, "attack_id": "A1",
    }  # fmt: skip
    f001 = flags.row(0, named=True)
    assert (f001["reviewer_id"], f001["resolution_hrs"], f001["coordinated_flag"], f001["attack_id"]) == (
        None, None, False, None,
    )  # fmt: skip
    counts = flags.select(
        coordinated=pl.col("coordinated_flag").sum(),
        human_review=(pl.col("action") == "human_review").sum(),
        resolved=pl.col("resolution_hrs").is_not_null().sum(),
        hours=pl.col("resolution_hrs").sum(),
        spam=(pl.col("category") == "spam").sum(),
    ).row(0, named=True)
    assert counts == {"coordinated": 6, "human_review": 21, "resolved": 20, "hours": 266.25, "spam": 17}

    reviewers = ds.reviewers.collect()
    assert reviewers.schema["capacity_per_day"] == pl.Float64
    assert reviewers.schema["team"] == pl.Categorical
    assert reviewers.rows() == [
        ("R1", 40.0, "Ana Silva", "AMER", "senior"),
        ("R2", 35.0, "Ben Okafor", "EMEA", "mid"),
        ("R3", 30.0, "Chen Wei", "APAC", "junior"),
    ]
    assert ds.attacks is not None
    assert ds.attacks.collect().row(0, named=True) == {
        "attack_id": "A1", "start_date": dt.date(2024, 1, 10), "category": "spam", "duration_days": 3,
        "end_date": dt.date(2024, 1, 12), "num_accounts": 25, "pattern": "copy-paste link campaign",
        "severity": "high",
    }  # fmt: skip


def test_pandas_datetime_dates_and_capitalised_booleans(make_dataset) -> None:
    path = make_dataset(
        flags=flags_csv(
            "f1,2024-01-05 00:00:00,spam,low,allow,0.5,True",
            "f2,2024-01-06,spam,low,allow,0.5,FALSE",
            "f3,2024-01-07,spam,low,allow,0.5,yes",
            "f4,2024-01-07,spam,low,allow,0.5,0",
            header=HEADER + ",coordinated_flag",
        )
    )
    flags = load_dataset(path).flags.collect()
    assert flags["date"].to_list() == [
        dt.date(2024, 1, 5),
        dt.date(2024, 1, 6),
        dt.date(2024, 1, 7),
        dt.date(2024, 1, 7),
    ]
    assert flags["coordinated_flag"].to_list() == [True, False, True, False]


# --------------------------------------------------------------------------- files and directories


def test_missing_directory(tmp_path: Path) -> None:
    message = load_error(tmp_path / "nope")
    assert (
        message == f"{tmp_path / 'nope'}: no such directory. Give the path of a dataset directory (see docs/data.md)."
    )


def test_path_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "flags.csv").write_text(FLAGS_CSV)
    assert "is a file, not a directory" in load_error(tmp_path / "flags.csv")


def test_missing_tables_are_reported_together(tmp_path: Path) -> None:
    (tmp_path / "flags.csv.gz").write_bytes(b"\x1f\x8b")
    message = load_error(tmp_path)
    assert "2 problems" in message
    assert f"{tmp_path}: no flags table (found: flags.csv.gz). Expected flags.csv, flags.parquet" in message
    assert f"{tmp_path}: no reviewers table. Expected reviewers.csv" in message


def test_attacks_table_is_optional(make_dataset) -> None:
    ds = load_dataset(make_dataset())
    assert ds.attacks is None
    assert ds.n_flags == 2


def test_both_csv_and_parquet_is_ambiguous(make_dataset) -> None:
    path = make_dataset()
    pl.read_csv(path / "flags.csv").write_parquet(path / "flags.parquet")
    message = load_error(path)
    assert "both flags.csv and flags.parquet exist" in message
    assert "Keep one" in message


def test_empty_file(make_dataset) -> None:
    assert load_error(make_dataset(flags="")) == (
        "flags.csv is empty (no header row). Export the table as CSV with a header row."
    )


def test_header_without_rows(make_dataset) -> None:
    message = load_error(make_dataset(flags=HEADER + "\n"))
    assert message == "flags.csv has no data rows; a dataset needs at least one row of flags."


def test_reviewers_and_attacks_may_be_empty_tables(make_dataset) -> None:
    ds = load_dataset(
        make_dataset(reviewers="reviewer_id,capacity_per_day\n", attacks="attack_id,start_date,category,end_date\n")
    )
    assert ds.reviewers.collect().height == 0
    assert ds.attacks is not None and ds.attacks.collect().height == 0


def test_binary_and_misnamed_files(make_dataset) -> None:
    assert "flags.csv is binary, not CSV text" in load_error(make_dataset(flags=bytes(range(256))))
    assert "zip archive" in load_error(make_dataset(flags=b"PK\x03\x04rest-of-an-xlsx"))
    path = make_dataset(flags=None)
    pl.read_csv(FLAGS_CSV.encode()).write_parquet(path / "flags.csv")
    assert "flags.csv is a Parquet file, not CSV. Rename it to flags.parquet." in load_error(path)
    path = make_dataset(flags=None)
    (path / "flags.parquet").write_text(FLAGS_CSV)
    assert "flags.parquet is not a Parquet file" in load_error(path)


def test_not_utf8(make_dataset) -> None:
    latin1 = flags_csv("f1,2026-01-01,caf\xe9,low,allow,0.5").encode("latin-1")
    assert load_error(make_dataset(flags=latin1)) == (
        "flags.csv could not be read: it is not UTF-8 text. Save it as CSV with UTF-8 encoding, or as Parquet."
    )


def test_ragged_rows(make_dataset) -> None:
    message = load_error(make_dataset(flags=flags_csv("f1,2026-01-01,spam,low,allow,0.5,extra")))
    assert message.startswith("flags.csv could not be read: some rows have more fields than the header.")


def test_duplicate_header(make_dataset) -> None:
    message = load_error(
        make_dataset(flags=flags_csv("f1,2026-01-01,spam,low,allow,0.5,high", header=HEADER + ",severity"))
    )
    assert "flags.csv: column 'severity' appears more than once in the header. Keep one of them." in message


def test_bom_and_blanks_in_header_are_tolerated(make_dataset) -> None:
    text = "\ufeff flag_id ,date, category,severity,action,ml_score\nf1, 2026-01-01 ,spam ,low,allow, 0.5\n"
    flags = load_dataset(make_dataset(flags=text)).flags.collect()
    assert flags.row(0) == ("f1", dt.date(2026, 1, 1), "spam", "low", "allow", 0.5)


# --------------------------------------------------------------------------- columns and values


def test_missing_columns(make_dataset) -> None:
    message = load_error(make_dataset(flags="flag_id,category,ml_score\nf1,spam,0.5\n"))
    assert message == (
        "flags.csv: missing required columns 'date' (or 'created_at' to derive it from), 'severity', 'action' "
        "(columns found: flag_id, category, ml_score). Add or rename them; see docs/data.md for the contract."
    )


def test_values_outside_the_allowed_set(make_dataset) -> None:
    path = make_dataset(
        flags=flags_csv(
            "f1,2026-01-01,spam,urgent,allow,0.5",
            "f2,2026-01-01,spam,sev1,allow,0.5",
            "f3,2026-01-01,spam,high,allow,0.5",
            "f4,2026-01-01,spam,urgent,allow,0.5",
        )
    )
    assert load_error(path) == (
        "flags.csv: column 'severity': 3 rows have values outside low, medium, high, critical "
        "(first: 'urgent', 'sev1'). Fix or remove these rows."
    )


def test_only_the_first_five_distinct_values_are_shown(make_dataset) -> None:
    rows = [f"f{i},2026-01-01,spam,low,act{i % 7},0.5" for i in range(20)]
    assert load_error(make_dataset(flags=flags_csv(*rows))) == (
        "flags.csv: column 'action': 20 rows have values outside allow, downrank, human_review, auto_block "
        "(first: 'act0', 'act1', 'act2', 'act3', 'act4'). Fix or remove these rows."
    )


def test_unparseable_date_and_number(make_dataset) -> None:
    path = make_dataset(
        flags=flags_csv(
            "f1,2026-13-01,spam,low,allow,0.5",
            "f2,01/02/2026,spam,low,allow,high",
            "f3,2026-01-03,spam,low,allow,nan",
        )
    )
    message = load_error(path)
    assert message.startswith(f"{path} has 2 problems; fix them all, then load it again:\n")
    assert (
        "  - flags.csv: column 'date': 2 rows have values that are not dates (use YYYY-MM-DD) "
        "(first: '2026-13-01', '01/02/2026'). Fix or remove these rows.\n"
    ) in message
    assert (
        "  - flags.csv: column 'ml_score': 2 rows have values that are not numbers (first: 'high', 'nan'). "
        "Fix or remove these rows."
    ) in message


def test_ml_score_range_and_negative_resolution(make_dataset) -> None:
    path = make_dataset(
        flags=flags_csv(
            "f1,2026-01-01,spam,low,allow,1.5,-2",
            "f2,2026-01-01,spam,low,allow,-0.1,3",
            "f3,2026-01-01,spam,low,allow,1,0",
            header=HEADER + ",resolution_hrs",
        )
    )
    message = load_error(path)
    assert "flags.csv: column 'ml_score': 2 rows have values outside [0, 1] (first: '1.5', '-0.1')." in message
    assert "flags.csv: column 'resolution_hrs': 1 row has a negative value (first: '-2')." in message


def test_bad_timestamp_whole_number_and_boolean(make_dataset) -> None:
    path = make_dataset(
        flags=flags_csv(
            "f1,2026-01-01,spam,low,allow,0.5,2026-01-01T10:00:00Z,3,true",
            "f2,2026-01-01,spam,low,allow,0.5,yesterday,3.5,maybe",
            header=HEADER + ",created_at,account_age_days,appealed",
        )
    )
    message = load_error(path)
    assert "3 problems" in message
    assert "column 'created_at': 1 row has a value that is not a timestamp (use ISO 8601" in message
    assert "(first: 'yesterday')" in message
    assert "column 'account_age_days': 1 row has a value that is not a whole number (first: '3.5')" in message
    assert "column 'appealed': 1 row has a value that is not a true/false value" in message


def test_duplicate_ids(make_dataset) -> None:
    path = make_dataset(
        flags=flags_csv(*[f"{fid},2026-01-01,spam,low,allow,0.5" for fid in ("a", "b", "a", "c", "b", "a")]),
        reviewers="reviewer_id,capacity_per_day\nR1,40\nR1,30\nR2,20\n",
    )
    message = load_error(path)
    assert (
        "flags.csv: column 'flag_id': 5 rows share their flag_id with another row (first: 'a', 'b'). "
        "Each flag_id must be unique; remove or renumber the duplicates."
    ) in message
    assert (
        "reviewers.csv: column 'reviewer_id': 2 rows share their reviewer_id with another row (first: 'R1')" in message
    )


def test_missing_values_in_required_columns_give_row_numbers(make_dataset) -> None:
    path = make_dataset(
        flags=flags_csv(
            "f1,2026-01-01,spam,low,allow,0.5",
            "f2,2026-01-01,,low,allow,0.5",
            "f3,2026-01-01,spam,low,allow,0.5",
            "f4,2026-01-01,  ,low,allow,0.5",
        )
    )
    assert load_error(path) == (
        "flags.csv: column 'category': 2 rows have no value (first: row 2, row 4). Fill them in or remove these rows."
    )


def test_all_problems_of_all_tables_at_once(make_dataset) -> None:
    path = make_dataset(
        flags=flags_csv("f1,2026-01-01,spam,urgent,block,2"),
        reviewers="reviewer_id,capacity_per_day\nR1,lots\n",
        attacks="attack_id,start_date,category\nA1,2026-01-01,spam\n",
    )
    message = load_error(path)
    lines = message.splitlines()
    assert lines[0] == f"{path} has 5 problems; fix them all, then load it again:"
    assert [re.sub(r":.*", "", line.removeprefix("  - ")) for line in lines[1:]] == [
        "flags.csv", "flags.csv", "flags.csv", "reviewers.csv", "attacks.csv",
    ]  # fmt: skip
    assert "attacks.csv: needs a 'duration_days' or an 'end_date' column" in message


def test_unknown_columns_are_ignored_and_empty_optional_columns_dropped(make_dataset) -> None:
    path = make_dataset(
        flags=flags_csv(
            "f1,2026-01-01,spam,low,allow,0.5,x,",
            "f2,2026-01-01,spam,low,allow,0.5,y,",
            header=HEADER + ",notes,region",
        )
    )
    ds = load_dataset(path)
    assert "notes" not in ds.flags.collect_schema() and not ds.has("region")
    assert ds.regions == ()
    flags_info = ds.tables[0]
    assert (flags_info.ignored, flags_info.empty) == (("notes",), ("region",))


# --------------------------------------------------------------------------- timestamps and derived columns


def test_date_derived_from_created_at_utc_day(make_dataset) -> None:
    path = make_dataset(
        flags=(
            "flag_id,created_at,category,severity,action,ml_score\n"
            "f1,2026-01-01T23:30:00-05:00,spam,low,allow,0.5\n"  # 04:30 UTC on Jan 2
            "f2,2026-01-01 23:30:00,spam,low,allow,0.5\n"  # no offset: UTC
            "f3,2026-01-03T00:15:00.250Z,spam,low,allow,0.5\n"
        )
    )
    ds = load_dataset(path)
    flags = ds.flags.collect()
    assert flags["date"].to_list() == [dt.date(2026, 1, 2), dt.date(2026, 1, 1), dt.date(2026, 1, 3)]
    assert flags["created_at"].to_list() == [
        dt.datetime(2026, 1, 2, 4, 30, tzinfo=UTC),
        dt.datetime(2026, 1, 1, 23, 30, tzinfo=UTC),
        dt.datetime(2026, 1, 3, 0, 15, 0, 250000, tzinfo=UTC),
    ]
    assert flags.schema["created_at"] == schema.UTC
    assert ds.tables[0].derived == ("date",)
    assert (ds.first_day, ds.last_day) == (dt.date(2026, 1, 1), dt.date(2026, 1, 3))


def test_date_needs_a_value_or_created_at(make_dataset) -> None:
    path = make_dataset(
        flags=flags_csv(
            "f1,,spam,low,allow,0.5,",
            "f2,,spam,low,allow,0.5,2026-01-05T12:00:00Z",
            header=HEADER + ",created_at",
        )
    )
    assert load_error(path) == (
        "flags.csv: column 'date': 1 row has no value (and no created_at to derive it from) (first: row 1). "
        "Fill them in or remove these rows."
    )


def test_parquet_file_with_naive_timestamps_is_utc(make_dataset) -> None:
    flags = pl.DataFrame(
        {
            "flag_id": ["f1", "f2"],
            "created_at": [dt.datetime(2026, 3, 1, 23, 59), dt.datetime(2026, 3, 2, 0, 1)],
            "category": ["spam", "fraud"],
            "severity": ["low", "critical"],
            "action": ["allow", "human_review"],
            "ml_score": [0.25, 0.75],
            "account_age_days": [3, 400],
            "appealed": [0, 1],
        }
    )
    assert flags.schema["created_at"] == pl.Datetime("us")  # naive
    ds = load_dataset(make_dataset(flags=flags))
    out = ds.flags.collect()
    assert out["created_at"].to_list() == [
        dt.datetime(2026, 3, 1, 23, 59, tzinfo=UTC),
        dt.datetime(2026, 3, 2, 0, 1, tzinfo=UTC),
    ]
    assert out["date"].to_list() == [dt.date(2026, 3, 1), dt.date(2026, 3, 2)]
    assert out.schema["account_age_days"] == pl.Int32
    assert out["appealed"].to_list() == [False, True]
    assert out.schema["severity"] == schema.SEVERITY


def test_parquet_timestamps_with_a_zone_are_converted(make_dataset) -> None:
    flags = pl.DataFrame(
        {
            "flag_id": ["f1"],
            "created_at": [dt.datetime(2026, 3, 1, 8, 0)],
            "category": ["spam"],
            "severity": ["low"],
            "action": ["allow"],
            "ml_score": [0.5],
        }
    ).with_columns(pl.col("created_at").dt.replace_time_zone("Asia/Tokyo").dt.cast_time_unit("ms"))
    out = load_dataset(make_dataset(flags=flags)).flags.collect()
    assert out["created_at"].to_list() == [dt.datetime(2026, 2, 28, 23, 0, tzinfo=UTC)]
    assert out["date"].to_list() == [dt.date(2026, 2, 28)]


def test_parquet_wrong_type(make_dataset) -> None:
    flags = pl.read_csv(FLAGS_CSV.encode()).with_columns(ml_score=pl.lit([1.0]), date=pl.lit(True))
    message = load_error(make_dataset(flags=flags))
    assert "flags.parquet: column 'date' has type boolean; expected a date." in message
    assert "flags.parquet: column 'ml_score' has type list(float64); expected a number." in message


def test_hive_partitioned_parquet_directory(make_dataset) -> None:
    path = make_dataset(flags=None)
    base = pl.read_csv(FLAGS_CSV.encode()).drop("date")
    for day, part in (("2026-01-01", base[:1]), ("2026-01-02", base[1:])):
        folder = path / "flags" / f"date={day}"
        folder.mkdir(parents=True)
        part.write_parquet(folder / "part-0.parquet")
    (path / "flags" / "_SUCCESS").write_text("")
    ds = load_dataset(path)
    flags = ds.flags.collect().sort("flag_id")
    assert flags.select("flag_id", "date").rows() == [("f1", dt.date(2026, 1, 1)), ("f2", dt.date(2026, 1, 2))]
    assert ds.tables[0].source == "flags/ (2 parquet files)"


def test_parquet_part_files_may_lack_optional_columns_but_not_disagree(make_dataset) -> None:
    path = make_dataset(flags=None)
    (path / "flags").mkdir()
    base = pl.read_csv(FLAGS_CSV.encode())
    base[:1].with_columns(region=pl.lit("EMEA")).write_parquet(path / "flags" / "part-0.parquet")
    base[1:].write_parquet(path / "flags" / "part-1.parquet")
    ds = load_dataset(path)
    assert ds.flags.collect()["region"].to_list() == ["EMEA", None]
    assert ds.regions == ("EMEA",)

    base[1:].with_columns(pl.col("ml_score").cast(pl.String)).write_parquet(path / "flags" / "part-1.parquet")
    assert load_error(path) == (
        "flags/: column 'ml_score' is float64 in part-0.parquet but string in part-1.parquet. "
        "Write every part file with the same column types."
    )


def test_parquet_directory_without_parquet_files(make_dataset) -> None:
    path = make_dataset(flags=None)
    (path / "flags").mkdir()
    (path / "flags" / "data.csv").write_text(FLAGS_CSV)
    assert load_error(path).startswith("flags/ holds no .parquet files.")


def test_attack_end_date_derived_from_duration(make_dataset) -> None:
    ds = load_dataset(make_dataset(attacks="attack_id,start_date,category,duration_days\nA1,2026-01-30,spam,3\n"))
    assert ds.attacks is not None
    row = ds.attacks.collect().row(0, named=True)
    assert (row["duration_days"], row["end_date"]) == (3, dt.date(2026, 2, 1))
    assert ds.tables[2].derived == ("end_date",)


def test_attack_duration_derived_from_end_date(make_dataset) -> None:
    ds = load_dataset(make_dataset(attacks="attack_id,start_date,category,end_date\nA1,2026-01-30,spam,2026-01-30\n"))
    assert ds.attacks is not None
    assert ds.attacks.collect().select("duration_days", "end_date").row(0) == (1, dt.date(2026, 1, 30))


def test_attack_span_gaps_filled_row_by_row_and_conflicts_rejected(make_dataset) -> None:
    header = "attack_id,start_date,category,duration_days,end_date\n"
    ds = load_dataset(make_dataset(attacks=header + "A1,2026-01-01,spam,2,\nA2,2026-01-10,spam,,2026-01-14\n"))
    assert ds.attacks is not None
    assert ds.attacks.collect().select("attack_id", "duration_days", "end_date").rows() == [
        ("A1", 2, dt.date(2026, 1, 2)),
        ("A2", 5, dt.date(2026, 1, 14)),
    ]
    path = make_dataset(
        attacks=header
        + "A1,2026-01-01,spam,2,2026-01-05\n"
        + "A2,2026-01-10,spam,,2026-01-08\n"
        + "A3,2026-01-10,spam,,\n"
        + "A4,2026-01-10,spam,0,\n"
    )
    message = load_error(path)
    assert "4 problems" in message
    assert "attacks.csv: column 'duration_days': 1 row has a value below 1 (first: '0')." in message
    assert "attacks.csv: column 'end_date': 1 row has an end_date before its start_date (first: 'A2')." in message
    assert "column 'end_date': 1 row has an end_date other than start_date + duration_days - 1 (first: 'A1')" in message
    assert "attacks.csv: 1 row has neither duration_days nor end_date (first: row 3)." in message


# --------------------------------------------------------------------------- in memory, caching, laziness


def test_dataset_from_frames_validates_like_files() -> None:
    flags = pl.read_csv(FLAGS_CSV.encode()).with_columns(severity=pl.lit("urgent"))
    reviewers = pl.read_csv(REVIEWERS_CSV.encode())
    with pytest.raises(DataError) as info:
        dataset_from_frames(flags, reviewers, name="test frames")
    assert str(info.value) == (
        "flags (in memory): column 'severity': 2 rows have values outside low, medium, high, critical "
        "(first: 'urgent'). Fix or remove these rows."
    )
    ds = dataset_from_frames(flags.with_columns(severity=pl.lit("low")).lazy(), reviewers, name="test frames")
    assert (ds.name, ds.n_flags, ds.categories) == ("test frames", 2, ("fraud", "spam"))
    assert ds.flags.collect_schema()["date"] == pl.Date


def test_cached_load_is_shared_and_reloads_when_a_file_changes(make_dataset) -> None:
    clear_dataset_cache()
    path = make_dataset()
    first = load_dataset_cached(path)
    assert load_dataset_cached(str(path)) is first
    flags = path / "flags.csv"
    flags.write_text(FLAGS_CSV + "f3,2026-01-03,spam,low,allow,0.5\n")
    stat = flags.stat()
    os.utime(flags, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = load_dataset_cached(path)
    assert second is not first
    assert second.n_flags == 3
    clear_dataset_cache()


def test_lazy_load_keeps_a_query_and_gives_the_same_data(legacy_dir: Path) -> None:
    eager = load_dataset(legacy_dir).flags.collect()
    lazy = load_dataset(legacy_dir, materialise=False)
    assert lazy.n_flags == 48
    assert lazy.flags.collect().equals(eager)


def test_default_world() -> None:
    ds = default_world()
    assert default_world() is ds
    assert ds.name == "built-in synthetic world (seed 42)"
    assert ds.columns == {c.name for c in schema.FLAGS.columns}
    assert ds.categories == ("fraud", "harassment", "hate_speech", "self_harm", "sexual_content", "spam")
    assert ds.regions == ("AMER", "APAC", "EMEA")
    assert (ds.last_day - ds.first_day).days == 89
    assert dict(ds.flags.collect_schema()) == {c.name: c.dtype for c in schema.FLAGS.columns}
    assert ds.reviewers.collect().height == 20


def test_generated_files_load_back_to_the_generated_world(tmp_path: Path) -> None:
    from tspanel.synth import WorldConfig, generate_world, write_world

    config = WorldConfig(days=40, flags=4000)
    world = generate_world(config)
    expected = dataset_from_frames(world.flags, world.reviewers, world.attacks, name="world")
    for fmt in ("csv", "parquet"):
        write_world(config, tmp_path / fmt, fmt)
        loaded = load_dataset(tmp_path / fmt)
        assert loaded.columns == expected.columns
        for table in ("flags", "reviewers", "attacks"):
            assert getattr(loaded, table).collect().equals(getattr(expected, table).collect()), (fmt, table)


def test_docs_describe_every_contract_column() -> None:
    docs = (REPO / "docs" / "data.md").read_text()
    for table in schema.TABLES:
        assert f"## {table.name}" in docs
        for column in table.columns:
            assert f"| `{column.name}` |" in docs, column.name


# --------------------------------------------------------------------------- tspanel validate


def test_cli_validate_summary(legacy_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(legacy_dir)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{legacy_dir}: valid dataset"
    assert re.fullmatch(r"  flags +flags\.csv +48 rows +2024-01-01 to 2024-01-21 \(21 days\)", out[1])
    assert re.fullmatch(r"  reviewers +reviewers\.csv +3 rows", out[2])
    assert re.fullmatch(r"  attacks +attacks\.csv +1 row", out[3])
    assert out[4] == "Categories (4): fraud, harassment, hate_speech, spam"
    present = out[
        out.index("Optional flag columns present:") + 1 : out.index(
            "Optional flag columns absent (add them to enable):"
        )
    ]
    assert [line.split()[0] for line in present] == ["reviewer_id", "resolution_hrs", "coordinated_flag", "attack_id"]


def test_cli_validate_lists_ignored_and_derived_columns(make_dataset, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_dataset(
        flags="flag_id,created_at,category,severity,action,ml_score,notes\nf1,2026-01-01T10:00:00Z,spam,low,allow,0.5,hi\n"
    )
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Derived in flags: date\n" in out
    assert "Ignored in flags.csv (not in the contract): notes\n" in out
    assert "  attacks    none (optional" in out


def test_cli_validate_notes_ids_unknown_to_other_tables(
    legacy_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("flags.csv", "attacks.csv"):
        (tmp_path / name).write_bytes((legacy_dir / name).read_bytes())
    (tmp_path / "reviewers.csv").write_text("reviewer_id,capacity_per_day\nR1,40\n")
    assert main(["validate", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "Note: 2 reviewer_id values in flags not in the reviewers table (first: 'R2', 'R3')."


def test_cli_validate_bad_data_exits_2(make_dataset, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_dataset(flags=flags_csv("f1,2026-01-01,spam,urgent,allow,0.5"))
    assert main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "tspanel validate: error: flags.csv: column 'severity': 1 row has a value outside low, medium, high, "
        "critical (first: 'urgent'). Fix or remove these rows.\n"
    )


def test_cli_validate_subprocess_no_traceback(tmp_path: Path) -> None:
    binary = tmp_path / "bad"
    binary.mkdir()
    (binary / "flags.csv").write_bytes(bytes(range(256)) * 8)
    (binary / "reviewers.csv").write_text(REVIEWERS_CSV)
    result = subprocess.run(
        [sys.executable, "-m", "tspanel", "validate", str(binary)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("tspanel validate: error: flags.csv is binary, not CSV text.")
    assert result.stdout == ""
