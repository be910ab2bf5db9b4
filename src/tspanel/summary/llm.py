"""One call to the Claude Messages API that returns the summary sections, or says why not.

Every failure (no key, HTTP errors, timeouts, connection errors, malformed
responses, a tool input off the schema) becomes ClaudeUnavailable with a short,
key-free reason for the report's fallback line. Exception texts from the SDK or
the server are never passed on: only our own wording, so the API key cannot leak
through them.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tspanel.summary.payload import WeeklyPayload
from tspanel.summary.prompt import SYSTEM_PROMPT, TOOL_NAME, messages, summary_tool, tool_choice
from tspanel.summary.sections import SectionsError, SummarySections, validate_sections

log = logging.getLogger(__name__)

DEFAULT_MODEL = "claude-sonnet-5-5"
MODEL_ENV = "TSPANEL_MODEL"
KEY_ENV = "ANTHROPIC_API_KEY"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_TOKENS = 1500


class ClaudeUnavailable(Exception):
    """The summary could not come from Claude; `reason` is safe to show (no key, no server text)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ClaudeSettings:
    """How to reach Claude. `base_url=None` lets the SDK apply ANTHROPIC_BASE_URL itself."""

    api_key: str | None = field(default=None, repr=False)
    model: str = DEFAULT_MODEL
    base_url: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    max_tokens: int = DEFAULT_MAX_TOKENS


def settings_from_env(
    *, model: str | None = None, timeout: float | None = None, env_file: Path | None = None
) -> ClaudeSettings:
    """Settings from the environment, after loading `.env` in the working directory.

    Variables already set win over the file. The model is `model`, else $TSPANEL_MODEL,
    else DEFAULT_MODEL.
    """
    from dotenv import load_dotenv

    path = env_file if env_file is not None else Path.cwd() / ".env"
    if path.is_file():
        load_dotenv(path, override=False)
    return ClaudeSettings(
        api_key=os.environ.get(KEY_ENV) or None,
        model=model or os.environ.get(MODEL_ENV) or DEFAULT_MODEL,
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
    )


def request_summary(payload: WeeklyPayload, settings: ClaudeSettings) -> SummarySections:
    """Ask Claude for the summary sections; raise ClaudeUnavailable with a reason on any failure."""
    if not settings.api_key:
        raise ClaudeUnavailable(f"no {KEY_ENV} set")
    try:
        response = _call(payload, settings)
    except Exception as exc:
        reason = _reason_for(exc, settings)
        log.info("Claude API call failed: %s", reason)
        raise ClaudeUnavailable(reason) from None
    return _sections_from(response)


def _call(payload: WeeklyPayload, settings: ClaudeSettings) -> Any:
    import anthropic

    with anthropic.Anthropic(
        api_key=settings.api_key,
        base_url=settings.base_url,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
    ) as client:
        return client.messages.create(
            model=settings.model,
            max_tokens=settings.max_tokens,
            system=SYSTEM_PROMPT,
            messages=messages(payload),  # type: ignore[arg-type]
            tools=[summary_tool()],  # type: ignore[list-item]
            tool_choice=tool_choice(),  # type: ignore[arg-type]
        )


def _sections_from(response: Any) -> SummarySections:
    content = getattr(response, "content", None)
    blocks = content if isinstance(content, list) else []
    calls = [b for b in blocks if getattr(b, "type", None) == "tool_use" and getattr(b, "name", None) == TOOL_NAME]
    if not calls:
        stop_reason = getattr(response, "stop_reason", None)
        if stop_reason == "max_tokens":
            raise _unavailable("the response was cut off at max_tokens")
        if stop_reason == "refusal":
            raise _unavailable("the model declined to write the summary")
        raise _unavailable("malformed response: no summary tool call")
    try:
        return validate_sections(getattr(calls[0], "input", None))
    except SectionsError as exc:
        cut = " (cut off at max_tokens)" if getattr(response, "stop_reason", None) == "max_tokens" else ""
        raise _unavailable(f"the summary did not match its schema{cut}: {exc}") from None


def _unavailable(reason: str) -> ClaudeUnavailable:
    log.info("Claude API response unusable: %s", reason)
    return ClaudeUnavailable(reason)


_STATUS_REASONS = {
    400: "request rejected, HTTP 400",
    401: "authentication failed, HTTP 401; check ANTHROPIC_API_KEY",
    403: "permission denied, HTTP 403",
    404: "not found, HTTP 404; check the model name",
    413: "request too large, HTTP 413",
    429: "rate limited, HTTP 429",
    529: "overloaded, HTTP 529",
}


def _reason_for(exc: Exception, settings: ClaudeSettings) -> str:
    import anthropic

    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        if status in _STATUS_REASONS:
            return _STATUS_REASONS[status]
        return f"server error, HTTP {status}" if status >= 500 else f"request rejected, HTTP {status}"
    if isinstance(exc, anthropic.APITimeoutError):
        return f"no response within {settings.timeout:g} s"
    if isinstance(exc, anthropic.APIConnectionError):
        return f"could not connect to {_host(exc)}"
    if isinstance(exc, anthropic.APIResponseValidationError | ValueError):
        return "malformed response from the API"
    return f"unexpected error ({exc.__class__.__name__})"


def _host(exc: Exception) -> str:
    """Host and port of the failed request, never its credentials or path."""
    try:
        url = exc.request.url  # type: ignore[attr-defined]
        return f"{url.host}:{url.port}" if url.port else str(url.host)
    except Exception:
        return "the API"
