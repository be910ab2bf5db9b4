"""The filter state as a URL query string, and back, so a link reproduces a view.

``?start=2026-09-01&end=2026-09-14&categories=spam,fraud``: lists are comma-separated
(a value that itself holds a comma is repeated as its own key instead). Values read
from a URL are checked against the data's own values and unknown ones are dropped,
so nothing a URL says reaches a query unchecked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, quote

from tspanel.models.filters import LIST_FILTERS, Filters
from tspanel.ui.choices import Choices

URL_KEYS: tuple[str, ...] = ("start", "end", *LIST_FILTERS)


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
