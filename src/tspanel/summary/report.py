"""From a week's payload to a Report: Claude's summary when it can be had, the offline one otherwise.

Building a report never fails because of the API: any failure falls back to the
offline summary and keeps one line saying why. It fails only on a payload that
breaks its contract (DataError), which is the caller's input to fix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from tspanel.summary.llm import ClaudeSettings, ClaudeUnavailable, request_summary, settings_from_env
from tspanel.summary.numbers import NumberCheck, NumberChecker
from tspanel.summary.offline import offline_sections
from tspanel.summary.payload import WeeklyPayload, validate_payload
from tspanel.summary.sections import SummarySections, section_texts

log = logging.getLogger(__name__)

Source = Literal["claude", "offline"]


@dataclass(frozen=True)
class Report:
    """A rendered-ready weekly summary and where it came from."""

    payload: WeeklyPayload
    sections: SummarySections
    source: Source
    model: str | None  # the Claude model that wrote it; None for the offline summary
    fallback_reason: str | None  # why Claude was not used although it was asked for
    numbers: NumberCheck

    @property
    def notice(self) -> str | None:
        """The one line a reader sees when the summary fell back to offline."""
        if self.fallback_reason is None:
            return None
        return f"Claude API unavailable ({self.fallback_reason}); showing the offline summary."


def build_report(payload: WeeklyPayload, *, offline: bool = False, settings: ClaudeSettings | None = None) -> Report:
    """The week's report; `settings=None` reads them from the environment (and `.env`)."""
    payload = validate_payload(payload)
    if offline:
        return _report(payload, offline_sections(payload), "offline", None, None)
    settings = settings if settings is not None else settings_from_env()
    try:
        sections = request_summary(payload, settings)
    except ClaudeUnavailable as exc:
        return _report(payload, offline_sections(payload), "offline", None, _scrub(exc.reason, settings))
    except Exception as exc:  # a bug on our side must not cost the user the report
        # Only the class name: an exception text could quote a request, and with it the key.
        log.error("unexpected %s while asking Claude for the summary", exc.__class__.__name__)
        return _report(
            payload, offline_sections(payload), "offline", None, f"unexpected error ({exc.__class__.__name__})"
        )
    return _report(payload, sections, "claude", settings.model, None)


def _report(
    payload: WeeklyPayload, sections: SummarySections, source: Source, model: str | None, reason: str | None
) -> Report:
    check = NumberChecker(payload).check(section_texts(sections))
    if source == "claude" and not check.ok:
        log.info("%d number(s) in Claude's summary match nothing in the payload", len(check.unmatched))
    return Report(payload, sections, source, model, reason, check)


def _scrub(text: str, settings: ClaudeSettings) -> str:
    """Belt and braces: the reasons are our own words, but never let the key through."""
    key = settings.api_key
    return text.replace(key, "[redacted]") if key else text
