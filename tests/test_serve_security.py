"""`tspanel serve` exposure rules: refused options, and real HTTP against a logged-in server.

The HTTP tests start one `tspanel serve --basic-auth` on 127.0.0.1 (a free port) and
talk raw HTTP to it: the dashboard needs a login, a websocket from a foreign Origin is
refused, /admin does not exist, and no secret reaches the server's output.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from serving import free_port, serving
from tspanel.cli import main
from tspanel.errors import TspanelError
from tspanel.server import check_cookie_secret, check_origin, exposure_from_args
from tspanel.ui.choices import Choices
from tspanel.ui.export import csv_buffer, to_csv
from tspanel.ui.url import filters_from_query

PASSWORD = "correct-horse-battery-staple-7"
COOKIE_SECRET = "cookie-secret-that-must-not-be-printed-0123456789"
OAUTH_SECRET = "oauth-secret-that-must-not-be-printed"


def _args(**overrides: object) -> argparse.Namespace:
    base: dict[str, object] = {
        "address": "127.0.0.1",
        "basic_auth": None,
        "oauth_provider": None,
        "oauth_key": None,
        "oauth_secret": None,
        "oauth_redirect_uri": None,
        "allow_origin": [],
        "insecure": False,
        "admin": False,
    }
    base.update(overrides)
    return argparse.Namespace(**base)


# --- the rules, without a server -------------------------------------------------------
def test_loopback_defaults_exact_origins_no_admin_and_a_fresh_cookie_secret() -> None:
    first = exposure_from_args(_args(), 5006, environ={})
    second = exposure_from_args(_args(), 5006, environ={})
    assert first.origins == ["localhost:5006", "127.0.0.1:5006"]
    assert first.auth is None and first.admin is False
    assert len(first.cookie_secret) >= 40 and first.cookie_secret != second.cookie_secret
    kwargs = first.serve_kwargs()
    assert kwargs["websocket_origin"] == ["localhost:5006", "127.0.0.1:5006"]
    assert kwargs["admin"] is False and "basic_auth" not in kwargs


def test_cookie_and_oauth_secrets_come_from_the_environment_and_stay_out_of_repr() -> None:
    env = {"TSPANEL_COOKIE_SECRET": COOKIE_SECRET, "TSPANEL_OAUTH_SECRET": OAUTH_SECRET}
    args = _args(oauth_provider="github", oauth_key="client-id", allow_origin=["dash.example.org:443"])
    exposure = exposure_from_args(argparse.Namespace(**{**vars(args), "address": "0.0.0.0"}), 8443, environ=env)
    assert exposure.cookie_secret == COOKIE_SECRET
    assert exposure.serve_kwargs()["oauth_secret"] == OAUTH_SECRET
    assert exposure.serve_kwargs()["oauth_provider"] == "github"
    assert exposure.origins == ["dash.example.org:443"]
    assert COOKIE_SECRET not in repr(exposure) and OAUTH_SECRET not in repr(exposure)


def test_cookie_secret_strength() -> None:
    hex64 = "3f9a0c7e1b2d4a6f8e0c1b3d5a7f9e2c4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a"
    for strong in ("Zq8v3KpLx2Rw9TnB4yHs7MdE-logins-test-secret", hex64):
        assert check_cookie_secret(strong) == strong
    for weak in ("x", "correct-horse", "a" * 64, "abab" * 16, "password" * 5):
        with pytest.raises(TspanelError, match="too weak") as info:
            check_cookie_secret(weak)
        assert weak not in str(info.value)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"address": "0.0.0.0"}, "--basic-auth FILE or --oauth-provider NAME, or pass --insecure"),
        ({"address": "0.0.0.0", "insecure": True}, "add --allow-origin HOST:PORT"),
        ({"allow_origin": ["*"]}, "wildcards are not allowed"),
        ({"allow_origin": ["*.example.org:80"]}, "wildcards are not allowed"),
        ({"allow_origin": ["example.org"]}, "use HOST:PORT"),
        ({"allow_origin": ["example.org:99999"]}, "use HOST:PORT"),
        ({"oauth_provider": "github"}, "also give --oauth-key"),
        ({"oauth_provider": "bogus", "oauth_key": "id"}, "'bogus' is not a provider Panel knows; choose from auth0,"),
        ({"oauth_key": "id"}, "--oauth-key needs --oauth-provider"),
        ({"oauth_provider": "github", "basic_auth": Path("users.json")}, "choose one way to log in"),
    ],
)
def test_refused_options_name_what_to_fix(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(TspanelError, match=message.replace("*", r"\*").replace("-", r"\-")):
        exposure_from_args(_args(**overrides), 5006, environ={})


def test_origins_are_normalised_and_given_ones_replace_the_defaults() -> None:
    assert check_origin("https://Dash.Example.org:443/") == "dash.example.org:443"
    assert check_origin("[::1]:5006") == "[::1]:5006"
    exposure = exposure_from_args(
        _args(address="0.0.0.0", insecure=True, allow_origin=["a.example:80", "a.example:80", "10.0.0.5:5006"]),
        5006,
        environ={},
    )
    assert exposure.origins == ["a.example:80", "10.0.0.5:5006"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("alice:secret", "not JSON"),
        ('["alice"]', "expected a JSON object"),
        ('{"alice": ""}', "needs a non-empty string password"),
    ],
)
def test_bad_basic_auth_files_are_refused(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "users.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(TspanelError, match=message):
        exposure_from_args(_args(basic_auth=path), 5006, environ={})


def test_cli_refuses_a_public_address_without_login(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--no-show", "--address", "0.0.0.0", "--port", "5999"]) == 2
    err = capsys.readouterr().err
    assert "--address 0.0.0.0" in err and "--insecure" in err and "Traceback" not in err


# --- a real server ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """`tspanel serve --basic-auth` on 127.0.0.1; yields (port, log file)."""
    tmp = tmp_path_factory.mktemp("secured")
    users = tmp / "users.json"
    users.write_text(json.dumps({"alice": PASSWORD}))
    log = tmp / "serve.log"
    port = free_port()
    env = {**os.environ, "TSPANEL_COOKIE_SECRET": COOKIE_SECRET}
    with serving(["--basic-auth", str(users)], port, log, env):
        yield port, log


def _request(port: int, method: str, path: str, headers: dict[str, str] | None = None, body: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    content = response.read()
    conn.close()
    return response, content


def _login_cookies(port: int) -> str:
    response, _ = _request(
        port,
        "POST",
        "/login",
        {"Content-Type": "application/x-www-form-urlencoded"},
        f"username=alice&password={PASSWORD}",
    )
    assert response.status == 302
    cookies = [c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie") or []]
    assert any(c.startswith("user=") for c in cookies)
    return "; ".join(cookies)


def _websocket_status(port: int, origin: str, cookies: str) -> int:
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        "Origin": origin,
        "Cookie": cookies,
    }
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/ws", headers=headers)
    status = conn.getresponse().status
    conn.close()
    return status


def test_without_login_the_dashboard_redirects_to_the_login_page(secured: tuple[int, Path]) -> None:
    port, _ = secured
    response, body = _request(port, "GET", "/")
    assert response.status == 302
    assert response.headers["Location"].lstrip(".").startswith("/login")
    assert b"Trust & Safety" not in body
    response, body = _request(port, "GET", "/login")
    assert response.status == 200 and b'name="password"' in body


def test_a_wrong_password_does_not_log_in(secured: tuple[int, Path]) -> None:
    port, _ = secured
    response, _ = _request(
        port, "POST", "/login", {"Content-Type": "application/x-www-form-urlencoded"}, "username=alice&password=nope"
    )
    assert response.status == 302 and "error=" in response.headers["Location"]
    assert not any(c.startswith("user=") for c in response.headers.get_all("Set-Cookie") or [])


def test_admin_page_is_off(secured: tuple[int, Path]) -> None:
    port, _ = secured
    cookies = _login_cookies(port)
    response, _ = _request(port, "GET", "/admin", {"Cookie": cookies})
    assert response.status == 404


def test_websocket_from_a_foreign_origin_is_refused(secured: tuple[int, Path]) -> None:
    port, _ = secured
    cookies = _login_cookies(port)
    assert _websocket_status(port, "http://evil.example:80", cookies) == 403
    assert _websocket_status(port, f"http://127.0.0.1:{port + 1}", cookies) == 403
    # The same request from the server's own origin passes the origin check (101 upgrade).
    assert _websocket_status(port, f"http://127.0.0.1:{port}", cookies) == 101


def test_logged_in_user_gets_the_dashboard_and_no_secret_is_printed(secured: tuple[int, Path]) -> None:
    port, log = secured
    cookies = _login_cookies(port)
    response, body = _request(port, "GET", "/", {"Cookie": cookies})
    assert response.status == 200 and b"tspanel" in body
    text = log.read_text()
    assert "login: basic auth" in text and f"127.0.0.1:{port}" in text
    for secret in (PASSWORD, COOKIE_SECRET):
        assert secret not in text


# --- hostile input: URLs and CSV downloads ----------------------------------------------
def _choices() -> Choices:
    return Choices(
        categories=("spam", "fraud", "a,b"),
        regions=("EMEA", "<b>X</b>"),
        severities=("low", "high"),
        actions=("no_action", "removed"),
        reviewers=("R01",),
        reviewer_names={},
    )


def test_url_filters_keep_only_the_datas_own_values() -> None:
    query = (
        "?start=2026-13-45&end=2026-09-10"
        "&categories=spam,%3Cscript%3Ealert(1)%3C%2Fscript%3E,nope"
        "&regions=%3Cb%3EX%3C%2Fb%3E&regions=javascript:alert(3)"
        "&severities=critical&actions=removed,removed&unknown_key=1"
    )
    out = filters_from_query(query, _choices(), dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    assert out["start"] is None  # 2026-13-45 is not a date: ignored
    assert out["end"] == dt.date(2026, 9, 10)
    assert out["categories"] == ["spam"]
    assert out["regions"] == ["<b>X</b>"]  # a real value of the data, however odd, is kept
    assert out["severities"] == []
    assert out["actions"] == ["removed"]
    assert "unknown_key" not in out


def test_url_filters_from_session_args_with_bad_bytes_do_not_raise() -> None:
    args = {"categories": [b"\xff\xfe", b"a,b"], "start": [b"2026-09-05"], "end": [b"\x00"]}
    out = filters_from_query(args, _choices(), dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    assert out["categories"] == ["a,b"]
    assert out["start"] == dt.date(2026, 9, 5) and out["end"] is None


def test_csv_download_neutralises_formula_cells() -> None:
    frame = pl.DataFrame(
        {
            "category": ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tx", "\ry", "plain", "a=b"],
            "flags": [1, -2, 3, 4, 5, 6, 7, 8],
        }
    ).with_columns(pl.col("category").cast(pl.Categorical))
    text = to_csv(frame)
    lines = text.splitlines()
    assert lines[0] == "category,flags"
    assert lines[1] == '"\'=HYPERLINK(""http://x"")",1'
    assert lines[2:6] == ["'+1,-2", "'-2,3", "'@SUM(A1),4", "'\tx,5"]  # numbers are left alone
    assert "'\ry" in text
    assert lines[-2:] == ["plain,7", "a=b,8"]
    assert csv_buffer(frame).getvalue().startswith("\ufeff".encode())
