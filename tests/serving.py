"""Start `tspanel serve` in a subprocess on 127.0.0.1 for a test, and always stop it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

START_SECONDS = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int, log: Path) -> bool:
    """The server printed its startup line and accepts connections.

    No GET here: every GET of the page builds a whole session, and on a busy machine
    timed-out retries would pile sessions up.
    """
    if "press Ctrl+C" not in log.read_text():
        return False
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def serving(args: Sequence[str], port: int, log: Path, env: dict[str, str] | None = None) -> Iterator[None]:
    """`tspanel serve --no-show --port PORT ARGS...` until the block ends; fails the test if it cannot start."""
    command = [sys.executable, "-m", "tspanel", "serve", "--no-show", "--port", str(port), *args]
    with log.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env or dict(os.environ))
    try:
        deadline = time.monotonic() + START_SECONDS
        while not listening(port, log):
            if proc.poll() is not None:
                pytest.fail(f"tspanel serve exited with {proc.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"tspanel serve did not start within {START_SECONDS} s:\n{log.read_text()}")
            time.sleep(0.3)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
