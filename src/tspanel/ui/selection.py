"""What a brush or a click does to the session's Filters, in one place for every chart.

Values arriving from the browser (a clicked bar's factor, a legend label) are checked
against the data's own values before they reach the filters, like values from a URL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from tspanel.models.filters import Filters
from tspanel.ui.choices import Choices
from tspanel.ui.url import clip_dates


class Selection:
    """Turns chart interactions into filter changes for one session."""

    def __init__(self, filters: Filters, choices: Choices, first_day: dt.date, last_day: dt.date):
        self.filters = filters
        self.choices = choices
        self.first_day = first_day
        self.last_day = last_day
        # Opens the session's flags table with a status (set by the session; None: no table).
        self.show_flags: Callable[[str | None], None] | None = None

    def dates(self, start: dt.date, end: dt.date) -> None:
        """A brushed range becomes the date filter of every chart and KPI."""
        start_, end_ = clip_dates(start, end, self.first_day, self.last_day)
        if start > self.last_day or end < self.first_day:
            return  # brushed outside the data: nothing to select
        self.filters.param.update(start=start_, end=end_)

    def toggle(self, name: str, value: Any) -> bool:
        """Toggle ``value`` in list filter ``name`` when the data knows it; False otherwise."""
        if value is None:
            return False
        text = str(value)
        if text not in self.choices.allowed(name):
            return False
        self.filters.toggle(name, text)
        return True

    def drill(self, name: str, value: Any, status: str | None) -> bool:
        """Select only ``value`` in list filter ``name`` and open the flags table on it with ``status``.

        A drill-down (a backlog bar opening its cases) must show that bar's rows alone,
        so it replaces the filter's values instead of toggling one of them.
        """
        if value is None or str(value) not in self.choices.allowed(name):
            return False
        if list(getattr(self.filters, name)) != [str(value)]:
            setattr(self.filters, name, [str(value)])
        if self.show_flags is not None:
            self.show_flags(status)
        return True
