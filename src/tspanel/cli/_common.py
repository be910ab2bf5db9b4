"""Arguments and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
from pathlib import Path
from typing import Any, TextIO

# Characters a terminal acts on instead of showing: C0 controls but tab and newline (ESC
# starts screen clears, clipboard writes, title changes), DEL, C1 controls (0x9b is a
# one-byte CSI) and the bidirectional overrides that make text read differently than it is.
_TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def for_terminal(text: str) -> str:
    """``text`` with every control character written as its escape (ESC as ``\\x1b``), so strings
    from the data are shown to the operator, never executed by their terminal."""
    return _TERMINAL_CONTROLS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class TerminalSafe(io.TextIOBase):
    """A text stream that passes everything written to it through :func:`for_terminal`."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(for_terminal(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> Any:  # type: ignore[override]
        return getattr(self._stream, "encoding", "utf-8")

    @property
    def buffer(self) -> Any:
        """Bytes for a file or pipe (`tspanel flags > out.csv`) pass unchanged; to a terminal they are escaped too."""
        if self._stream.isatty():
            return _TerminalBytes(self)
        self._stream.flush()
        return self._stream.buffer


class _TerminalBytes(io.RawIOBase):
    """Binary writes to a terminal, decoded and passed through :func:`for_terminal`."""

    def __init__(self, text: TerminalSafe) -> None:
        self._text = text

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._text.write(bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self) -> None:
        self._text.flush()


def plural(n: int, word: str) -> str:
    """``1 day``, ``2 days``, ``1,000 flags``."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


DATABASE_SCHEMES = ("postgresql://", "postgres://")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def local_path(text: str) -> Path:
    """A file or directory argument; a URL is refused, shown with any password masked.

    Why: ``postgresql://me:pw@host/db`` is also a valid relative path, so a command writing there
    made a local folder named after the credentials and printed them.
    """
    if _URL.match(text):
        from tspanel.rollup.engines import mask_uri

        raise argparse.ArgumentTypeError(f"{mask_uri(text)} is a URL; give a local file or directory here")
    return Path(text)


def check_output_dir(path: Path, option: str) -> None:
    """Fail now, with exit status 2, if ``path`` is a file or cannot be made a directory.

    Why before the work: a rollup or a world takes seconds to minutes to compute, and an
    unwritable path (under a file, in /proc, without permission) only showed at the end, as a
    traceback. A directory made for the check is removed again, so nothing is left behind.
    """
    from tspanel.errors import TspanelError

    if path.is_dir():
        return
    if path.exists():
        raise TspanelError(f"{option} {path} is a file, not a directory; give a directory (it is created if missing)")
    made = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True)
    except OSError as exc:
        raise TspanelError(f"{option} {path}: cannot create this directory ({exc.strerror}); give another") from None
    for p in made:  # leaf first
        p.rmdir()


def data_directory(text: str) -> Path:
    """--data of a command that reads rows from files (a database URL is refused without echoing it)."""
    if text.startswith(DATABASE_SCHEMES):
        raise argparse.ArgumentTypeError(
            "this command reads a dataset directory; a postgresql:// URL works with serve, kpis, flags and validate"
        )
    return local_path(text)


def data_source(text: str) -> Path | str:
    """--data of a command that also serves a rollup directory or a database: a URL stays a string."""
    return text if text.startswith(DATABASE_SCHEMES) else Path(text)


def add_data_argument(parser: argparse.ArgumentParser, *, sources: bool = False) -> None:
    """``--data``; with ``sources`` it also takes a rollup directory or a postgresql:// URL (docs/rollup.md)."""
    if sources:
        parser.add_argument(
            "--data",
            type=data_source,
            metavar="DIR|URL",
            help="dataset directory (flags, reviewers, optional attacks; .csv or .parquet; see docs/data.md), "
            "a rollup directory (tspanel rollup) or postgresql://USER@HOST/DB (the rollup is computed in the "
            "database; docs/rollup.md). Default: the built-in synthetic world.",
        )
        return
    parser.add_argument(
        "--data",
        type=data_directory,
        metavar="DIR",
        help="dataset directory (flags, reviewers, optional attacks; .csv or .parquet; see docs/data.md). "
        "Default: the built-in synthetic world.",
    )


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=iso_date, metavar="DATE", help="first day, YYYY-MM-DD (inclusive)")
    parser.add_argument("--end", type=iso_date, metavar="DATE", help="last day, YYYY-MM-DD (inclusive)")
    parser.add_argument("--category", nargs="+", metavar="C", help="keep only these policy categories")
    parser.add_argument("--region", nargs="+", metavar="R", help="keep only these regions")
    parser.add_argument("--severity", nargs="+", metavar="S", help="keep only these severities")
    parser.add_argument("--action", nargs="+", metavar="A", help="keep only these moderation actions")


def open_dataset(path: Path | str | None):  # -> tspanel.source.Dataset
    """The dataset at ``path`` (a directory, a rollup directory or a database URL), or the built-in
    world; loading errors exit with status 2."""
    from tspanel import source

    if path is None:
        return source.default_world()
    from tspanel.rollup.sources import load_source

    return load_source(path)


def filters_from_args(args: argparse.Namespace, dataset):  # -> tspanel.models.filters.Filters
    """Filters from the command line, checked against the values the data holds."""
    from tspanel.errors import TspanelError
    from tspanel.models.filters import Filters
    from tspanel.schema import ACTIONS, SEVERITIES

    known = {
        "category": dataset.categories,
        "region": dataset.regions,
        "severity": SEVERITIES,
        "action": ACTIONS,
    }
    chosen: dict[str, list[str]] = {}
    for option, values in known.items():
        picked = getattr(args, option, None) or []
        unknown = [v for v in picked if v not in values]
        if unknown:
            hint = ", ".join(values) if values else f"none: this dataset has no {option} column"
            raise TspanelError(f"--{option}: unknown value(s) {', '.join(map(repr, unknown))}; choose from {hint}")
        chosen[option] = list(picked)
    start, end = getattr(args, "start", None), getattr(args, "end", None)
    check_dates(start, end, dataset)
    return Filters(
        start=start,
        end=end,
        categories=chosen["category"],
        regions=chosen["region"],
        severities=chosen["severity"],
        actions=chosen["action"],
    )


def check_dates(start: dt.date | None, end: dt.date | None, dataset) -> None:
    """Refuse a --start/--end range that selects no day of the data (it would count negative days).

    A range that overlaps the data is clipped to it, as the dashboard does.
    """
    from tspanel.errors import TspanelError

    if start and end and start > end:
        raise TspanelError(f"--start {start} is after --end {end}")
    first, last = dataset.first_day, dataset.last_day
    covers = f"the data covers {first} to {last}"
    if start is not None and start > last:
        raise TspanelError(f"--start {start} is after the last day of the data: {covers}. Pick days in that range.")
    if end is not None and end < first:
        raise TspanelError(f"--end {end} is before the first day of the data: {covers}. Pick days in that range.")
