"""HttpClient's connect guard over real sockets: checked at connect time, on the address connected to.

The guard here treats 127.0.0.1 as the only allowed address and 127.0.0.2 (also this machine: all of
127/8 is loopback) as a private one, so a redirect and a DNS rebinding can be played for real. The
server's own rule (``Confinement.resolve``) is tested with the real server in test_server_hostile.py.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from integration_tests.mocks.server import MockServer, Request, Response
from source_solidafy.confinement import Confinement, NotAllowedError
from source_solidafy.errors import HttpError
from source_solidafy.rest.http import HttpClient

ALLOWED = "127.0.0.1"


def _ok(req: Request) -> Response:
    return Response.json({"data": [{"id": 1}]}, Connection="close")  # every request: a new connection


@pytest.fixture
def twins() -> Iterator[tuple[MockServer, MockServer]]:
    """The same port on 127.0.0.1 (allowed) and on 127.0.0.2 (the 'internal' one)."""
    public = MockServer(_ok)  # bound now, started by the with
    with public, MockServer(_ok, host="127.0.0.2", port=public.port) as internal:
        yield public, internal


class Resolver:
    """A guard with a scripted DNS: ``rebind.test`` answers ``answers`` in turn; literals are themselves."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> str:
        address = self.answers.pop(0) if host == "rebind.test" else host
        self.asked.append(address)
        if address != ALLOWED:
            raise NotAllowedError(f"refused to connect to {host}:{port} (private)")
        return address


def test_rebinding_name_is_checked_on_every_connection(twins: tuple[MockServer, MockServer]) -> None:
    public, internal = twins
    guard = Resolver([ALLOWED, "127.0.0.2"])
    with HttpClient(f"http://rebind.test:{public.port}", max_retries=0, connect_guard=guard) as client:
        assert client.request("GET", "/first").json() == {"data": [{"id": 1}]}
        with pytest.raises(NotAllowedError, match="rebind.test"):
            client.request("GET", "/second")
    assert public.paths() == ["/first"] and internal.requests == []
    assert guard.asked == [ALLOWED, "127.0.0.2"]


def test_redirect_to_a_private_address_is_refused(twins: tuple[MockServer, MockServer]) -> None:
    public, internal = twins

    def redirect(req: Request) -> Response:
        return Response(302, headers={"Location": f"http://127.0.0.2:{public.port}/admin"})

    public.handler = redirect
    with HttpClient(public.url, max_retries=0, connect_guard=Resolver([])) as client, \
            pytest.raises(NotAllowedError, match="127.0.0.2"):
        client.request("GET", "/items")
    assert public.paths() == ["/items"] and internal.requests == []


def test_unknown_host_still_reported_as_such() -> None:
    def guard(host: str, port: int) -> str:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with HttpClient("http://no-such-host.invalid", max_retries=0, connect_guard=guard) as client, \
            pytest.raises(HttpError, match="cannot resolve host 'no-such-host.invalid'"):
        client.request("GET", "/x")


def test_confinement_refuses_a_name_with_any_private_address(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"mixed.test": ["93.184.215.14", "10.0.0.7"], "public.test": ["93.184.215.14"]}

    def fake(host: str, port: int, *args: object, **kwargs: object) -> list[tuple]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(NotAllowedError, match="mixed.test:443"):
        Confinement().resolve("mixed.test", 443)
    assert Confinement().resolve("public.test", 443) == "93.184.215.14"
    assert Confinement(private_networks=True).connect_guard() is None
