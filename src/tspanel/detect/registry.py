"""Detection methods by name, and the one door data goes through to reach them.

`run_method` hands a detector only the columns in DETECTOR_COLUMNS that the data has.
The ground-truth columns (`coordinated_flag`, `attack_id`) and the attacks table never
reach a detector, whatever a detector's code does: that is what makes the evaluation
against them honest.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import polars as pl

from tspanel.detect.multisignal import detect_multisignal
from tspanel.detect.series import DEFAULT_THRESHOLD
from tspanel.detect.signals import WEIGHT, RolledShares
from tspanel.detect.volume import detect_volume
from tspanel.detect.zscore import LEGACY_THRESHOLD, detect_zscore_legacy
from tspanel.errors import TspanelError

Detector = Callable[[pl.LazyFrame, frozenset[str], float], pl.DataFrame]

# The only flag columns a detector may read.
DETECTOR_COLUMNS: tuple[str, ...] = (
    "date",
    "category",
    "region",
    "created_at",
    "account_id",
    "account_age_days",
    "content_hash",
    "target_id",
)


@dataclass(frozen=True)
class Method:
    """A named detector with its default threshold and a one-line description."""

    name: str
    detect: Detector
    default_threshold: float
    description: str
    # Each category judged on its own series only, so its alerts do not depend on which other
    # categories are selected: the dashboard detects once for all and picks the selected ones.
    per_category: bool = True


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "multisignal",
            detect_multisignal,
            DEFAULT_THRESHOLD,
            "volume excess per category/region that also looks coordinated (young accounts, shared "
            "content/targets, repeat accounts, one region, bursts); volume alone on the legacy layout",
        ),
        Method(
            "volume",
            detect_volume,
            DEFAULT_THRESHOLD,
            "robust seasonal volume excess per category and per category and region",
        ),
        Method(
            "zscore-legacy",
            detect_zscore_legacy,
            LEGACY_THRESHOLD,
            "the earlier version: total volume > 7-day rolling mean + 1.5 sd (window includes the day)",
            per_category=False,  # one series: the selected categories' total
        ),
    )
}
DEFAULT_METHOD = "multisignal"


def get_method(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise TspanelError(f"unknown detection method {name!r}; choose one of {', '.join(METHODS)}") from None


def detector_input(flags: pl.LazyFrame | pl.DataFrame, columns: Collection[str]) -> tuple[pl.LazyFrame, frozenset[str]]:
    """The flags cut down to the columns a detector may read (never the ground truth)."""
    keep = [c for c in DETECTOR_COLUMNS if c in columns]
    if WEIGHT in flags.lazy().collect_schema().names():  # a rollup's counts (not a flag column)
        keep.append(WEIGHT)
    return flags.lazy().select(keep), frozenset(keep)


def run_method(
    name: str,
    flags: pl.LazyFrame | pl.DataFrame,
    columns: Collection[str] | None = None,
    threshold: float | None = None,
    rolled: RolledShares | None = None,
) -> pl.DataFrame:
    """Alerts of method `name` (date, category, score, signals JSON) on the flags.

    ``flags`` may be a rollup's facts (with the count column); ``rolled`` then gives the
    signals that cannot be summed from them (the multisignal method reads them).
    """
    method = get_method(name)
    if columns is None:
        columns = flags.collect_schema().names() if isinstance(flags, pl.LazyFrame) else flags.columns
    lf, cols = detector_input(flags, columns)
    missing = {"date", "category"} - cols
    if missing:
        raise TspanelError(f"detection needs the flag columns {', '.join(sorted(missing))}")
    threshold = method.default_threshold if threshold is None else threshold
    if rolled is not None and method.detect is detect_multisignal:
        return detect_multisignal(lf, cols | rolled.columns, threshold, rolled)
    return method.detect(lf, cols, threshold)
