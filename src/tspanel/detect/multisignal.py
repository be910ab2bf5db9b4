"""The default detector: an excess of volume that also looks coordinated.

Volume alone cannot tell a campaign from an organic surge (news, a viral trend), and no
single secondary signal is reliable either: campaigns run from old, compromised accounts
do not raise the young-account share, and ordinary traffic has its viral re-shares and
popular targets. So an alert needs both kinds of evidence:

* ``volume``: the robust z of the day's count (the category's, or one region's share of
  it) against its seasonal forecast (tspanel.detect.volume);
* ``coordination``: the strongest robust z among the secondary signals the data has
  (tspanel.detect.signals) - young accounts, shared content, shared targets, repeat
  accounts, regional concentration, burstiness.

Volume is the screen and coordination the verdict: the day must carry more flags than
forecast at the classic three-sigma level (z > 3, about 1 in 700 days), and the
coordination evidence must exceed the threshold (default 4). The dangerous look-alike,
an organic surge, passes the volume screen by definition, so it is the coordination
leg, at the full threshold, that keeps surges out; requiring z > 4 of the volume as well
would only lose small campaigns whose coordination is plain. The alert's score is the
coordination z, and the alert lists the volume z and every signal at or above the
"notable" level with its strength. Without any secondary column (the legacy layout) the
score is the volume z alone, against the threshold.
"""

from __future__ import annotations

import polars as pl

from tspanel.detect.alerts import alerts_frame
from tspanel.detect.series import DEFAULT_THRESHOLD
from tspanel.detect.signals import RolledShares, available_signals, signal_scores
from tspanel.detect.volume import volume_scores, volume_strength

NOTABLE_Z = 2.0  # a secondary signal is listed in an alert from this z up
VOLUME_SCREEN_Z = 3.0  # the volume excess an alert needs when coordination evidence is available


def multisignal_scores(
    flags: pl.LazyFrame,
    columns: frozenset[str],
    threshold: float = DEFAULT_THRESHOLD,
    rolled: RolledShares | None = None,
) -> pl.DataFrame:
    """Per (date, category): volume z, regional z, each signal's z, coordination and score.

    The score is null where the volume does not pass the screen (or is still warming up).
    """
    volume = volume_scores(flags, columns, threshold).with_columns(volume_strength().alias("volume_strength"))
    names = [s.name for s in available_signals(columns)]
    if volume.height == 0:  # nothing selected (e.g. a region without flags): no day to score
        return volume.with_columns(pl.lit(None, pl.Float64).alias(c) for c in (*names, "coordination", "score"))
    if not names:
        return volume.with_columns(
            pl.lit(None, pl.Float64).alias("coordination"), pl.col("volume_strength").alias("score")
        )
    signals = signal_scores(flags, columns, rolled).drop("n")
    return (
        volume.join(signals, on=["date", "category"], how="left")
        .with_columns(pl.max_horizontal(names).alias("coordination"))
        .with_columns(
            pl.when(pl.col("volume_strength") > min(VOLUME_SCREEN_Z, threshold))
            .then(pl.col("coordination"))
            .otherwise(None)
            .alias("score")
        )
    )


def detect_multisignal(
    flags: pl.LazyFrame,
    columns: frozenset[str],
    threshold: float = DEFAULT_THRESHOLD,
    rolled: RolledShares | None = None,
) -> pl.DataFrame:
    """Alerts where volume passes the screen and the coordination evidence exceeds `threshold`."""
    scores = multisignal_scores(flags, columns, threshold, rolled)
    names = [s.name for s in available_signals(columns)]
    rows = []
    for r in scores.filter(pl.col("score") > threshold).iter_rows(named=True):
        signals = {"volume": r["volume_z"]}
        if r["regional_z"] is not None and r["regional_z"] > NOTABLE_Z:
            signals[f"volume_{r['regional_top']}"] = r["regional_z"]
        signals.update({n: r[n] for n in names if r[n] is not None and r[n] >= NOTABLE_Z})
        rows.append({"date": r["date"], "category": r["category"], "score": r["score"], "signals": signals})
    return alerts_frame(rows)
