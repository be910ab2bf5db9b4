"""The number check: every number in the summary must come from the week's payload.

The model is told to reason about the given numbers, never to compute its own, so
a number that matches nothing in the payload is either a slip or an invention and
is marked in the report. A written number matches when some payload value, or a
simple derivation the payload implies (a difference, a ratio, a share as a
percentage, a fraction as a percentage), rounds to it at the precision written:
"18%" matches 17.6, "18.0%" does not. Dates, and numbers inside names from the
payload (e.g. a category "spam_v2"), are not checked.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import combinations

from tspanel.summary.payload import WeeklyPayload

NUMBER = re.compile(
    r"""
    (?<![\w.,])                                   # not inside an identifier or a longer number
    (?P<int>\d{1,3}(?:,\d{3})+|\d+)               # 1234 or 1,234
    (?:\.(?P<frac>\d+))?                          # decimals set the precision
    (?P<k>k(?![A-Za-z]))?                         # 1.2k
    (?P<pct>\s?(?:%|per\s?cent\b|percentage\ points?\b|pp\b))?
    """,
    re.VERBOSE,
)

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
DATES = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b"
    rf"|\b{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}}\b)?"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b\.?(?:,?\s+\d{{4}}\b)?"
)


@dataclass(frozen=True)
class Mention:
    """A number as written in a text, with where it is and whether the payload backs it."""

    text: str
    start: int
    end: int
    value: float
    matched: bool


@dataclass(frozen=True)
class NumberCheck:
    """The result over a whole summary: how many numbers were read and which matched nothing."""

    checked: int
    unmatched: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.unmatched


class NumberChecker:
    """Reads numbers out of text and matches them against one payload."""

    def __init__(self, payload: WeeklyPayload) -> None:
        self._references = sorted(reference_values(payload))
        names = {name for name in _payload_names(payload) if any(ch.isdigit() for ch in name)}
        self._names = (
            re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)), re.IGNORECASE)
            if names
            else None
        )

    def mentions(self, text: str) -> list[Mention]:
        """Every checked number in `text`, in order; dates and payload names are skipped."""
        masked = DATES.sub(_blank, text)
        if self._names is not None:
            masked = self._names.sub(_blank, masked)
        found = []
        for m in NUMBER.finditer(masked):
            value, tolerance = _parse(m)
            found.append(Mention(text[m.start() : m.end()], m.start(), m.end(), value, self.matches(value, tolerance)))
        return found

    def matches(self, value: float, tolerance: float) -> bool:
        """True when some reference value is within `tolerance` of `value` (sign ignored)."""
        value = abs(value)
        i = bisect.bisect_left(self._references, value - tolerance - 1e-9)
        return i < len(self._references) and self._references[i] <= value + tolerance + 1e-9

    def check(self, texts: Iterable[str]) -> NumberCheck:
        mentions = [m for text in texts for m in self.mentions(text)]
        unmatched = dict.fromkeys(m.text.strip() for m in mentions if not m.matched)
        return NumberCheck(len(mentions), tuple(unmatched))


def reference_values(payload: WeeklyPayload) -> set[float]:
    """The absolute values a summary may cite: the payload's numbers and their simple derivations."""
    values: list[float] = list(_walk_numbers(payload))
    totals, sla, classifier, staffing = payload["totals"], payload["sla"], payload["classifier"], payload["staffing"]

    values += _changes(totals["flags"], totals["previous_flags"])
    values += [_pct(totals["auto_blocked"], totals["flags"]), _pct(totals["human_review"], totals["flags"])]
    for cat in payload["categories"]:
        values += _changes(cat["flags"], cat["previous_flags"])
        values += [_pct(cat["flags"], totals["flags"]), _pct(cat["previous_flags"], totals["previous_flags"])]
    values += [len(payload["categories"]), len(payload["attacks"])]

    values += [sla["eligible"] - sla["breaches"], _pct(sla["breaches"], sla["eligible"])]
    if sla["breach_rate_pct"] is not None:
        values.append(100 - sla["breach_rate_pct"])
    if payload["queue"]["oldest_open_hours"] is not None:
        values.append(payload["queue"]["oldest_open_hours"] / 24)

    scores = [classifier[k] for k in ("score", "rolling_score", "baseline", "threshold")]
    present = [s for s in scores if s is not None]
    diffs = [a - b for a, b in combinations(present, 2)]
    values += diffs + [d * 100 for d in diffs]

    weekly_capacity = staffing["mean_capacity_per_day"] * staffing["target_utilisation"] * 7
    if staffing["reviewers_needed"] is not None:  # None: not enough data
        values.append(staffing["reviewers_needed"] - staffing["current_reviewers"])
    values += [
        staffing["forecast_cases_7d"] / 7,
        staffing["mean_capacity_per_day"] * staffing["target_utilisation"],
        weekly_capacity,
        weekly_capacity * staffing["current_reviewers"],
        _ratio(staffing["forecast_cases_7d"], weekly_capacity),
    ]
    values += [_parse(m)[0] for m in NUMBER.finditer(DATES.sub(_blank, staffing["arithmetic"]))]
    values += _calendar(payload)

    absolute = {abs(float(v)) for v in values if v is not None}
    return absolute | {v * 100 for v in absolute if 0 < v <= 1}


def _changes(current: int, previous: int) -> list[float | None]:
    """What a week-over-week comparison may state: the difference, the ratio and the change in %."""
    change = _pct(current - previous, previous)
    return [current - previous, _ratio(current, previous), change]


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _pct(a: float, b: float) -> float | None:
    return 100 * a / b if b else None


def _calendar(payload: WeeklyPayload) -> list[float]:
    """Day counts of the two weeks, and the years (a date written without its month)."""
    week = payload["week"]
    days = [
        (dt.date.fromisoformat(week[end]) - dt.date.fromisoformat(week[start])).days + 1
        for start, end in (("start", "end"), ("previous_start", "previous_end"))
    ]
    years = {float(week[k][:4]) for k in ("start", "end", "previous_start", "previous_end")}
    return [*days, sum(days), *years]


def _walk_numbers(value: object) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield float(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk_numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_numbers(item)


def _payload_names(payload: WeeklyPayload) -> Iterator[str]:
    yield payload["dataset"]
    if payload["top_category"]:
        yield payload["top_category"]
    for cat in payload["categories"]:
        yield cat["category"]
    for attack in payload["attacks"]:
        if attack["category"]:
            yield attack["category"]
        yield from attack["signals"]


def _parse(m: re.Match[str]) -> tuple[float, float]:
    """The value of a NUMBER match and the tolerance its written precision implies."""
    frac = m.group("frac") or ""
    value = float(m.group("int").replace(",", "") + ("." + frac if frac else ""))
    tolerance = 0.5 * 10.0 ** -len(frac)
    if m.group("k"):
        value, tolerance = value * 1000, tolerance * 1000
    return value, tolerance


def _blank(m: re.Match[str]) -> str:
    """Same-length blanks, so positions in the masked text are positions in the original."""
    return " " * len(m.group(0))
