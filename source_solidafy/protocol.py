"""Protocol messages (plain dicts) and the NDJSON writer, for both output flavours.

The Airbyte flavour prints only messages ``airbyte_protocol.models.AirbyteMessage`` accepts; the
solidafy flavour adds the global STATE, STREAMS and SYNC_SUMMARY of the original README.
Messages are built as dicts and serialised with orjson, a chunk (one page) at a time; integers beyond
64 bits keep their exact digits (``jsoncodec``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import IO, Any

import orjson

from source_solidafy import jsoncodec

PROTOCOL_VERSION = "0.2.0"
MAX_LINE_BYTES = 5 * 1024 * 1024 - 1

AIRBYTE = "airbyte"
SOLIDAFY = "solidafy"


def now_ms() -> int:
    return int(time.time() * 1000)


def log(level: str, message: str) -> dict[str, Any]:
    return {"type": "LOG", "log": {"level": level, "message": message}}


def record(stream: str, data: dict[str, Any], emitted_at: int) -> dict[str, Any]:
    return {"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": emitted_at}}


def stream_state(stream: str, state: dict[str, Any], record_count: float) -> dict[str, Any]:
    return {
        "type": "STATE",
        "state": {
            "type": "STREAM",
            "stream": {"stream_descriptor": {"name": stream}, "stream_state": state},
            "sourceStats": {"recordCount": float(record_count)},
        },
    }


def global_state(streams: dict[str, Any]) -> dict[str, Any]:
    return {"type": "STATE", "state": {"streams": streams}}


def stream_status(stream: str, status: str, warnings: list[str] | None = None,
                  skipped: list[str] | None = None, notes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A STREAM_STATUS trace; ``warnings`` and ``skipped`` (the stream's summary lists) and ``notes``
    (its ``http`` and ``schema_drift``) ride along as extra fields.

    The protocol's ``reasons`` only know ``RATE_LIMITED``; ``AirbyteStreamStatusTraceMessage`` allows
    extra fields, so ``warnings`` and ``skipped`` stay valid.
    """
    body: dict[str, Any] = {"stream_descriptor": {"name": stream}, "status": status}
    if warnings:
        body["warnings"] = list(warnings)
    if skipped:
        body["skipped"] = list(skipped)
    if notes:
        body.update(notes)
    return {
        "type": "TRACE",
        "trace": {"type": "STREAM_STATUS", "emitted_at": float(now_ms()), "stream_status": body},
    }


def rate_limited(stream: str, quota_reset_ms: int) -> dict[str, Any]:
    """A STREAM_STATUS RUNNING with the protocol's RATE_LIMITED reason: the stream waits for its API's
    quota, which resets at ``quota_reset_ms`` (epoch milliseconds)."""
    message = stream_status(stream, "RUNNING")
    message["trace"]["stream_status"]["reasons"] = [
        {"type": "RATE_LIMITED", "rate_limited": {"quota_reset": quota_reset_ms}}]
    return message


def trace_error(
    message: str, failure_type: str = "system_error", stream: str | None = None, internal: str | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "failure_type": failure_type}
    if internal:
        error["internal_message"] = internal
    if stream:
        error["stream_descriptor"] = {"name": stream}
    return {"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": float(now_ms()), "error": error}}


def control_config(config: dict[str, Any]) -> dict[str, Any]:
    """Airbyte's CONTROL message with the connector's whole updated config (a rotated refresh token)."""
    return {"type": "CONTROL", "control": {"type": "CONNECTOR_CONFIG", "emitted_at": float(now_ms()),
                                           "connectorConfig": {"config": config}}}


def connection_status(ok: bool, message: str) -> dict[str, Any]:
    return {
        "type": "CONNECTION_STATUS",
        "connectionStatus": {"status": "SUCCEEDED" if ok else "FAILED", "message": message},
    }


def catalog(streams: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "CATALOG", "catalog": {"streams": streams}}


def spec(connection_specification: dict[str, Any], documentation_url: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "connectionSpecification": connection_specification,
        "protocol_version": PROTOCOL_VERSION,
        "supported_destination_sync_modes": [],
    }
    if documentation_url:
        body["documentationUrl"] = documentation_url
    return {"type": "SPEC", "spec": body}


def streams_message(connector: str, names: list[str]) -> dict[str, Any]:
    return {"type": "STREAMS", "connector": connector, "streams": names}


class RecordLines:
    """A page of RECORD messages kept as records: the writer serialises them without building one
    message dict per record (the CLI's hot path). ``messages()`` gives the dicts to other consumers.
    ``records`` is a list of dicts, or a ``pyarrow.RecordBatch`` (database streams), whose lines are
    built a column at a time in Arrow (``arrow_json``).
    """

    __slots__ = ("stream", "records", "emitted_at")

    def __init__(self, stream: str, records: Any, emitted_at: int) -> None:
        self.stream, self.records, self.emitted_at = stream, records, emitted_at

    def messages(self) -> Iterable[dict[str, Any]]:
        return (record(self.stream, r, self.emitted_at) for r in self._dicts())

    def _dicts(self) -> list[dict[str, Any]]:
        if isinstance(self.records, list):
            return self.records
        from source_solidafy.arrow_rows import rows

        return rows(self.records)

    def lines(self) -> bytes:
        prefix = b'{"type":"RECORD","record":{"stream":' + orjson.dumps(self.stream) + b',"data":'
        suffix = b',"emitted_at":' + str(self.emitted_at).encode() + b"}}"
        if not isinstance(self.records, list) and len(set(self.records.schema.names)) == self.records.num_columns:
            from source_solidafy import arrow_json

            batch = arrow_json.record_lines(self.records, prefix, suffix + b"\n", arrow_json.Style(_encode))
            if arrow_json.longest(batch) <= MAX_LINE_BYTES + 1:
                return arrow_json.joined(batch)[:-1]
        data = _record_data(self._dicts())
        if not data:
            return b""
        if max(map(len, data)) + len(prefix) + len(suffix) <= MAX_LINE_BYTES:  # the page's lines in one join
            data[0] = prefix + data[0]  # the page's first and last line: no copy of the whole page for them
            data[-1] += suffix
            return (suffix + b"\n" + prefix).join(data)
        return b"\n".join(_sized(prefix + d + suffix) for d in data)


Message = dict[str, Any] | RecordLines  # an element of a chunk the runner yields


def expand(chunk: Iterable[Any]) -> Iterable[dict[str, Any]]:
    """The message dicts of a chunk, whether or not it holds RecordLines."""
    for m in chunk:
        if isinstance(m, RecordLines):
            yield from m.messages()
        else:
            yield m


def _default(value: Any) -> Any:
    """orjson fallback for values databases produce (Decimal, bytes, timedelta, sets)."""
    import base64
    import datetime as dt
    import decimal

    if isinstance(value, decimal.Decimal):
        return orjson.Fragment(str(value)) if value.is_finite() else str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dt.timedelta):
        return f"PT{value.total_seconds():g}S"
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


_OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z  # naive timestamps stay naive (no invented zone)
_STR_KEYS = orjson.OPT_UTC_Z  # the same output where every key is a string: a third faster


def _record_data(records: list[dict[str, Any]]) -> list[bytes]:
    """Each record as JSON (a RECORD line's ``data``). Every key a string (JSON's records): without
    ``OPT_NON_STR_KEYS``, which costs orjson a third more time per record; a non-string key (orjson
    refuses it then) or an integer beyond 64 bits (refused either way) sends the page through the
    slower options."""
    dumps = orjson.dumps
    try:
        return [dumps(r, default=_default, option=_STR_KEYS) for r in records]
    except TypeError:
        pass
    try:
        return [dumps(r, default=_default, option=_OPTS) for r in records]
    except TypeError:  # an integer beyond 64 bits: its exact digits, through the slower encoder
        return [jsoncodec.dumps(r, default=_default, option=_OPTS) for r in records]


def _encode(value: Any) -> bytes:
    """One value of a record as JSON, as :meth:`RecordLines.lines` writes it."""
    try:
        return orjson.dumps(value, default=_default, option=_OPTS)
    except TypeError:  # an integer beyond 64 bits: its exact digits, through the slower encoder
        return jsoncodec.dumps(value, default=_default, option=_OPTS)


def dumps(message: dict[str, Any]) -> bytes:
    return jsoncodec.dumps(message, default=_default, option=_OPTS)


def _sized(line: bytes) -> bytes:
    return line if len(line) <= MAX_LINE_BYTES else _oversized(line)


def _oversized(line: bytes) -> bytes:
    return orjson.dumps(log("ERROR", f"a message of {len(line)} bytes was not printed (limit 5 MB)"))


class NdjsonWriter:
    """Writes chunks of messages as NDJSON lines to a binary stream, flushing after each chunk."""

    def __init__(self, out: IO[bytes], pretty: bool = False) -> None:
        self.out = out
        self.pretty = pretty

    def write(self, messages: Iterable[Any]) -> None:
        if self.pretty:
            opts = _OPTS | orjson.OPT_INDENT_2
            data = b"".join(jsoncodec.dumps(m, default=_default, option=opts) + b"\n" for m in expand(messages))
        else:
            parts = [m.lines() if isinstance(m, RecordLines) else _sized(dumps(m)) for m in messages]
            parts = [x for x in parts if x]
            if not parts:
                return
            parts.append(b"")
            data = b"\n".join(parts)  # each line ends with one (one copy of the chunk)
        self.out.write(data)
        self.out.flush()
