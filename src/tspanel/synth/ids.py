"""Opaque, reproducible identifiers built for millions of rows without a Python loop.

Ids are hashes of structured integers (which account, which template, ...) so that nothing
about the ground truth leaks through their shape, yet the same world always gets the same ids.
"""

from __future__ import annotations

import numpy as np
import polars as pl

_HEX = b"0123456789abcdef"
# Two hex characters per byte value, as a little-endian uint16 ("0f" -> b"0" then b"f").
_BYTE_TO_HEX = np.array([_HEX[i >> 4] | (_HEX[i & 15] << 8) for i in range(256)], dtype="<u2")

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix(x: np.ndarray) -> np.ndarray:
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def mix64(*parts: np.ndarray | int) -> np.ndarray:
    """Hash integer arrays (broadcast together) to well-spread uint64 values."""
    arrays = [np.atleast_1d(np.asarray(p)).astype(np.int64).astype(np.uint64) for p in parts]
    h = np.zeros(np.broadcast_shapes(*(a.shape for a in arrays)), dtype=np.uint64)
    for a in arrays:
        h = _splitmix(h ^ a)
    return h


def unit_interval(keys: np.ndarray) -> np.ndarray:
    """Map uint64 hashes to floats in [0, 1), for attributes derived from an id."""
    return (keys >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def hex_ids(keys: np.ndarray, prefix: str, nbytes: int = 6) -> pl.Series:
    """`prefix` + the low `nbytes` bytes of each key in hex, as a String Series."""
    n = len(keys)
    pre = prefix.encode("ascii")
    width = len(pre) + 2 * nbytes
    if n == 0:
        return pl.Series([], dtype=pl.String)
    raw = np.empty((n, width), dtype=np.uint8)
    raw[:, : len(pre)] = np.frombuffer(pre, dtype=np.uint8)
    by = np.asarray(keys, dtype=np.uint64).astype(">u8").view(np.uint8).reshape(n, 8)[:, 8 - nbytes :]
    raw[:, len(pre) :] = _BYTE_TO_HEX[by].view(np.uint8).reshape(n, 2 * nbytes)
    return pl.Series(raw.view(f"S{width}").ravel()).cast(pl.String)
