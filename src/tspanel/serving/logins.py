"""Revocable logins: a server-side session id next to Panel's signed ``user`` cookie.

Why: Panel's login is a signed cookie holding the user name, valid for a day whatever happens
on the server: ``/logout`` only asked the browser to forget it, and a user removed from the
users file kept their access. Here each login also gets a random session id (cookie
``tspanel_session``, HttpOnly), recorded in a store every worker process shares; a request
whose ``user`` cookie has no live session id of the same user, or whose user has left the
users file, is stripped of its login cookies before Panel sees it, so Panel sends it to the
login page. Logging out deletes the id; so does its expiry. Open pages of a revoked login
are closed within ``SWEEP_SECONDS``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import shutil
import sqlite3
import tempfile
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from tornado.web import decode_signed_value

from tspanel.errors import TspanelError
from tspanel.server import read_basic_auth
from tspanel.serving.guard import EveryInterval

log = logging.getLogger("tspanel.serve")

SESSION_COOKIE = "tspanel_session"
AUTH_COOKIES = ("user", "id_token", "access_token", "refresh_token", "oauth_expiry", SESSION_COOKIE)
SWEEP_SECONDS = 5.0
LOGOUT_URL: str | None = None
"""Set by `tspanel serve` when a login is required: the page then shows a logout link."""


def _key(session_id: str) -> str:
    """The store holds a hash, so a copy of it logs nobody in."""
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    """Live login sessions in a SQLite file in a private directory, shared by forked workers.

    Created by the main process before Panel forks; each process opens its own connection.
    Only the creating process deletes the directory (``close``).
    """

    def __init__(self, lifetime_seconds: float, directory: Path | None = None):
        self.lifetime = lifetime_seconds
        self.directory = Path(directory or tempfile.mkdtemp(prefix="tspanel-logins-"))
        self.directory.chmod(0o700)
        self.path = self.directory / "sessions.sqlite3"
        self._owner = os.getpid()
        self._pid: int | None = None
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS sessions (key TEXT PRIMARY KEY, user TEXT, expires REAL)")

    def _db(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():  # a forked worker opens its own
            self._conn = sqlite3.connect(self.path, timeout=10, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._pid = os.getpid()
        return self._conn

    def create(self, user: str) -> str:
        session_id = secrets.token_urlsafe(32)
        now = time.time()
        with self._lock:
            db = self._db()
            db.execute("DELETE FROM sessions WHERE expires < ?", (now,))
            db.execute("INSERT INTO sessions VALUES (?, ?, ?)", (_key(session_id), user, now + self.lifetime))
        return session_id

    def user(self, session_id: str) -> str | None:
        with self._lock:
            row = (
                self._db()
                .execute("SELECT user FROM sessions WHERE key = ? AND expires >= ?", (_key(session_id), time.time()))
                .fetchone()
            )
        return None if row is None else str(row[0])

    def revoke(self, session_id: str) -> None:
        with self._lock:
            self._db().execute("DELETE FROM sessions WHERE key = ?", (_key(session_id),))

    def close(self) -> None:
        if os.getpid() == self._owner:
            shutil.rmtree(self.directory, ignore_errors=True)


class UsersFile:
    """The ``--basic-auth`` file, re-read whenever it changes on disk.

    ``passwords`` is the very dict Panel's login page checks, updated in place, so a user
    added to or removed from the file can or cannot log in from the next request on. A file
    that cannot be read or parsed allows nobody (and says so in the log) until it is fixed.
    """

    def __init__(self, path: Path, passwords: dict[str, str]):
        self.path = path
        self.passwords = dict(passwords)
        self._stamp = self._stat()
        self._throttle = EveryInterval()

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def users(self) -> dict[str, str]:
        stamp = self._stat()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                fresh = read_basic_auth(self.path)
            except TspanelError as exc:
                fresh = {}
                if self._throttle("unreadable") is not None:
                    log.warning("%s; nobody can log in until it is fixed", exc)
            self.passwords.clear()
            self.passwords.update(fresh)
        return self.passwords


class Logins:
    """Decides whether a request's login is still live, and records logins and logouts."""

    def __init__(self, store: SessionStore, cookie_secret: str, users: UsersFile | None, max_age_days: float):
        self.store = store
        self.secret = cookie_secret
        self.users = users
        self.max_age_days = max_age_days

    def live(self, cookies: SimpleCookie) -> bool:
        """True when the cookies carry no login, or a login that has not been revoked."""
        if "user" not in cookies:
            return True
        raw = decode_signed_value(self.secret, "user", cookies["user"].value, max_age_days=self.max_age_days)
        if raw is None:
            return False
        user = raw.decode("utf-8", "replace")
        if self.users is not None and user not in self.users.users():
            return False
        session = cookies.get(SESSION_COOKIE)
        return session is not None and self.store.user(session.value) == user

    def admit(self, request: Any) -> None:
        """Strip a dead login's cookies from ``request``: Panel then treats it as logged out."""
        if self.users is not None:
            self.users.users()  # keep Panel's password dict current for the login page
        cookies = request.cookies
        if not self.live(cookies):
            for name in AUTH_COOKIES:
                if name in cookies:
                    del cookies[name]

    def logged_in(self, handler: Any, signed_user: str) -> None:
        """Panel set the ``user`` cookie: start a new session (and end the one the browser had)."""
        raw = decode_signed_value(self.secret, "user", signed_user, max_age_days=self.max_age_days)
        if raw is None:
            return
        old = handler.request.cookies.get(SESSION_COOKIE)
        if old is not None:
            self.store.revoke(old.value)
        session_id = self.store.create(raw.decode("utf-8", "replace"))
        handler.set_cookie(
            SESSION_COOKIE, session_id, expires_days=self.max_age_days, httponly=True, path=handler_cookie_path()
        )

    def logged_out(self, handler: Any) -> None:
        """Panel cleared the ``user`` cookie (``/logout``): end the session for good."""
        old = handler.request.cookies.get(SESSION_COOKIE)
        if old is not None:
            self.store.revoke(old.value)
        handler.clear_cookie(SESSION_COOKIE, path=handler_cookie_path())

    def sweep(self, tornado_app: Any) -> None:
        """Close the websocket of every open page whose login was revoked since it opened."""
        for connection in list(getattr(tornado_app, "_clients", ())):
            socket = getattr(connection, "_socket", None)
            request = getattr(socket, "request", None)
            if request is not None and not self.live(request.cookies):
                log.info("closing a page whose login was revoked")
                socket.close()


def handler_cookie_path() -> str:
    from panel.config import config

    return str(config.cookie_path or "/")
