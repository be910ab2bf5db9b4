"""Sending a message to a notification URL through apprise, without ever showing its secrets.

apprise speaks Slack, Microsoft Teams, Discord, email (``mailto://``), generic JSON webhooks
(``json://`` / ``jsons://``) and ~100 other services from one URL each, so tspanel has no
HTTP code of its own here. A notification URL holds credentials (tokens, passwords), so it is
only ever shown through apprise's own privacy rendering (:attr:`Destination.label`) and
identified in state files by a one-way hash (:attr:`Destination.key`).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import apprise

from tspanel.errors import TspanelError

# apprise logs through `logging`; without a handler Python's last-resort handler would print
# its warnings on stderr. Messages reach the user only through deliver()'s scrubbed error.
logging.getLogger("apprise").addHandler(logging.NullHandler())

LEVEL_TYPES: dict[str, apprise.NotifyType] = {
    "critical": apprise.NotifyType.FAILURE,
    "warning": apprise.NotifyType.WARNING,
    "info": apprise.NotifyType.INFO,
}


@dataclass(frozen=True)
class Destination:
    """A notification URL with a printable, secret-free label."""

    url: str = field(repr=False)
    label: str  # apprise's privacy rendering, without its option query
    key: str  # sha256 of the URL: names the destination in state files without holding the secret
    html: bool  # the service's native format is HTML (email): send HTML rather than Markdown

    def __str__(self) -> str:
        return self.label


def destination(url: str, option: str = "--notify") -> Destination:
    """Check a notification URL with apprise; bad ones raise TspanelError naming ``option`` and only the scheme."""
    url = url.strip()
    plugin = apprise.Apprise.instantiate(url) if url else None
    if plugin is None:
        scheme = urlsplit(url).scheme if "://" in url else ""
        shown = f"{scheme}://…" if scheme else "(not a URL)"
        raise TspanelError(
            f"{option} {shown}: not a notification URL apprise understands; use e.g. "
            "json://host/path, jsons://, slack://, msteams://, discord://, mailto:// "
            "(see https://github.com/caronc/apprise/wiki)"
        )
    label = plugin.url(privacy=True).split("?", 1)[0]
    formats = plugin.notify_format
    native = formats[0] if isinstance(formats, tuple | list) else formats
    return Destination(
        url=url,
        label=scrub(label, secrets_of(url, user=False)),
        key=hashlib.sha256(url.encode("utf-8")).hexdigest()[:16],
        html=native == apprise.NotifyFormat.HTML,
    )


def secrets_of(url: str, *, user: bool = True) -> list[str]:
    """Parts of a URL that may be secret: the password, path segments, query values (and the user).

    Used to scrub any text apprise or a server returns before it is printed, and the labels:
    apprise's privacy rendering hides each service's known secrets, but a generic JSON
    webhook's path may hold a token too. Labels keep the user name (an email address's user
    is no secret); error text loses it as well, since some services put a token there.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    found = [url] if user else []  # a label is apprise's rendering of the URL: never the URL itself
    for value in (parts.password, parts.username if user else None):
        if value:
            found += [value, unquote(value)]
    found += [unquote(s) for s in parts.path.split("/") if len(s) >= 6]
    found += [unquote(v) for _, _, v in (p.partition("=") for p in parts.query.split("&")) if len(v) >= 6]
    return sorted({s for s in found if s}, key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "****")
    return text


def deliver(
    target: Destination,
    title: str,
    markdown: str,
    *,
    html: str | None = None,
    level: str = "info",
) -> str | None:
    """Send one message; None on success, else why it failed (secret-free, one line).

    Markdown is sent as Markdown and apprise converts it for services that want text or HTML;
    ``html``, when given, goes to services whose native format is HTML instead.
    Never raises for a delivery problem: one failing destination must not stop the others.
    """
    notifier = apprise.Apprise()
    if not notifier.add(target.url):
        return "apprise could not load this URL"
    use_html = html is not None and target.html
    body, body_format = (html, apprise.NotifyFormat.HTML) if use_html else (markdown, apprise.NotifyFormat.MARKDOWN)
    try:
        with apprise.LogCapture(level=logging.WARNING) as logs:
            ok = bool(
                notifier.notify(
                    body=body, title=title, body_format=body_format, notify_type=LEVEL_TYPES.get(level, "info")
                )
            )
    except Exception as exc:  # a plugin bug must not crash a cron run
        return scrub(f"{exc.__class__.__name__}: {exc}", secrets_of(target.url))
    if ok:
        return None
    lines = [line for line in logs.getvalue().splitlines() if line.strip()]
    reason = re.sub(r"^\S+ \S+ - \w+ - ", "", lines[-1]) if lines else "delivery failed"
    return scrub(reason.strip(), secrets_of(target.url))
