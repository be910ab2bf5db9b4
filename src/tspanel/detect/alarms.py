"""From per-point scores to alarms a streaming user can act on: causal stamps, memory, refractory period.

Why a separate layer: the scores (:mod:`tspanel.detect.series`) say how unusual each point is
against its forecast; whether that deserves an alarm also depends on what was seen before.

* **Causal stamp**: an alarm is stamped at the point whose arrival completed its evidence (the
  point at which its statistic first crossed the threshold), never earlier. The stretch of excess
  it refers to - for a window statistic, the hours of the window carrying its excess - is given
  separately (``window_from``/``window_to``), so nothing is backdated.
* **Memory (novelty)**: each statistic (the point, and each window length) remembers the peak
  and length (in points) of its past episodes of excess for ``Settings.memory`` points: their
  range and shape. An excess matched (within :data:`TOLERANCE` noise sd) by remembered episodes
  at least as long on :data:`FAMILIAR_AFTER` separate occasions (episodes less than the refractory
  period apart are one occasion: one two-day campaign is not three) is the new normal
  and raises no alarm; a first-of-its-kind excess - larger than the bursts seen, or of another
  shape (hours of lift where only one- or two-hour spikes recurred) - does. Recurring bursts of
  1,000 an hour over a median of 24 therefore alarm the first few times only, while the scores
  themselves are unchanged.
* **Refractory period**: after an alarm, more firing points belong to the same event until
  ``Settings.refractory`` points pass without any statistic firing; only then can a new alarm be
  raised. One event, one alarm.

Everything here reads only the current and earlier points (no whole-series minimum or maximum,
see numenta/NAB#350), so a stream gives the alarms a batch run gives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

FAMILIAR_AFTER = 3
"""Separate occasions with an episode at least as large and as long as an excess that make it familiar."""

TOLERANCE = 2.0
"""Slack, in noise standard deviations of the statistic, by which a remembered peak may fall short of an
excess and still make it familiar: peaks two sd apart are not told apart by the noise.

Chosen on recurring 1,000-an-hour bursts (seeds 0-5 of the generator in tests/test_detect_stream.py):
alarms after the third burst, six series: 45 at 0 sd, 18 at 1, 9 at 2; NAB's six series moved by less
than 0.3 points of NAB score between these (bench/detection.py reports other seeds as held out)."""


EPISODE_GAP = 2
"""Points without firing that an episode of excess bridges: an hour that dips just under the
threshold does not split one lift into two short (and so familiar-looking) episodes."""


@dataclass(frozen=True)
class Alarm:
    """One alarm: stamped at `index` (the point that completed the evidence), about points window_from..window_to."""

    index: int
    window_from: int
    window_to: int
    score: float
    statistic: int  # 0: the point itself; k > 0: the window of k points


@dataclass
class AlarmTracker:
    """Turns each point's statistics into at most one alarm, reading only that point and the past."""

    threshold: float
    refractory: int
    memory: int
    windows: tuple[int, ...] = ()
    familiar_after: int = FAMILIAR_AFTER
    tolerance: float = TOLERANCE
    # per statistic, each remembered episode: (last point, peak, length, occasion)
    _peaks: list[list[tuple[int, float, int, int]]] = field(default_factory=list)
    _open: list[tuple[float, int, int] | None] = field(default_factory=list)  # under way: (peak, start, last firing)
    _event_last: int | None = None  # last firing point of the alarmed event, while it lasts

    def __post_init__(self) -> None:
        n = 1 + len(self.windows)
        self._peaks = [[] for _ in range(n)]
        self._open = [None] * n
        self._occasion = [0] * n  # occasion number of each statistic's latest episode
        self._ended = [-(10**9)] * n  # last point of each statistic's latest episode

    def update(
        self,
        t: int,
        corrected: np.ndarray,
        excess: np.ndarray,
        sd: np.ndarray,
        score: float,
        named_from: np.ndarray,
        named_to: np.ndarray,
    ) -> Alarm | None:
        """The alarm raised at point t, if any.

        `corrected`: each statistic's z after the multiple-testing correction (NaN: not scored);
        `excess`: its log-scale excess over its forecast, `sd` that excess's noise; `named_from`/`named_to`:
        the stretch each statistic names (the point itself; for a window, its hours that carry the excess); `score`:
        the point's score.
        """
        firing = np.nan_to_num(corrected, nan=-np.inf) > self.threshold
        novel = []
        for j, fires in enumerate(firing):
            peaks = self._peaks[j]
            while peaks and peaks[0][0] < t - self.memory:
                peaks.pop(0)
            under_way = self._open[j]
            if under_way is not None and not fires and t - under_way[2] > EPISODE_GAP:
                peak, begun, last = under_way
                if begun - self._ended[j] > self.refractory:  # a new occasion, not more of the last one
                    self._occasion[j] += 1
                peaks.append((last, peak, last - begun + 1, self._occasion[j]))
                self._ended[j] = last
                self._open[j] = under_way = None
            if not fires:
                continue
            size = float(excess[j])
            peak, begun = (size, t) if under_way is None else (max(under_way[0], size), under_way[1])
            slack = self.tolerance * float(sd[j]) if math.isfinite(sd[j]) else 0.0
            length = t - begun + 1
            seen = {k for _, p, n, k in peaks if p >= size - slack and n >= length}
            if len(seen) < self.familiar_after:
                novel.append(j)
            self._open[j] = (peak, begun, t)
        if self._event_last is not None and not firing.any() and t - self._event_last >= self.refractory:
            self._event_last = None
        if self._event_last is not None:
            if firing.any():
                self._event_last = t
            return None
        if not novel:
            return None
        self._event_last = t
        strongest = max(novel, key=lambda j: corrected[j])
        statistic = 0 if strongest == 0 else self.windows[strongest - 1]
        first, last = (int(named_from[strongest]), int(named_to[strongest])) if statistic else (t, t)
        return Alarm(index=t, window_from=first, window_to=last, score=float(score), statistic=statistic)
