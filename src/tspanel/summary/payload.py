"""The facts of the week that the summary is written from, and their check.

Both the Claude prompt and the offline summary read only this payload, so it is
the single place numbers come from, and the number check compares against it.
It also arrives as JSON from files (`tspanel report --payload`), hence the
validator with messages that name the field to fix.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict, cast

from tspanel.errors import DataError

ClassifierState = Literal["healthy", "warning", "alert", "no data"]
CLASSIFIER_STATES: tuple[str, ...] = ("healthy", "warning", "alert", "no data")


class WeekRange(TypedDict):
    start: str
    end: str
    previous_start: str
    previous_end: str


class Totals(TypedDict):
    flags: int
    previous_flags: int
    change_pct: float | None
    auto_blocked: int
    human_review: int


class CategoryChange(TypedDict):
    category: str
    flags: int
    previous_flags: int
    change_pct: float | None


class SlaFacts(TypedDict):
    breach_rate_pct: float | None
    breaches: int
    eligible: int
    sla_hours: int


class QueueFacts(TypedDict):
    backlog: int
    oldest_open_hours: float | None


class ClassifierFacts(TypedDict):
    score: float | None
    rolling_score: float | None
    baseline: float
    threshold: float
    state: ClassifierState


class AttackFacts(TypedDict):
    date: str
    category: str | None
    score: float
    signals: dict[str, float]


class StaffingFacts(TypedDict):
    reviewers_needed: int | None  # None: not enough data (never 0)
    current_reviewers: int
    forecast_cases_7d: float
    mean_capacity_per_day: float
    target_utilisation: float
    arithmetic: str
    # From the queue re-simulation (tspanel.models.staffing); absent in payloads written before it.
    expected_breach_pct_at_roster: NotRequired[float | None]
    forecast_error_pct: NotRequired[float | None]
    forecast_low_80: NotRequired[float | None]
    forecast_high_80: NotRequired[float | None]
    target_breach_pct: NotRequired[float | None]


class WeeklyPayload(TypedDict):
    dataset: str
    week: WeekRange
    totals: Totals
    categories: list[CategoryChange]
    top_category: str | None
    sla: SlaFacts
    queue: QueueFacts
    classifier: ClassifierFacts
    attacks: list[AttackFacts]
    staffing: StaffingFacts


# Field kinds understood by the validator below.
_INT, _NUM, _OPT_NUM, _STR, _OPT_STR, _DATE = "int", "number", "number|null", "str", "str|null", "date"
_OPT_INT = "int|null"

_WEEK = {"start": _DATE, "end": _DATE, "previous_start": _DATE, "previous_end": _DATE}
_TOTALS = {"flags": _INT, "previous_flags": _INT, "change_pct": _OPT_NUM, "auto_blocked": _INT, "human_review": _INT}
_CATEGORY = {"category": _STR, "flags": _INT, "previous_flags": _INT, "change_pct": _OPT_NUM}
_SLA = {"breach_rate_pct": _OPT_NUM, "breaches": _INT, "eligible": _INT, "sla_hours": _INT}
_QUEUE = {"backlog": _INT, "oldest_open_hours": _OPT_NUM}
_CLASSIFIER = {"score": _OPT_NUM, "rolling_score": _OPT_NUM, "baseline": _NUM, "threshold": _NUM, "state": _STR}
_ATTACK = {"date": _DATE, "category": _OPT_STR, "score": _NUM}
_STAFFING = {
    "reviewers_needed": _OPT_INT,
    "current_reviewers": _INT,
    "forecast_cases_7d": _NUM,
    "mean_capacity_per_day": _NUM,
    "target_utilisation": _NUM,
    "arithmetic": _STR,
}
_STAFFING_OPTIONAL = {
    "expected_breach_pct_at_roster": _OPT_NUM,
    "forecast_error_pct": _OPT_NUM,
    "forecast_low_80": _OPT_NUM,
    "forecast_high_80": _OPT_NUM,
    "target_breach_pct": _OPT_NUM,
}


def validate_payload(data: object) -> WeeklyPayload:
    """Return `data` as a WeeklyPayload, or raise DataError naming the first field to fix.

    Extra keys are ignored so a newer producer can add facts without breaking this.
    """
    root = _mapping(data, "payload")
    _scalar(root, "dataset", _STR, "payload")
    _fields(root, "week", _WEEK)
    _fields(root, "totals", _TOTALS)
    for where, item in _items(root, "categories"):
        _check_fields(_mapping(item, where), _CATEGORY, where)
    _scalar(root, "top_category", _OPT_STR, "payload")
    _fields(root, "sla", _SLA)
    _fields(root, "queue", _QUEUE)
    classifier = _fields(root, "classifier", _CLASSIFIER)
    if classifier["state"] not in CLASSIFIER_STATES:
        raise DataError(
            f"payload.classifier.state: {classifier['state']!r} is not one of {', '.join(CLASSIFIER_STATES)}"
        )
    for where, item in _items(root, "attacks"):
        attack = _mapping(item, where)
        _check_fields(attack, _ATTACK, where)
        signals = _mapping(_required(attack, "signals", where), f"{where}.signals")
        for name in signals:
            _scalar(signals, name, _NUM, f"{where}.signals")
    staffing = _fields(root, "staffing", _STAFFING)
    for key, kind in _STAFFING_OPTIONAL.items():
        if key in staffing:
            _scalar(staffing, key, kind, "payload.staffing")
    return cast(WeeklyPayload, root)


def load_payload(path: Path) -> WeeklyPayload:
    """Read and validate a payload JSON file (what `tspanel report --payload` takes)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: no such payload file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the payload file ({exc.__class__.__name__})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    try:
        return validate_payload(data)
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None


def _mapping(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DataError(f"{where}: expected an object, got {_kind(value)}")
    return cast(dict[str, Any], value)


def _required(obj: dict[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise DataError(f"{where}.{key}: missing")
    return obj[key]


def _fields(root: dict[str, Any], key: str, spec: dict[str, str]) -> dict[str, Any]:
    where = f"payload.{key}"
    obj = _mapping(_required(root, key, "payload"), where)
    _check_fields(obj, spec, where)
    return obj


def _check_fields(obj: dict[str, Any], spec: dict[str, str], where: str) -> None:
    for key, kind in spec.items():
        _scalar(obj, key, kind, where)


def _items(root: dict[str, Any], key: str) -> list[tuple[str, object]]:
    value = _required(root, key, "payload")
    if not isinstance(value, list):
        raise DataError(f"payload.{key}: expected a list, got {_kind(value)}")
    return [(f"payload.{key}[{i}]", item) for i, item in enumerate(value)]


def _scalar(obj: dict[str, Any], key: str, kind: str, where: str) -> None:
    value = _required(obj, key, where)
    name = f"{where}.{key}"
    if value is None and kind.endswith("|null"):
        return
    if kind in (_INT, _OPT_INT):
        if isinstance(value, bool) or not isinstance(value, int):
            raise DataError(f"{name}: expected an integer, got {_kind(value)}")
        if value < 0:
            raise DataError(f"{name}: expected a count of 0 or more, got {value}")
    elif kind in (_NUM, _OPT_NUM):
        if isinstance(value, bool) or not isinstance(value, int | float):
            expected = "a number or null" if kind == _OPT_NUM else "a number"
            raise DataError(f"{name}: expected {expected}, got {_kind(value)}")
        if not math.isfinite(value):
            raise DataError(f"{name}: expected a finite number, got {value}")
    elif kind in (_STR, _OPT_STR):
        if not isinstance(value, str):
            expected = "a string or null" if kind == _OPT_STR else "a string"
            raise DataError(f"{name}: expected {expected}, got {_kind(value)}")
    elif kind == _DATE and not _is_iso_date(value):
        raise DataError(f"{name}: expected a date as YYYY-MM-DD, got {_kind(value)}")


def _is_iso_date(value: object) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float | str):
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
