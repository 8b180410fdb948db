"""Which hosts may receive a connector's credentials: the origin rule, in one place.

An origin is (scheme, host, port), as browsers define it: ``http://127.0.0.1:8080`` and
``http://localhost:8080`` are two origins, and so are two ports of one host. Credentials — every
header, query parameter and cookie the auth adds, static headers, whatever their names — go only to
the origin of ``base_url`` and to the origins the connector lists itself::

    http:
      allowed_hosts:
        - cdn.example.com                 # https://cdn.example.com (port 443)
        - files.example.com:8443          # https://files.example.com:8443
        - http://127.0.0.1:9000           # exactly this origin

A request to any other origin carries only :data:`FORWARDABLE_HEADERS` and no cookie.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from http.cookiejar import Cookie, DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

Origin = tuple[str, str, int]

DEFAULT_PORTS = {"http": 80, "https": 443}
# the only headers a request to an origin that may not get credentials keeps (a redirect hop included)
FORWARDABLE_HEADERS = frozenset({"accept", "accept-encoding", "accept-language", "user-agent", "connection"})


@functools.lru_cache(maxsize=1024)  # asked for every request's URL (CredentialScope.allows): the same few URLs
def origin_of(url: str) -> Origin | None:
    """``(scheme, host, port)`` of an absolute http(s) URL; None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port if port is not None else DEFAULT_PORTS[scheme]


def show_origin(origin: Origin | None) -> str:
    if origin is None:
        return "(no origin)"
    scheme, host, port = origin
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" if DEFAULT_PORTS.get(scheme) == port else f"{scheme}://{host}:{port}"


def parse_allowed(entry: str) -> Origin:
    """An ``allowed_hosts`` entry as an origin; a bare ``host[:port]`` means https. ValueError if bad."""
    text = entry.strip()
    origin = origin_of(text if "://" in text else f"https://{text}")
    if origin is None or urlsplit(text if "://" in text else f"https://{text}").path not in ("", "/"):
        raise ValueError(f"allowed_hosts entry {entry!r} is not a host, host:port or scheme://host[:port]")
    return origin


def same_origin(a: str, b: str) -> bool:
    """True when ``b`` is ``a``'s origin, or the same host upgraded from http:80 to https:443."""
    oa, ob = origin_of(a), origin_of(b)
    if oa is None or ob is None:
        return False
    return oa == ob or (oa[1] == ob[1] and oa[0::2] == ("http", 80) and ob[0::2] == ("https", 443))


def forwardable(headers: Mapping[str, str]) -> dict[str, str]:
    """Only the harmless headers, for a request to an origin that may not get credentials."""
    return {k: v for k, v in headers.items() if k.lower() in FORWARDABLE_HEADERS}


class CredentialScope:
    """The origins that may receive credentials: ``base_url``'s (set once known) and ``allowed_hosts``."""

    def __init__(self, allowed_hosts: Iterable[str] = ()) -> None:
        self.allowed: frozenset[Origin] = frozenset(parse_allowed(h) for h in allowed_hosts)
        self.base: Origin | None = None

    def set_base(self, base_url: str) -> None:
        self.base = origin_of(base_url)

    def allows(self, url: str) -> bool:
        origin = origin_of(url)
        return origin is not None and (origin == self.base or origin in self.allowed)

    def describe(self) -> str:
        """``http://127.0.0.1:8080`` (plus the allowed hosts), for messages."""
        extra = sorted(show_origin(o) for o in self.allowed)
        allowed = f" or http.allowed_hosts ({', '.join(extra)})" if extra else ""
        return f"base_url's origin {show_origin(self.base)}{allowed}"


class ScopedCookiePolicy(DefaultCookiePolicy):
    """The standard cookie rules, and no cookie at all to a URL ``allows`` refuses.

    The standard rules ignore ports, so without this a cookie set by ``127.0.0.1:8080`` would go to
    ``127.0.0.1:9999`` too.
    """

    def __init__(self, allows: Callable[[str], bool]) -> None:
        super().__init__()
        self._allows = allows

    def return_ok(self, cookie: Cookie, request: Any) -> bool:
        return self._allows(request.get_full_url()) and super().return_ok(cookie, request)
