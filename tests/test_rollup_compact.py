"""The served facts are held compact (tspanel.rollup.dataset.FactsBuilder) and read the same.

Numbers of the built-in world (seed 42) are stated here: 38,026 fact rows for 42,255 flags.
The models' agreement with the raw computation on the compact facts is tests/test_rollup_models.py.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest

from tspanel.rollup import rollup_polars
from tspanel.rollup.dataset import FactsBuilder, compact_facts, flags_view
from tspanel.rollup.engines import FACT_SCHEMA
from tspanel.source import default_world


@pytest.fixture(scope="module")
def rollup():
    world = default_world()
    return rollup_polars(world.flags, world.columns)


def test_the_built_in_world_compact(rollup):
    facts = compact_facts(rollup.facts, batch_rows=10_000)  # 4 batches, kept as 4 chunks
    assert (facts.height, facts.n_chunks()) == (38026, 4)
    schema = facts.schema
    assert schema["category"] == pl.Enum(["fraud", "harassment", "hate_speech", "self_harm", "sexual_content", "spam"])
    assert schema["severity"] == pl.Enum(["low", "medium", "high", "critical"])  # the contract's order
    assert schema["reviewer_id"] == pl.Enum([f"R{i:02d}" for i in range(1, 21)])
    assert (schema["score_bin"], schema["hours_bin"]) == (pl.UInt8, pl.UInt8)
    assert "open_day" not in schema  # every flag opens on its day: the view reads the date
    # no fact row of the built-in world holds more than 8 flags: every count fits a byte
    assert {schema[c] for c in ("n", "coordinated_flag", "appealed", "appeal_overturned", "over_sla")} == {pl.UInt8}
    assert facts.estimated_size() < 0.4 * rollup.facts.estimated_size()  # 1.5 MB against 4.4 MB
    totals = facts.select(pl.col("n", "over_sla", "coordinated_flag").sum(), pl.col("score_sum").sum()).row(0)
    assert totals[:3] == (42255, 3282, 4881)  # summed past 255: the byte counts widen to Int64
    assert totals[3] == pytest.approx(34639.523, abs=1e-6)


def test_the_view_reads_like_the_wide_facts(rollup):
    """ml_score and resolution_hrs are the bins' midpoints, computed in the plan."""
    view = flags_view(compact_facts(rollup.facts)).collect()
    wide = rollup.facts
    assert view["ml_score"].to_list() == ((wide["score_bin"].cast(pl.Float64) + 0.5) / 100).to_list()
    assert view["resolution_hrs"].to_list() == (wide["hours_bin"].cast(pl.Float64) + 0.5).to_list()
    assert view["category"].cast(pl.String).to_list() == wide["category"].to_list()
    assert view["reviewer_id"].cast(pl.String).to_list() == wide["reviewer_id"].to_list()
    assert view["resolved_day"].to_list() == wide["resolved_day"].to_list()
    assert view["open_day"].to_list() == wide["open_day"].to_list()
    assert view["appeal_overturned"].cast(pl.Int64).to_list() == wide["overturned"].to_list()


def _batch(rows: list[dict]) -> pl.DataFrame:
    base = dict.fromkeys(FACT_SCHEMA.names())
    base.update(day=dt.date(2026, 1, 1), severity="low", action="allow", score_bin=3, open_day=dt.date(2026, 1, 1))
    base.update(dict.fromkeys(("n", "hours_n", "over_sla", "coordinated", "appealed", "overturned"), 0))
    base.update(score_sum=0.0, score_sq_sum=0.0, hours_sum=0.0)
    return pl.DataFrame([{**base, **row} for row in rows], schema=FACT_SCHEMA)


def test_batches_widen_and_levels_sort():
    """A later batch with a bigger count widens the earlier chunks; levels are sorted, whatever came first."""
    builder = FactsBuilder()
    builder.add(_batch([{"category": "spam", "n": 200, "region": "EMEA"}, {"category": "fraud", "n": 3}]))
    builder.add(_batch([{"category": "abuse", "n": 70_000, "coordinated": 300, "day": dt.date(2026, 1, 2)}]))
    facts = builder.finish()
    assert facts["category"].dtype == pl.Enum(["abuse", "fraud", "spam"])
    assert facts["category"].cast(pl.String).to_list() == ["spam", "fraud", "abuse"]
    assert facts["region"].to_list() == ["EMEA", None, None]
    assert (facts["n"].dtype, facts["coordinated_flag"].dtype, facts["appealed"].dtype) == (
        pl.Int64,
        pl.UInt16,
        pl.UInt8,
    )
    assert facts["n"].to_list() == [200, 3, 70_000]
    assert facts["reviewer_id"].null_count() == 3


def test_uint16_counts_sum_past_their_range():
    """Why UInt8/UInt16 and not UInt32: Polars widens the small ones' sums to Int64."""
    counts = pl.DataFrame({"k": pl.Series([65_535] * 70_000, dtype=pl.UInt16)})
    assert counts.select(pl.col("k").sum()).item() == 4_587_450_000
    assert counts.select(pl.col("k").filter(pl.col("k") > 0).sum()).item() == 4_587_450_000


def test_spilled_facts_serve_the_same_kpis(rollup, monkeypatch):
    """Above $TSPANEL_ROLLUP_SPILL_ROWS fact rows the facts are scanned from a private Parquet file."""
    import gc

    from tspanel.models.dashboard import Dashboard
    from tspanel.rollup.dataset import SPILL_ENV, dataset_from_rollup

    assert dataset_from_rollup(rollup, name="in memory").engine == "in-memory"
    monkeypatch.setenv(SPILL_ENV, "10_000")
    dataset = dataset_from_rollup(rollup, name="spilled")
    assert dataset.engine == "streaming"  # a scan of the file: the streaming engine bounds memory
    scanned = re.search(r"Parquet SCAN \[(.+?)\]", dataset.flags.explain())
    assert scanned is not None
    folder = Path(scanned.group(1)).parent
    assert folder.name.startswith("tspanel-rollup-")
    out = Dashboard(dataset, use_cache=False).refresh({"kpis": ["current"], "queue": ["backlog", "sla"]})
    kpis = out["kpis"]["current"]
    assert (kpis["total_flags"], kpis["auto_blocked"], kpis["human_review"]) == (42255, 6133, 13053)
    assert (kpis["sla_breaches"], kpis["sla_eligible"]) == (1229, 6850)
    assert out["queue"]["backlog"]["total"] == 1182
    assert folder.is_dir()
    del dataset, out
    gc.collect()
    assert not folder.exists()  # removed with the dataset


def test_spill_setting_must_be_a_number(monkeypatch):
    from tspanel.errors import TspanelError
    from tspanel.rollup.dataset import SPILL_ENV, spill_rows

    monkeypatch.setenv(SPILL_ENV, "lots")
    with pytest.raises(TspanelError, match="number of fact rows"):
        spill_rows()
    monkeypatch.setenv(SPILL_ENV, "")
    assert spill_rows() == 2_000_000  # the default: a 10M-flag world's 3.3M fact rows go to disk
    monkeypatch.setenv(SPILL_ENV, "0")
    assert spill_rows() == 0  # never
