"""A full refresh runs each distinct query once (issue #19).

`pl.collect_all` runs a query object listed twice once, but two separately built copies of the
same query twice: the staffing plan used to rebuild the daily-intake query, so every refresh
counted the day's reviews twice. Every query of a refresh with the same (unoptimised) plan as
another must be the same object.
"""

from __future__ import annotations

import polars as pl

from tspanel.models.dashboard import Dashboard
from tspanel.source import dataset_from_frames
from tspanel.synth import WorldConfig, generate_world


def refresh_queries(board: Dashboard) -> list[tuple[str, pl.LazyFrame]]:
    out = []
    for model_name, model in board.models().items():
        for name, spec in model.queries().items():
            query = spec[0] if isinstance(spec, tuple) else spec
            for q in query if isinstance(query, list) else [query]:
                if isinstance(q, pl.LazyFrame):
                    out.append((f"{model_name}.{name}", q))
    return out


def test_no_query_of_a_refresh_is_built_twice():
    world = generate_world(WorldConfig(flags=5_000))
    board = Dashboard(dataset_from_frames(world.flags, world.reviewers, world.attacks, name="small"))
    queries = refresh_queries(board)
    first_by_plan: dict[str, tuple[str, pl.LazyFrame]] = {}
    copies = []
    for name, q in queries:
        plan = q.explain(optimized=False)
        if plan in first_by_plan and first_by_plan[plan][1] is not q:
            copies.append((first_by_plan[plan][0], name))
        first_by_plan.setdefault(plan, (name, q))
    assert copies == []
    # The staffing plan's first input is the daily_intake output's own query object.
    names = [name for name, _ in queries]
    intake = queries[names.index("queue.daily_intake")][1]
    assert any(name == "queue.staffing" and q is intake for name, q in queries)
