"""The facts of the week that the summary is written from, and their check.

Both the Claude prompt and the offline summary read only this payload, so it is
the single place numbers come from, and the number check compares against it.
It also arrives as JSON from files (`tspanel report --payload`), hence the
validation with messages that name the field to fix.

The pydantic models (`WeeklyFacts` and its parts) are the contract: `validate_payload`
checks a dict against them. The TypedDicts are the same shape as plain dicts, which is
how every consumer reads the payload; tests/test_summary_models.py keeps the two in step.
Unknown keys are allowed at every level, so a producer can add facts (e.g. more staffing
detail) before the consumers read them; a fact the summary relies on gets a field here.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal, NotRequired, TypedDict, cast, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError, WithJsonSchema

from tspanel.errors import DataError

ClassifierState = Literal["healthy", "warning", "alert", "no data"]
CLASSIFIER_STATES: tuple[str, ...] = get_args(ClassifierState)


# --------------------------------------------------------------------------- the dict shapes


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


# --------------------------------------------------------------------------- the contract


def _iso_date(value: object) -> str:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            dt.date.fromisoformat(value)
            return value
        except ValueError:
            pass
    raise ValueError("expected a date as YYYY-MM-DD")  # the only value_error of the model: see _message


IsoDate = Annotated[str, PlainValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})]
Count = Annotated[int, Field(ge=0)]
Number = Annotated[float, Field(allow_inf_nan=False)]


class _Facts(BaseModel):
    # strict: "1234" is not a count and true is not a number; extra: newer producers add facts
    model_config = ConfigDict(strict=True, extra="allow")


class WeekModel(_Facts):
    start: IsoDate
    end: IsoDate
    previous_start: IsoDate
    previous_end: IsoDate


class TotalsModel(_Facts):
    flags: Count
    previous_flags: Count
    change_pct: Number | None
    auto_blocked: Count
    human_review: Count


class CategoryChangeModel(_Facts):
    category: str
    flags: Count
    previous_flags: Count
    change_pct: Number | None


class SlaModel(_Facts):
    breach_rate_pct: Number | None
    breaches: Count
    eligible: Count
    sla_hours: Count


class QueueModel(_Facts):
    backlog: Count
    oldest_open_hours: Number | None


class ClassifierModel(_Facts):
    score: Number | None
    rolling_score: Number | None
    baseline: Number
    threshold: Number
    state: ClassifierState


class AttackModel(_Facts):
    date: IsoDate
    category: str | None
    score: Number
    signals: dict[str, Number]


class StaffingModel(_Facts):
    reviewers_needed: Count | None  # None: not enough data (never 0)
    current_reviewers: Count
    forecast_cases_7d: Number
    mean_capacity_per_day: Number
    target_utilisation: Number
    arithmetic: str
    # From the queue re-simulation (tspanel.models.staffing); absent in payloads written before it.
    expected_breach_pct_at_roster: Number | None = None
    forecast_error_pct: Number | None = None
    forecast_low_80: Number | None = None
    forecast_high_80: Number | None = None
    target_breach_pct: Number | None = None


class WeeklyFacts(_Facts):
    """The week's facts as `build_payload` writes them and `tspanel report --payload` reads them."""

    dataset: str
    week: WeekModel
    totals: TotalsModel
    categories: list[CategoryChangeModel]
    top_category: str | None
    sla: SlaModel
    queue: QueueModel
    classifier: ClassifierModel
    attacks: list[AttackModel]
    staffing: StaffingModel


def validate_payload(data: object) -> WeeklyPayload:
    """Return `data` itself (extra keys and all) once it meets WeeklyFacts; else raise DataError
    naming the first field to fix, e.g. ``payload.totals.flags: expected an integer, got '1234'``."""
    try:
        WeeklyFacts.model_validate(data)
    except ValidationError as exc:
        raise DataError(_message(exc.errors()[0])) from None
    return cast(WeeklyPayload, data)


def _message(error: Any) -> str:
    loc, value, kind = tuple(error["loc"]), error["input"], error["type"]
    name = "payload" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    nullable = _nullable(loc)
    expected = {
        "int_type": "an integer",
        "float_type": "a number",
        "string_type": "a string",
        "list_type": "a list",
        "dict_type": "an object",
        "model_type": "an object",
        "model_attributes_type": "an object",
    }
    if kind == "missing":
        return f"{name}: missing"
    if kind in expected:
        return f"{name}: expected {expected[kind]}{' or null' if nullable else ''}, got {_kind(value)}"
    if kind == "greater_than_equal":
        return f"{name}: expected a count of 0 or more, got {value}"
    if kind == "finite_number":
        return f"{name}: expected a finite number, got {value}"
    if kind == "literal_error":
        return f"{name}: {value!r} is not one of {', '.join(CLASSIFIER_STATES)}"
    if kind == "value_error":  # raised by _iso_date
        return f"{name}: expected a date as YYYY-MM-DD, got {_kind(value)}"
    return f"{name}: {error['msg']}, got {_kind(value)}"


def _nullable(loc: tuple[Any, ...]) -> bool:
    """Whether the field at ``loc`` accepts null (for "expected a number or null")."""
    annotation: Any = WeeklyFacts
    for part in loc:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and part in annotation.model_fields:
            annotation = annotation.model_fields[part].annotation
        elif get_origin(annotation) in (list, dict):
            annotation = get_args(annotation)[-1]
        else:
            return False
    return type(None) in get_args(annotation)


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
