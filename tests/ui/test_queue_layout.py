"""The reviewer queue tab on a wide screen: no blank beside the tall utilisation chart.

The utilisation chart (room for 30 reviewer rows) is about twice as tall as the daily intake chart; side
by side in one row they left a blank of ~330 px under the intake chart at 1440 px. The intake
and time-to-resolution charts now stack beside it, and the staffing card sits beside its curve.
"""

from __future__ import annotations

from typing import Any

from .dashboard import opened, wait_for


def _box(page: Any, key: str) -> dict[str, float]:
    return page.locator(f".ts-chart-{key}").first.bounding_box()


def test_at_1440_px_the_short_queue_charts_stack_beside_utilisation(browser: Any, server: str) -> None:
    with opened(browser, server + "?tab=queue", width=1440, height=1200) as (page, errors):
        wait_for(lambda: page.locator(".ts-chart-staffing-curve .bk-Canvas").count() > 0, "the queue tab drawn")
        intake, resolution = _box(page, "intake"), _box(page, "resolution-time")
        utilisation, staffing, curve = _box(page, "utilisation"), _box(page, "staffing"), _box(page, "staffing-curve")
        # Time to resolution directly under the intake chart, in the same column...
        assert abs(resolution["x"] - intake["x"]) < 1
        assert 0 <= resolution["y"] - (intake["y"] + intake["height"]) < 30
        # ...beside utilisation, whose top it does not pass.
        assert utilisation["x"] >= intake["x"] + intake["width"]
        assert abs(utilisation["y"] - intake["y"]) < 1
        assert resolution["y"] < utilisation["y"] + utilisation["height"]
        # The staffing card beside its curve, both below the stacked charts and utilisation.
        assert abs(staffing["y"] - curve["y"]) < 1 and curve["x"] >= staffing["x"] + staffing["width"]
        assert staffing["y"] >= max(resolution["y"] + resolution["height"], utilisation["y"] + utilisation["height"])
        assert errors == []
