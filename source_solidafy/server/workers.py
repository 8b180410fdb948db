"""``serve --workers N``: N pre-forked waitress processes sharing one listening socket.

One waitress process is bound by the GIL: JSON encoding and the sync runner's Python work use one
core. With ``--workers N`` the parent binds the socket, forks N children that each run waitress with
``--threads`` threads on it (the kernel spreads connections), and supervises them: SIGTERM/SIGINT
stops them all (exit 0); a child that dies on its own stops the rest (exit 1) rather than serving
on at reduced capacity unnoticed. POSIX only (``os.fork``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any


def bind(host: str, port: int) -> socket.socket:
    """A listening socket for host:port (IPv4 or IPv6, as the name resolves)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(1024)
    return sock


def _child(make_server: Callable[[], Any]) -> None:
    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    code = 0
    try:
        server = make_server()
        try:
            server.run()
        finally:
            server.close()
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # noqa: BLE001 - reported, then this worker exits non-zero
        sys.stderr.write(f"solidafy serve: worker {os.getpid()} failed: {type(exc).__name__}: {exc}\n")
        code = 1
    finally:
        sys.stderr.flush()
        os._exit(code)


def _stop_all(children: set[int]) -> None:
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in list(children):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        children.discard(pid)


def supervise(workers: int, make_server: Callable[[], Any]) -> int:
    """Fork ``workers`` children running ``make_server().run()``; return when they are all gone."""

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    children: set[int] = set()
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            _child(make_server)
        children.add(pid)
    signal.signal(signal.SIGTERM, stop)
    try:
        pid, status = os.wait()
        children.discard(pid)
        sys.stderr.write(f"solidafy serve: worker {pid} exited (status {status}); stopping the others\n")
        return_code = 1
    except KeyboardInterrupt:
        return_code = 0
    _stop_all(children)
    return return_code
