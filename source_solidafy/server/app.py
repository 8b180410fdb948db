"""The Flask app factory: auth, body limits, CORS, error envelopes; the endpoints live in ``routes.py``.

Every answer but ``/health`` and streamed syncs is an envelope: ``{"success": true, "data": {...}}``
or ``{"success": false, "error": {"code": "...", "message": "..."}}`` with the matching HTTP status.
Flask is imported here and only here (plus ``routes.py``), so the CLI's other commands never pay for it.
"""

from __future__ import annotations

import hmac
import sys
import time
from typing import TYPE_CHECKING, Any

from source_solidafy import protocol
from source_solidafy.server.errors import classify, log_exception, message_for
from source_solidafy.server.hosts import host_allowed, refusal
from source_solidafy.server.settings import ServerSettings

if TYPE_CHECKING:
    from flask import Flask, Response

OPEN_PATHS = frozenset({"/health"})
_CORS_METHODS = "GET, POST, OPTIONS"
_CORS_HEADERS = "Authorization, Content-Type, Accept"


def json_response(payload: Any, status: int = 200) -> Response:
    from flask import Response

    return Response(protocol.dumps(payload), status=status, mimetype="application/json")


def error_response(status: int, code: str, message: str) -> Response:
    resp = json_response({"success": False, "error": {"code": code, "message": message}}, status)
    if code == "unauthorized":
        resp.headers["WWW-Authenticate"] = 'Bearer realm="solidafy"'
    return resp


def create_app(settings: ServerSettings | None = None, api: Any = None) -> Flask:
    """Build the WSGI app. ``api`` defaults to :mod:`source_solidafy.api` (tests may pass a stand-in)."""
    from flask import Flask

    from source_solidafy.server.routes import register_routes

    settings = settings or ServerSettings()
    if api is None:
        from source_solidafy import api as api_module

        api = api_module
    app = Flask("source_solidafy.server")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["solidafy"] = {"settings": settings, "api": api}
    _install_hooks(app, settings)
    _install_error_handlers(app, settings)
    register_routes(app, api, settings)
    return app


def request_secrets(settings: ServerSettings) -> list[str]:
    """Secrets to scrub from anything this request prints: its config's secrets and our token."""
    from flask import g

    found = list(getattr(g, "secrets", ()))
    if settings.auth_token:
        found.append(settings.auth_token)
    return found


def _authorized(settings: ServerSettings, header: str | None) -> bool:
    if not settings.auth_token:
        return True
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    return hmac.compare_digest(given.strip().encode(), settings.auth_token.encode())


def _install_hooks(app: Flask, settings: ServerSettings) -> None:
    from flask import g, request

    @app.before_request
    def _guard() -> Response | None:
        g.started = time.perf_counter()
        if request.method == "OPTIONS" and settings.cors_origins:
            return _preflight(settings)
        if request.path in OPEN_PATHS:
            return None
        host = request.environ.get("HTTP_HOST")
        if not host_allowed(settings, host):
            return error_response(400, "host_not_allowed", refusal(settings, str(host)))
        if not _authorized(settings, request.headers.get("Authorization")):
            message = "missing or wrong bearer token for this server (send Authorization: Bearer <token>)"
            return error_response(401, "unauthorized", message)
        if request.method == "POST" and request.mimetype != "application/json":
            # a web page can POST text/plain or a form without a CORS preflight: only JSON is a request
            got = request.headers.get("Content-Type") or "none"
            return error_response(415, "unsupported_media_type",
                                  f"POST bodies must be JSON sent with Content-Type: application/json (got {got!r})")
        return None

    @app.after_request
    def _finish(resp: Response) -> Response:
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers.setdefault("Cache-Control", "no-store")
        _cors_headers(settings, resp)
        if settings.verbose:
            ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
            sys.stderr.write(f"solidafy serve: {request.method} {request.path} {resp.status_code} {ms:.0f}ms\n")
        return resp


def _allowed_origin(settings: ServerSettings) -> str | None:
    from flask import request

    origin = request.headers.get("Origin")
    if not origin or not settings.cors_origins:
        return None
    if "*" in settings.cors_origins:
        return "*"
    return origin if origin.rstrip("/") in settings.cors_origins else None


def _cors_headers(settings: ServerSettings, resp: Response) -> None:
    origin = _allowed_origin(settings)
    if origin:
        resp.headers["Access-Control-Allow-Origin"] = origin
        resp.headers["Vary"] = "Origin"


def _preflight(settings: ServerSettings) -> Response:
    from flask import Response

    resp = Response(status=204)
    if _allowed_origin(settings):
        resp.headers["Access-Control-Allow-Methods"] = _CORS_METHODS
        resp.headers["Access-Control-Allow-Headers"] = _CORS_HEADERS
        resp.headers["Access-Control-Max-Age"] = "600"
    return resp


def _install_error_handlers(app: Flask, settings: ServerSettings) -> None:
    from flask import request
    from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge) -> Response:
        limit = settings.max_body_bytes
        return error_response(413, "payload_too_large", f"request body is larger than this server's limit of {limit} bytes")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.code or 500, "http_error")
        message = f"no endpoint {request.method} {request.path} (see GET /openapi.json)" if exc.code in (404, 405) else str(exc.description)
        return error_response(exc.code or 500, code, message)

    @app.errorhandler(Exception)
    def _any(exc: Exception) -> Response:
        status, code = classify(exc)
        secrets = request_secrets(settings)
        if code == "internal_error":
            log_exception(exc, secrets, f"{request.method} {request.path}")
        resp = error_response(status, code, message_for(exc, status, code, secrets))
        resp.headers.update(getattr(exc, "headers", None) or {})
        return resp
