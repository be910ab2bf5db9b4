"""Coordinated-attack detection: detectors over Polars frames, and their evaluation against ground truth.

Entry points: :func:`run_method` (alerts of a named method on a dataset's flags),
:func:`detect_series` (the robust seasonal detector on any timestamp,value count series)
and :func:`evaluate` / :func:`comparison` (metrics where the data carries ground truth).
No Panel import here: the UI and the CLI call these.
"""

from tspanel.detect.alerts import ALERT_SCHEMA, signals_of
from tspanel.detect.evaluate import GroundTruth, comparison, evaluate, ground_truth
from tspanel.detect.registry import DEFAULT_METHOD, DETECTOR_COLUMNS, METHODS, detector_input, get_method, run_method
from tspanel.detect.series import DEFAULT_THRESHOLD, detect_series
from tspanel.detect.series_io import read_series_csv

__all__ = [
    "ALERT_SCHEMA",
    "DEFAULT_METHOD",
    "DEFAULT_THRESHOLD",
    "DETECTOR_COLUMNS",
    "METHODS",
    "GroundTruth",
    "comparison",
    "detect_series",
    "detector_input",
    "evaluate",
    "get_method",
    "ground_truth",
    "read_series_csv",
    "run_method",
    "signals_of",
]
