"""The endpoints of the original README, each a thin call into the Python API (no sync logic here).

    GET  /health                      {"status": "ok"}
    GET  /connectors                  {"success": true, "data": {"connectors": [...]}}
    GET  /connectors/<name>           one connector's metadata
    GET  /connectors/<name>/streams   {"data": {"connector": ..., "streams": [...]}}
    GET  /connectors/<name>/spec      the SPEC message
    POST /streams | /check | /discover | /sync      body {"connector", "config", ...}
    GET  /openapi.json
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from source_solidafy import __version__
from source_solidafy.errors import redact
from source_solidafy.server import bodies, connectors, outputs
from source_solidafy.server.app import json_response, request_secrets
from source_solidafy.server.capacity import Slots
from source_solidafy.server.disconnect import DisconnectWatcher
from source_solidafy.server.errors import ApiError
from source_solidafy.server.settings import ServerSettings
from source_solidafy.server.streaming import NdjsonStream

if TYPE_CHECKING:
    from flask import Flask, Response

NDJSON = "application/x-ndjson"
_SLOT_HANDED = "solidafy.slot_handed"  # environ flag: the streamed response releases the call slot


def ok(data: Any) -> Response:
    return json_response({"success": True, "data": data})


def _body() -> dict[str, Any]:
    """The JSON body; its config's secrets are remembered so errors and logs can scrub them."""
    from flask import g, request

    body = bodies.parse_body(request.get_data(cache=True))
    g.secrets = bodies.config_secrets(body.get("config"))
    return body


def _connector(api: Any, body: dict[str, Any], settings: ServerSettings) -> Any:
    """The request's Source; its own idea of what is secret in the config joins the redaction list."""
    from flask import g

    source = connectors.resolve(api, body, settings)
    config = body.get("config")
    secrets_of = getattr(source, "secrets", None)
    if isinstance(config, dict) and callable(secrets_of):
        with contextlib.suppress(Exception):  # redaction help must never fail the request
            g.secrets = [*g.get("secrets", []), *secrets_of(config)]
    return source


def _find(listing: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for item in listing:
        if name == item.get("name") or name in (item.get("aliases") or ()):
            return item
    raise ApiError(404, "unknown_connector", f"unknown connector {name!r} (see GET /connectors)")


class _Listing:
    """``api.list_connectors()`` once: built-ins do not change while the server runs, loading them is not free."""

    def __init__(self, api: Any) -> None:
        self._api = api
        self._lock = threading.Lock()
        self._value: list[dict[str, Any]] | None = None

    def get(self) -> list[dict[str, Any]]:
        with self._lock:
            if self._value is None:
                self._value = self._api.list_connectors()
            return self._value


def register_routes(app: Flask, api: Any, settings: ServerSettings) -> None:
    slots = Slots(settings.call_limit)
    _register_metadata(app, api, settings)
    _register_calls(app, api, settings, slots)
    _register_sync(app, api, settings, slots)


def _register_metadata(app: Flask, api: Any, settings: ServerSettings) -> None:
    from source_solidafy.server.openapi import openapi_document

    @app.get("/health")
    def health() -> Response:
        return json_response({"status": "ok", "version": __version__})

    @app.get("/openapi.json")
    def openapi() -> Response:
        return json_response(openapi_document())

    listing = _Listing(api)

    @app.get("/connectors")
    def list_connectors() -> Response:
        return ok({"connectors": listing.get()})

    @app.get("/connectors/<name>")
    def one_connector(name: str) -> Response:
        return ok(_find(listing.get(), connectors.check_builtin_name(name)))

    @app.get("/connectors/<name>/streams")
    def connector_streams(name: str) -> Response:
        source = connectors.builtin(api, name, settings)
        return ok({"connector": source.name, "streams": api.streams(source)})

    @app.get("/connectors/<name>/spec")
    def connector_spec(name: str) -> Response:
        return ok(api.spec(connectors.builtin(api, name, settings)))


def _register_calls(app: Flask, api: Any, settings: ServerSettings, slots: Slots) -> None:
    @app.post("/streams")
    def streams() -> Response:
        with slots.held():
            body = _body()
            connector = _connector(api, body, settings)
            config = body.get("config")
            config = bodies.config_of(body) if config is not None else None
            return ok({"connector": _label(connector), "streams": api.streams(connector, config)})

    @app.post("/check")
    def check() -> Response:
        with slots.held():
            body = _body()
            connector = _connector(api, body, settings)
            updated = _ConfigKept()
            return ok(updated.added_to(api.check(connector, bodies.config_of(body), on_config=updated)))

    @app.post("/discover")
    def discover() -> Response:
        with slots.held():
            body = _body()
            connector = _connector(api, body, settings)
            sample = bodies.opt_int(body, "sample") or 0
            updated = _ConfigKept()
            return ok(updated.added_to(api.discover(connector, bodies.config_of(body), sample=sample, on_config=updated)))


class _ConfigKept:
    """An ``on_config`` listener: the config the call changed (a rotated refresh token) goes in its answer."""

    def __init__(self) -> None:
        self.config: dict[str, Any] | None = None

    def __call__(self, config: dict[str, Any], paths: Any) -> None:
        self.config = config

    def added_to(self, data: dict[str, Any]) -> dict[str, Any]:
        return data if self.config is None else {**data, "config": self.config}


def _label(connector: Any) -> str:
    return connector if isinstance(connector, str) else str(getattr(connector, "name", "custom"))


_PASSED = ("streams", "state", "format", "output", "max_records", "cursor_fields", "strict")
_PASSED_WHEN_GIVEN = ("compression", "concurrency")  # else the sync's default (SyncOptions)


def _sync_kwargs(req: bodies.SyncRequest) -> dict[str, Any]:
    """The request's fields as the sync's keyword options (options.SyncOptions)."""
    kwargs: dict[str, Any] = {name: getattr(req, name) for name in _PASSED}
    kwargs.update({name: value for name in _PASSED_WHEN_GIVEN if (value := getattr(req, name))})
    return kwargs


def _register_sync(app: Flask, api: Any, settings: ServerSettings, slots: Slots) -> None:
    from flask import request

    watcher = DisconnectWatcher()

    @app.post("/sync")
    def sync() -> Response:
        release = slots.take()
        try:
            body = _body()
            connector = _connector(api, body, settings)
            output = outputs.resolve_output(bodies.opt_str(body, "output"), settings.output_root)
            req = bodies.sync_request(body, output)
            config = bodies.config_of(body)
            run = _SyncCall(api, settings, watcher, connector, config, req)
            if request.accept_mimetypes.best_match(["application/json", NDJSON]) == NDJSON:
                return run.streamed(release)  # the stream releases the slot when it ends
            return run.json()
        finally:
            if not request.environ.get(_SLOT_HANDED):
                release()


class _SyncCall:
    """One checked POST /sync, answered as JSON or streamed as NDJSON."""

    def __init__(self, api: Any, settings: ServerSettings, watcher: DisconnectWatcher, connector: Any,
                 config: dict[str, Any], req: bodies.SyncRequest) -> None:
        self.api, self.settings, self.watcher = api, settings, watcher
        self.connector, self.config, self.req = connector, config, req
        self.cancel = threading.Event()

    def streamed(self, release: Callable[[], None]) -> Response:
        from flask import Response, request

        chunks = self.api.read(self.connector, self.config, cancel=self.cancel, raw_records=True,
                               **_sync_kwargs(self.req))
        key = self.watcher.watch(request.environ, self.cancel, "a streamed POST /sync")

        def on_close() -> None:
            self.watcher.unwatch(key)
            release()

        stream = NdjsonStream(chunks, self.cancel, request_secrets(self.settings), on_close=on_close)
        stream.prime()
        request.environ[_SLOT_HANDED] = True
        return Response(stream, mimetype=NDJSON, headers={"X-Accel-Buffering": "no"})

    def json(self) -> Response:
        from flask import request

        key = self.watcher.watch(request.environ, self.cancel, "POST /sync")
        try:
            result = self.api.sync(self.connector, self.config, max_held_records=self.settings.max_held_records,
                                   cancel=self.cancel, **_sync_kwargs(self.req))
        finally:
            self.watcher.unwatch(key)
        data = {"type": "SYNC_RESULT", "result": _with_files(result)}
        if result.get("status") == "FAILED":
            return _failed_sync(data, request_secrets(self.settings))
        return ok(data)


def _failed_sync(data: dict[str, Any], secrets: list[str]) -> Response:
    """Every stream failed (bad upstream credentials, API down, ...): not a success, but keep the result.

    A PARTIAL sync is a success (``result.status`` and each stream's ``error`` say what failed).
    """
    streams = data["result"].get("streams") or []
    errors = "; ".join(f"{s.get('stream')}: {s.get('error')}" for s in streams if s.get("error"))
    message = redact(f"the sync failed: {errors or 'no stream succeeded'}", secrets)
    return json_response({"success": False, "error": {"code": "sync_failed", "message": message}, "data": data}, 502)


def _with_files(result: dict[str, Any]) -> dict[str, Any]:
    """Parquet/cloud syncs: list the files written (from each stream's ``output_file``)."""
    if "files" in result:
        return result
    files: list[str] = []
    for s in result.get("streams") or ():
        found = s.get("output_files") or ([s["output_file"]] if s.get("output_file") else [])
        files.extend(f for f in found if f not in files)
    if files:
        result = {**result, "files": files}
    return result
