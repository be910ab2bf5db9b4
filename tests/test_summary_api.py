"""The Claude path end to end: the real anthropic SDK over real HTTP to tests/messages_server.py.

Nothing in the SDK is patched: retries, timeouts and error mapping are the SDK's
own, and the server counts the requests it got. Retry delays are kept short with
retry-after headers, so no test waits more than about a second.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tspanel.cli as cli
from messages_server import MessagesServer, Reply, error, text_reply, tool_use
from test_summary import EXAMPLE_OFFLINE, example_payload
from tspanel.summary import ClaudeSettings, Report, build_report, render_html, render_markdown
from tspanel.summary.prompt import SYSTEM_PROMPT, TOOL_NAME
from tspanel.summary.sections import SECTIONS_SCHEMA

KEY = "sk-ant-api03-TSPANEL-TEST-KEY-7f3c9e1d-never-print-me"
FAST = {"retry-after": "0.05"}  # the SDK honours it instead of its 0.5 s+ backoff

CLAUDE_SECTIONS = {
    "top_risks": [
        "The classifier is in alert: its rolling score of 0.81 sits below the 0.82 threshold.",
        "A coordinated attack on hate_speech (score 0.91) drove that category up 67%.",
        "12.5% of eligible cases breached the 24 h SLA while 310 cases wait in the queue.",
    ],
    "category_to_watch": {"category": "hate_speech", "why": "Up from 200 to 334 flags during an attack."},
    "classifier_health": {
        "assessment": "Alert: the rolling score is 0.09 below the 0.90 baseline.",
        "action": "Audit automated blocks from this week and retrain before relying on the threshold.",
    },
    "staffing_recommendation": "Bring the team from 7 to 9 reviewers to absorb the forecast of 5,000 cases.",
    "key_metric_next_week": "The SLA breach rate, now 12.5%.",
}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real key, base URL or .env may leak into these tests."""
    for name in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_CUSTOM_HEADERS",
        "ANTHROPIC_PROFILE",
        "TSPANEL_MODEL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def server() -> Iterator[MessagesServer]:
    with MessagesServer(api_key=KEY) as srv:
        yield srv


def settings_for(server: MessagesServer, **overrides: object) -> ClaudeSettings:
    values: dict = {"api_key": KEY, "base_url": server.base_url, "timeout": 2.0, "model": "claude-test-model"}
    values.update(overrides)
    return ClaudeSettings(**values)


def assert_key_absent(report: Report, *texts: str) -> None:
    for text in (report.notice or "", render_markdown(report), render_html(report), *texts):
        assert KEY not in text
        assert "TSPANEL-TEST-KEY" not in text


# --- success ------------------------------------------------------------------------------


def test_success_uses_the_tool_input_as_the_sections(server: MessagesServer) -> None:
    server.script(tool_use(CLAUDE_SECTIONS))
    report = build_report(example_payload(), settings=settings_for(server))
    assert report.source == "claude" and report.model == "claude-test-model"
    assert report.sections == CLAUDE_SECTIONS
    assert report.fallback_reason is None and report.notice is None
    assert report.numbers.unmatched == ()

    [request] = server.requests
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = request.body
    assert body["model"] == "claude-test-model"
    assert body["max_tokens"] == 1500
    assert body["system"] == SYSTEM_PROMPT
    assert body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    assert [t["name"] for t in body["tools"]] == [TOOL_NAME]
    assert body["tools"][0]["input_schema"] == SECTIONS_SCHEMA
    [message] = body["messages"]
    assert message["role"] == "user"
    sent = message["content"].split("<weekly_metrics>\n", 1)[1].split("\n</weekly_metrics>", 1)[0]
    assert json.loads(sent) == example_payload()

    md = render_markdown(report)
    assert "_Written by Claude (claude-test-model) from the week's metrics" in md
    assert "- A coordinated attack on hate\\_speech (score 0.91) drove that category up 67%." in md
    assert "- 12.5% of eligible cases breached the 24 h SLA while 310 cases wait in the queue." in md
    assert "All 15 numbers in the summary match the week's data." in md


def test_base_url_from_the_environment(server: MessagesServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    server.script(tool_use(CLAUDE_SECTIONS))
    report = build_report(example_payload(), settings=settings_for(server, base_url=None))
    assert report.source == "claude"
    assert len(server.requests) == 1


def test_rate_limit_then_success_is_retried_by_the_sdk(server: MessagesServer) -> None:
    server.script(error(429, "slow down", headers=FAST), tool_use(CLAUDE_SECTIONS))
    report = build_report(example_payload(), settings=settings_for(server))
    assert report.source == "claude"
    assert [r.headers["x-stainless-retry-count"] for r in server.requests] == ["0", "1"]


def test_a_wrong_number_is_listed_and_marked(server: MessagesServer) -> None:
    sections = json.loads(json.dumps(CLAUDE_SECTIONS))
    sections["top_risks"][1] = "A coordinated attack on hate_speech drove that category up 58.3% to 4,321 flags."
    server.script(tool_use(sections))
    report = build_report(example_payload(), settings=settings_for(server))
    assert report.source == "claude"
    assert report.numbers.unmatched == ("58.3%", "4,321")
    md = render_markdown(report)
    assert "up **58.3% (unverified)** to **4,321 (unverified)** flags." in md
    assert "2 numbers match nothing in the week's data and are marked unverified: 58.3%, 4,321." in md
    html = render_html(report)
    assert '<mark class="unverified" title="not found in the week\'s data">58.3%</mark>' in html
    assert '<mark class="unverified" title="not found in the week\'s data">4,321</mark>' in html


# --- failures fall back to the offline summary --------------------------------------------


@pytest.mark.parametrize(
    ("reply", "requests", "reason"),
    [
        (error(403, "forbidden"), 1, "permission denied, HTTP 403"),
        (error(429, "slow down", headers=FAST), 3, "rate limited, HTTP 429"),
        (error(500, "boom", headers=FAST), 3, "server error, HTTP 500"),
        (error(529, "overloaded", headers=FAST), 3, "overloaded, HTTP 529"),
        (error(404, "model: claude-nope"), 1, "not found, HTTP 404; check the model name"),
        (Reply(200, b'{"id": "msg_1", "content": [{"type": "tool_'), 1, "malformed response from the API"),
        (text_reply("Here is your summary!"), 1, "malformed response: no summary tool call"),
        (text_reply("I can't help with that.", stop_reason="refusal"), 1, "the model declined to write the summary"),
        (
            tool_use({**CLAUDE_SECTIONS, "top_risks": ["just one"]}),
            1,
            "the summary did not match its schema: top_risks: expected 2 to 3 items, got 1",
        ),
        (
            tool_use({"top_risks": ["a", "b"]}, stop_reason="max_tokens"),
            1,
            "the summary did not match its schema (cut off at max_tokens): input: missing category_to_watch, "
            "classifier_health, staffing_recommendation, key_metric_next_week",
        ),
        (
            tool_use(CLAUDE_SECTIONS, name="some_other_tool"),
            1,
            "malformed response: no summary tool call",
        ),
    ],
)
def test_api_failures_fall_back_to_the_offline_summary(
    server: MessagesServer, reply: Reply, requests: int, reason: str
) -> None:
    server.script(reply)
    report = build_report(example_payload(), settings=settings_for(server))
    assert report.source == "offline" and report.model is None
    assert report.sections == EXAMPLE_OFFLINE
    assert report.fallback_reason == reason
    assert report.notice == f"Claude API unavailable ({reason}); showing the offline summary."
    assert len(server.requests) == requests
    assert f"> **Note:** Claude API unavailable ({reason.replace('_', chr(92) + '_')})" in render_markdown(report)


def test_invalid_key_gets_401_without_retries(server: MessagesServer) -> None:
    report = build_report(example_payload(), settings=settings_for(server, api_key="sk-ant-wrong"))
    assert report.fallback_reason == "authentication failed, HTTP 401; check ANTHROPIC_API_KEY"
    assert report.source == "offline"
    assert len(server.requests) == 1


def test_timeout(server: MessagesServer) -> None:
    server.script(Reply(200, {}, delay=5))
    started = time.monotonic()
    report = build_report(example_payload(), settings=settings_for(server, timeout=0.5, max_retries=0))
    assert time.monotonic() - started < 2.5
    assert report.fallback_reason == "no response within 0.5 s"
    assert report.sections == EXAMPLE_OFFLINE


def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = ClaudeSettings(api_key=KEY, base_url=f"http://127.0.0.1:{port}", max_retries=0)
    report = build_report(example_payload(), settings=settings)
    assert report.fallback_reason == f"could not connect to 127.0.0.1:{port}"
    assert report.source == "offline"


def test_no_key_means_no_request(server: MessagesServer) -> None:
    report = build_report(example_payload(), settings=settings_for(server, api_key=None))
    assert report.fallback_reason == "no ANTHROPIC_API_KEY set"
    assert report.sections == EXAMPLE_OFFLINE
    assert server.requests == []


# --- the key never shows ------------------------------------------------------------------


@pytest.mark.parametrize(
    "replies",
    [
        [tool_use(CLAUDE_SECTIONS)],
        [error(400, "bad", echo_credentials=True)],
        [error(429, "slow", headers=FAST, echo_credentials=True)],
        [error(500, "boom", headers=FAST, echo_credentials=True)],
        [Reply(200, b"not json at all")],
        [tool_use({"top_risks": KEY})],
    ],
    ids=["success", "400-echo", "429-echo", "500-echo", "malformed", "bad-schema"],
)
def test_the_key_never_appears_in_reports_reasons_or_logs(
    server: MessagesServer, replies: list[Reply], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.script(*replies)
    report = build_report(example_payload(), settings=settings_for(server))
    assert server.requests and server.requests[0].headers["authorization"] == f"Bearer {KEY}"  # it was in use
    out, err = capsys.readouterr()
    assert_key_absent(report, caplog.text, out, err)


def test_a_401_that_echoes_the_key_does_not_leak_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with MessagesServer(api_key="sk-ant-the-right-one", echo_credentials=True) as srv:
        report = build_report(example_payload(), settings=settings_for(srv))
    assert report.fallback_reason == "authentication failed, HTTP 401; check ANTHROPIC_API_KEY"
    assert_key_absent(report, caplog.text)


# --- the CLI ------------------------------------------------------------------------------


@pytest.fixture
def payload_file(tmp_path: Path) -> Path:
    path = tmp_path / "week.json"
    path.write_text(json.dumps(example_payload()), encoding="utf-8")
    return path


def run_cli(monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    """`tspanel report ...` through the real entry point, with only this subcommand registered."""
    monkeypatch.setattr(cli, "COMMANDS", ("report",))
    return cli.main(["report", *argv])


def test_report_is_a_registered_command() -> None:
    assert "report" in cli.COMMANDS


def test_cli_offline_markdown_to_stdout(monkeypatch, capsys, payload_file: Path) -> None:
    assert run_cli(monkeypatch, "--payload", str(payload_file), "--offline") == 0
    out, err = capsys.readouterr()
    assert out.startswith("# Weekly Trust & Safety summary: synthetic-world\n")
    assert "_Offline summary: generated by rules from the week's metrics, without the Claude API._" in out
    assert "- **Category:** hate\\_speech" in out
    assert err == ""


def test_cli_claude_html_to_a_file(monkeypatch, capsys, server: MessagesServer, payload_file: Path) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    server.script(tool_use(CLAUDE_SECTIONS))
    out_file = payload_file.parent / "week.html"
    code = run_cli(monkeypatch, "--payload", str(payload_file), "--model", "claude-cli-model", "--out", str(out_file))
    assert code == 0
    assert server.requests[0].body["model"] == "claude-cli-model"
    assert server.requests[0].headers["x-stainless-read-timeout"] == "30.0"
    html = out_file.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and 'data-source="claude"' in html
    assert "hate_speech (score 0.91) drove that category up 67%." in html
    out, err = capsys.readouterr()
    assert out == "" and err == f"tspanel report: wrote {out_file} (Claude, claude-cli-model)\n"


def test_cli_reads_dotenv_and_falls_back_with_exit_0(
    monkeypatch, capsys, server: MessagesServer, payload_file: Path
) -> None:
    (payload_file.parent / ".env").write_text(f"ANTHROPIC_API_KEY={KEY}\nANTHROPIC_BASE_URL={server.base_url}\n")
    server.script(error(529, "overloaded", headers=FAST))
    code = run_cli(monkeypatch, "--payload", str(payload_file), "--format", "html", "--timeout", "3")
    assert code == 0
    assert len(server.requests) == 3  # the key from .env was used, and the SDK retried twice
    assert server.requests[0].headers["x-stainless-read-timeout"] == "3.0"
    out, err = capsys.readouterr()
    line = "Claude API unavailable (overloaded, HTTP 529); showing the offline summary."
    assert err == f"tspanel report: {line}\n"
    assert f'<p class="fallback" role="status"><strong>Note:</strong> {line}</p>' in out
    assert KEY not in out + err


def test_cli_in_a_fresh_process_prints_one_line_about_the_fallback(server: MessagesServer, payload_file: Path) -> None:
    """Without pytest's log capture, nothing but the notice may reach stderr (no log lines, no traceback)."""
    server.script(error(529, "overloaded", headers=FAST))
    env = {**os.environ, "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": server.base_url}
    code = "import sys, tspanel.cli as c; c.COMMANDS = ('report',); sys.exit(c.main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, "report", "--payload", str(payload_file), "--out", "week.md"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert done.stderr == (
        "tspanel report: Claude API unavailable (overloaded, HTTP 529); showing the offline summary.\n"
        "tspanel report: wrote week.md (offline summary)\n"
    )
    assert len(server.requests) == 3
    assert Path("week.md").read_text(encoding="utf-8").startswith("# Weekly Trust & Safety summary: synthetic-world")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--payload", "missing.json"], "tspanel report: error: missing.json: no such payload file\n"),
        (
            ["--payload", "bad.json"],
            "tspanel report: error: bad.json: payload.sla.eligible: expected an integer, got '600'\n",
        ),
        (
            ["--payload", "week.json", "--data", "."],
            "tspanel report: error: use either --data or --payload, not both\n",
        ),
        (
            ["--payload", "week.json", "--offline", "--out", "no/such/dir/r.md"],
            "tspanel report: error: cannot write no/such/dir/r.md: No such file or directory\n",
        ),
    ],
)
def test_cli_bad_input_exits_2_with_a_message(
    monkeypatch, capsys, payload_file: Path, argv: list[str], message: str
) -> None:
    bad = example_payload()
    bad["sla"]["eligible"] = "600"
    (payload_file.parent / "bad.json").write_text(json.dumps(bad), encoding="utf-8")
    assert run_cli(monkeypatch, *argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == message


def test_cli_rejects_a_bad_timeout(monkeypatch, capsys, payload_file: Path) -> None:
    with pytest.raises(SystemExit) as info:
        run_cli(monkeypatch, "--payload", str(payload_file), "--timeout", "-1")
    assert info.value.code == 2
    assert "argument --timeout: '-1': use a number of seconds above 0 and at most 600" in capsys.readouterr().err
