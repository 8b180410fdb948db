"""What a connector run for an untrusted caller may touch: the HTTP server's requests.

The CLI and the Python API run unconfined: their YAML and config are the operator's. A request to
``solidafy-cdk serve`` is not, so the server loads every connector with a :class:`Confinement`:

- network targets (``base_url``, ``token_url``, ``login_url``, every page, link and redirect, database
  hosts) must be public addresses, checked on the address actually connected to, at connect time
  (a name that resolves to a public address once and to ``127.0.0.1`` later is still refused);
  ``--allow-private-networks`` lifts this;
- local output goes only under ``--output-root``, and no symlink below it is followed when a
  directory or file is made (``sinks/storage.py``);
- SQLite database files must lie under ``--sqlite-dir``; without it no file is opened. A refused path
  gets one message whether or not it exists;
- PostgreSQL/MySQL connections need a network host (no Unix socket) and take no option that names a
  file on the server (``sslrootcert``, ``passfile``, ``service`` ...): only the options listed below.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from source_solidafy.databases.dialects import DIALECTS
from source_solidafy.errors import ConfigError

if TYPE_CHECKING:
    from source_solidafy.databases.connection import ConnectionSpec

PRIVATE_FLAG = "--allow-private-networks"
SQLITE_FLAG = "--sqlite-dir"
# connection-string options a request may set: none of them reads a file or changes where we connect
DATABASE_OPTIONS = {
    "postgres": frozenset({"sslmode", "connect_timeout", "application_name", "target_session_attrs"}),
    "mysql": frozenset({"ssl_mode"}),
}


ConnectGuard = Callable[[str, int], str]  # (host, port) -> the checked address to connect to


class NotAllowedError(ConfigError):
    """A request asked for a file, host or option this server does not let requests reach."""


def is_public(address: str) -> bool:
    """A globally routable address: not private, loopback, link-local, shared, reserved or multicast."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class Confinement:
    """The server's limits; ``Confinement()`` is the strictest (the server's defaults)."""

    private_networks: bool = False
    sqlite_dir: str | None = None
    output_root: str | None = None

    def local_output_root(self) -> str:
        """Where local output may go (no symlink below it is followed: ``sinks/storage.py``)."""
        if self.output_root is None:
            raise NotAllowedError("local output directories are not allowed here; use a cloud URI (s3://...)")
        return self.output_root

    # -- networks ---------------------------------------------------------------------------------

    def resolve(self, host: str, port: int) -> str:
        """The address to connect to for ``host``; raises :class:`NotAllowedError` for private ones.

        Every address the name resolves to must be public (a name that also resolves privately is
        refused). ``socket.gaierror`` propagates: an unknown host is reported as such.
        """
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        if not self.private_networks and not all(is_public(str(info[4][0])) for info in infos):
            raise NotAllowedError(
                f"refused to connect to {host}:{port}: it is a private, loopback or link-local address, "
                f"which this server does not reach for requests (its operator can allow it with {PRIVATE_FLAG})"
            )
        return str(infos[0][4][0])

    def connect_guard(self) -> ConnectGuard | None:
        """The hook for :class:`~source_solidafy.rest.http.HttpClient` (None: nothing to check)."""
        return None if self.private_networks else self.resolve

    # -- databases --------------------------------------------------------------------------------

    def database(self, spec: ConnectionSpec) -> ConnectionSpec:
        """The spec to connect with, confined; raises :class:`NotAllowedError`."""
        if spec.dialect == "sqlite":
            return replace(spec, attach=self._sqlite_file(spec.given_path or spec.attach))
        return self._server_database(spec)

    def _sqlite_file(self, path: str) -> str:
        refused = NotAllowedError(
            f"sqlite: {path!r} is not a database file this server may open (requests may read only files under "
            f"the directory its operator named with {SQLITE_FLAG})"
        )
        if self.sqlite_dir is None or "\x00" in path:
            raise refused
        root = os.path.realpath(self.sqlite_dir)
        resolved = os.path.realpath(os.path.join(root, path))  # an absolute path replaces root
        if not resolved.startswith(root.rstrip(os.sep) + os.sep):
            raise refused
        return resolved

    def _server_database(self, spec: ConnectionSpec) -> ConnectionSpec:
        dialect = spec.dialect
        if not spec.secret:
            raise NotAllowedError(
                f"{dialect}: a request must give a URL connection string ({dialect}://user@host:port/db) "
                "or host fields, not a key=value string"
            )
        params = dict(spec.secret)
        extra = sorted(k for k in spec.options if k.lower() not in DATABASE_OPTIONS[dialect])
        if extra:
            raise NotAllowedError(
                f"{dialect}: connection option {extra[0]!r} is not allowed in a request "
                f"(allowed: {', '.join(sorted(DATABASE_OPTIONS[dialect]))})"
            )
        host = str(params.get("host") or "")
        if not host or host.startswith(("/", "@")) or "," in host:
            raise NotAllowedError(f"{dialect}: a request must name one network host (not a local socket)")
        if self.private_networks:
            return spec
        port = int(params.get("port") or DIALECTS[dialect].default_port or 0)
        try:
            address = self.resolve(host, port)
        except OSError:
            raise ConfigError(f"{dialect}: cannot resolve host {host!r}") from None
        if dialect == "postgres":  # libpq connects to hostaddr and still verifies TLS against host
            return replace(spec, attach=f"{spec.attach} hostaddr={address}".strip())
        params["host"] = address  # the MySQL client has no hostaddr: connect to the checked address
        return replace(spec, secret=params)

