"""Synthetic Trust & Safety worlds with known ground truth, for demos, tests and benchmarks.

`generate_world(WorldConfig())` is the built-in dataset; `write_world` writes any world to
csv or parquet in bounded memory.
"""

from tspanel.synth.config import WorldConfig
from tspanel.synth.world import World, expected_flags, generate_world, iter_flag_chunks
from tspanel.synth.write import write_world

__all__ = ["World", "WorldConfig", "expected_flags", "generate_world", "iter_flag_chunks", "write_world"]
