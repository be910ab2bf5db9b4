"""The summary's structured shapes come from pydantic models (issue #19): schema and check cannot drift."""

from __future__ import annotations

import json
from typing import get_args, get_origin, get_type_hints, is_typeddict

from pydantic import BaseModel

from tspanel.summary import payload, sections
from tspanel.summary.sections import SECTIONS_SCHEMA, Sections


def _keys(shape: object) -> object:
    """The nested field names of a TypedDict or a pydantic model, for comparing the two."""
    if isinstance(shape, type) and issubclass(shape, BaseModel):
        return {name: _keys(field.annotation) for name, field in shape.model_fields.items()}
    if is_typeddict(shape):
        return {name: _keys(hint) for name, hint in get_type_hints(shape).items()}
    if get_origin(shape) in (list, dict):
        return _keys(get_args(shape)[-1])
    return None


def test_the_dict_shapes_match_the_models() -> None:
    assert _keys(payload.WeeklyPayload) == _keys(payload.WeeklyFacts)
    assert _keys(sections.SummarySections) == _keys(sections.Sections)


def test_the_tool_schema_is_the_models_schema() -> None:
    assert SECTIONS_SCHEMA["required"] == [
        "top_risks", "category_to_watch", "classifier_health", "staffing_recommendation", "key_metric_next_week",
    ]  # fmt: skip
    risks = SECTIONS_SCHEMA["properties"]["top_risks"]
    assert (risks["type"], risks["minItems"], risks["maxItems"], risks["items"]["maxLength"]) == ("array", 2, 3, 600)
    assert SECTIONS_SCHEMA["additionalProperties"] is False
    assert SECTIONS_SCHEMA["properties"]["category_to_watch"]["required"] == ["category", "why"]
    assert SECTIONS_SCHEMA["properties"]["category_to_watch"]["additionalProperties"] is False
    text = json.dumps(SECTIONS_SCHEMA)
    assert "$ref" not in text and '"title"' not in text  # self-contained, as a tool input_schema
    assert len(Sections.model_fields) == len(SECTIONS_SCHEMA["properties"]) == 5


def test_payload_fields_may_grow_without_breaking_validation() -> None:
    """Another producer (e.g. staffing by shift) adds facts; the check keeps them and passes."""
    from test_summary import example_payload

    data = example_payload()
    data["staffing"]["by_shift"] = [{"shift": "night", "reviewers_needed": 3}]
    assert payload.validate_payload(data)["staffing"]["by_shift"][0]["reviewers_needed"] == 3
