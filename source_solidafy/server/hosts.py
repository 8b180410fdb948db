"""Which ``Host`` headers this server answers: a defence against DNS rebinding.

A web page can make a browser send requests to ``http://127.0.0.1:8080`` only under a name it
controls (``http://evil.example:8080`` whose DNS later answers 127.0.0.1); the browser then sends
``Host: evil.example:8080``. So a request is answered only when its ``Host`` (port ignored) is:

- the ``--host`` the server is bound to;
- ``localhost`` or a loopback address, when bound to loopback;
- any IP address, when bound to every interface (``0.0.0.0``, ``::``): an address is no rebinding;
- a name given with ``--allowed-host`` (repeatable; ``*`` turns the check off, e.g. behind a proxy).

A request without ``Host`` (HTTP/1.0 tools) is answered: no browser sends one.
"""

from __future__ import annotations

import ipaddress

from source_solidafy.server.settings import ServerSettings, is_loopback

_WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def _name(host_header: str) -> str:
    """``[::1]:8080`` -> ``::1``, ``Example.COM.:80`` -> ``example.com``."""
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def host_allowed(settings: ServerSettings, host_header: str | None) -> bool:
    if not host_header or "*" in settings.allowed_hosts:
        return True
    name = _name(host_header)
    bound = settings.host.strip("[]").lower()
    if name == bound or name in settings.allowed_hosts:
        return True
    if bound in _WILDCARDS:
        return _is_ip(name) or name == "localhost"
    return is_loopback(bound) and is_loopback(name)


def refusal(settings: ServerSettings, host_header: str) -> str:
    names = ", ".join(dict.fromkeys([settings.host, *(["localhost"] if is_loopback(settings.host) else []),
                                     *settings.allowed_hosts]))
    return (f"Host {host_header!r} is not a name of this server (it answers to {names}); "
            "its operator can add names with --allowed-host")
