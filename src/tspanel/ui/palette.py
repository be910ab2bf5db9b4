"""One colour per meaning, so a category, a severity or an alert state looks the same on every chart."""

from __future__ import annotations

from collections.abc import Iterable

# Distinct, colour-blind-friendly hues (Okabe-Ito and Tableau based), ordered for contrast.
CATEGORY_PALETTE: tuple[str, ...] = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#b07aa1",
    "#edc948",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
REGION_PALETTE: tuple[str, ...] = ("#2f6f9f", "#c2553a", "#3a8f6b", "#8a5fb0", "#c49a1b", "#5f7a8a")

SEVERITY_COLORS: dict[str, str] = {"low": "#8fb8d8", "medium": "#f0b93b", "high": "#e8743b", "critical": "#c0223b"}
ACTION_COLORS: dict[str, str] = {
    "allow": "#6aa56e",
    "downrank": "#8e7cc3",
    "human_review": "#f0b93b",
    "auto_block": "#c0223b",
}
STATE_COLORS: dict[str, str] = {"healthy": "#2e7d32", "warning": "#ed8a00", "alert": "#c62828", "no data": "#757575"}

ACCENT = "#3f51b5"
TRUTH = "#2e7d32"  # known attacks (ground truth)
GOOD = "#2e7d32"
BAD = "#c62828"
OVER_SLA = "#c0223b"
WITHIN_SLA = "#4e79a7"


def cycle_colors(values: Iterable[str], palette: tuple[str, ...] = CATEGORY_PALETTE) -> dict[str, str]:
    """A stable colour per value, in the order the dataset lists them."""
    return {value: palette[i % len(palette)] for i, value in enumerate(values)}
