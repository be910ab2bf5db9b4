"""The weekly ops summary: Claude's reading of the week's numbers, or a rule-based one offline.

    payload = ...                      # a WeeklyPayload (see payload.py)
    report = build_report(payload)     # never raises for API trouble; falls back offline
    text = render(report, "html")      # or "md"; everything escaped, unverified numbers marked

The Anthropic SDK is imported only when Claude is actually called.
"""

from __future__ import annotations

from tspanel.summary.llm import DEFAULT_MODEL, ClaudeSettings, ClaudeUnavailable, settings_from_env
from tspanel.summary.numbers import NumberCheck, NumberChecker
from tspanel.summary.offline import offline_sections
from tspanel.summary.payload import WeeklyPayload, load_payload, validate_payload
from tspanel.summary.render import md_escape, render, render_html, render_markdown
from tspanel.summary.report import Report, build_report
from tspanel.summary.sections import SummarySections, validate_sections

__all__ = [
    "DEFAULT_MODEL",
    "ClaudeSettings",
    "ClaudeUnavailable",
    "NumberCheck",
    "NumberChecker",
    "Report",
    "SummarySections",
    "WeeklyPayload",
    "build_report",
    "load_payload",
    "md_escape",
    "offline_sections",
    "render",
    "render_html",
    "render_markdown",
    "settings_from_env",
    "validate_payload",
    "validate_sections",
]
