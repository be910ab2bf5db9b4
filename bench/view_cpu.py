"""Server CPU the views spend per refresh (charts, cards, KPIs), without a browser.

A session is opened (built and rendered into a Bokeh document, then serialised as the server
does for the browser) once on a cold process and then ``--opens`` more times; the warm opens
are what every later visitor costs. On the last session filters are toggled six times twice, and the
CPU of each synchronous filter change minus the CPU of ``Dashboard.refresh()`` (the data
side) is the view's share. The second round is reported (the first warms caches).

    python bench/view_cpu.py [DATASET_DIR] [--tab 0|1|2] [--opens N] [--profile] [--profile-open] [--each] [--floor]

``--floor`` also opens a page of only the open tab's charts (their hvPlot calls on the same
frames, in a bare Panel column): the part of a session open that no page design can remove.
``--each`` also prints every change of the second round: its CPU in total and in the charts'
updates (``ChartSet.update``), with a brush (a date range) and its reset added to the changes.

Figures depend on the machine's load; record them with that caveat.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import statistics
import time
from typing import Any

from bokeh.document import Document

from tspanel.source import default_world, load_dataset
from tspanel.ui.session import DashboardSession
from tspanel.ui.url import TABS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", help="dataset directory (default: the built-in world)")
    parser.add_argument("--tab", type=int, default=0, help="open tab: 0 volume, 1 classifier, 2 queue")
    parser.add_argument("--opens", type=int, default=5, help="warm session opens after the first (default 5)")
    parser.add_argument("--profile", action="store_true", help="print the 30 costliest calls of the refreshes")
    parser.add_argument("--profile-open", action="store_true", help="print the 30 costliest calls of a warm open")
    parser.add_argument("--each", action="store_true", help="print each change's CPU (total and chart updates)")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also open a bare page of only the open tab's hvPlot charts (same frames and calls): the stack's floor",
    )
    args = parser.parse_args()

    dataset = load_dataset(args.data) if args.data else default_world()
    session, first = open_session(dataset)
    print(f"session open, cold process (build + render + serialise): {first:.3f} s CPU")
    warm: list[float] = []
    for _ in range(args.opens):
        session, cpu = open_session(dataset)
        warm.append(cpu)
    if warm:
        print(
            f"session open, warm: median {statistics.median(warm):.3f} s, max {max(warm):.3f} s CPU ({len(warm)} opens)"
        )
    if args.profile_open:
        opening = cProfile.Profile(time.process_time)
        opening.enable()
        session, _ = open_session(dataset)
        opening.disable()
        pstats.Stats(opening).sort_stats("cumulative").print_stats(30)
    session.tabs.active = args.tab
    if args.floor:
        floor = [open_charts_only(session, args.tab) for _ in range(args.opens + 1)][1:]
        print(
            f"the tab's hvPlot charts alone in a bare Panel column, warm: median {statistics.median(floor):.3f} s CPU "
            f"({len(floor)} opens)"
        )

    data_cpu: list[float] = []
    refresh = session.dashboard.refresh

    def timed_refresh(*args: Any, **kwargs: Any) -> Any:
        began = time.process_time()
        result = refresh(*args, **kwargs)
        data_cpu.append(time.process_time() - began)
        return result

    session.dashboard.refresh = timed_refresh  # type: ignore[method-assign]
    chart_cpu: list[float] = []
    view = session.views.get(TABS[args.tab]) if args.tab < len(TABS) else None
    if view is not None and hasattr(view, "charts"):
        charts_update = view.charts.update

        def timed_charts(*a: Any, **k: Any) -> Any:
            began = time.process_time()
            try:
                return charts_update(*a, **k)
            finally:
                chart_cpu.append(time.process_time() - began)

        view.charts.update = timed_charts  # type: ignore[method-assign]
    categories, regions = session.choices.categories, session.choices.regions
    changes = [
        {"severities": ["high"]},
        {"severities": []},
        {"categories": [categories[0]]},
        {"categories": []},
        {"regions": [regions[0]]},
        {"regions": []},
    ]
    if args.each:
        brushed = dataset.first_day + dt.timedelta(days=20)
        changes += [{"start": brushed}, {"start": None}]
    profile = cProfile.Profile()
    total: list[float] = []
    for round_ in range(2):
        for change in changes:
            began = time.process_time()
            charts_before = sum(chart_cpu)
            if round_ and args.profile:
                profile.enable()
            session.filters.param.update(**change)
            if round_ and args.profile:
                profile.disable()
            total.append(time.process_time() - began)
            if round_ and args.each:
                print(f"  {change}: total {total[-1]:.3f} s, chart updates {sum(chart_cpu) - charts_before:.3f} s")
    view = [t - d for t, d in zip(total, data_cpu, strict=True)][len(changes) :]
    median, worst = statistics.median(view), max(view)
    print(f"view CPU per refresh: median {median:.3f} s, max {worst:.3f} s ({len(view)} refreshes)")
    if args.profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)


def open_session(dataset: Any) -> tuple[DashboardSession, float]:
    """One session as the server opens it: built, rendered into a document, serialised."""
    start = time.process_time()
    session = DashboardSession(dataset)
    document = Document()
    document.add_root(session.page.get_root(document))
    document.to_json()
    return session, time.process_time() - start


def open_charts_only(session: DashboardSession, tab: int) -> float:
    """CPU to open a page holding only ``tab``'s charts, drawn by their specs' hvPlot calls from
    the session's own frames: no sidebar, cards, template or tspanel update loop. What six
    HoloViews/Bokeh plots cost per session on this machine, whatever the page around them."""
    import panel as pn

    view = session.views.get(TABS[tab])
    drawn = getattr(getattr(view, "charts", None), "charts", {})
    charts = [chart for chart in drawn.values() if chart._sent is not None]
    if not charts:
        raise SystemExit(f"--floor: tab {tab} has no charts drawn")
    start = time.process_time()
    page = pn.Column(*(pn.pane.HoloViews(c.spec.plot(c._sent, c.context), sizing_mode="stretch_width") for c in charts))
    document = Document()
    document.add_root(page.get_root(document))
    document.to_json()
    return time.process_time() - start


if __name__ == "__main__":
    main()
