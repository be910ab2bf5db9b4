"""`--num-procs` robustness (issue 18, item 5): all processes stop together, and a failed data
re-check never blanks a new page while good data is in memory. Real servers on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from serving import free_port, listening

pytestmark = pytest.mark.slow

DATASET_NAME = "tiny-world"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("workers") / DATASET_NAME
    command = [sys.executable, "-m", "tspanel", "generate", str(path), "--flags", "3000", "--days", "30"]
    subprocess.run([*command, "--format", "csv"], check=True, capture_output=True, timeout=300)
    return path


@contextlib.contextmanager
def started(args: list[str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`tspanel serve` with ARGS; on the way out, every process it started is gone (killed by pid if needed)."""
    command = [sys.executable, "-m", "tspanel", "serve", "--no-show", "--port", str(port), *args]
    with log.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    family: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 180
        while not listening(port, log):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        family = psutil.Process(proc.pid).children(recursive=True)
        yield proc
    finally:
        for p in [psutil.Process(proc.pid), *family] if proc.poll() is None else family:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        proc.wait(timeout=30)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_sigterm_to_the_main_process_stops_every_worker(data: Path, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with started(["--data", str(data), "--num-procs", "2"], port, log) as proc:
        workers = [c.pid for c in psutil.Process(proc.pid).children() if "tspanel" in " ".join(c.cmdline())]
        assert len(workers) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in workers), "workers outlived the main process"
        assert not _accepts(port), "something still listens on the port"
    assert "Traceback" not in log.read_text()


def _page_has_data(port: int) -> bool:
    """A new session, opened over the websocket as a browser does, shows the dataset's name."""
    import panel.models  # noqa: F401  (the client must know every model class the page holds)
    import panel_material_ui  # noqa: F401
    from bokeh.client import pull_session

    import tspanel.ui.session  # noqa: F401

    def open_session() -> bool:
        session = pull_session(url=f"http://127.0.0.1:{port}/")
        try:
            return any(DATASET_NAME in str(getattr(m, "text", "")) for m in session.document.models)
        finally:
            session.close()

    with ThreadPoolExecutor(max_workers=1) as pool:  # Bokeh's client runs an event loop of its own
        return pool.submit(open_session).result(timeout=300)


@pytest.mark.parametrize(
    ("interval", "logged"),
    [
        ("0", "serving the data loaded before"),  # no watcher: each new session re-checks the files
        ("1", "was rejected; still serving the data loaded at"),  # each worker's DataWatcher re-checks them
    ],
)
def test_new_sessions_keep_working_when_the_data_directory_goes_away(
    data: Path, tmp_path: Path, interval: str, logged: str
) -> None:
    served = tmp_path / DATASET_NAME
    shutil.copytree(data, served)
    port = free_port()
    log = tmp_path / "serve.log"
    settle = float(interval) * 2  # let a watcher see each change before the next sessions open
    with started(["--data", str(served), "--num-procs", "2", "--reload-interval", interval], port, log):
        assert _page_has_data(port)
        moved = tmp_path / "moved-away"
        served.rename(moved)  # (as root, chmod 000 would not stop the server from reading)
        time.sleep(settle)
        for _ in range(2):  # new sessions, on either worker
            assert _page_has_data(port)
        moved.rename(served)
        (served / "flags.csv").write_text("not,a,flags,file\n1,2,3,4\n")  # a re-check that fails validation
        time.sleep(settle)
        for _ in range(2):
            assert _page_has_data(port)
    text = log.read_text()
    assert logged in text and "Traceback" not in text
