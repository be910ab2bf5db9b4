"""The synthetic world as Polars frames: all at once in memory, or day-chunks for big worlds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from tspanel.errors import TspanelError
from tspanel.synth.config import WorldConfig
from tspanel.synth.day import day_draws, day_flags
from tspanel.synth.plan import Plan, attacks_frame, make_plan
from tspanel.synth.queue import simulate_world_queue


@dataclass(frozen=True)
class World:
    """A generated dataset in the contract's dtypes (see tspanel.schema)."""

    flags: pl.DataFrame
    reviewers: pl.DataFrame
    attacks: pl.DataFrame
    config: WorldConfig


def expected_flags(config: WorldConfig) -> float:
    """Expected number of flags of the world, without generating it (for progress and sizing)."""
    return make_plan(config).expected_flags


def plan_chunks(plan: Plan, chunk_days: int) -> Iterator[pl.DataFrame]:
    """Flags of an already-made plan, `chunk_days` days at a time."""
    days = plan.config.days
    queue = simulate_world_queue(plan)
    for first in range(0, days, chunk_days):
        frames = [day_flags(plan, d, queue.day(d)) for d in range(first, min(first + chunk_days, days))]
        yield pl.concat(frames, how="vertical")


def iter_flag_chunks(config: WorldConfig, chunk_days: int) -> Iterator[pl.DataFrame]:
    """The flags table in consecutive blocks of `chunk_days` days; their concatenation does not
    depend on `chunk_days`, because every day has its own seed."""
    if not isinstance(chunk_days, int) or chunk_days < 1:
        raise TspanelError(f"chunk_days must be a positive number of days (got {chunk_days!r})")
    return plan_chunks(make_plan(config), chunk_days)


def generate_world(config: WorldConfig | None = None) -> World:
    """Generate a whole world in memory (the default one: 90 days, about 42,000 flags)."""
    config = config if config is not None else WorldConfig()
    plan = make_plan(config)
    # In memory the days' draws are kept between the queue pass and the frames (no replay).
    draws = [day_draws(plan, d) for d in range(config.days)]
    queue = simulate_world_queue(plan, draws)
    frames = [day_flags(plan, d, queue.day(d), draws[d]) for d in range(config.days)]
    flags = pl.concat(frames, how="vertical")
    return World(flags=flags, reviewers=plan.reviewers, attacks=attacks_frame(plan), config=config)
