"""The five sections of the weekly summary: their shape, JSON schema and check.

Claude fills them through a forced tool call whose input schema is SECTIONS_SCHEMA;
the offline summary builds the same shape, so rendering has one input type. The
API does not promise that a tool input obeys its schema, so validate_sections
re-checks it before anything is shown.
"""

from __future__ import annotations

from typing import Any, TypedDict, cast

MAX_TEXT = 600  # characters per text field; a summary line, not an essay
MIN_RISKS, MAX_RISKS = 2, 3


class CategoryToWatch(TypedDict):
    category: str
    why: str


class ClassifierHealth(TypedDict):
    assessment: str
    action: str


class SummarySections(TypedDict):
    top_risks: list[str]
    category_to_watch: CategoryToWatch
    classifier_health: ClassifierHealth
    staffing_recommendation: str
    key_metric_next_week: str


def _text(description: str) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "description": description}


SECTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "top_risks": {
            "type": "array",
            "minItems": MIN_RISKS,
            "maxItems": MAX_RISKS,
            "items": _text("One risk in one or two sentences, citing the numbers from the data that show it."),
            "description": "The 2 or 3 most important risks of the week, most important first.",
        },
        "category_to_watch": {
            "type": "object",
            "properties": {
                "category": _text("A category name exactly as it appears in the data."),
                "why": _text("Why this category needs attention next week, citing its numbers."),
            },
            "required": ["category", "why"],
            "additionalProperties": False,
        },
        "classifier_health": {
            "type": "object",
            "properties": {
                "assessment": _text("The classifier's state and what its scores mean."),
                "action": _text("What the team should do about the classifier."),
            },
            "required": ["assessment", "action"],
            "additionalProperties": False,
        },
        "staffing_recommendation": _text(
            "Reviewer staffing advice based on the given reviewers_needed, current_reviewers and arithmetic."
        ),
        "key_metric_next_week": _text("The one metric to watch next week and why."),
    },
    "required": [
        "top_risks",
        "category_to_watch",
        "classifier_health",
        "staffing_recommendation",
        "key_metric_next_week",
    ],
    "additionalProperties": False,
}


class SectionsError(ValueError):
    """A tool input that does not match SECTIONS_SCHEMA; the message names the field."""


def validate_sections(data: object) -> SummarySections:
    """Return `data` as SummarySections, or raise SectionsError naming what is wrong."""
    obj = _object(data, "input", SECTIONS_SCHEMA)
    risks = obj["top_risks"]
    if not isinstance(risks, list):
        raise SectionsError(f"top_risks: expected a list, got {type(risks).__name__}")
    if not MIN_RISKS <= len(risks) <= MAX_RISKS:
        raise SectionsError(f"top_risks: expected {MIN_RISKS} to {MAX_RISKS} items, got {len(risks)}")
    for i, risk in enumerate(risks):
        _string(risk, f"top_risks[{i}]")
    for key in ("category_to_watch", "classifier_health"):
        sub = _object(obj[key], key, SECTIONS_SCHEMA["properties"][key])
        for field in sub:
            _string(sub[field], f"{key}.{field}")
    for key in ("staffing_recommendation", "key_metric_next_week"):
        _string(obj[key], key)
    return cast(SummarySections, obj)


def section_texts(sections: SummarySections) -> list[str]:
    """Every text of the sections, in reading order (what the number check reads)."""
    return [
        *sections["top_risks"],
        sections["category_to_watch"]["category"],
        sections["category_to_watch"]["why"],
        sections["classifier_health"]["assessment"],
        sections["classifier_health"]["action"],
        sections["staffing_recommendation"],
        sections["key_metric_next_week"],
    ]


def _object(value: object, where: str, schema: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SectionsError(f"{where}: expected an object, got {type(value).__name__}")
    missing = [key for key in schema["required"] if key not in value]
    if missing:
        raise SectionsError(f"{where}: missing {', '.join(missing)}")
    extra = sorted(str(key) for key in value if key not in schema["properties"])
    if extra:
        names = ", ".join(repr(name[:40]) for name in extra[:3])
        raise SectionsError(f"{where}: unexpected field{'s' if len(extra) > 1 else ''} {names}")
    return cast(dict[str, Any], value)


def _string(value: object, where: str) -> None:
    if not isinstance(value, str):
        raise SectionsError(f"{where}: expected a string, got {type(value).__name__}")
    if not value.strip():
        raise SectionsError(f"{where}: is empty")
    if len(value) > MAX_TEXT:
        raise SectionsError(f"{where}: {len(value)} characters, more than {MAX_TEXT}")
