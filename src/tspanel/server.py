"""Who may reach the dashboard: authentication, exact websocket origins, cookie secret, admin page.

The rules (docs/security.md): loopback needs nothing; any other address needs a login
(basic auth or OAuth) unless ``--insecure`` says otherwise, and always an explicit list
of origins, because a wildcard would let any web page a user visits open a session with
their cookies. Secrets are read here and handed to Panel; they are never printed.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tspanel.errors import TspanelError

COOKIE_SECRET_ENV = "TSPANEL_COOKIE_SECRET"
OAUTH_SECRET_ENV = "TSPANEL_OAUTH_SECRET"
MIN_SECRET_CHARS = 32
MIN_SECRET_BITS = 128
PRIVATE_COOKIES = ["user", "id_token", "access_token", "refresh_token", "oauth_expiry", "tspanel_session"]
"""Login cookies: kept out of the session token Bokeh writes into the page HTML."""
_ORIGIN = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):[0-9]{1,5}$")


def add_security_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "exposure and authentication",
        "On 127.0.0.1 (the default) no login is needed. Any other --address needs --basic-auth or "
        "--oauth-provider (or an explicit --insecure) and at least one --allow-origin. See docs/security.md.",
    )
    group.add_argument(
        "--basic-auth",
        type=Path,
        metavar="FILE",
        help='require a login: FILE is JSON mapping user names to passwords, e.g. {"alice": "s3cret"}',
    )
    group.add_argument(
        "--oauth-provider",
        metavar="NAME",
        help="require a login through an OAuth provider Panel supports (github, google, azure, okta, generic, ...)",
    )
    group.add_argument("--oauth-key", metavar="KEY", help="OAuth client id (with --oauth-provider)")
    group.add_argument(
        "--oauth-secret",
        metavar="SECRET",
        help=f"OAuth client secret; prefer the environment variable {OAUTH_SECRET_ENV} "
        "(a command-line value is visible to other users of the machine)",
    )
    group.add_argument("--oauth-redirect-uri", metavar="URI", help="OAuth redirect URI registered with the provider")
    group.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="a host:port browsers use to reach the server (repeatable; no wildcards). "
        "Default on loopback: localhost:PORT and 127.0.0.1:PORT. Required on any other address.",
    )
    group.add_argument(
        "--insecure",
        action="store_true",
        help="serve on a non-loopback address WITHOUT a login (anyone who can reach the port sees the data)",
    )
    group.add_argument(
        "--admin",
        action="store_true",
        help="enable Panel's /admin page (server internals; off by default)",
    )


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def default_origins(address: str, port: int) -> list[str]:
    """The exact origins a browser on this machine uses for a loopback server."""
    origins = [f"localhost:{port}", f"127.0.0.1:{port}"]
    if address not in ("localhost", "127.0.0.1"):
        origins.append(f"[{address}]:{port}" if ":" in address else f"{address}:{port}")
    return origins


def check_origin(value: str) -> str:
    """A HOST:PORT origin, or a TspanelError saying what a valid one looks like."""
    text = value.strip()
    for scheme in ("http://", "https://"):
        if text.lower().startswith(scheme):
            text = text[len(scheme) :]
    text = text.rstrip("/")
    if "*" in text:
        raise TspanelError(f"--allow-origin {value!r}: wildcards are not allowed; list each HOST:PORT")
    if not _ORIGIN.match(text) or not 0 < int(text.rsplit(":", 1)[1]) <= 65535:
        raise TspanelError(f"--allow-origin {value!r}: use HOST:PORT, e.g. dash.example.org:443")
    return text.lower()


def check_cookie_secret(secret: str) -> str:
    """A strong enough ``TSPANEL_COOKIE_SECRET``, or a TspanelError that does not repeat it.

    Anyone who knows or guesses the secret can sign a ``user`` cookie for any name. Required:
    32+ characters and, estimated from length and distinct characters, 128+ bits:
    ``secrets.token_urlsafe(32)`` or 64 random hex digits (``openssl rand -hex 32``) pass, a
    word or a short pattern repeated does not, nor do 32 hex digits (too few distinct ones).
    An estimate: it cannot spot every pattern (``"0123456789" * 4`` passes), so the docs ask
    for generated secrets.
    """
    bits = len(secret) * math.log2(len(set(secret))) if len(set(secret)) > 1 else 0.0
    if len(secret) < MIN_SECRET_CHARS or bits < MIN_SECRET_BITS:
        raise TspanelError(
            f"{COOKIE_SECRET_ENV} is too weak ({len(secret)} characters, "
            f"{len(set(secret))} distinct): use at least {MIN_SECRET_CHARS} random characters, e.g. "
            "the output of: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return secret


def read_basic_auth(path: Path) -> dict[str, str]:
    """The users file, checked now: Panel would treat a missing file's *name* as the password."""
    try:
        users = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TspanelError(f"--basic-auth {path}: no such file") from None
    except OSError as exc:
        raise TspanelError(f"--basic-auth {path}: cannot read it ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TspanelError(f'--basic-auth {path}: not JSON ({exc}); write {{"user": "password", ...}}') from None
    if not isinstance(users, dict) or not users:
        raise TspanelError(f'--basic-auth {path}: expected a JSON object like {{"user": "password"}}')
    for user, password in users.items():
        if not isinstance(password, str) or not user or not password:
            raise TspanelError(f"--basic-auth {path}: user {user!r} needs a non-empty string password")
    return users


@dataclass
class Exposure:
    """The checked serving options; ``serve_kwargs()`` is what ``pn.serve`` takes."""

    address: str
    port: int
    origins: list[str]
    cookie_secret: str = field(repr=False)
    auth: str | None = None  # "basic", "oauth" or None
    basic_auth: dict[str, str] | None = field(default=None, repr=False)
    oauth: dict[str, Any] = field(default_factory=dict, repr=False)
    admin: bool = False

    def serve_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "address": self.address,
            "port": self.port,
            "websocket_origin": list(self.origins),
            "cookie_secret": self.cookie_secret,
            "admin": self.admin,
            # The page HTML carries a session token with the request's headers and cookies:
            # keep the HttpOnly login cookies (and the raw Cookie/Authorization headers) out.
            "exclude_cookies": list(PRIVATE_COOKIES),
            "exclude_headers": ["Cookie", "Authorization"],
        }
        if self.basic_auth is not None:
            kwargs["basic_auth"] = dict(self.basic_auth)
        kwargs.update(self.oauth)
        return kwargs


def exposure_from_args(args: argparse.Namespace, port: int, environ: Any = None) -> Exposure:
    """Apply the exposure rules to parsed arguments; a TspanelError names the option to fix."""
    env = os.environ if environ is None else environ
    address = args.address
    loopback = is_loopback(address)
    basic_path = getattr(args, "basic_auth", None)
    provider = getattr(args, "oauth_provider", None)
    if basic_path is not None and provider:
        raise TspanelError("--basic-auth and --oauth-provider: choose one way to log in")
    oauth_only = [o for o in ("oauth_key", "oauth_secret", "oauth_redirect_uri") if getattr(args, o, None)]
    if oauth_only and not provider:
        raise TspanelError(f"--{oauth_only[0].replace('_', '-')} needs --oauth-provider")

    basic = read_basic_auth(basic_path) if basic_path is not None else None
    oauth: dict[str, Any] = {}
    if provider:
        from panel.auth import AUTH_PROVIDERS  # Panel's own table, with providers from plug-ins

        if provider not in AUTH_PROVIDERS:
            raise TspanelError(
                f"--oauth-provider {provider!r} is not a provider Panel knows; "
                f"choose from {', '.join(sorted(AUTH_PROVIDERS))}"
            )
        secret = env.get(OAUTH_SECRET_ENV) or getattr(args, "oauth_secret", None)
        if not args.oauth_key or not secret:
            raise TspanelError(
                f"--oauth-provider {provider}: also give --oauth-key and the client secret "
                f"(environment variable {OAUTH_SECRET_ENV}, or --oauth-secret)"
            )
        oauth = {"oauth_provider": provider, "oauth_key": args.oauth_key, "oauth_secret": secret}
        if args.oauth_redirect_uri:
            oauth["oauth_redirect_uri"] = args.oauth_redirect_uri
    auth = "basic" if basic is not None else "oauth" if provider else None

    if not loopback and auth is None and not args.insecure:
        raise TspanelError(
            f"--address {address} lets other machines reach the dashboard: require a login with "
            "--basic-auth FILE or --oauth-provider NAME, or pass --insecure to serve it to anyone "
            "who can reach the port"
        )
    given = [check_origin(o) for o in getattr(args, "allow_origin", None) or []]
    if not loopback and not given:
        raise TspanelError(
            f"--address {address}: add --allow-origin HOST:PORT for each address browsers will use "
            f"(e.g. --allow-origin dash.example.org:{port})"
        )
    origins = list(dict.fromkeys(given)) if given else default_origins(address, port)
    given_secret = env.get(COOKIE_SECRET_ENV)
    cookie_secret = check_cookie_secret(given_secret) if given_secret else secrets.token_urlsafe(32)
    return Exposure(
        address=address,
        port=port,
        origins=origins,
        cookie_secret=cookie_secret,
        auth=auth,
        basic_auth=basic,
        oauth=oauth,
        admin=bool(getattr(args, "admin", False)),
    )
