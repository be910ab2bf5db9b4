"""Number formatting and HTML escaping shared by the cards, banners and tooltips.

Strings from the data (categories, regions, reviewer names) go through :func:`esc`
before they reach any HTML, so a crafted category name is shown, never run.
"""

from __future__ import annotations

import html
from typing import Any

# In a card's subtitle, what follows this keeps its space on the card but is not shown: a subtitle
# that grows and shrinks with the filters would re-size its card, and the page be laid out again.
HIDDEN_FROM_HERE = "\x1f"


def esc(value: Any) -> str:
    """Text safe to place inside HTML (element content or a quoted attribute)."""
    return html.escape(str(value), quote=True)


def fmt_count(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def fmt_pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}%"


def fmt_score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def fmt_hours(value: float | None) -> str:
    """Hours for people: '5.2 h' under two days, else '3.1 days'."""
    if value is None:
        return "n/a"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} days"


def fmt_signed(value: float, digits: int = 1, unit: str = "") -> str:
    """'+1.5', '−0.3' (a real minus sign), '±0.0' when it rounds to zero."""
    rounded = round(value, digits)
    sign = "+" if rounded > 0 else ("−" if rounded < 0 else "±")
    return f"{sign}{abs(rounded):,.{digits}f}{unit}"


def label(value: str) -> str:
    """A code such as 'human_review' as words ('human review')."""
    return value.replace("_", " ")
