"""DNS rebinding (issue 18, item 1): a foreign ``Host`` is refused on every HTTP and websocket request.

A page on ``evil.test`` whose name is rebound to 127.0.0.1 sends ``Host: evil.test:PORT`` and
``Origin: http://evil.test:PORT``. Tornado 6.5+ skips Bokeh's origin check when the two match,
so before issue 18 the upgrade got 101 and the page got the dashboard. Each test starts a real
`tspanel serve` on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hardening import request, websocket_status
from serving import free_port, serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def loopback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The default server: 127.0.0.1, no login, default origins."""
    port = free_port()
    with serving([], port, tmp_path_factory.mktemp("loopback") / "serve.log"):
        yield port


@pytest.fixture(scope="module")
def listed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """127.0.0.1 (loopback only, for the test) with one explicit --allow-origin name."""
    port = free_port()
    args = ["--allow-origin", f"dash.example.org:{port}"]
    with serving(args, port, tmp_path_factory.mktemp("listed") / "serve.log"):
        yield port


def _rebound(port: int, name: str = "evil.test") -> dict[str, str]:
    return {"Host": f"{name}:{port}", "Origin": f"http://{name}:{port}"}


def test_rebinding_is_refused_on_loopback(loopback: int) -> None:
    port = loopback
    assert websocket_status(port, _rebound(port)) == 403
    response, body = request(port, "GET", "/", _rebound(port))
    assert response.status == 403 and b"Trust & Safety" not in body
    # A rebound top-level navigation sends no Origin: Host alone refuses it.
    response, _ = request(port, "GET", "/", {"Host": f"evil.test:{port}"})
    assert response.status == 403
    response, _ = request(port, "GET", "/favicon.ico", {"Host": f"evil.test:{port}"})
    assert response.status == 403
    # Sec-Fetch-Site: same-origin also makes Tornado skip the origin check.
    headers = {"Host": f"127.0.0.1:{port}", "Origin": f"http://evil.test:{port}", "Sec-Fetch-Site": "same-origin"}
    assert websocket_status(port, headers) == 403


def test_the_servers_own_names_still_work_on_loopback(loopback: int) -> None:
    port = loopback
    for name in ("127.0.0.1", "localhost"):
        assert websocket_status(port, _rebound(port, name)) == 101
        response, _ = request(port, "GET", "/favicon.ico", {"Host": f"{name}:{port}"})
        assert response.status == 200
    # Right Host, foreign Origin: the origin is checked against the list, not against Host.
    assert websocket_status(port, {"Host": f"127.0.0.1:{port}", "Origin": "http://evil.test"}) == 403
    response, _ = request(port, "POST", "/", {"Host": f"127.0.0.1:{port}", "Origin": "null"}, "x=1")
    assert response.status == 403


def test_rebinding_is_refused_with_allow_origin(listed: int) -> None:
    port = listed
    assert websocket_status(port, _rebound(port)) == 403
    assert request(port, "GET", "/", _rebound(port))[0].status == 403
    # Only the listed name: the address the server happens to answer on is not one.
    assert websocket_status(port, _rebound(port, "127.0.0.1")) == 403
    assert request(port, "GET", "/favicon.ico", {"Host": f"127.0.0.1:{port}"})[0].status == 403
    assert websocket_status(port, _rebound(port, "dash.example.org")) == 101
    assert request(port, "GET", "/favicon.ico", {"Host": f"dash.example.org:{port}"})[0].status == 200


def test_refusals_are_logged_once_per_interval_without_a_traceback(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with serving([], port, log):
        for _ in range(20):
            assert request(port, "GET", "/nothing", {"Host": f"evil.test:{port}"})[0].status == 403
    text = log.read_text()
    assert text.count("refused GET") == 1 and "evil.test" not in text and "Traceback" not in text
