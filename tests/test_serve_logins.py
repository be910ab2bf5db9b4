"""Revocable logins and a protected cookie secret (issue 18, item 4), over real HTTP.

One `tspanel serve --basic-auth` on 127.0.0.1 whose users file the tests edit. Before issue
18, `/logout` only asked the browser to forget its cookie: the same cookie value kept working
for a day, even for a user removed from the file; and any TSPANEL_COOKIE_SECRET was accepted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from bokeh.util.token import get_token_payload

from hardening import request, websocket_status
from serving import free_port, serving

pytestmark = pytest.mark.slow

COOKIE_SECRET = "logins-test-secret-Zq8v3KpLx2Rw9TnB4yHs7MdE"
USERS = {"alice": "alice-password-1", "bob": "bob-password-2", "carol": "carol-password-3"}


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, Path]]:
    """(port, users file, log) of a logged-in server."""
    tmp = tmp_path_factory.mktemp("logins")
    users = tmp / "users.json"
    users.write_text(json.dumps(USERS))
    log = tmp / "serve.log"
    port = free_port()
    env = {**os.environ, "TSPANEL_COOKIE_SECRET": COOKIE_SECRET}
    with serving(["--basic-auth", str(users)], port, log, env):
        yield port, users, log


def _login(port: int, user: str, headers: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """(Cookie header value, raw Set-Cookie lines) of a fresh login."""
    response, _ = request(
        port,
        "POST",
        "/login",
        {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        f"username={user}&password={USERS[user]}",
    )
    assert response.status == 302
    lines = response.headers.get_all("Set-Cookie") or []
    cookies = [line.split(";", 1)[0] for line in lines]
    assert any(c.startswith("user=") for c in cookies)
    return "; ".join(c for c in cookies if c.split("=", 1)[1].strip('"')), lines


def _origin(port: int) -> dict[str, str]:
    return {"Origin": f"http://127.0.0.1:{port}"}


def _logged_in(port: int, cookies: str) -> bool:
    """The dashboard page is served (not the redirect to /login)."""
    response, body = request(port, "GET", "/", {"Cookie": cookies})
    if response.status == 302:
        assert response.headers["Location"].lstrip(".").startswith("/login")
        return False
    assert response.status == 200 and b"tspanel" in body
    return True


def test_logout_ends_the_session_for_the_old_cookie(secured: tuple[int, Path, Path]) -> None:
    port, _, _ = secured
    cookies, _ = _login(port, "alice")
    assert websocket_status(port, {**_origin(port), "Cookie": cookies}) == 101
    assert _logged_in(port, cookies)
    response, _ = request(port, "GET", "/logout", {"Cookie": cookies})
    assert response.status == 200
    # The browser would forget the cookie; an attacker who copied it replays it.
    assert not _logged_in(port, cookies)
    assert websocket_status(port, {**_origin(port), "Cookie": cookies}) != 101
    # Logging in again works, with a new session.
    again, _ = _login(port, "alice")
    assert again != cookies and websocket_status(port, {**_origin(port), "Cookie": again}) == 101


def test_removing_a_user_from_the_file_ends_their_sessions_and_logins(secured: tuple[int, Path, Path]) -> None:
    port, users, _ = secured
    bob, _ = _login(port, "bob")
    carol, _ = _login(port, "carol")
    assert websocket_status(port, {**_origin(port), "Cookie": bob}) == 101
    remaining = {k: v for k, v in USERS.items() if k != "bob"}
    users.write_text(json.dumps(remaining))
    time.sleep(0.05)
    try:
        assert not _logged_in(port, bob)
        assert websocket_status(port, {**_origin(port), "Cookie": bob}) != 101
        assert websocket_status(port, {**_origin(port), "Cookie": carol}) == 101  # others are untouched
        response, _ = request(
            port,
            "POST",
            "/login",
            {"Content-Type": "application/x-www-form-urlencoded"},
            f"username=bob&password={USERS['bob']}",
        )
        assert response.status == 302 and "error=" in response.headers["Location"]
    finally:
        users.write_text(json.dumps(USERS))


def test_a_forged_user_cookie_without_a_session_is_refused(secured: tuple[int, Path, Path]) -> None:
    from tornado.web import create_signed_value

    port, _, _ = secured
    forged = create_signed_value(COOKIE_SECRET, "user", "mallory").decode()
    assert websocket_status(port, {**_origin(port), "Cookie": f"user={forged}"}) != 101


def test_cookies_are_samesite_and_secure_behind_https_and_pages_cannot_be_framed(
    secured: tuple[int, Path, Path],
) -> None:
    port, _, _ = secured
    _, lines = _login(port, "carol")
    login_cookies = [line for line in lines if line.startswith(("user=", "id_token=", "tspanel_session="))]
    assert len(login_cookies) == 3
    for line in login_cookies:
        assert "HttpOnly" in line and "SameSite=Lax" in line and "Secure" not in line
    _, lines = _login(port, "carol", {"X-Forwarded-Proto": "https"})
    assert all("Secure" in line for line in lines if line.startswith(("user=", "tspanel_session=")))
    response, _ = request(port, "GET", "/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_the_page_html_does_not_carry_the_login_cookies(secured: tuple[int, Path, Path]) -> None:
    port, _, _ = secured
    cookies, _ = _login(port, "alice")
    response, body = request(port, "GET", "/", {"Cookie": cookies})
    assert response.status == 200
    html = body.decode()
    found = re.search(r"token\W{1,8}(eyJ[A-Za-z0-9_.-]+)", html)
    assert found, "no session token in the page"
    payload = get_token_payload(found.group(1))
    assert not set(payload.get("cookies", {})) & {"user", "id_token", "tspanel_session"}
    assert "Cookie" not in payload.get("headers", {}) and "cookie" not in payload.get("headers", {})
    for value in (c.split("=", 1)[1] for c in cookies.split("; ")):
        assert value not in json.dumps(payload) and value not in html


@pytest.mark.parametrize("secret", ["x", "short-secret", "a" * 64, "abab" * 16])
def test_a_weak_cookie_secret_is_refused_at_start_without_printing_it(secret: str) -> None:
    env = {**os.environ, "TSPANEL_COOKIE_SECRET": secret}
    command = [sys.executable, "-m", "tspanel", "serve", "--no-show", "--port", str(free_port())]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "TSPANEL_COOKIE_SECRET is too weak" in done.stderr and "secrets.token_urlsafe" in done.stderr
    assert secret not in done.stdout + done.stderr.replace("TSPANEL_COOKIE_SECRET", "")
    assert "Traceback" not in done.stderr
