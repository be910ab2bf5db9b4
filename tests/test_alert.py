"""`tspanel alert` end to end: real apprise JSON webhooks to a loopback receiver, real files."""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import polars as pl
import pytest

from tspanel.alerting import dispatch, read_state, write_state
from tspanel.cli import main
from tspanel.models.attention import AttentionItem
from tspanel.notify import destination
from tspanel.synth import WorldConfig, write_world
from webhook_receiver import WebhookReceiver

SECRET = "hunter2-Sup3rSecret"
BASE = "http://dash.test:5006/"

ATTACK_TITLE = "tspanel critical: Coordinated attack alert: spam on 2026-11-18 (score 21.8, 678 flags)"
CLASSIFIER_TITLE = "tspanel warning: Classifier warning: 7-day mean score 0.783 (baseline 0.86, alert at 0.78)"
GROWTH_TITLE = "tspanel warning: spam up 43% week over week (1,170 -> 1,678 flags)"
SLA_RATE_TITLE = (
    "tspanel critical: SLA breach rate 50.5% over the last 7 days (271 of 537 high/critical cases over 24 h; target 5%)"
)
SLA_48 = 48  # hours: the SLA the tests that append a day use (see append_attack_day)
BACKLOG_TITLE = "tspanel warning: Open backlog 1,182 cases, 258% above its norm of 330 (same weekday, 4 weeks)"


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server


@pytest.fixture(scope="module")
def world_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in world (seed 42) written as a Parquet dataset: flags/part-00000.parquet."""
    out = tmp_path_factory.mktemp("world") / "data"
    write_world(WorldConfig(), out, "parquet")
    return out


def alert(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["alert", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def titles(receiver: WebhookReceiver) -> list[str]:
    return [m["title"] for m in receiver.messages()]


def test_builtin_world_sends_the_expected_alerts_once(receiver, tmp_path, capsys):
    state = tmp_path / "state.json"
    code, out, _ = alert(capsys, "--notify", receiver.url(), "--state", str(state), "--base-url", BASE)
    assert code == 1  # new alerts were sent
    got = titles(receiver)
    # Critical first: last week's SLA breach rate, the last attack; then the warnings.
    assert got == [SLA_RATE_TITLE, ATTACK_TITLE, CLASSIFIER_TITLE, BACKLOG_TITLE, GROWTH_TITLE]

    attack = receiver.messages()[1]
    assert attack["type"] == "failure"  # apprise's type for a critical item
    assert "- score: 21.82" in attack["message"]
    assert "- flags: 678" in attack["message"]
    assert (
        "[Open the dashboard view](http://dash.test:5006/?tab=attacks&start=2026-11-18&end=2026-11-18"
        "&categories=spam&method=multisignal&threshold=4)"
    ) in attack["message"]
    growth = receiver.messages()[4]
    assert growth["type"] == "warning"
    assert "- previous week: 1,170" in growth["message"] and "- this week: 1,678" in growth["message"]
    assert "sent [critical] Coordinated attack alert: spam on 2026-11-18" in out

    # Cron runs it again: nothing new, nothing sent.
    receiver.clear()
    code, out, _ = alert(capsys, "--notify", receiver.url(), "--state", str(state), "--base-url", BASE)
    assert code == 0
    assert receiver.messages() == []
    assert "nothing new to send" in out


def append_attack_day(data: Path) -> None:
    """A new part file with 2026-11-22: the organic traffic of 11-21 and the spam campaign of 11-18.

    The day's review cases are closed within 2 hours and its scores are 0.80, so the queue
    and the classifier do not change state: the only new condition is the attack. (The
    world's still-open cases do age by a day: 31 high/critical ones cross 24 h on the new
    day, oldest 35.8 h, so the tests that append set the SLA rules to 48 h, which none reach.)
    """
    flags = pl.read_parquet(data / "flags")
    organic = flags.filter((pl.col("date") == dt.date(2026, 11, 21)) & ~pl.col("coordinated_flag"))
    campaign = flags.filter((pl.col("date") == dt.date(2026, 11, 18)) & pl.col("coordinated_flag"))

    def shift(frame: pl.DataFrame, days: int) -> pl.DataFrame:
        by = pl.duration(days=days)
        return frame.with_columns(pl.col("date", "created_at", "assigned_at", "resolved_at") + by)

    review = pl.col("action") == "human_review"
    day = pl.concat([shift(organic, 1), shift(campaign, 4)]).with_columns(
        pl.concat_str(pl.lit("F20261122-"), pl.int_range(pl.len()).cast(pl.String).str.zfill(6)).alias("flag_id"),
        pl.lit(0.80).alias("ml_score"),
        pl.when(review).then(2.0).alias("resolution_hrs"),
        pl.when(review).then(pl.col("created_at") + pl.duration(hours=1)).alias("assigned_at"),
        pl.when(review).then(pl.col("created_at") + pl.duration(hours=2)).alias("resolved_at"),
    )
    assert day.filter(pl.col("category") == "spam").height == 685
    day.write_parquet(data / "flags" / "part-00001.parquet")


def test_a_new_attack_day_in_appended_data_sends_exactly_one_alert(world_parquet, receiver, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(world_parquet, data)
    args = ["--data", str(data), "--notify", receiver.url(), "--state", str(tmp_path / "state.json")]
    args += ["--rule", f"sla_hours={SLA_48}"]  # see append_attack_day
    assert alert(capsys, *args)[0] == 1
    assert len(receiver.messages()) == 5
    receiver.clear()

    append_attack_day(data)
    code, out, _ = alert(capsys, *args)
    assert code == 1
    assert titles(receiver) == [
        "tspanel critical: Coordinated attack alert: spam on 2026-11-22 (score 19.1, 685 flags)"
    ]
    assert "as of 2026-11-23 00:00 UTC" in out


def test_a_failing_destination_is_reported_retried_and_its_secret_never_shown(receiver, tmp_path, capsys, caplog):
    state = tmp_path / "state.json"
    with WebhookReceiver() as failing:
        failing.status = 500
        secret_url = failing.url(user="alice", password=SECRET)
        args = ["--notify", receiver.url(), "--notify", secret_url, "--state", str(state)]
        code, out, err = alert(capsys, *args)
        assert code == 3  # a destination failed
        assert len(receiver.messages()) == 5  # the healthy destination got everything
        assert failing.messages() == []
        label = f"json://alice:****@127.0.0.1:{failing.port}/hook"
        assert f"{label}: delivery failed:" in err
        assert "500" in err
        assert "5 alerts will be retried on the next run" in err

        # Next run: the service is back; it gets the four, the other destination nothing again.
        failing.status = 200
        receiver.clear()
        code, out2, err2 = alert(capsys, *args)
        assert code == 1
        assert receiver.messages() == []
        assert len(failing.messages()) == 5
        assert f"-> {label}" in out2
        # The secret did reach the service (HTTP basic auth), and nothing else.
        auth = failing.received[0].headers["Authorization"]
        assert base64.b64decode(auth.split()[1]).decode() == f"alice:{SECRET}"

        assert alert(capsys, *args)[0] == 0
    shown = out + err + out2 + err2 + caplog.text + state.read_text()
    assert SECRET not in shown
    saved = json.loads(state.read_text())
    (entries,) = saved["scopes"].values()
    assert sorted(e["label"] for e in entries.values()) == sorted([label, f"json://127.0.0.1:{receiver.port}/hook"])
    assert all(len(e["sent"]) == 5 and e["last_error"] is None for e in entries.values())


def test_a_fresh_process_never_prints_the_secret(tmp_path):
    with WebhookReceiver() as failing:
        failing.status = 500
        url = failing.url("hooks/" + SECRET, user="ops", password=SECRET)
        done = subprocess.run(
            [sys.executable, "-m", "tspanel", "alert", "--notify", url, "--state", str(tmp_path / "s.json")],
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 3
    assert "delivery failed" in done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert SECRET not in (tmp_path / "s.json").read_text()


def test_dry_run_sends_nothing_and_writes_no_state(receiver, tmp_path, capsys):
    state = tmp_path / "state.json"
    code, out, _ = alert(capsys, "--notify", receiver.url(), "--state", str(state), "--dry-run")
    assert code == 1  # there are new alerts
    assert out.count("would send") == 5
    assert receiver.messages() == []
    assert not state.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--notify", "nope://ops:topsecret@example.org"], "nope://…: not a notification URL apprise understands"),
        ([], "give at least one destination with --notify URL"),
        (["--notify", "json://127.0.0.1:9/x", "--base-url", "dash.test"], "--base-url 'dash.test'"),
    ],
)
def test_bad_input_exits_2_with_a_message(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TSPANEL_NOTIFY", raising=False)
    code, out, err = alert(capsys, *args, "--state", str(tmp_path / "s.json"))
    assert code == 2
    assert message in err
    assert "topsecret" not in out + err
    assert not (tmp_path / "s.json").exists()


def test_a_corrupt_state_file_exits_2(receiver, tmp_path, capsys):
    state = tmp_path / "state.json"
    state.write_text("{not json")
    code, _, err = alert(capsys, "--notify", receiver.url(), "--state", str(state))
    assert code == 2
    assert "cannot read it" in err
    assert receiver.messages() == []


def test_destinations_from_the_environment(receiver, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TSPANEL_NOTIFY", receiver.url("a") + " " + receiver.url("b"))
    assert alert(capsys, "--state", str(tmp_path / "s.json"))[0] == 1
    assert sorted({r.path for r in receiver.received}) == ["/a", "/b"]
    assert len(receiver.received) == 10


def item(key: str, title: str) -> AttentionItem:
    return AttentionItem(
        kind="backlog", severity="warning", key=key, title=title, numbers={"open": 12}, view="?tab=queue"
    )


def test_a_condition_that_clears_and_comes_back_is_sent_again(receiver, tmp_path):
    target = destination(receiver.url())
    state = read_state(tmp_path / "state.json")

    def run(items):
        (outcome,) = dispatch(items, [target], state, scope="s", dataset="d", as_of="now", base_url=BASE)
        write_state(state)
        return [i.key for i in outcome.sent]

    assert run([item("backlog", "Open backlog 12")]) == ["backlog"]
    assert run([item("backlog", "Open backlog 14")]) == []  # same condition, new numbers: not re-sent
    assert run([]) == []  # cleared
    assert run([item("backlog", "Open backlog 20")]) == ["backlog"]  # back again
    assert titles(receiver) == ["tspanel warning: Open backlog 12", "tspanel warning: Open backlog 20"]
    assert "- open: 12" in receiver.messages()[0]["message"]


def test_rules_change_what_is_sent(receiver, tmp_path, capsys):
    args = ["--notify", receiver.url(), "--state", str(tmp_path / "s.json")]
    code, _, _ = alert(capsys, *args, "--rule", "growth_pct=50", "--rule", "classifier_warning=false")
    assert code == 1
    # spam's 43% growth and the classifier warning stay quiet
    assert titles(receiver) == [SLA_RATE_TITLE, ATTACK_TITLE, BACKLOG_TITLE]


def test_a_server_sends_new_alerts_on_each_reload(world_parquet, receiver, tmp_path):
    from tspanel.alerting import ReloadAlerter
    from tspanel.reload import DataWatcher

    data = tmp_path / "data"
    shutil.copytree(world_parquet, data)
    watcher = DataWatcher(data)
    rules = {"sla_hours": SLA_48}  # see append_attack_day
    alerter = ReloadAlerter(watcher, [destination(receiver.url())], tmp_path / "state.json", base_url=BASE, rules=rules)
    alerter.run()  # at start
    assert len(titles(receiver)) == 5
    assert titles(receiver)[1:] == [ATTACK_TITLE, CLASSIFIER_TITLE, BACKLOG_TITLE, GROWTH_TITLE]
    receiver.clear()
    append_attack_day(data)
    assert watcher.check() is True  # the reload runs the rules
    assert titles(receiver) == [
        "tspanel critical: Coordinated attack alert: spam on 2026-11-22 (score 19.1, 685 flags)"
    ]
    receiver.clear()
    # `tspanel alert` on the same directory and state file has nothing left to send.
    assert (
        main(
            [
                "alert",
                "--data",
                str(data),
                "--notify",
                receiver.url(),
                "--state",
                str(tmp_path / "state.json"),
                "--rule",
                f"sla_hours={SLA_48}",
            ]
        )
        == 0
    )
    assert receiver.messages() == []
    alerter.close()


def test_hostile_data_in_an_alert_stays_text():
    from tspanel.alerting import message

    hostile = "spam](https://evil.example/) <img src=x onerror=alert(1)>"
    item = AttentionItem(
        kind="growth",
        severity="warning",
        key=f"growth:{hostile}",
        title=f"{hostile} up 40% week over week\n# heading",
        numbers={"category": hostile},
        view="?tab=volume&categories=" + quote(hostile, safe=""),
    )
    title, body = message(item, dataset="d", as_of="now", base_url=BASE)
    assert "\n" not in title
    assert body.count("](") == body.count("\\](") + 1  # only the dashboard link is a link
    assert r"spam\](https://evil.example/) \<img src=x onerror=alert(1)\>" in body
    assert "\n# heading" not in body
    assert body.endswith(
        "[Open the dashboard view](http://dash.test:5006/?tab=volume&categories="
        "spam%5D%28https%3A%2F%2Fevil.example%2F%29%20%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E)"
    )
