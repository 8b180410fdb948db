"""Helpers for the database tests: real servers driven through their own CLIs, a fake PostgreSQL
that asks for a password, and the runner's NDJSON conversion. (No tests in this module.)"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import os
import shutil
import socket
import struct
import subprocess
import threading
from decimal import Decimal
from typing import Any

import orjson
import pytest

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
MY_HOST, MY_PORT, MY_USER = "127.0.0.1", 3306, "root"


def unique(prefix: str) -> str:
    """A database name no other test run on this machine uses."""
    return f"{prefix}_{os.getpid()}_{threading.get_ident() % 10000}"


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} (the server's client) is not installed; the database tests need it")
    return path


def psql(sql: str, database: str = "postgres") -> str:
    """Run SQL on the real PostgreSQL (trust auth, user postgres); raise with psql's message on error."""
    proc = subprocess.run(
        [_need("psql"), "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", database,
         "-v", "ON_ERROR_STOP=1", "-q", "-X", "-A", "-t"],
        input=sql, capture_output=True, text=True, timeout=120, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"psql failed: {proc.stderr}")
    return proc.stdout


def mysql(sql: str, database: str | None = None) -> str:
    """Run SQL on the real MariaDB (user root, empty password)."""
    args = [_need("mysql"), "-h", MY_HOST, "-P", str(MY_PORT), "-u", MY_USER, "--batch", "--skip-column-names"]
    if database:
        args.append(database)
    proc = subprocess.run(args, input=sql, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"mysql failed: {proc.stderr}")
    return proc.stdout


def _default(value: Any) -> Any:
    """What the runner does for values orjson does not know (see the lead's NDJSON writer)."""
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dt.timedelta):
        return f"PT{value.total_seconds()}S"
    raise TypeError(f"not JSON: {type(value).__name__}")


def as_json_rows(batches: list[Any]) -> list[dict[str, Any]]:
    """Batches -> the JSON objects the NDJSON writer would print (to_pylist + orjson)."""
    out: list[dict[str, Any]] = []
    for batch in batches:
        for row in batch.records.to_pylist():
            out.append(orjson.loads(orjson.dumps(row, default=_default)))
    return out


class FakePostgres:
    """A TCP server speaking just enough of the PostgreSQL protocol to ask for a cleartext password,
    record it and refuse it the way a real server does (SQLSTATE 28P01). Our PostgreSQL uses trust
    auth, so this is how a wrong password and the exact bytes of a password get tested."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.passwords: list[str] = []
        self.startups: list[dict[str, str]] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self.sock.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, contextlib.suppress(EOFError, OSError):
                self._session(conn)

    @staticmethod
    def _recv(conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _session(self, conn: socket.socket) -> None:
        while True:
            (length,) = struct.unpack("!I", self._recv(conn, 4))
            body = self._recv(conn, length - 4)
            if struct.unpack("!I", body[:4])[0] in (80877103, 80877104):  # SSL / GSSENC request
                conn.sendall(b"N")
                continue
            parts = body[4:].split(b"\0")
            self.startups.append({k.decode(): v.decode() for k, v in zip(parts[::2], parts[1::2], strict=False) if k})
            break
        conn.sendall(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword
        self._recv(conn, 1)
        (length,) = struct.unpack("!I", self._recv(conn, 4))
        self.passwords.append(self._recv(conn, length - 4).rstrip(b"\0").decode())
        user = self.startups[-1].get("user", "")
        fields = (
            b"SFATAL\0VFATAL\0C28P01\0M"
            + f'password authentication failed for user "{user}"'.encode()
            + b"\0\0"
        )
        conn.sendall(b"E" + struct.pack("!I", len(fields) + 4) + fields)
