"""A click on a backlog bar lists exactly that bar's open cases (the browser test is tests/ui/test_backlog_drill.py).

The built-in world (seed 42, 2026-08-24 to 2026-11-21): at the end of its last day 1,182
review cases are open, 1 of them critical (`tspanel flags --severity critical --status
backlog --format json` counts 1); at the end of 2026-11-14, 4 critical ones are open.
"""

from __future__ import annotations

from tspanel.source import default_world
from tspanel.ui.session import DashboardSession


def test_the_critical_bar_opens_its_open_cases_and_nothing_else():
    session = DashboardSession(default_world(), "?tab=queue&end=2026-11-14")
    chart = session.queue.charts["backlog-severity"]
    bars = dict(zip(chart._sent["value"], chart._sent["open_cases"], strict=True))
    assert bars == {"critical": 4, "high": 408, "medium": 519, "low": 144}
    panel = session.flags_panel
    assert not panel.is_open
    chart._tapped(x=0.5, y="critical")  # what the Tap stream sends for a click on the critical row
    assert session.filters.severities == ["critical"]
    assert panel.is_open and panel.status.value == "backlog"
    assert 'data-total="4"' in panel.summary.object
    assert panel.table.object.count("<tr>") == 1 + 4
    chart._tapped(x=0.5, y="critical")  # a second click keeps the drill-down (it is not a toggle)
    assert session.filters.severities == ["critical"] and 'data-total="4"' in panel.summary.object
    # "Show flags" on the selection strip is every flag of the selection again.
    session.active.show_flags.clicks += 1
    assert panel.status.value == "all" and 'data-total="4"' not in panel.summary.object
