"""`tspanel alert`'s logic: which attention items are new for which destination, and the state file.

An item is *new* for a destination when its key (tspanel.models.attention: the condition,
not its numbers) is not recorded as sent to it. Delivered items are recorded per
destination; an item that failed stays unrecorded and is sent on the next run. Keys that
no longer hold are forgotten, so a condition that clears and comes back is sent again.
The state file is replaced atomically under an exclusive lock, so overlapping cron runs
cannot lose or double-send an alert.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tspanel.errors import TspanelError
from tspanel.models.attention import AttentionItem
from tspanel.notify import Destination, deliver

STATE_VERSION = 1
log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- messages


def link(base_url: str, view: str) -> str:
    """The dashboard address of a view: the base URL as given, then the view's query.

    ``http://host:5006/`` + ``?tab=queue`` and ``https://host/tspanel`` + ``?tab=queue`` both
    name the page with that query (a bare host gets its "/" from the browser).
    """
    return base_url + view


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_value(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def message(item: AttentionItem, *, dataset: str, as_of: str, base_url: str) -> tuple[str, str]:
    """(title, Markdown body) of one alert: its numbers and a link to the view that explains it.

    Titles and values quote the data (category names, the dataset's name), so the body escapes
    them as the weekly report does: a hostile category cannot become a link or markup in Slack.
    The title, plain text everywhere, is kept to one line.
    """
    from tspanel.summary.render import md_escape

    title = " ".join(f"tspanel {item.severity}: {item.title}".split())
    lines = [f"**{md_escape(item.title)}**", ""]
    lines += [
        f"- {name.replace('_', ' ')}: {md_escape(_value(value))}"
        for name, value in item.numbers.items()
        if value is not None
    ]
    lines += [
        "",
        f"Dataset: {md_escape(dataset)}; as of {as_of}.",
        f"[Open the dashboard view]({link(base_url, item.view)})",
    ]
    return title, "\n".join(lines)


# --------------------------------------------------------------------------- state


@dataclass
class State:
    """What was sent to which destination, per dataset (one state file can serve several)."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)

    def destination(self, scope: str, target: Destination) -> dict[str, Any]:
        scopes = self.data.setdefault("scopes", {})
        entry = scopes.setdefault(scope, {}).setdefault(target.key, {"sent": {}})
        entry["label"] = target.label
        return entry


def read_state(path: Path) -> State:
    if not path.exists():
        return State(path, {"version": STATE_VERSION, "scopes": {}})
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TspanelError(
            f"--state {path}: cannot read it ({exc.__class__.__name__}); fix or move it away "
            "(a new state file re-sends every current alert)"
        ) from None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION or not isinstance(data.get("scopes"), dict):
        raise TspanelError(f"--state {path}: not a tspanel alert state file (version {STATE_VERSION})")
    return State(path, data)


def write_state(state: State) -> None:
    """Replace the file atomically: a crash mid-write leaves the previous state, never half of one."""
    state.path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".alert-state-", dir=state.path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(state.data, out, indent=2, sort_keys=True)
            out.write("\n")
        os.replace(tmp, state.path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock beside the state file, held for the whole run (waits for a running one)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no locking, runs must not overlap
        yield
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path.with_name(path.name + ".lock"), "a")  # noqa: SIM115 (held across the yield)
    except OSError as exc:
        raise TspanelError(f"--state {path}: cannot create its lock file ({exc.strerror or exc})") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- a run


@dataclass
class Outcome:
    """What one destination got in a run."""

    target: Destination
    new: list[AttentionItem] = field(default_factory=list)  # new for this destination
    sent: list[AttentionItem] = field(default_factory=list)
    error: str | None = None  # why delivery failed; the unsent new items are retried next run


def dispatch(
    items: list[AttentionItem],
    targets: list[Destination],
    state: State,
    *,
    scope: str,
    dataset: str,
    as_of: str,
    base_url: str,
    dry_run: bool = False,
) -> list[Outcome]:
    """Send each item that is new for a destination to it, once, and record what was delivered.

    After a destination's first failure its remaining items are not tried this run (the
    service is likely down); all of them stay pending for the next run.
    """
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    current = {item.key for item in items}
    outcomes = []
    for target in targets:
        entry = state.destination(scope, target)
        sent: dict[str, Any] = entry.setdefault("sent", {})
        outcome = Outcome(target, new=[item for item in items if item.key not in sent])
        outcomes.append(outcome)
        if dry_run:
            continue
        for key in [k for k in sent if k not in current]:  # cleared: may fire again when it comes back
            del sent[key]
        for item in outcome.new:
            title, body = message(item, dataset=dataset, as_of=as_of, base_url=base_url)
            error = deliver(target, title, body, level=item.severity)
            if error is not None:
                outcome.error = error
                break
            sent[item.key] = {"sent_at": now, "title": item.title, "severity": item.severity}
            outcome.sent.append(item)
        entry["last_run"] = now
        entry["last_error"] = outcome.error
    return outcomes


# --------------------------------------------------------------------------- in a server


class ReloadAlerter:
    """Runs the rules on every reload of a DataWatcher and sends what is new (`tspanel serve --notify`).

    It shares the state file format and scope with `tspanel alert --data DIR`, so a server and
    a cron job pointed at the same state file and directory never send an alert twice.
    Keep a reference to this object for as long as it should run (the watcher holds it weakly).
    """

    def __init__(
        self,
        watcher: Any,
        targets: list[Destination],
        state_path: Path,
        *,
        base_url: str,
        rules: dict[str, Any] | None = None,
    ) -> None:
        self.watcher, self.targets, self.state_path = watcher, targets, state_path
        self.base_url, self.rules = base_url, dict(rules or {})
        self.last: list[Outcome] = []
        self._unsubscribe = watcher.subscribe(self._reloaded)

    def run(self, dataset: Any = None) -> list[Outcome]:
        """Evaluate the rules on ``dataset`` (default: the watcher's) and send what is new."""
        from tspanel.models.attention import AttentionModel

        dataset = dataset if dataset is not None else self.watcher.dataset
        model = AttentionModel(dataset, **self.rules)
        items = model.items()
        with locked(self.state_path):
            state = read_state(self.state_path)
            self.last = dispatch(
                items,
                self.targets,
                state,
                scope=self.watcher.label,  # the path, or a database URL masked (never its password)
                dataset=dataset.name,
                as_of=model.as_of_time().strftime("%Y-%m-%d %H:%M UTC"),
                base_url=self.base_url,
            )
            write_state(state)
        return self.last

    def close(self) -> None:
        self._unsubscribe()

    def _reloaded(self, event: Any) -> None:
        try:
            outcomes = self.run(event.new)
        except TspanelError as exc:  # e.g. an unreadable state file: say so, keep serving
            log.warning("alerts after reload not sent: %s", exc)
            return
        for outcome in outcomes:
            if outcome.error is not None:
                log.warning(
                    "alert delivery to %s failed (retried at the next reload): %s", outcome.target, outcome.error
                )
