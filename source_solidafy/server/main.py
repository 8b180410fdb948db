"""``solidafy-cdk serve``: check the flags, build the app, run it on waitress (not Flask's dev server).

The first stdout line says where it listens (``--port 0`` picks a free port; scripts and tests read
the line to learn it):

    $ solidafy-cdk serve --port 0 --format json
    {"type": "SERVER", "status": "listening", "url": "http://127.0.0.1:40123", "host": "127.0.0.1", "port": 40123}
"""

from __future__ import annotations

import signal
import socket
import sys
from typing import Any

import orjson

from source_solidafy.errors import UsageError
from source_solidafy.server.settings import ServerSettings, is_loopback, parse_settings


def _listening_line(settings: ServerSettings, port: int) -> str:
    """The first stdout line; ``url`` is what a client on this machine should use."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"http://{host}:{port}"
    if settings.output_format == "json":
        info = {"type": "SERVER", "status": "listening", "url": url, "host": settings.host, "port": port,
                "threads": settings.threads, "workers": settings.workers, "auth": bool(settings.auth_token)}
        return orjson.dumps(info).decode()
    auth = "bearer token required" if settings.auth_token else "no auth token (loopback only)"
    return f"solidafy serve: listening on {url} ({settings.workers} x {settings.threads} threads, {auth})"


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run(settings: ServerSettings, api: Any = None) -> int:
    """Bind, announce, serve until SIGINT/SIGTERM. Returns the exit code."""
    from waitress.server import create_server

    from source_solidafy.server import workers
    from source_solidafy.server.app import create_app

    app = create_app(settings, api=api)
    _build_manifest_validator()
    try:
        sock = workers.bind(settings.host, settings.port)
    except (OSError, ValueError) as exc:  # address in use, no such interface, unresolvable host
        reason = getattr(exc, "strerror", None) or exc
        raise UsageError(f"serve: cannot listen on {settings.host}:{settings.port}: {reason}") from None
    print(_listening_line(settings, sock.getsockname()[1]), flush=True)
    if not is_loopback(settings.host):
        print(f"solidafy serve: exposed on {settings.host}; every endpoint but /health needs the token", file=sys.stderr)
    if settings.workers > 1:
        return workers.supervise(settings.workers, lambda: _server(create_server, app, settings, sock))
    server = _server(create_server, app, settings, sock)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def _build_manifest_validator() -> None:
    """Build the validator of connector YAML now, once, before any request (and before workers fork):
    the models defer it to the first load (manifest/models.py), which here would be a request's,
    perhaps several threads' at once."""
    from source_solidafy.manifest.models import Manifest

    Manifest.model_rebuild()


def _server(create_server: Any, app: Any, settings: ServerSettings, sock: socket.socket) -> Any:
    from source_solidafy.server.transport_errors import BODY_SLACK, use_json_errors

    return use_json_errors(create_server(
        app,
        sockets=[sock],
        threads=settings.threads,
        # Flask refuses a body over the limit once read (JSON 413); waitress stops one that goes on
        # BODY_SLACK further while reading it (also a JSON 413, see transport_errors.py).
        max_request_body_size=settings.max_body_bytes + BODY_SLACK,
        ident="solidafy",
        channel_request_lookahead=1,  # keep reading during a request: notices clients that hang up
        expose_tracebacks=False,
        clear_untrusted_proxy_headers=True,
    ))


def serve_main(argv: list[str]) -> int:
    """Entry point the CLI calls for ``serve``: 0 after a clean stop, 2 for bad flags or an unsafe bind."""
    try:
        settings = parse_settings(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    try:
        return run(settings)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover - `python -m source_solidafy.server.main`
    sys.exit(serve_main(sys.argv[1:]))
