"""The ``serve`` flags and the one safety rule checked before binding: no open port without a token.

Parsed with argparse only (no Flask import), so ``solidafy-cdk serve --help`` and a refused start
stay fast.

    solidafy-cdk serve                                   # 127.0.0.1:8080, no token needed
    SOLIDAFY_API_TOKEN=... solidafy-cdk serve --host 0.0.0.0 --output-root /data
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass

from source_solidafy.confinement import PRIVATE_FLAG, SQLITE_FLAG, Confinement
from source_solidafy.errors import UsageError

TOKEN_ENV = "SOLIDAFY_API_TOKEN"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_HELD_RECORDS = 10_000


@dataclass(frozen=True)
class ServerSettings:
    """Everything the app factory needs; defaults are the safe ones (loopback, no custom YAML, no disk)."""

    host: str = "127.0.0.1"
    port: int = 8080
    threads: int = 8
    workers: int = 1
    auth_token: str | None = None
    allow_custom_connectors: bool = False
    allow_plugins: bool = False  # custom connector YAML may use installed plugins (type: plugin:<name>)
    output_root: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    cors_origins: tuple[str, ...] = ()
    max_held_records: int = DEFAULT_MAX_HELD_RECORDS
    output_format: str = "text"  # how the "listening" line is printed: text | json
    verbose: bool = False
    allow_private_networks: bool = False
    sqlite_dir: str | None = None
    allowed_hosts: tuple[str, ...] = ()  # extra Host names (see hosts.py); "*" turns the check off
    max_concurrent_calls: int | None = None  # None: default_limit(threads)

    @property
    def call_limit(self) -> int:
        """Connector calls that may run at once (see capacity.py)."""
        from source_solidafy.server.capacity import default_limit

        return self.max_concurrent_calls or default_limit(self.threads)

    def confinement(self) -> Confinement:
        """What connectors run for requests may reach (files, networks): see docs/security.md."""
        return Confinement(private_networks=self.allow_private_networks, sqlite_dir=self.sqlite_dir,
                           output_root=self.output_root)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``; anything else (0.0.0.0, a name, "") is exposed."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _positive(kind: str, minimum: int = 1, maximum: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer for {kind}, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            span = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            raise argparse.ArgumentTypeError(f"{kind} must be {span}, got {value}")
        return value

    return parse


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (one clear line, exit 2) instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"serve: {message}")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="solidafy-cdk serve", description="Run the HTTP API (waitress, production WSGI server).")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=_positive("--port", 0, 65535), default=8080, help="port (0 = any free port)")
    p.add_argument("--threads", type=_positive("--threads"), default=8, help="worker threads (default 8)")
    p.add_argument("--workers", type=_positive("--workers", 1, 64), default=1, help="processes (pre-forked, sharing the port; default 1)")
    p.add_argument("--auth-token", default=None, help=f"bearer token required on every endpoint but /health (or ${TOKEN_ENV})")
    p.add_argument("--allow-custom-connectors", action="store_true", help="accept connector YAML in request bodies (connector_yaml)")
    p.add_argument("--allow-plugins", action="store_true",
                   help="let that YAML use the Python plugins installed here (type: plugin:<name>); off by default")
    p.add_argument("--output-root", default=None, metavar="DIR", help="allow local output directories, confined under DIR")
    p.add_argument("--max-body-bytes", type=_positive("--max-body-bytes"), default=DEFAULT_MAX_BODY_BYTES)
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN", help="allow this browser origin (repeatable; * for any)")
    p.add_argument("--max-held-records", type=_positive("--max-held-records"), default=DEFAULT_MAX_HELD_RECORDS, help="records one JSON /sync response may hold")
    p.add_argument(PRIVATE_FLAG, action="store_true",
                   help="let requests reach private, loopback and link-local addresses (base_url, token_url, databases)")
    p.add_argument(SQLITE_FLAG, default=None, metavar="DIR", help="let requests open SQLite database files under DIR")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                   help="also answer requests whose Host is NAME (repeatable; * for any)")
    p.add_argument("--max-concurrent-calls", type=_positive("--max-concurrent-calls"), default=None, metavar="N",
                   help="connector calls (/streams /check /discover /sync) running at once; more get 503 (default: threads - 2)")
    p.add_argument("--format", dest="output_format", choices=["text", "json"], default="text", help="how the listening line is printed")
    p.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    return p


def parse_settings(argv: list[str], environ: dict[str, str] | None = None) -> ServerSettings:
    """Flags -> settings. Raises UsageError for bad flags and for an exposed bind without a token."""
    env = os.environ if environ is None else environ
    ns = build_parser().parse_args(argv)
    token = ns.auth_token or env.get(TOKEN_ENV) or None
    if not is_loopback(ns.host) and not token:
        raise UsageError(
            f"serve: refusing to bind {ns.host!r} without an auth token; "
            f"set --auth-token or {TOKEN_ENV} (or bind 127.0.0.1)"
        )
    root = _existing_dir("--output-root", ns.output_root)
    origins = tuple(o.strip().rstrip("/") for raw in ns.cors_origin for o in raw.split(",") if o.strip())
    return ServerSettings(
        host=ns.host,
        port=ns.port,
        threads=ns.threads,
        workers=ns.workers,
        auth_token=token,
        allow_custom_connectors=ns.allow_custom_connectors,
        allow_plugins=ns.allow_plugins,
        output_root=root,
        max_body_bytes=ns.max_body_bytes,
        cors_origins=origins,
        max_held_records=ns.max_held_records,
        output_format=ns.output_format,
        verbose=ns.verbose,
        allow_private_networks=ns.allow_private_networks,
        sqlite_dir=_existing_dir(SQLITE_FLAG, ns.sqlite_dir),
        allowed_hosts=tuple(h.strip().lower().rstrip(".") for raw in ns.allowed_host for h in raw.split(",") if h.strip()),
        max_concurrent_calls=_call_limit(ns.max_concurrent_calls, ns.threads),
    )


def _call_limit(given: int | None, threads: int) -> int | None:
    if given is not None and threads > 1 and given >= threads:
        raise UsageError(
            f"serve: --max-concurrent-calls {given} must be below --threads {threads}, "
            "so /health and quick requests always find a free thread"
        )
    return given


def _existing_dir(flag: str, given: str | None) -> str | None:
    if not given:
        return None
    path = os.path.realpath(given)
    if not os.path.isdir(path):
        raise UsageError(f"serve: {flag} {given!r} is not an existing directory")
    return path
