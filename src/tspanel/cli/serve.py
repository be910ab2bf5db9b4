"""`tspanel serve`: the dashboard in a browser, one session per tab, served by Panel."""

from __future__ import annotations

import argparse
import atexit
import os
import signal
import socket
import sys
from typing import Any

from tspanel.cli._common import add_data_argument
from tspanel.errors import TspanelError
from tspanel.server import add_security_arguments, exposure_from_args
from tspanel.serving.limits import DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS, Limits

DEFAULT_PORT = 5006
DEFAULT_ADDRESS = "127.0.0.1"
DEFAULT_RELOAD_INTERVAL = 60.0


SESSION_LIFETIME = {
    "check_unused_sessions_milliseconds": 2_000,
    "unused_session_lifetime_milliseconds": 5_000,
}
"""How soon a closed tab's session is freed: 5-7 s after its websocket closes (Bokeh: 15-32 s).

A session holds its charts, results and page models (tens of MB at 1M flags); with Bokeh's
defaults a team reloading pages kept a dozen dead sessions in memory at once. A browser
slower than 5 s to open the websocket after loading the page is not refused: Bokeh builds
the session again when it connects.
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "serve",
        help="open the dashboard in a browser (KPIs, volume, classifier, queue, attacks)",
        description="Serve the interactive dashboard. Every browser tab gets its own filters; "
        "brushing a time range or clicking a bar or legend entry filters every chart, and the URL "
        "records the filters so a link reproduces the view. The dataset is loaded before the "
        "server starts and shared by all sessions; with --data it is reloaded when its files change.",
    )
    add_data_argument(parser, sources=True)
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--address",
        default=DEFAULT_ADDRESS,
        help=f"address to listen on (default {DEFAULT_ADDRESS}: this machine only). "
        "Use 0.0.0.0 to listen on every interface (then a login and --allow-origin are required).",
    )
    parser.add_argument(
        "--show",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="open a browser tab once the server is up (default: --show)",
    )
    parser.add_argument(
        "--num-procs",
        type=_positive,
        default=1,
        metavar="N",
        help="worker processes (default 1); the dataset is checked before they fork and each loads it as it "
        "starts; SIGTERM or Ctrl+C to the main process stops them all",
    )
    fresh = parser.add_argument_group(
        "fresh data",
        "With --data (or $TSPANEL_DATA), each process re-checks the files every --reload-interval seconds "
        "and reloads new or changed data in the background; open pages refresh in place with their "
        "filters, and bad new data keeps the last good data serving with a banner (docs/operations.md).",
    )
    fresh.add_argument(
        "--reload-interval",
        type=_interval,
        default=DEFAULT_RELOAD_INTERVAL,
        metavar="SECONDS",
        help=f"how often to look for new data (default {DEFAULT_RELOAD_INTERVAL:g}; 0: load once, never reload)",
    )
    fresh.add_argument(
        "--notify",
        action="append",
        default=[],
        metavar="URL",
        help="run the alert rules after each reload and send new alerts to this apprise URL (repeatable; "
        "same rules and state file as `tspanel alert`, so nothing is sent twice); shown only masked",
    )
    limits = parser.add_argument_group(
        "connection limits",
        "Per worker process. Put a reverse proxy in front for per-client limits (docs/security.md).",
    )
    limits.add_argument(
        "--header-timeout",
        type=_seconds,
        default=DEFAULT_HEADER_TIMEOUT,
        metavar="SECONDS",
        help=f"close a connection that has not sent a whole request header, or sat idle, this long "
        f"(default {DEFAULT_HEADER_TIMEOUT:g})",
    )
    limits.add_argument(
        "--max-connections",
        type=_positive,
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help=f"open HTTP connections per process; more are answered 503 (default {DEFAULT_MAX_CONNECTIONS})",
    )
    add_security_arguments(parser)
    parser.set_defaults(func=run)


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= 86_400:
        raise argparse.ArgumentTypeError(f"{value:g}: use 0 (never reload) or up to 86400 seconds")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number; use 0-65535") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number; use 0-65535")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: use 1 or more")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"{value:g}: use more than 0 and at most 86400 seconds")
    return value


def browser_url(origins: list[str]) -> str:
    """The page's address on the first origin browsers may use: one on any other is refused its websocket."""
    return f"http://{origins[0]}/"


def free_port(address: str) -> int:
    """A port nobody is listening on right now (for --port 0)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


def _describe_dataset(path: str | None) -> tuple[str | None, str, int]:
    """(error, name, flags) of the dataset at ``path``; run in a fresh process by --num-procs."""
    from tspanel.app import shared_dataset

    try:
        dataset = shared_dataset(path)
    except TspanelError as exc:
        return str(exc), "", 0
    return None, dataset.name, dataset.n_flags


def _login_sessions(args: argparse.Namespace, exposure: Any) -> tuple[dict[str, Any], Any]:
    """``pn.serve`` keywords, and the revocable-login bookkeeping when a login is required.

    The session store is made here, before Panel forks the workers, so they all share it.
    """
    kwargs = exposure.serve_kwargs()
    if exposure.auth is None:
        return kwargs, None
    from panel.config import config

    from tspanel.serving import logins

    store = logins.SessionStore(lifetime_seconds=float(config.oauth_expiry) * 86_400)
    atexit.register(store.close)
    users = None
    if exposure.basic_auth is not None:
        users = logins.UsersFile(args.basic_auth, exposure.basic_auth)
        kwargs["basic_auth"] = users.passwords  # the dict Panel's login page checks, kept current
    logins.LOGOUT_URL = "./logout"
    return kwargs, logins.Logins(store, exposure.cookie_secret, users, float(config.oauth_expiry))


def _harden(server: Any, exposure: Any, limits: Limits, logins: Any) -> None:
    """Host/Origin checks, security headers, revocable logins and connection limits (docs/security.md)."""
    from functools import partial

    from tornado.ioloop import PeriodicCallback

    from tspanel.serving import guard, memory
    from tspanel.serving import limits as connection_limits
    from tspanel.serving.logins import SWEEP_SECONDS

    guard.install(server._tornado, guard.Allowed(exposure.origins), logins)
    connection_limits.install(server, limits)
    memory.install(server.io_loop)
    if logins is not None:
        sweep = PeriodicCallback(partial(logins.sweep, server._tornado), SWEEP_SECONDS * 1000)
        server.io_loop.add_callback(sweep.start)


def _preload(data: str | None) -> None:
    """Load the data in a freshly forked worker, before its first session.

    A worker's sessions reuse the data it has (app.shared_dataset), even when a later check
    of the files fails; so a worker must have loaded it while the files were still there.
    A failure here is left to the first session to report (raising would make Tornado
    restart the worker over and over).
    """
    from tspanel.app import shared_dataset

    try:
        shared_dataset(data)
    except (TspanelError, OSError) as exc:
        print(f"tspanel: worker {os.getpid()} could not load the data: {exc}", file=sys.stderr, flush=True)


def _warm_up(data: str | None, dataset: Any) -> None:
    """The landing page built once before the first visitor (tspanel.app.warm_up); a failure
    is only logged: the first session then does the work, and reports any problem itself."""
    from tspanel.app import shared_dataset, warm_up

    try:
        warm_up(dataset if dataset is not None else shared_dataset(data))
    except Exception as exc:  # never stop a server that has its data for the sake of a cache
        print(f"tspanel: preparing the first page failed ({exc}); serving anyway", file=sys.stderr, flush=True)


def _reload_plan(args: argparse.Namespace, data: str | None) -> tuple[str | None, list[Any]]:
    """(the directory to watch or None, the --notify destinations); bad options raise before any loading."""
    from tspanel.app import DATA_ENV
    from tspanel.notify import destination

    watched = (data or os.environ.get(DATA_ENV) or None) if args.reload_interval > 0 else None
    targets = [destination(url) for url in args.notify]  # a bad URL: exit 2, shown masked
    if targets and watched is None:
        why = "--reload-interval 0 turns reloading off"
        if args.reload_interval > 0:
            why = "the built-in world never changes"
        raise TspanelError(
            f"--notify sends alerts after each reload of --data DIR, but {why}; "
            "give --data DIR with a --reload-interval above 0, or run `tspanel alert` from cron"
        )
    return watched, targets


def _start_watching(path: str, args: argparse.Namespace, targets: list[Any], base_url: str) -> dict[str, Any]:
    """This process's DataWatcher (and alerter): one per process, also with --num-procs."""
    from tspanel.app import watch_dataset

    watcher = watch_dataset(path, args.reload_interval)
    live: dict[str, Any] = {"watcher": watcher}
    if targets:
        from tspanel.alerting import ReloadAlerter
        from tspanel.cli.alert import default_state_path

        live["alerter"] = ReloadAlerter(watcher, targets, default_state_path(), base_url=base_url)
    return live


def run(args: argparse.Namespace) -> int:
    from tspanel.app import shared_dataset

    data = str(args.data) if args.data is not None else None
    watched, targets = _reload_plan(args, data)
    try:
        port = args.port or free_port(args.address)
    except OSError as exc:
        raise TspanelError(f"--address {args.address}: cannot listen there ({exc.strerror or exc})") from None
    # Exposure rules first: a refused option costs no data loading.
    exposure = exposure_from_args(args, port)
    limits = Limits(header_timeout=args.header_timeout, max_connections=args.max_connections)
    # Load (and validate) before the server starts: bad data is a message and exit 2, not a blank page.
    if args.num_procs == 1:
        dataset = shared_dataset(data)
        name, n_flags = dataset.name, dataset.n_flags
    else:
        # Polars' thread pool does not survive a fork: the workers would hang on their first
        # query. So the check runs in a spawned process and each worker loads the data itself
        # (once per process, shared by its sessions).
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(1) as pool:
            error, name, n_flags = pool.apply(_describe_dataset, (data,))
        if error is not None:
            raise TspanelError(error)
        dataset = None

    import panel as pn
    from tornado.process import task_id

    serve_kwargs, logins = _login_sessions(args, exposure)

    from tspanel.app import create_app
    from tspanel.ui import session  # noqa: F401  (registers the views' static resources before any fork)

    live: dict[str, Any] = {}  # this process's DataWatcher and alerter (made after any fork)

    def app():  # pn.serve builds one session per browser tab by calling this
        watcher = live.get("watcher")
        if watcher is not None:
            return create_app(watcher=watcher)
        return create_app(dataset if dataset is not None else shared_dataset(data))

    from tspanel.serving import workers

    running: dict[str, Any] = {}

    def stop_worker() -> None:
        server = running.get("server")
        if server is None:  # a signal before the server exists: just leave
            raise SystemExit(0)
        server.io_loop.add_callback(server.io_loop.stop)

    main_pid = os.getpid()
    on_signal = workers.install(stop_worker, forks=args.num_procs > 1)
    try:
        server = pn.serve(
            {"/": app},
            **serve_kwargs,
            show=False,
            start=False,
            num_procs=args.num_procs,
            title="tspanel",
            http_server_kwargs=limits.http_server_kwargs(),
            **SESSION_LIFETIME,
        )
    except OSError as exc:
        raise TspanelError(
            f"cannot listen on {args.address}:{port} ({exc.strerror or exc}); {_listen_hint(exc)}"
        ) from None
    running["server"] = server
    signal.signal(signal.SIGINT, on_signal)  # pn.serve put in its own, which says nothing
    if task_id() is not None:
        workers.worker_started(main_pid)
        _preload(data)
    _warm_up(data, dataset)
    _harden(server, exposure, limits, logins)
    url = browser_url(exposure.origins)
    if watched is not None:
        try:
            live.update(_start_watching(watched, args, targets, url))
            dataset = None  # the watcher holds the current data: the first copy must not outlive a reload
        except (TspanelError, OSError) as exc:  # a worker whose first load failed: its sessions report it
            print(f"tspanel: worker {os.getpid()} is not reloading: {exc}", file=sys.stderr, flush=True)
    if task_id() in (None, 0):  # the first worker speaks for all of them
        workers = f", {args.num_procs} worker processes" if args.num_procs > 1 else ""
        print(f"tspanel: serving {name} ({n_flags:,} flags{workers}) at {url}", flush=True)
        login = {"basic": "basic auth (--basic-auth)", "oauth": "OAuth"}.get(exposure.auth or "", "none")
        print(f"tspanel: login: {login}; websocket origins: {', '.join(exposure.origins)}", flush=True)
        if watched is not None:
            alerts = f"; alerts after each reload to {', '.join(t.label for t in targets)}" if targets else ""
            print(f"tspanel: looking for new data every {args.reload_interval:g} s{alerts}", flush=True)
        print("tspanel: press Ctrl+C to stop", flush=True)
        if args.show:
            server.io_loop.add_callback(server.show, "/")
    from tspanel.serving import memory

    memory.enable_freezing()  # the data, libraries and caches out of every later collection's walk
    try:
        server.start()
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    if task_id() is None:
        print("tspanel: stopped", file=sys.stderr)
    return 0


def _listen_hint(exc: OSError) -> str:
    """What to change when the server cannot listen: the port if it is taken, else the address."""
    import errno
    import socket

    if exc.errno in (errno.EADDRINUSE, errno.EACCES):
        return "is another server using that port? Pick another with --port."
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return "this machine has no such address; give --address 127.0.0.1, 0.0.0.0 or one of its own addresses."
    return "check --address and --port."
