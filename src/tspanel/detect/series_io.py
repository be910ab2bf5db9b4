"""Reading ``timestamp,value`` count series: a whole CSV file, or rows appended to a file or stdin.

Why apart from :mod:`tspanel.detect.series`: the detector is an algorithm on numbers and keeps
no file I/O (issue #19); this module turns text into checked (timestamp, value) rows, the same
way for a batch file and for a stream, so both feed the detector identical numbers.
"""

from __future__ import annotations

import datetime as dt
import io
import select
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import polars as pl

from tspanel.errors import DataError

COLUMNS = ("timestamp", "value")


def read_series_csv(path: Path) -> pl.DataFrame:
    """A ``timestamp,value`` CSV as (timestamp: Datetime, value: Float64); DataError on anything else."""
    name = path.name
    if not path.is_file():
        raise DataError(f"{path}: no such file; give a CSV file with columns timestamp,value.")
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{name}: not a readable CSV file ({str(exc).splitlines()[0]}).") from None
    _check_columns(name, raw.columns)
    if raw.height == 0:
        raise DataError(f"{name}: no rows; a series needs at least one timestamp,value row.")
    return parse_rows(raw, name)


def _check_columns(name: str, columns: list[str]) -> None:
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise DataError(
            f"{name}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(found: {', '.join(repr(c) for c in columns) or 'none'}); a series needs columns timestamp,value."
        )


def parse_rows(raw: pl.DataFrame, name: str) -> pl.DataFrame:
    """String columns timestamp, value -> (timestamp: naive UTC Datetime, value: Float64), or DataError."""
    parsed = raw.select(
        pl.col("timestamp"),
        pl.col("value"),
        pl.col("timestamp").str.strip_chars().str.to_datetime(strict=False, time_zone="UTC").alias("ts"),
        pl.col("value").str.strip_chars().cast(pl.Float64, strict=False).alias("v"),
    )
    problems = []
    bad_ts = parsed.filter(pl.col("ts").is_null())
    if bad_ts.height:
        problems.append(_bad(name, "timestamp", bad_ts["timestamp"], "no timestamp like 2015-03-01 05:00:00"))
    bad_v = parsed.filter(pl.col("v").is_null() | ~pl.col("v").is_finite() | (pl.col("v") < 0))
    if bad_v.height:
        problems.append(_bad(name, "value", bad_v["value"], "no count (a finite number >= 0)"))
    if problems:
        raise DataError(" ".join(problems) + " Fix or remove these rows.")
    naive = parsed["ts"].dt.replace_time_zone(None).cast(pl.Datetime("us"))
    return pl.DataFrame({"timestamp": naive, "value": parsed["v"]})


def _bad(file: str, column: str, values: pl.Series, what: str) -> str:
    first = ", ".join(repr(v) for v in values.head(5).to_list())
    rows = f"{values.len()} row{'s hold' if values.len() != 1 else ' holds'}"
    return f"{file}: column '{column}': {rows} {what} (first: {first})."


def follow_rows(
    stream: TextIO, name: str, poll: float = 0.5, until_eof: bool = True, batch: int = 10_000
) -> Iterator[pl.DataFrame]:
    """Checked rows of a CSV as they are appended to `stream`, in batches of whatever has arrived.

    The header comes first; a last line without its newline is held back until it is complete
    (a writer may be half-way through it). At the end of the data: stop if `until_eof` (stdin, a
    pipe), else wait `poll` seconds and look again, like ``tail -f`` (a file being written).
    Rows are parsed by :func:`parse_rows`, as the batch reader parses them.
    """
    header: list[str] | None = None
    pending = ""
    lines: list[str] = []
    while True:
        chunk = stream.readline()
        if chunk:
            pending += chunk
            if not pending.endswith("\n"):
                if not lines or _more_ready(stream):
                    continue
            else:
                line, pending = pending.rstrip("\r\n"), ""
                if header is None:
                    header = [c.strip() for c in line.split(",")]
                    _check_columns(name, header)
                    continue
                if line.strip():
                    lines.append(line)
                if len(lines) < batch and _more_ready(stream):
                    continue
        if header is not None and lines:
            yield _parse_lines(header, lines, name)
            lines = []
        if chunk:
            continue
        if until_eof:
            if pending.strip() and header is not None:  # the last line of a closed stream is complete
                yield _parse_lines(header, [pending.rstrip("\r\n")], name)
            if header is None:
                raise DataError(f"{name}: no header; a series needs columns timestamp,value.")
            return
        time.sleep(poll)


def _more_ready(stream: TextIO) -> bool:
    """Whether the stream has more input now, so the rows read so far can wait for a fuller batch.

    Why: a live pipe (``tail -f file | tspanel detect --series - --follow``) never reaches its end,
    and a read would block with the rows already read held back, so their alerts would wait for
    10,000 rows. Rows still in Python's read buffer are not seen here; they are then passed on a
    little early, in smaller batches, which changes nothing but the batch sizes.
    """
    try:
        ready, _, _ = select.select([stream.fileno()], [], [], 0)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return True  # an in-memory stream (or a platform without select on it) never blocks
    return bool(ready)


def _parse_lines(header: list[str], lines: list[str], name: str) -> pl.DataFrame:
    text = ",".join(header) + "\n" + "\n".join(lines) + "\n"
    try:
        raw = pl.read_csv(io.StringIO(text), infer_schema=False, has_header=True)
    except pl.exceptions.ComputeError as exc:
        raise DataError(f"{name}: not a readable CSV row ({str(exc).splitlines()[0]}).") from None
    return parse_rows(raw.select(COLUMNS), name)


class Binner:
    """Sums appended (timestamp, value) rows into bins labelled by their start; yields each bin once it is closed.

    A bin closes when a row of a later bin arrives (or at the end of the data, :meth:`flush`);
    bins with no rows in between are zeros, as :func:`tspanel.detect.series.resample_counts`
    makes them. Bins are aligned like polars' ``group_by_dynamic`` (multiples of the step from
    the epoch). A row for a bin already closed cannot change what was emitted: it is counted in
    `late` and skipped (a batch run over the finished file would include it).
    """

    def __init__(self, step: dt.timedelta) -> None:
        self.step = step
        self.current: dt.datetime | None = None
        self.total = 0.0
        self.late = 0

    def _floor(self, ts: dt.datetime) -> dt.datetime:
        epoch = dt.datetime(1970, 1, 1)
        return epoch + ((ts - epoch) // self.step) * self.step

    def add(self, rows: pl.DataFrame) -> Iterator[tuple[dt.datetime, float]]:
        for ts, value in rows.iter_rows():
            start = self._floor(ts)
            if self.current is None:
                self.current = start
            if start < self.current:
                self.late += 1
                continue
            while start > self.current:
                yield self.current, self.total
                self.current, self.total = self.current + self.step, 0.0
            self.total += value

    def flush(self) -> Iterator[tuple[dt.datetime, float]]:
        if self.current is not None:
            yield self.current, self.total
            self.current = None
