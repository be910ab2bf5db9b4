"""The count model behind a point's score: exact Poisson(-lognormal) tails from 3 expected on."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from tspanel.detect.counts import EXACT_FROM, log_count_variance, point_z, tail_z


@pytest.mark.parametrize(
    ("count", "expected", "z"),
    [
        # mid-p tails of a plain Poisson, P(X > x) + P(X = x) / 2, worked out by hand:
        (10, 5.0, 1.99979),  # 0.013695 + 0.018133 / 2 = 0.022762
        (20, 8.0, 3.57749),  # 0.00017345
        (3, 3.0, 0.08838),  # a count at its mean scores near 0
    ],
)
def test_without_over_dispersion_the_tail_is_poisson(count: int, expected: float, z: float) -> None:
    assert tail_z(count, math.log1p(expected), 0.0) == pytest.approx(z, abs=1e-4)


def test_the_variance_of_log_counts_is_exact_from_three_expected() -> None:
    assert log_count_variance(10.0) == pytest.approx(0.094455, abs=2e-5)  # sum over the Poisson(10) pmf
    assert log_count_variance(100.0) == pytest.approx(0.0099, abs=2e-4)
    # below EXACT_FROM the conservative 1 / (mu + 1) stays (the exact value at 1 is 0.24)
    assert log_count_variance(1.0) == 0.5


def test_a_burst_carries_the_poisson_noise_of_its_own_count() -> None:
    # 76 where 6.2 are expected, on a series whose rate itself wanders by exp(N(0, 0.32)):
    # charged the Poisson noise of 6.2 (the log-scale normal), it scores 3.50; the exact tail,
    # in which 76 is Poisson around a rate that must itself be near 76, gives 4.1
    # (log(77) - log(7.2)) / sqrt(1 / 7.2 + 0.32) = 3.498 by hand: the exact tail must beat it.
    log_forecast = math.log1p(6.2)
    assert tail_z(76, log_forecast, 0.32) == pytest.approx(4.105, abs=0.01)
    assert point_z(76, log_forecast, 0.32) == tail_z(76, log_forecast, 0.32)  # 6.2 expected: the exact tail
    assert point_z(76, log_forecast, 0.32) > 3.498 + 0.5


def test_below_three_expected_a_point_keeps_the_conservative_log_scale_score() -> None:
    # a forecast of 0 (the median of a quiet night's 0s, 1s and 2s) would make any count
    # impossible under an exact tail; the log-scale normal scores 2 flags at log(3) / 1
    assert point_z(2.0, 0.0, 0.0) == pytest.approx(math.log(3.0))
    assert point_z(12.0, math.log1p(EXACT_FROM), 0.05) == tail_z(12.0, math.log1p(EXACT_FROM), 0.05)


def test_scores_rise_smoothly_with_the_count_and_stay_finite() -> None:
    counts = np.arange(0.0, 40.0, 0.5)
    scores = [tail_z(c, math.log1p(5.0), 0.1) for c in counts]
    assert all(b > a for a, b in itertools.pairwise(scores))  # fractional counts too
    huge = tail_z(1e6, math.log1p(5.0), 0.1)  # far past the last double: ranked by the log-scale z
    assert math.isfinite(huge) and huge > tail_z(1e4, math.log1p(5.0), 0.1) > 8
