"""The Attack Detection & Summary tab, driven without a browser (the browser tests cover the page)."""

from __future__ import annotations

import polars as pl
import pytest

from tspanel.models.filters import Filters
from tspanel.source import default_world
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


def test_brushing_the_chart_sets_the_shared_dates(world):
    filters = Filters()
    view = view_for(world, filters)
    first, last = world.first_day.replace(day=26), world.first_day.replace(day=30)
    view.chart._on_brush[0](first, last)
    assert (filters.start, filters.end) == (first, last)


def test_signals_are_explained_strongest_first():
    assert signals_text('{"young_accounts": 2.5, "shared_content": 9.0}') == "shared content 9.0, young accounts 2.5"
    assert signals_text("{}") == "volume only"


def test_tables_escape_third_party_text():
    frame = pl.DataFrame({"category": ['<img src=x onerror="window.__pwned=1">']})
    html = table_html(frame, {"category": "Category"}, "empty")
    assert "<img" not in html and "&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;" in html


def test_summary_button_writes_the_offline_report(world, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.chdir(world_dir := __import__("tempfile").mkdtemp())  # no .env here
    assert world_dir
    panel = SummaryPanel(world, Filters())
    panel.button.clicks += 1
    panel._clicked(None)
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
    second.filters.categories = ["spam"]  # another selection is another detection
    second.alerts()
    assert runs == ["multisignal", "multisignal"]
