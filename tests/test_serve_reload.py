"""`tspanel serve --reload-interval --notify`: a running server sends the alerts that new data brings, once.

A real server (subprocess on 127.0.0.1) watches a small Parquet world in tmp_path and sends
through apprise's JSON webhook to a loopback receiver. The state file is shared with
`tspanel alert` (same $XDG_STATE_HOME), so what a cron run already sent is not sent again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from serving import free_port, serving
from webhook_receiver import WebhookReceiver

SECRET = "hunter2-reload-secret"
# The appended day (a copy of 2026-09-22's flags, one day later) brings three new alert keys: a
# critical case now past the SLA (the breach item was a warning: 40 high cases), the new attack
# day, and spam's week-over-week growth. The other items of the cron run keep their keys.
NEW_ALERTS = [
    "tspanel critical: 61 open high/critical cases past the 24 h SLA (1 critical, 60 high); oldest 124.4 h",
    "tspanel critical: Coordinated attack alert: spam on 2026-09-23 (score 5.4, 146 flags)",
    "tspanel warning: spam up 38% week over week (332 -> 457 flags)",
]


def tspanel(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tspanel", *args], capture_output=True, text=True, timeout=180, env=env, check=False
    )


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server


@pytest.mark.slow
def test_a_reload_sends_only_the_new_alert_and_never_shows_the_secret(receiver, tmp_path, append_day):
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    data = tmp_path / "data"
    made = tspanel("generate", str(data), "--format", "parquet", "--days", "30", "--flags", "3000", "-q", env=env)
    assert made.returncode == 0, made.stderr
    url = receiver.url(user="ops", password=SECRET)

    cron = tspanel("alert", "--data", str(data), "--notify", url, env=env)  # what cron already sent
    assert cron.returncode == 1, cron.stderr
    assert len(receiver.messages()) == 9
    receiver.clear()

    log = tmp_path / "serve.log"
    with serving(["--data", str(data), "--reload-interval", "1", "--notify", url], free_port(), log, env=env):
        assert f"alerts after each reload to json://ops:****@127.0.0.1:{receiver.port}/hook" in log.read_text()
        time.sleep(2.5)  # unchanged files: no reload, nothing sent
        assert receiver.messages() == []
        append_day(data, tmp_path)
        deadline = time.monotonic() + 30
        while not receiver.messages() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2.5)  # the rest of that reload's alerts, and any (wrong) repeat at the next interval
        assert [m["title"] for m in receiver.messages()] == NEW_ALERTS
        assert "Coordinated attack alert: spam on 2026-09-23" in receiver.messages()[1]["message"]
    assert SECRET not in log.read_text()


def test_notify_without_data_to_watch_is_refused_before_loading(tmp_path):
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    env.pop("TSPANEL_DATA", None)
    url = f"json://ops:{SECRET}@127.0.0.1:9/hook"
    result = tspanel("serve", "--no-show", "--notify", url, env=env)
    assert result.returncode == 2
    assert "the built-in world never changes" in result.stderr
    off = tspanel("serve", "--no-show", "--data", str(tmp_path), "--reload-interval", "0", "--notify", url, env=env)
    assert off.returncode == 2
    assert "--reload-interval 0 turns reloading off" in off.stderr
    bad = tspanel("serve", "--no-show", "--reload-interval", "-1", env=env)
    assert bad.returncode == 2
    assert "use 0 (never reload)" in bad.stderr
    for run in (result, off, bad):
        assert SECRET not in run.stdout + run.stderr
        assert "Traceback" not in run.stderr
