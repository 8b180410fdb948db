"""A requests adapter whose every new connection asks a guard where it may connect, at connect time.

The guard (``Confinement.resolve``: host, port -> address) resolves the name, refuses what it must
and returns the address the socket then connects to, so what was checked is what is reached: a name
that resolves to a public address first and to ``127.0.0.1`` later (DNS rebinding) is checked again
for each new connection, redirects and token requests included (they share the session). TLS still
verifies the certificate against the host name. Connections to a proxy the environment configures
(``HTTPS_PROXY``) are the operator's choice and are not checked.
"""

from __future__ import annotations

import socket
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import NameResolutionError

from source_solidafy.confinement import ConnectGuard
from source_solidafy.rest.transport import WatchedAdapter


def _guarded(conn_cls: type[HTTPConnection], guard: ConnectGuard) -> type[HTTPConnection]:
    class Guarded(conn_cls):  # type: ignore[valid-type,misc]
        _dns_host: str  # urllib3 sets it in __init__, unannotated

        def _new_conn(self) -> socket.socket:
            if getattr(self, "proxy", None) is not None:
                return super()._new_conn()
            name = self._dns_host
            try:
                address = guard(name, self.port)
            except socket.gaierror as exc:
                raise NameResolutionError(self.host, self, exc) from exc
            self._dns_host = address
            try:
                return super()._new_conn()
            finally:
                self._dns_host = name  # TLS (SNI, certificate check) uses the name

    return Guarded


class GuardedAdapter(WatchedAdapter):
    """The session's adapter (deadline watch included) whose pools make :func:`_guarded` connections."""

    def __init__(self, guard: ConnectGuard, **kwargs: Any) -> None:
        self._guard = guard
        super().__init__(**kwargs)

    def connection_classes(self) -> tuple[type[HTTPConnection], type[HTTPSConnection]]:
        http, https = super().connection_classes()
        return _guarded(http, self._guard), _guarded(https, self._guard)  # type: ignore[return-value]
