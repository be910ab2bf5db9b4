"""The five sections of the weekly summary: their shape, JSON schema and check.

Claude fills them through a forced tool call whose input schema is SECTIONS_SCHEMA;
the offline summary builds the same shape, so rendering has one input type. The
API does not promise that a tool input obeys its schema, so validate_sections
re-checks it before anything is shown. Both come from one pydantic model, `Sections`:
the schema is its `model_json_schema()`, so what Claude is asked for and what is
accepted cannot drift apart.
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_TEXT = 600  # characters per text field; a summary line, not an essay
MIN_RISKS, MAX_RISKS = 2, 3


class CategoryToWatch(TypedDict):
    category: str
    why: str


class ClassifierHealth(TypedDict):
    assessment: str
    action: str


class SummarySections(TypedDict):
    """The sections as plain dicts, as every consumer reads them (the same shape as `Sections`)."""

    top_risks: list[str]
    category_to_watch: CategoryToWatch
    classifier_health: ClassifierHealth
    staffing_recommendation: str
    key_metric_next_week: str


def _text(description: str) -> Any:
    # pattern \S: at least one non-blank character (minLength alone lets "  " through)
    return Annotated[str, Field(min_length=1, max_length=MAX_TEXT, pattern=r"\S", description=description)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class CategoryToWatchModel(_Strict):
    category: _text("A category name exactly as it appears in the data.")
    why: _text("Why this category needs attention next week, citing its numbers.")


class ClassifierHealthModel(_Strict):
    assessment: _text("The classifier's state and what its scores mean.")
    action: _text("What the team should do about the classifier.")


class Sections(_Strict):
    """What the summary tool takes: the week's risks, a category, the classifier, staffing, a metric."""

    top_risks: list[_text("One risk in one or two sentences, citing the numbers from the data that show it.")] = Field(
        min_length=MIN_RISKS,
        max_length=MAX_RISKS,
        description="The 2 or 3 most important risks of the week, most important first.",
    )
    category_to_watch: CategoryToWatchModel
    classifier_health: ClassifierHealthModel
    staffing_recommendation: _text(
        "Reviewer staffing advice based on the given reviewers_needed, current_reviewers and arithmetic."
    )
    key_metric_next_week: _text("The one metric to watch next week and why.")


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON schema with its $defs inlined and pydantic's titles dropped: one small
    self-contained object, as a tool's input_schema is best given."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: walk(v) for k, v in node.items() if k not in ("title", "$defs")}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


SECTIONS_SCHEMA: dict[str, Any] = _inline(Sections.model_json_schema())


class SectionsError(ValueError):
    """A tool input that does not match SECTIONS_SCHEMA; the message names the field."""


def validate_sections(data: object) -> SummarySections:
    """Return `data` as SummarySections, or raise SectionsError naming what is wrong."""
    try:
        Sections.model_validate(data)
    except ValidationError as exc:
        raise SectionsError(_message(exc.errors())) from None
    return cast(SummarySections, data)


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


def _where(loc: tuple[Any, ...]) -> str:
    if not loc:
        return "input"
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def _message(errors: list[Any]) -> str:
    """One message for the first problem, in the order a reader fixes them: the object itself,
    then its missing and unexpected fields, then each field's value."""
    first = errors[0]
    for error in errors:
        if error["type"] in ("missing", "extra_forbidden"):
            first = error
            break
    loc, kind, value = tuple(first["loc"]), first["type"], first["input"]
    if kind in ("missing", "extra_forbidden"):
        parent = loc[:-1]
        names = [str(e["loc"][-1]) for e in errors if e["type"] == kind and tuple(e["loc"][:-1]) == parent]
        if kind == "missing":
            return f"{_where(parent)}: missing {', '.join(names)}"
        listed = ", ".join(repr(name[:40]) for name in sorted(names)[:3])
        return f"{_where(parent)}: unexpected field{'s' if len(names) > 1 else ''} {listed}"
    where = _where(loc)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{where}: expected an object, got {type(value).__name__}"
    if kind == "list_type":
        return f"{where}: expected a list, got {type(value).__name__}"
    if kind == "string_type":
        return f"{where}: expected a string, got {type(value).__name__}"
    if kind in ("too_short", "too_long") and isinstance(value, list):
        return f"{where}: expected {MIN_RISKS} to {MAX_RISKS} items, got {len(value)}"
    if kind in ("string_pattern_mismatch", "string_too_short"):
        return f"{where}: is empty"
    if kind == "string_too_long":
        return f"{where}: {len(value)} characters, more than {MAX_TEXT}"
    return f"{where}: {first['msg']}"
