"""The whole view as a URL query string, and back, so a link reproduces what was on screen.

``?start=2026-09-01&end=2026-09-14&categories=spam,fraud&tab=attacks&method=zscore&threshold=3.5&period=28``:
the filters, the open tab, the detection method and threshold, and the KPI period.
Lists are comma-separated (a value that itself holds a comma is repeated as its own key
instead); defaults are left out, so the landing page's address is bare. Values read
from a URL are checked against the data's own values and unknown ones are dropped,
so nothing a URL says reaches a query unchecked.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, quote

import param

from tspanel.detect.registry import DEFAULT_METHOD, METHODS
from tspanel.models.filters import LIST_FILTERS, Filters
from tspanel.ui.choices import Choices

TABS: tuple[str, ...] = ("volume", "classifier", "queue", "attacks")
# KPI periods: the last N days against the N before, or "custom" (the selected dates).
PERIODS: tuple[str, ...] = ("7", "28", "90", "custom")
DEFAULT_PERIOD = "7"
VIEW_KEYS: tuple[str, ...] = ("tab", "method", "threshold", "period")
URL_KEYS: tuple[str, ...] = ("start", "end", *LIST_FILTERS, *VIEW_KEYS)
MAX_THRESHOLD = 100.0


class ViewState(param.Parameterized):
    """What a URL says beyond the filters: the open tab, the detection settings, the KPI period."""

    tab = param.Selector(objects=list(TABS), default=TABS[0])
    method = param.Selector(objects=list(METHODS), default=DEFAULT_METHOD)
    threshold = param.Number(default=None, allow_None=True, bounds=(0, MAX_THRESHOLD), doc="None: the method's default")
    period = param.Selector(objects=list(PERIODS), default=DEFAULT_PERIOD)

    def values(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in VIEW_KEYS}


def period_days(period: str) -> int | None:
    """The KpiModel.period_days of a period ('custom': the whole selection, None)."""
    return None if period == "custom" else int(period)


def query_from_view(filters: Filters, view: ViewState | None = None) -> str:
    """The query string of the filters and the view, defaults left out ('' for the landing page)."""
    query = query_from_filters(filters)
    if view is None:
        return query
    parts = [query.lstrip("?")] if query else []
    if view.tab != TABS[0]:
        parts.append(f"tab={view.tab}")
    if view.method != DEFAULT_METHOD:
        parts.append(f"method={quote(view.method, safe='')}")
    if view.threshold is not None and view.threshold != METHODS[view.method].default_threshold:
        parts.append(f"threshold={view.threshold:g}")
    if view.period != DEFAULT_PERIOD:
        parts.append(f"period={view.period}")
    return "?" + "&".join(parts) if parts else ""


def view_from_query(query: str | Mapping[str, Iterable[str | bytes]]) -> dict[str, Any]:
    """ViewState parameters from a URL: unknown tabs, methods and periods and bad numbers fall back to defaults."""
    raw = parse_query(query)

    def last(key: str, allowed: Iterable[str]) -> str | None:
        known = set(allowed)
        return next((v.strip() for v in reversed(raw.get(key, [])) if v.strip() in known), None)

    method = last("method", METHODS) or DEFAULT_METHOD
    threshold: float | None = None
    for value in reversed(raw.get("threshold", [])):
        try:
            number = float(value)
        except ValueError:
            continue
        if math.isfinite(number) and 0 <= number <= MAX_THRESHOLD:
            threshold = number
            break
    return {
        "tab": last("tab", TABS) or TABS[0],
        "method": method,
        "threshold": threshold,
        "period": last("period", PERIODS) or DEFAULT_PERIOD,
    }


def query_from_filters(filters: Filters) -> str:
    """The query string of the active filters ('' when nothing is filtered), in a stable order."""
    parts: list[str] = []
    for key, value in filters.active().items():
        if key in ("start", "end"):
            parts.append(f"{key}={value.isoformat()}")
        elif any("," in v for v in value):
            parts.extend(f"{key}={quote(v, safe='')}" for v in value)
        else:
            parts.append(f"{key}=" + ",".join(quote(v, safe="") for v in value))
    return "?" + "&".join(parts) if parts else ""


def parse_query(query: str | Mapping[str, Iterable[str | bytes]]) -> dict[str, list[str]]:
    """Raw values per key from '?a=1&b=2' or from Panel's session_args ({key: [bytes]})."""
    if isinstance(query, str):
        return parse_qs(query.lstrip("?"), keep_blank_values=False)
    return {
        key: [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]
        for key, values in query.items()
    }


def _date(values: list[str]) -> dt.date | None:
    for value in reversed(values):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            continue
    return None


def _listed(values: list[str], allowed: tuple[str, ...]) -> list[str]:
    known = set(allowed)
    out: list[str] = []
    for raw in values:
        pieces = [raw] if raw in known else raw.split(",")
        for piece in pieces:
            if piece in known and piece not in out:
                out.append(piece)
    return out


def clip_dates(
    start: dt.date | None, end: dt.date | None, first_day: dt.date, last_day: dt.date
) -> tuple[dt.date | None, dt.date | None]:
    """Dates clipped to the data; a bound at or beyond the data's edge is no bound (None)."""
    if start is not None:
        start = None if start <= first_day else min(start, last_day)
    if end is not None:
        end = None if end >= last_day else max(end, first_day)
    if start is not None and end is not None and start > end:
        return None, None
    return start, end


def filters_from_query(
    query: str | Mapping[str, Iterable[str | bytes]],
    choices: Choices,
    first_day: dt.date,
    last_day: dt.date,
) -> dict[str, Any]:
    """Filter parameters for ``Filters.param.update``: every filter, validated.

    Unknown list values are dropped; a date that does not parse is ignored; dates are
    clipped to the days the data covers, and a start after the end drops both.
    """
    raw = parse_query(query)
    start, end = clip_dates(_date(raw.get("start", [])), _date(raw.get("end", [])), first_day, last_day)
    out: dict[str, Any] = {"start": start, "end": end}
    for name in LIST_FILTERS:
        out[name] = _listed(raw.get(name, []), choices.allowed(name))
    return out
