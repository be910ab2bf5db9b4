"""The synthetic world generator (`tspanel.synth`) and `tspanel generate`.

Calibration figures are computed here with plain Polars expressions and compared with the
earlier dashboard's reference table, written below with its tolerances.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tspanel import schema
from tspanel.cli import generate as generate_cli
from tspanel.cli import main
from tspanel.errors import TspanelError
from tspanel.synth import World, WorldConfig, generate_world, iter_flag_chunks, write_world

# The earlier version's headline figures for the default world (seed 42, 90 days).
REFERENCE_TOTAL = 41_935
HIGH = ("high", "critical")


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(WorldConfig())


@pytest.fixture(scope="module")
def flags(world: World) -> pl.DataFrame:
    return world.flags


@pytest.fixture(scope="module")
def hard_flags() -> pl.DataFrame:
    return generate_world(WorldConfig.hard(42)).flags


def pct(frame: pl.DataFrame, condition: pl.Expr) -> float:
    return frame.select(condition.mean() * 100).item()


def daily_ml_means(frame: pl.DataFrame) -> pl.Series:
    return frame.group_by("date").agg(pl.col("ml_score").mean()).sort("date")["ml_score"]


def sla_breach_pct(frame: pl.DataFrame) -> float:
    eligible = frame.filter(pl.col("severity").is_in(HIGH), pl.col("resolution_hrs").is_not_null())
    return pct(eligible, pl.col("resolution_hrs") > 24)


# --- calibration against the reference table -------------------------------------------


def test_total_flags_within_3_percent_of_reference(flags):
    assert abs(flags.height - REFERENCE_TOTAL) <= 0.03 * REFERENCE_TOTAL


@pytest.mark.parametrize(
    ("figure", "compute", "expected", "tolerance"),
    [
        ("auto_block %", lambda f: pct(f, pl.col("action") == "auto_block"), 14.4, 1.0),
        ("human_review %", lambda f: pct(f, pl.col("action") == "human_review"), 30.9, 1.0),
        ("SLA breach %", sla_breach_pct, 18.0, 1.0),
        ("coordinated %", lambda f: pct(f, pl.col("coordinated_flag")), 11.2, 1.5),
        ("ml_score first 7 days", lambda f: daily_ml_means(f).head(7).mean(), 0.857, 0.01),
        ("ml_score last 7 days", lambda f: daily_ml_means(f).tail(7).mean(), 0.784, 0.01),
    ],
)
def test_headline_figure_matches_reference(flags, figure, compute, expected, tolerance):
    value = compute(flags)
    assert abs(value - expected) <= tolerance, f"{figure}: {value:.4f}, reference {expected} ± {tolerance}"


def test_fri_to_sun_carry_a_quarter_more_organic_flags_than_mon_to_thu(flags):
    daily = (
        flags.filter(~pl.col("coordinated_flag"))
        .group_by("date")
        .len()
        .with_columns(weekend=pl.col("date").dt.weekday() >= 5)  # ISO: Fri=5, Sat=6, Sun=7
    )
    weekend = daily.filter(pl.col("weekend"))["len"].mean()
    weekday = daily.filter(~pl.col("weekend"))["len"].mean()
    assert 1.19 <= weekend / weekday <= 1.31


@pytest.mark.parametrize(("category", "low", "high"), [("harassment", 0.5, 1.1), ("spam", -0.8, -0.2)])
def test_category_trends(flags, category, low, high):
    """Harassment grows by about 0.8 flags a day per day, spam shrinks by about 0.5."""
    daily = (
        flags.filter(pl.col("category") == category, ~pl.col("coordinated_flag"))
        .group_by("date")
        .len()
        .with_columns(day=(pl.col("date") - pl.col("date").min()).dt.total_days())
    )
    slope = daily.select(pl.cov("day", "len") / pl.col("day").var()).item()
    assert low <= slope <= high


def test_six_categories_and_three_regions(flags, world):
    assert sorted(flags["category"].cast(pl.String).unique()) == [
        "fraud", "harassment", "hate_speech", "self_harm", "sexual_content", "spam",
    ]  # fmt: skip
    assert sorted(flags["region"].cast(pl.String).unique()) == ["AMER", "APAC", "EMEA"]
    assert sorted(world.reviewers["team"].cast(pl.String).unique()) == ["AMER", "APAC", "EMEA"]


def test_classifier_score_drifts_down_with_daily_noise(flags):
    means = daily_ml_means(flags)
    assert means.head(30).mean() > means.tail(30).mean() + 0.04
    day_to_day = means.diff().drop_nulls()
    assert day_to_day.std() > 0.003  # the wobble is there ...
    assert day_to_day.abs().max() < 0.05  # ... but small


# --- ground truth: attacks -----------------------------------------------------------


def test_five_attacks_over_nine_days_in_the_attacks_table(world):
    attacks = world.attacks
    assert attacks.height == 5
    assert attacks["duration_days"].sum() == 9
    assert attacks["attack_id"].is_unique().all()
    assert (attacks["end_date"] - attacks["start_date"]).dt.total_days().to_list() == [
        d - 1 for d in attacks["duration_days"].to_list()
    ]
    days = attacks.select(pl.date_ranges("start_date", "end_date")).explode("start_date")
    assert days["start_date"].n_unique() == 9


def test_coordinated_flags_fall_on_their_attacks_days(flags, world):
    coordinated = flags.filter(pl.col("coordinated_flag"))
    assert flags.filter(~pl.col("coordinated_flag"))["attack_id"].null_count() == flags.height - coordinated.height
    assert coordinated["attack_id"].null_count() == 0
    seen = coordinated.group_by("attack_id", "date", "category").len()
    expected = world.attacks.select(
        "attack_id", pl.date_ranges("start_date", "end_date").alias("date"), pl.col("category")
    ).explode("date")
    assert seen.select("attack_id", "date", pl.col("category").cast(pl.String)).sort("date").rows() == (
        expected.select("attack_id", "date", pl.col("category").cast(pl.String)).sort("date").rows()
    )


def test_each_attack_day_is_a_3_to_5x_spike_in_its_category(flags):
    by_day = (
        flags.group_by("date", "category")
        .agg(total=pl.len(), organic=(~pl.col("coordinated_flag")).sum(), attacked=pl.col("coordinated_flag").any())
        .filter(pl.col("attacked"))
    )
    lifts = (by_day["total"] / by_day["organic"]).to_list()
    assert len(lifts) == 9
    assert all(2.6 <= lift <= 5.6 for lift in lifts), lifts


def test_coordinated_flags_have_secondary_signals_but_are_not_separable(flags):
    young = pl.col("account_age_days") < 30
    shares = dict(flags.group_by("coordinated_flag").agg(young.mean()).iter_rows())
    assert shares[True] > 0.7
    assert 0.05 < shares[False] < 0.25  # ordinary traffic has young accounts too ...
    organic = flags.filter(~pl.col("coordinated_flag"))
    by_cat = dict(organic.group_by(pl.col("category").cast(pl.String)).agg(young.mean()).iter_rows())
    assert min(by_cat["spam"], by_cat["fraud"]) > 2 * max(
        by_cat["harassment"], by_cat["hate_speech"]
    )  # ... more in spam, fraud

    def repeated_share(frame: pl.DataFrame, column: str) -> float:
        counts = frame.group_by("date", column).len()
        return counts.filter(pl.col("len") > 1)["len"].sum() / counts["len"].sum()

    coordinated = flags.filter(pl.col("coordinated_flag"))
    assert repeated_share(coordinated, "content_hash") > 0.4
    assert 0.01 < repeated_share(organic, "content_hash") < 0.15  # viral re-shares
    assert repeated_share(coordinated, "target_id") > 0.3
    assert 0.01 < repeated_share(organic, "target_id") < 0.15  # popular targets
    assert organic.group_by("date", "content_hash").len()["len"].max() >= 5

    home = coordinated.group_by("attack_id").agg(
        (pl.col("region").cast(pl.String).value_counts(sort=True).first().struct.field("count") / pl.len()).alias("top")
    )
    assert home["top"].min() > 0.7  # each campaign concentrates in one region

    def hourly_peak(frame: pl.DataFrame) -> float:
        per_hour = frame.group_by("date", pl.col("created_at").dt.hour()).len()
        return per_hour.group_by("date").agg(pl.col("len").max() / pl.col("len").sum())["len"].mean()

    assert hourly_peak(coordinated) > 2 * hourly_peak(organic)  # bursty within the day


def test_hard_preset_runs_two_of_five_attacks_from_old_accounts():
    world = generate_world(WorldConfig.hard(42))
    compromised = world.attacks.filter(pl.col("pattern").str.contains("compromised"))
    assert world.attacks.height == 5 and compromised.height == 2
    ages = (
        world.flags.filter(pl.col("coordinated_flag"))
        .group_by(pl.col("attack_id").is_in(compromised["attack_id"].implode()).alias("compromised"))
        .agg(pl.col("account_age_days").median())
    )
    median_age = dict(ages.iter_rows())
    assert median_age[True] >= 30 > median_age[False]


def _organic_surge_days(frame: pl.DataFrame) -> pl.DataFrame:
    """Big-category days with 40% more organic flags than the same weekday a week before and after."""
    daily = (
        frame.filter(~pl.col("coordinated_flag"))
        .group_by("date", "category")
        .agg(
            n=pl.len(),
            top_content=pl.col("content_hash").unique_counts().max() / pl.len(),
            young=(pl.col("account_age_days") < 30).mean(),
        )
    )
    week = [daily.select(pl.col("date") + pl.duration(days=k), "category", pl.col("n").alias(f"n{k}")) for k in (7, -7)]
    return (
        daily.join(week[0], on=["date", "category"]).join(week[1], on=["date", "category"])
        .with_columns(normal=(pl.col("n7") + pl.col("n-7")) / 2)
        .filter(pl.col("normal") >= 100, pl.col("n") >= 1.4 * pl.col("normal"))
    )  # fmt: skip


def test_organic_surges_are_more_ordinary_traffic(flags, hard_flags):
    assert _organic_surge_days(flags).height == 0
    surges = _organic_surge_days(hard_flags)
    assert surges.height >= 3
    assert surges["top_content"].max() < 0.1  # varied content
    assert surges["young"].max() < 0.15  # ordinary (mostly old) accounts


# --- contract, reviewers, queue ------------------------------------------------------


def test_tables_follow_the_contract(world):
    for table, frame in (
        (schema.FLAGS, world.flags),
        (schema.REVIEWERS, world.reviewers),
        (schema.ATTACKS, world.attacks),
    ):
        assert set(frame.columns) == set(table.by_name), table.name
        for column in table.columns:
            assert frame.schema[column.name] == column.dtype, (table.name, column.name)
            assert frame[column.name].null_count() == 0 or not column.required, (table.name, column.name)
    flags = world.flags
    assert flags["flag_id"].is_unique().all()
    assert flags.select(pl.col("ml_score").is_between(0, 1).all()).item()
    assert flags.select((pl.col("account_age_days") >= 0).all()).item()
    assert flags.select((pl.col("created_at").dt.date() == pl.col("date")).all()).item()
    assert flags["date"].min() == dt.date(2026, 8, 24) and flags["date"].max() == dt.date(2026, 11, 21)


def test_twenty_reviewers_and_only_human_review_cases_carry_review_fields(world):
    reviewers = world.reviewers
    assert reviewers.height == 20
    assert reviewers["capacity_per_day"].is_between(7.5, 13.5).all()
    assert reviewers["shift_start_utc"].is_between(0, 24, closed="left").all()
    assert reviewers["working_days"].str.count_matches(",").eq(4).all()  # five working days each
    assert set(reviewers["seniority"]) <= {"junior", "mid", "senior"}
    flags = world.flags
    other = flags.filter(pl.col("action") != "human_review")
    for column in ("reviewer_id", "resolution_hrs", "assigned_at", "resolved_at"):
        assert other[column].null_count() == other.height, column
    reviewed = flags.filter(pl.col("action") == "human_review")
    assert (
        reviewed["reviewer_id"].cast(pl.String).is_in(reviewers["reviewer_id"].cast(pl.String).implode()).mean() > 0.99
    )
    done = reviewed.filter(pl.col("resolved_at").is_not_null())
    hours = (pl.col("resolved_at") - pl.col("created_at")).dt.total_seconds() / 3600
    assert done.select((hours == pl.col("resolution_hrs")).all()).item()
    assert done.select((pl.col("created_at") <= pl.col("assigned_at")).all()).item()
    assert done.select((pl.col("assigned_at") <= pl.col("resolved_at")).all()).item()
    # One follow-the-sun pool: a case is picked up by a reviewer on shift at that moment.
    started = reviewed.filter(pl.col("assigned_at").is_not_null()).join(
        reviewers.select(pl.col("reviewer_id").cast(pl.String), "shift_start_utc", "working_days"),
        left_on=pl.col("reviewer_id").cast(pl.String),
        right_on="reviewer_id",
    )
    hour = pl.col("assigned_at").dt.hour() + pl.col("assigned_at").dt.minute() / 60
    into = (hour - pl.col("shift_start_utc")) % 24  # hours into the shift
    shift_day = (pl.col("assigned_at") - pl.duration(hours=into)).dt.strftime("%a")
    on_shift = (into <= 8.0) & pl.col("working_days").str.contains(shift_day)
    assert started.select(on_shift.mean()).item() > 0.999
    assert started["region"].n_unique() == 3 and started["reviewer_id"].n_unique() == 20


def test_cases_of_the_last_days_are_still_open(flags):
    """The queue leaves a backlog: the November attack's low/medium cases wait behind high ones."""
    open_cases = flags.filter(pl.col("action") == "human_review", pl.col("resolved_at").is_null())
    assert 1_000 <= open_cases.height <= 1_400  # 1,182 with the calibrated roster
    assert open_cases["resolution_hrs"].null_count() == open_cases.height
    recent = open_cases.filter(pl.col("date") > dt.date(2026, 11, 21) - dt.timedelta(days=7))
    assert 0.35 * open_cases.height <= recent.height <= 0.75 * open_cases.height  # half are stale
    assert open_cases["date"].min() >= dt.date(2026, 11, 21) - dt.timedelta(days=16)
    high = open_cases.filter(pl.col("severity").is_in(HIGH))
    assert high.height < 60 and high["date"].min() == dt.date(2026, 11, 21)  # priority: high goes first
    assert open_cases.filter(pl.col("date") == dt.date(2026, 11, 21)).height > 20


def test_thirty_percent_more_reviewers_breach_the_sla_visibly_less(flags):
    """Same world, 26 reviewers instead of 20: only the queue columns change, breaches drop."""
    more = generate_world(WorldConfig(reviewers=26)).flags
    assert more.height == flags.height
    for column in ("flag_id", "category", "severity", "action", "ml_score", "region", "created_at", "account_id"):
        assert more[column].equals(flags[column]), column
    assert sla_breach_pct(flags) == pytest.approx(17.9, abs=0.3)
    assert sla_breach_pct(more) <= 13.5  # 12.5% measured
    assert more.filter(pl.col("action") == "human_review", pl.col("resolved_at").is_null()).height < 500


def test_appeals_and_overturns(flags):
    assert 0.01 < flags["appealed"].mean() < 0.06
    assert flags.filter(pl.col("appeal_overturned") & ~pl.col("appealed")).height == 0
    overturned = flags.filter(pl.col("appealed"))["appeal_overturned"].mean()
    assert 0.05 < overturned < 0.4
    assert flags.filter(pl.col("action") == "allow")["appealed"].sum() == 0


# --- scaling -------------------------------------------------------------------------


def test_flags_option_scales_volume_reviewers_and_keeps_utilisation(flags, world):
    big = generate_world(WorldConfig(flags=200_000))
    assert abs(big.flags.height - 200_000) <= 6_000
    assert 85 <= big.reviewers.height <= 105  # 20 reviewers x about 4.8

    def cases_per_capacity(w: World) -> float:
        handled = w.flags.filter(pl.col("reviewer_id").is_not_null()).height
        return handled / w.reviewers["capacity_per_day"].sum()

    assert cases_per_capacity(big) == pytest.approx(cases_per_capacity(world), rel=0.15)
    assert pct(big.flags, pl.col("coordinated_flag")) == pytest.approx(pct(flags, pl.col("coordinated_flag")), abs=1.5)


def test_config_rejects_bad_values():
    for bad in ({"days": 0}, {"flags": 0}, {"seed": -1}, {"attack_lift": (0.5, 2.0)}, {"attack_lift": (4.0, 3.0)},
                {"old_account_attack_share": 1.5}, {"organic_surges": -1}, {"n_attacks": -2}):  # fmt: skip
        with pytest.raises(TspanelError):
            WorldConfig(**bad)
    with pytest.raises(TspanelError, match="too few"):
        generate_world(WorldConfig(days=12))


# --- determinism and chunking ------------------------------------------------------------


def _bytes(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    config = WorldConfig(days=30, n_attacks=2)
    for fmt in ("csv", "parquet"):
        write_world(config, tmp_path / f"a-{fmt}", fmt)
        write_world(config, tmp_path / f"b-{fmt}", fmt)
        write_world(WorldConfig(days=30, n_attacks=2, seed=43), tmp_path / f"c-{fmt}", fmt)
        a, b, c = (_bytes(tmp_path / f"{k}-{fmt}") for k in "abc")
        assert a == b
        flags_file = "flags.csv" if fmt == "csv" else "flags/part-00000.parquet"
        assert a.keys() == c.keys() and a[flags_file] != c[flags_file]


def test_chunk_size_does_not_change_the_data(tmp_path, world):
    config = WorldConfig()
    for chunk_days in (1, 7, 40):
        chunks = list(iter_flag_chunks(config, chunk_days))
        assert len(chunks) == -(-90 // chunk_days)
        assert pl.concat(chunks).equals(world.flags)
    write_world(config, tmp_path / "one-day", "csv", chunk_days=1)
    write_world(config, tmp_path / "auto", "csv")
    assert _bytes(tmp_path / "one-day") == _bytes(tmp_path / "auto")
    write_world(config, tmp_path / "parts", "parquet", chunk_days=30)
    parts = sorted(p.name for p in (tmp_path / "parts" / "flags").iterdir())
    assert parts == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    on_disk = pl.read_parquet(tmp_path / "parts" / "flags" / "*.parquet")
    assert on_disk.equals(world.flags.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String)))


def test_write_world_reports_progress_by_day(tmp_path):
    calls: list[tuple[int, int]] = []
    write_world(
        WorldConfig(days=30, n_attacks=2), tmp_path / "p", "csv", lambda d, t: calls.append((d, t)), chunk_days=7
    )
    assert calls == [(7, 30), (14, 30), (21, 30), (28, 30), (30, 30)]


# --- CLI -----------------------------------------------------------------------------------


def test_cli_writes_csv_dataset(tmp_path, capsys):
    out = tmp_path / "csv"
    assert main(["generate", str(out), "--days", "30", "--flags", "5000", "--attacks", "2"]) == 0
    printed = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["attacks.csv", "flags.csv", "reviewers.csv"]
    flags = pl.read_csv(out / "flags.csv", infer_schema=False)
    assert flags.columns == [c.name for c in schema.FLAGS.columns]
    assert abs(flags.height - 5000) <= 250
    assert f"{flags.height:,} rows" in printed
    assert pl.read_csv(out / "attacks.csv").height == 2
    assert flags["created_at"][0].endswith("Z") and flags["coordinated_flag"].unique().sort().to_list() == [
        "false", "true",
    ]  # fmt: skip


def test_cli_writes_parquet_dataset_with_the_same_data(tmp_path, capsys):
    args = ["--days", "30", "--flags", "5000", "--attacks", "2", "--seed", "7"]
    assert main(["generate", str(tmp_path / "csv"), *args]) == 0
    assert main(["generate", str(tmp_path / "pq"), *args, "--format", "parquet", "--preset", "default"]) == 0
    capsys.readouterr()
    assert (tmp_path / "pq" / "flags" / "part-00000.parquet").is_file()
    from_csv = pl.read_csv(tmp_path / "csv" / "flags.csv", infer_schema=False)
    from_parquet = pl.read_parquet(tmp_path / "pq" / "flags" / "*.parquet")
    assert from_parquet.schema["created_at"] == schema.UTC
    assert from_parquet["flag_id"].to_list() == from_csv["flag_id"].to_list()
    assert from_parquet["ml_score"].to_list() == from_csv["ml_score"].cast(pl.Float64).to_list()
    reviewers = pl.read_parquet(tmp_path / "pq" / "reviewers.parquet")
    assert reviewers.columns == [
        "reviewer_id", "name", "team", "capacity_per_day", "seniority", "shift_start_utc", "working_days",
    ]  # fmt: skip


def test_cli_refuses_to_overwrite_a_dataset_without_force(tmp_path, capsys):
    out = tmp_path / "d"
    args = ["generate", str(out), "--days", "30", "--flags", "2000", "--attacks", "1", "-q"]
    assert main(args) == 0
    before = (out / "flags.csv").read_bytes()
    assert main([*args[:-1], "--seed", "5"]) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "flags.csv").read_bytes() == before
    assert main([*args, "--format", "parquet", "--force"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["attacks.parquet", "flags", "reviewers.parquet"]
    # A directory with other files but no dataset is fine.
    other = tmp_path / "notes"
    other.mkdir()
    (other / "README.txt").write_text("hello")
    assert main(["generate", str(other), "--days", "30", "--flags", "2000", "--attacks", "1", "-q"]) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--days", "0"], "--days"),
        (["--flags", "-5"], "--flags"),
        (["--attack-lift", "5", "2"], "--attack-lift"),
        (["--old-account-share", "2"], "--old-account-share"),
        (["--days", "12"], "too few"),
    ],
)
def test_cli_bad_values_exit_2_with_a_message(tmp_path, capsys, extra, message):
    assert main(["generate", str(tmp_path / "x"), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_cli_bad_arguments_exit_2_in_a_real_process(tmp_path):
    for extra in (["--format", "xlsx"], ["--start", "2026-13-01"], ["--days", "-3"]):
        result = subprocess.run(
            [sys.executable, "-m", "tspanel", "generate", str(tmp_path / "x"), *extra],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr
        assert "error" in result.stderr and "Traceback" not in result.stderr
    (tmp_path / "file").write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "tspanel", "generate", str(tmp_path / "file")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "not a directory" in result.stderr


def test_cli_prints_progress_on_long_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(generate_cli, "PROGRESS_MIN_FLAGS", 1000)
    assert main(["generate", str(tmp_path / "p"), "--days", "30", "--flags", "3000", "--attacks", "1"]) == 0
    assert "day 30/30 (100%)" in capsys.readouterr().err
