"""``GET /openapi.json``: every endpoint, body and error code, as OpenAPI 3.1 (hand-written, small)."""

from __future__ import annotations

from typing import Any

from source_solidafy import __version__

_REF = "#/components/schemas/"
ERROR_CODES = {
    400: "bad_request: body is not JSON / not an object / a field has the wrong type; "
         "host_not_allowed: the Host header is not one of this server's names (--allowed-host)",
    401: "unauthorized: our bearer token is missing or wrong; upstream_unauthorized: the connector's API refused the config's credentials",
    403: "custom_connectors_disabled, output_not_allowed; not_allowed: a private/loopback target without "
         "--allow-private-networks, an SQLite file outside --sqlite-dir, a database socket or file option",
    404: "unknown_connector, unknown_stream, not_found",
    413: "payload_too_large (request body), too_many_records (use streaming or max_records)",
    415: "unsupported_media_type: a POST body must be sent with Content-Type: application/json",
    422: "invalid_config, invalid_manifest, invalid_state, invalid_request",
    500: "internal_error (a bug; detail in the server log)",
    502: "upstream_error: the connector's API failed after retries; sync_failed: every stream of a /sync failed "
         "(the body also carries data.result with each stream's error)",
    503: "busy: --max-concurrent-calls connector calls are running; retry after Retry-After seconds",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): _json(_ref("Error"), ERROR_CODES[s]) for s in statuses}


def _ok(data: dict[str, Any]) -> dict[str, Any]:
    return _json({"type": "object", "properties": {"success": {"const": True}, "data": data}})


def _post(summary: str, body: str, data: dict[str, Any], *statuses: int, **extra: Any) -> dict[str, Any]:
    return {"post": {
        "summary": summary,
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(body)}}},
        "responses": {"200": _ok(data), **_errors(400, 401, 403, 404, 413, 415, 422, 500, 503, *statuses)},
        **extra,
    }}


def _get(summary: str, data: dict[str, Any], *statuses: int) -> dict[str, Any]:
    return {"get": {"summary": summary, "responses": {"200": _ok(data), **_errors(401, 500, *statuses)}}}


_OBJ = {"type": "object"}
_NAME = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
_STREAMS = {"type": "object", "properties": {"connector": {"type": "string"}, "streams": {"type": "array", "items": {"type": "string"}}}}


def _schemas() -> dict[str, Any]:
    target = {
        "connector": {"type": "string", "description": "built-in connector name or alias (GET /connectors)"},
        "connector_yaml": {"type": "string", "description": "custom connector YAML text; only with --allow-custom-connectors"},
        "config": {"type": "object", "description": "the connector's config (its config_schema)"},
    }
    sync = {
        **target,
        "streams": {"type": "array", "items": {"type": "string"}, "description": "default: all"},
        "format": {"enum": ["json", "parquet"], "default": "json"},
        "output": {"type": "string", "description": "s3://, r2://, gs://, az:// URI; a local dir only under --output-root"},
        "state": {"oneOf": [_OBJ, {"type": "array"}], "description": "previous state: {\"streams\": {...}} or Airbyte STATE messages"},
        "max_records": {"type": "integer", "minimum": 1, "description": "per stream"},
        "cursor_fields": {"type": "object", "additionalProperties": {"type": "string"}, "description": "stream -> incremental column (databases)"},
        "compression": {"type": "string", "description": "parquet compression (default zstd)"},
        "strict": {"type": "boolean", "default": False,
                   "description": "a warning (the stream may not have read everything) fails the stream"},
        "concurrency": {"type": "integer", "minimum": 1, "maximum": 16, "default": 4,
                        "description": "HTTP requests of this sync in flight at once (streams, partitions, parents)"},
    }
    return {
        "Error": {"type": "object", "properties": {"success": {"const": False}, "error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
        "ConnectorRequest": {"type": "object", "properties": target},
        "DiscoverRequest": {"type": "object", "properties": {**target, "sample": {"type": "integer", "minimum": 0}}},
        "SyncRequest": {"type": "object", "properties": sync},
        "Connector": {"type": "object", "properties": {
            "name": {"type": "string"}, "description": {"type": "string"}, "category": {"type": "string"},
            "aliases": {"type": "array", "items": {"type": "string"}},
            "config_schema": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "type": {"type": "string"}, "required": {"type": "boolean"},
                "secret": {"type": "boolean"}, "description": {"type": "string"}}}},
            "streams": {"type": ["array", "null"], "items": {"type": "string"}},
            "streams_dynamic": {"type": "boolean"}, "streams_hint": {"type": "string"}}},
        "SyncResult": {"type": "object", "properties": {"type": {"const": "SYNC_RESULT"}, "result": {"type": "object", "properties": {
            "status": {"enum": ["SUCCEEDED", "PARTIAL", "FAILED"]}, "connector": {"type": "string"},
            "total_records": {"type": "integer"}, "streams": {"type": "array", "items": _OBJ},
            "state": _OBJ, "records": {"type": "array", "items": _OBJ},
            "files": {"type": "array", "items": {"type": "string"}},
            "config": {**_OBJ, "description": "only when the token endpoint rotated the refresh token: the whole "
                       "updated config, to send next time (the old one will be refused)"}}}}},
    }


def _sync_path() -> dict[str, Any]:
    streamed: dict[str, Any] = {"description": "Accept: application/x-ndjson: protocol messages (RECORD, STATE, ..., SYNC_SUMMARY last); "
                "a failure after the start ends the stream with {\"type\": \"ERROR\", \"error\": {...}}",
                "content": {"application/x-ndjson": {"schema": _OBJ}}}
    op: dict[str, Any] = _post("Run a sync; JSON result, or streamed NDJSON with Accept: application/x-ndjson",
               "SyncRequest", _ref("SyncResult"), 502)
    op["post"]["responses"]["200"]["content"]["application/x-ndjson"] = streamed["content"]["application/x-ndjson"]
    op["post"]["responses"]["200"]["description"] = streamed["description"]
    return op


def openapi_document() -> dict[str, Any]:
    connectors = {"type": "object", "properties": {"connectors": {"type": "array", "items": _ref("Connector")}}}
    paths = {
        "/health": {"get": {"summary": "Liveness (no token needed)", "security": [],
                            "responses": {"200": _json({"type": "object", "properties": {"status": {"const": "ok"}}})}}},
        "/openapi.json": _get("This document", _OBJ),
        "/connectors": _get("Built-in connectors with config_schema and streams", connectors),
        "/connectors/{name}": {**_get("One connector", _ref("Connector"), 404), "parameters": _NAME},
        "/connectors/{name}/streams": {**_get("Stream names (REST connectors; databases need POST /streams)", _STREAMS, 404, 422), "parameters": _NAME},
        "/connectors/{name}/spec": {**_get("The SPEC message (connectionSpecification, JSON Schema draft 7)", _OBJ, 404), "parameters": _NAME},
        "/streams": _post("Stream names (with a config: database tables)", "ConnectorRequest", _STREAMS, 502),
        "/check": _post("Test credentials: CONNECTION_STATUS (bad credentials are status FAILED, not an error)", "ConnectorRequest", _OBJ, 502),
        "/discover": _post("CATALOG with JSON schemas (sample > 0 infers schemas from records)", "DiscoverRequest", _OBJ, 502),
        "/sync": _sync_path(),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "solidafy HTTP API", "version": __version__},
        "paths": paths,
        "components": {"schemas": _schemas(), "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }
