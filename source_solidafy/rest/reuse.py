"""What a connection keeps from one request to the next (its header lines), and a pool's key.

**Header lines.** A request header line a connection has written once is appended again, not
encoded and checked again.

``http.client.HTTPConnection.putheader`` encodes every header of every request and checks its name
and value with two regular expressions (urllib3's ``putheader`` first looks for its ``SKIP_HEADER``
marker among the values): ~10% of a request's CPU on a fast local API, where a request carries the
same 8 headers page after page. A connection with :class:`HeaderLines` keeps the line it wrote for a
text name and one text value and appends that line again when the same pair comes back while a
request is being started (the state ``putheader`` requires). The bytes sent are the same; a pair is
kept only once it was written (an invalid one raises ``ValueError`` every time; a ``SKIP_HEADER``
writes nothing and is not kept). The lines are the connection's own (``_MAX`` of them, then
forgotten): no header value outlives the pool's connections.

**Pool keys.** ``PoolManager.connection_from_host`` merges the pool settings and builds the pool's
key on every request; :func:`pool_key` gives the same key and context once, which the adapter
(rest/transport.py) then looks up with the manager's own ``connection_from_pool_key`` (the same
lookup, so a pool the manager dropped from its 32 is made again).
"""

from __future__ import annotations

import http.client
from typing import Any

from urllib3.poolmanager import PoolManager, port_by_scheme

_MAX = 256  # pairs kept per connection (a Content-Length per body size, a changing header...)
_STARTED = http.client._CS_REQ_STARTED  # type: ignore[attr-defined]  # the state putheader requires


class HeaderLines:
    """A mixin before ``urllib3.connection.HTTPConnection`` (or its HTTPS subclass) in the bases."""

    _buffer: list[bytes]
    _HTTPConnection__state: str  # http.client's private state (set by putrequest)
    _lines: dict[tuple[str, str], bytes]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lines = {}

    def putheader(self, header: Any, *values: Any) -> None:
        if len(values) != 1 or type(header) is not str or type(values[0]) is not str:
            super().putheader(header, *values)  # type: ignore[misc]
            return
        key = (header, values[0])
        line = self._lines.get(key)
        if line is not None and self._HTTPConnection__state == _STARTED:
            self._buffer.append(line)
            return
        written = len(self._buffer)
        super().putheader(header, *values)  # type: ignore[misc]
        if len(self._buffer) == written + 1:
            if len(self._lines) >= _MAX:
                self._lines.clear()
            self._lines[key] = self._buffer[-1]


def pool_key(manager: PoolManager, host_params: dict[str, Any], pool_kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The key and request context ``manager.connection_from_host(**host_params, pool_kwargs=pool_kwargs)``
    builds (urllib3 2.8) before it looks the pool up."""
    context = manager._merge_pool_kwargs(pool_kwargs)
    scheme = context["scheme"] = host_params["scheme"] or "http"
    port = host_params["port"]
    context["port"] = port_by_scheme.get(scheme.lower(), 80) if port is None else port
    context["host"] = host_params["host"]
    return manager.key_fn_by_scheme[scheme.lower()](context), context
