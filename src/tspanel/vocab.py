"""Display names, defined once: what the page, the charts, the CLI and the report call things.

Codes stay codes in the data, the URL and JSON output (``self_harm``, ``human_review``,
``coordinated_pct``); everything a person reads goes through these functions, so a chip,
a chart axis, a KPI card and a ``tspanel kpis`` table line never name one thing two ways.
No Panel import: the CLI and the report use it too.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

# Codes whose words are not just the code with spaces (anything else: see words()).
_SPECIAL: dict[str, str] = {
    "auto_block": "Auto-block",
    "downrank": "Downrank",
    "csam": "CSAM",
}

CATEGORY_LABELS: dict[str, str] = {
    "spam": "Spam",
    "harassment": "Harassment",
    "hate_speech": "Hate speech",
    "misinformation": "Misinformation",
    "sexual_content": "Sexual content",
    "self_harm": "Self harm",
    "fraud": "Fraud",
}

SEVERITY_LABELS: dict[str, str] = {"low": "Low", "medium": "Medium", "high": "High", "critical": "Critical"}

ACTION_LABELS: dict[str, str] = {
    "allow": "Allow",
    "downrank": "Downrank",
    "human_review": "Human review",
    "auto_block": "Auto-block",
}

# The headline numbers (tspanel.models.kpis.KPI_KEYS): card titles and CLI table rows.
KPI_LABELS: dict[str, str] = {
    "total_flags": "Total flags",
    "auto_blocked": "Auto-blocked",
    "human_review": "Human review",
    "sla_breach_rate_pct": "SLA breach rate",
    "coordinated_pct": "Coordinated share",
    "ml_score_first_week": "ML score, first 7 days",
    "ml_score_last_week": "ML score, last 7 days",
    # The staffing plan's figures (tspanel.models.staffing), shown by `tspanel kpis`.
    "reviewers_needed": "Reviewers needed next week (SLA target)",
    "expected_breach_pct_at_roster": "Expected SLA breach next week, today's roster",
    "forecast_error_pct": "Forecast error (backtest MAPE per day)",
}

# What each filter is called on a chip ("Category: Self harm").
FILTER_LABELS: dict[str, str] = {
    "categories": "Category",
    "regions": "Region",
    "severities": "Severity",
    "actions": "Action",
    "reviewers": "Reviewer",
}


def words(code: str) -> str:
    """A code as words with a capital first letter: 'hate_speech' -> 'Hate speech'."""
    if code in _SPECIAL:
        return _SPECIAL[code]
    text = str(code).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def category_label(code: str) -> str:
    """'self_harm' -> 'Self harm' (a category the data brings, unknown here, gets the same treatment)."""
    return CATEGORY_LABELS.get(code) or words(code)


def severity_label(code: str) -> str:
    return SEVERITY_LABELS.get(code) or words(code)


def action_label(code: str) -> str:
    return ACTION_LABELS.get(code) or words(code)


def region_label(code: str) -> str:
    """Regions are names already ('EMEA', 'APAC'): shown as the data spells them."""
    return str(code)


def kpi_label(key: str) -> str:
    return KPI_LABELS.get(key) or words(key)


def value_label(filter_name: str, code: str) -> str:
    """A filter value as shown on a chip or a widget option (reviewers are labelled by the caller)."""
    return {
        "categories": category_label,
        "severities": severity_label,
        "actions": action_label,
        "regions": region_label,
    }.get(filter_name, str)(code)


def dataset_label(name: str) -> str:
    """A dataset as a person names it: the directory's name, never a path.

    ``/home/ana/exports/2026-09`` -> ``2026-09``. Only a name that is a path is cut (absolute,
    starting with ``~`` or ``.``, or an existing directory); any other name, the built-in
    world's or one a payload brings, is kept whole.
    """
    text = str(name)
    stripped = text.rstrip("/\\")
    pathlike = (
        PurePosixPath(stripped).is_absolute()
        or PureWindowsPath(stripped).is_absolute()
        or stripped.startswith(("~", "./", "../", ".\\", "..\\"))
    )
    if not pathlike and ("/" in stripped or "\\" in stripped):
        try:
            pathlike = Path(stripped).expanduser().is_dir()
        except OSError:
            pathlike = False
    if not pathlike:
        return text
    return PurePosixPath(stripped.replace("\\", "/")).name or text
