"""The Attack Detection & Summary tab, driven without a browser (the browser tests cover the page)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tspanel import source
from tspanel.models.filters import Filters
from tspanel.source import dataset_from_frames, default_world, load_dataset
from tspanel.ui.choices import choices_for
from tspanel.ui.detection import DetectionView, signals_text, table_html
from tspanel.ui.selection import Selection
from tspanel.ui.summary import SummaryPanel


@pytest.fixture(scope="module")
def world():
    return default_world()


def view_for(world, filters: Filters) -> DetectionView:
    return DetectionView(world, filters, Selection(filters, choices_for(world), world.first_day, world.last_day))


def test_default_world_alerts_and_live_metrics(world):
    filters = Filters()
    view = view_for(world, filters)
    # the default world has 9 attack days; the default detector finds all of them and nothing else
    assert view.alerts.object.count("<tr>") == 1 + 9
    assert "9 of 9 attack days" in view.metrics.object and "0 false alarm days" in view.metrics.object
    assert "5 of 5" in view.metrics.object
    filters.categories = ["harassment"]  # one attack of 3 days hits harassment
    assert view.alerts.object.count("<tr>") == 1 + 3
    assert "3 of 3 attack days" in view.metrics.object


def test_threshold_and_method_controls(world):
    view = view_for(world, Filters())
    view.threshold.value = 10.0
    view._changed()
    assert view.model.threshold == 10.0
    view.method.value = "zscore-legacy"
    assert view.model.method == "zscore-legacy"
    assert view.threshold.value == 1.5  # the legacy method's own default
    assert "6 of 9 attack days" in view.metrics.object  # the earlier version caught 6 of 9 attack days


def test_filters_detection_ignores_are_named_on_the_tab(world):
    filters = Filters()
    view = view_for(world, filters)
    assert not view.scope.visible and view.scope.object == ""
    before = view.alerts.object
    filters.severities = ["high"]
    assert view.scope.visible
    assert "Detection ignores the severity (High) filter" in view.scope.object
    assert view.alerts.object == before  # the alerts are unchanged: the note is why
    filters.param.update(actions=["auto_block"], reviewers=["R01"])
    assert "severity (High), action (Auto-block) and reviewer (Maya Tan (R01)) filters" in view.scope.object
    filters.param.update(severities=[], actions=[], reviewers=[])
    assert not view.scope.visible


def test_brushing_the_chart_sets_the_shared_dates(world):
    filters = Filters()
    view = view_for(world, filters)
    assert world.first_day == dt.date(2026, 8, 24)
    (bounds,) = view.chart.streams  # the HoloViews BoundsX stream the brush tool feeds
    bounds.event(boundsx=(np.datetime64("2026-08-25T18:00"), np.datetime64("2026-08-30T00:00")))
    assert (filters.start, filters.end) == (dt.date(2026, 8, 26), dt.date(2026, 8, 30))
    # The view follows the shared dates: only the 5 brushed days are drawn.
    assert len(view.chart.pipe.data) == 5


def test_signals_are_explained_strongest_first():
    assert signals_text('{"young_accounts": 2.5, "shared_content": 9.0}') == "shared content 9.0, young accounts 2.5"
    assert signals_text("{}") == "volume only"


def test_tables_escape_third_party_text():
    frame = pl.DataFrame({"category": ['<img src=x onerror="window.pwned=1">']})
    html = table_html(frame, {"category": "Category"}, "empty")
    assert "<img" not in html and "&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt;" in html


def test_tables_write_codes_as_words_align_text_left_and_keep_dates_on_one_line():
    frame = pl.DataFrame(
        {"date": [dt.date(2026, 9, 23)], "category": ["self_harm"], "pattern": ["spam_wave"], "score": [29.126]}
    )
    html = table_html(frame, {"date": "Day", "category": "Category", "pattern": "Pattern", "score": "Score"}, "e")
    assert "<th>Day</th><th class='ts-text'>Category</th><th class='ts-text'>Pattern</th><th>Score</th>" in html
    cells = "<td class='ts-nowrap'>2026-09-23</td><td class='ts-text'>self harm</td><td class='ts-text'>spam wave</td>"
    assert cells + "<td>29.13</td>" in html  # text left-aligned, numbers right


def test_summary_button_writes_the_offline_report(world, monkeypatch, tmp_path):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here
    panel = SummaryPanel(world, Filters())
    assert panel.report is None
    panel.button.clicks += 1  # what a click in the browser does; the button's handler runs once
    assert panel.report is not None and panel.report.source == "offline"
    assert "Week 2026-11-15 to 2026-11-21" in panel.body.object
    assert "no ANTHROPIC_API_KEY" in panel.status.object
    assert b"# Weekly Trust" in panel._markdown().getvalue()
    assert panel.download.disabled is False


def test_sessions_share_detection_results(world, monkeypatch):
    """A second session on the same data and selection reuses the first one's alerts: no detector runs again."""
    from tspanel.models import attacks as attacks_module
    from tspanel.models.attacks import AttacksModel

    runs: list[str] = []
    real_run = attacks_module.run_method

    def counting(method, *args, **kwargs):
        runs.append(method)
        return real_run(method, *args, **kwargs)

    monkeypatch.setattr(attacks_module, "run_method", counting)
    first = AttacksModel(world, Filters(categories=["fraud"]), threshold=4.25)
    second = AttacksModel(world, Filters(categories=["fraud"]), threshold=4.25)
    assert first.alerts().equals(second.alerts())
    assert runs == ["multisignal"]
    second.filters.categories = ["spam"]  # another category is picked from the same detection
    second.alerts()
    assert runs == ["multisignal"]
    second.filters.regions = ["EMEA"]  # another region is another detection
    second.alerts()
    assert runs == ["multisignal", "multisignal"]


def test_a_dataset_without_ground_truth_opens_the_tab_with_reasons_not_errors(world, caplog):
    flags = world.flags.collect().drop("coordinated_flag")
    bare = dataset_from_frames(flags, world.reviewers.collect(), name="no truth")
    with caplog.at_level(logging.WARNING):
        view = view_for(bare, Filters())
        import holoviews as hv

        hv.render(view.chart.dmap[()])  # the chart draws (no known-attack markers to draw)
    assert "no ground truth" in view.metrics.object
    assert view.events_card.reason.visible and "no attacks table" in view.events_card.reason.object
    assert view.chart.card.body.visible and len(view.chart.pipe.data) == 90
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or "Traceback" in r.getMessage()] == []


def test_an_unreadable_part_file_shows_an_error_instead_of_loading_forever(monkeypatch, tmp_path: Path):
    from tspanel.synth import WorldConfig, write_world

    data = tmp_path / "w"
    write_world(WorldConfig(flags=3000), data, "parquet", chunk_days=30)  # 3 part files
    size = source.estimate_size(source.scan_table(source.find_tables(data)["flags"]))
    monkeypatch.setenv(source.MEMORY_BUDGET_ENV, str((size.hot + size.total) / 2 / 2**20))
    dataset = load_dataset(data)
    assert dataset.storage == "hybrid"  # account ids and hashes are read from the files when needed
    part = sorted((data / "flags").glob("*.parquet"))[1]
    part.write_bytes(b"not parquet any more")
    view = view_for(dataset, Filters())
    assert view.error.visible and "Attack detection failed" in view.error.object
    assert not any(card.loading for card in view.cards)
    assert view.chart.card.reason.visible and "could not be read" in view.chart.card.reason.object
