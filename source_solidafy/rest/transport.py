"""The session under every REST request: it bounds what a server can make us do.

:class:`GuardedSession` is a ``requests.Session`` (HttpClient and the token requests of the auths
use it) that

- reads every body itself while it streams, and stops past ``limits.max_bytes`` *decoded* bytes
  (a gzip bomb or an endless chunked stream fails after that many bytes, not after filling memory):
  :class:`ResponseTooLarge`;
- gives every request an overall deadline (``limits.deadline_secs``; connect, headers and body
  together): a watchdog thread shuts the socket of a request still running then, however slowly the
  server trickles: :class:`DeadlineExceeded`;
- follows redirects itself: within one origin as requests would; to another origin with only the
  harmless headers (no credential whatever its name, no cookie) and never with a body
  (:class:`RedirectRefused`); at most ``max_redirects`` hops.

    session = GuardedSession(Limits(max_bytes=128 * 2**20, deadline_secs=30))
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlparse

import requests
from requests.adapters import HTTPAdapter
from requests.cookies import extract_cookies_to_jar
from requests.utils import requote_uri, resolve_proxies
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager

from source_solidafy.rest import header_parsing
from source_solidafy.rest.body import read_whole
from source_solidafy.rest.origins import FORWARDABLE_HEADERS, same_origin
from source_solidafy.rest.reuse import HeaderLines, pool_key

header_parsing.install()  # plain response headers without the email parser (the same HTTPMessage)

DEFAULT_MAX_RESPONSE_MB = 128
MAX_REDIRECTS = 10
_CHUNK = 64 * 1024


@dataclass(repr=False, eq=False)
class Limits:
    """What one response may cost: decoded bytes, and seconds from connect to the last byte."""

    max_bytes: int = DEFAULT_MAX_RESPONSE_MB * 2**20
    deadline_secs: float | None = None


class ResponseTooLarge(requests.RequestException):
    """The decoded body passed ``Limits.max_bytes`` (reading stopped there)."""

    def __init__(self, url: str, limit: int) -> None:
        super().__init__(f"the response from {url} is larger than {limit / 2**20:g} MB (http.max_response_mb)")
        self.limit = limit


class DeadlineExceeded(requests.Timeout):
    """The request was still running at its deadline: a timeout (retried like one), however slow the trickle."""

    def __init__(self, url: str, secs: float) -> None:
        super().__init__(f"no complete response from {url} within {secs:g}s (http.deadline_secs)")
        self.secs = secs


class RedirectRefused(requests.RequestException):
    """A redirect that would resend the request body to another origin."""


# --------------------------------------------------------------------------------------- deadline


class _Watch:
    __slots__ = ("at", "sock", "expired", "done")

    def __init__(self, at: float) -> None:
        self.at, self.sock, self.expired, self.done = at, None, False, False


def _shutdown(sock: Any) -> None:
    with contextlib.suppress(OSError):  # the plain-socket method: on TLS too it unblocks a blocked read
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread that shuts the socket of every request whose deadline passed."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Watch]] = []
        self._seq = itertools.count()
        self._finished = 0
        self._thread: threading.Thread | None = None
        self._local = threading.local()

    def watch(self, secs: float | None) -> _Watching:
        """``with watchdog.watch(secs) as w:``: the request in the block is shut at ``secs`` (None: never)."""
        return _Watching(self, secs)

    def _start(self, secs: float) -> _Watch:
        w = _Watch(time.monotonic() + secs)
        with self._cond:
            heapq.heappush(self._heap, (w.at, next(self._seq), w))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="solidafy-deadlines", daemon=True)
                self._thread.start()
            if self._heap[0][2] is w:  # else the thread wakes before this deadline anyway: no hand-off per request
                self._cond.notify()
        self._local.current = w
        return w

    def _stop(self, w: _Watch) -> None:
        self._local.current = None
        with self._cond:
            w.done, w.sock = True, None
            self._finished += 1
            if self._finished > 512 and self._finished * 2 > len(self._heap):
                self._heap = [e for e in self._heap if not e[2].done]
                heapq.heapify(self._heap)
                self._finished = 0

    def attach(self, sock: Any) -> None:
        """The socket the current thread's request reads from (called once the request is sent)."""
        w = getattr(self._local, "current", None)
        if w is None or sock is None:
            return
        with self._cond:
            w.sock = sock
            if w.expired:
                _shutdown(sock)

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                    self._finished = max(0, self._finished - 1)
                if not self._heap:
                    self._cond.wait()
                    continue
                delay = self._heap[0][0] - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                w = heapq.heappop(self._heap)[2]
                w.expired = True
                if w.sock is not None:
                    _shutdown(w.sock)


class _Watching:
    """The context of :meth:`_Watchdog.watch` (a class: a generator-based one costs more per request)."""

    __slots__ = ("_dog", "_secs", "_watch")

    def __init__(self, dog: _Watchdog, secs: float | None) -> None:
        self._dog, self._secs = dog, secs
        self._watch: _Watch | None = None

    def __enter__(self) -> _Watch | None:
        if self._secs is not None:
            self._watch = self._dog._start(self._secs)
        return self._watch

    def __exit__(self, *exc: object) -> None:
        if self._watch is not None:
            self._dog._stop(self._watch)


_WATCHDOG = _Watchdog()


class _WatchedHTTPConnection(HeaderLines, HTTPConnection):
    def getresponse(self) -> Any:
        _WATCHDOG.attach(self.sock)
        with header_parsing.OURS:
            return super().getresponse()


class _WatchedHTTPSConnection(HeaderLines, HTTPSConnection):
    def getresponse(self) -> Any:
        _WATCHDOG.attach(self.sock)
        with header_parsing.OURS:
            return super().getresponse()


class WatchedAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections tell the watchdog which socket a request reads from.

    Subclasses wrap the connection classes further (rest/guard.py checks where they connect).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pool_keys: dict[tuple[Any, ...], tuple[PoolManager, Any, dict[str, Any]]] = {}  # per origin and TLS
        super().__init__(*args, **kwargs)

    def connection_classes(self) -> tuple[type[HTTPConnection], type[HTTPSConnection]]:
        return _WatchedHTTPConnection, _WatchedHTTPSConnection

    def _pools(self) -> dict[str, type[HTTPConnectionPool]]:
        http, https = self.connection_classes()
        return {"http": type("WatchedPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
                "https": type("WatchedTlsPool", (HTTPSConnectionPool,), {"ConnectionCls": https})}

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools()

    # Without a proxy (EnvProxies gives {}), requests' select_proxy parses the URL twice per request to
    # find none, and urllib3 builds the pool key again: these skip that and look the pool up by its
    # kept key as connection_from_host would (a pool the manager dropped is made again).
    def get_connection_with_tls_context(self, request: requests.PreparedRequest, verify: Any,
                                        proxies: dict[str, str] | None = None, cert: Any = None) -> Any:
        if proxies:
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        assert request.url is not None
        key = (*request.url.split("/", 3)[:3], verify, cert)  # what the pool depends on: scheme, host, port, TLS
        manager = self.poolmanager
        kept = self._pool_keys.get(key)
        if kept is not None and kept[0] is manager:
            return manager.connection_from_pool_key(kept[1], request_context=dict(kept[2]))
        try:
            host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        except ValueError as e:
            raise requests.exceptions.InvalidURL(e, request=request) from None
        pool = manager.connection_from_host(**host_params, pool_kwargs=pool_kwargs)  # (its errors as before)
        if len(self._pool_keys) >= 256:
            self._pool_keys.clear()
        self._pool_keys[key] = (manager, *pool_key(manager, host_params, pool_kwargs))
        return pool

    def request_url(self, request: requests.PreparedRequest, proxies: dict[str, str] | None) -> str:
        return super().request_url(request, proxies) if proxies else request.path_url

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools are not watched: deadline checked after the read
            manager.pool_classes_by_scheme = self._pools()
        return manager


# ---------------------------------------------------------------------------------------- session


class GuardedSession(requests.Session):
    """A session with bounded bodies, a deadline per request and its own redirects."""

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__()
        self.limits = limits or Limits()
        self.max_redirects = MAX_REDIRECTS

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send ``request``, follow redirects under the origin rule, and read the final body (bounded)."""
        stream = bool(kwargs.pop("stream", False))  # a successful body left unread (HttpClient.stream)
        follow = kwargs.pop("allow_redirects", True)
        kwargs.setdefault("verify", self.verify)
        kwargs.setdefault("cert", self.cert)
        if "proxies" not in kwargs:
            kwargs["proxies"] = resolve_proxies(request, self.proxies, self.trust_env)
        history: list[requests.Response] = []
        while True:
            resp = self._send_one(request, kwargs, follow, stream)
            target = self.get_redirect_target(resp) if follow else None
            if target is None:
                resp.history = history
                return resp
            history.append(resp)
            if len(history) > self.max_redirects:
                raise requests.TooManyRedirects(f"more than {self.max_redirects} redirects from {history[0].url}")
            request = self._next_hop(request, resp, target)
            kwargs["proxies"] = self.rebuild_proxies(request, kwargs["proxies"])

    def _send_one(self, request: requests.PreparedRequest, kwargs: dict[str, Any], follow: bool,
                  stream: bool = False) -> requests.Response:
        """One hop; its body read within the limits unless ``stream`` and it succeeded (then the
        deadline covers the headers only: the reader bounds what comes after)."""
        assert request.url is not None
        limits = self.limits
        with _WATCHDOG.watch(limits.deadline_secs) as watch:
            try:
                resp = self.get_adapter(request.url).send(request, stream=True, **kwargs)
                if "set-cookie" in resp.raw.headers or "set-cookie2" in resp.raw.headers:  # (what the jar reads)
                    extract_cookies_to_jar(self.cookies, request, resp.raw)
                if follow and resp.is_redirect:
                    resp.close()  # a redirect's body is never read: drop the connection instead
                elif not (stream and resp.status_code < 400):
                    _read_body(resp, limits.max_bytes)
            except requests.RequestException:
                if watch is not None and watch.expired:  # whatever the shut socket raised
                    raise DeadlineExceeded(request.url, limits.deadline_secs or 0) from None
                raise
            if watch is not None and watch.expired:  # a close-delimited body ends cleanly when shut
                raise DeadlineExceeded(request.url, limits.deadline_secs or 0)
        return resp

    def _next_hop(self, previous: requests.PreparedRequest, resp: requests.Response, target: str) -> requests.PreparedRequest:
        """The redirected request: requests' own rules, then the origin rule."""
        assert previous.url is not None
        if target.startswith("//"):
            target = f"{urlparse(previous.url).scheme}:{target}"
        url = requote_uri(target) if urlparse(target).netloc else urljoin(previous.url, requote_uri(target))
        nxt = previous.copy()
        nxt.url = url
        self.rebuild_method(nxt, resp)
        if resp.status_code not in (307, 308):  # the method became GET: no body
            for name in ("Content-Length", "Content-Type", "Transfer-Encoding"):
                nxt.headers.pop(name, None)
            nxt.body = None
        nxt.headers.pop("Cookie", None)
        if not same_origin(previous.url, url):
            if nxt.body is not None:
                raise RedirectRefused(
                    f"HTTP {resp.status_code} from {previous.url} redirects to another origin ({url}) and would "
                    "resend the request body there; refused"
                )
            kept = {k: v for k, v in nxt.headers.items() if k.lower() in FORWARDABLE_HEADERS}
            nxt.headers.clear()
            nxt.headers.update(kept)
        nxt.prepare_cookies(self.cookies)  # the jar's policy decides which cookies the new URL gets
        return nxt


def _read_body(resp: requests.Response, max_bytes: int) -> None:
    """Read the decoded body into ``resp`` (so ``resp.content`` works), at most ``max_bytes`` of it."""
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes and not resp.headers.get("content-encoding"):
        resp.close()
        raise ResponseTooLarge(resp.url, max_bytes)
    if read_whole(resp, max_bytes):  # a plain body of known length: one read (rest/body.py)
        return
    parts: list[bytes] = []
    total = 0
    for chunk in resp.iter_content(_CHUNK):
        total += len(chunk)
        if total > max_bytes:
            resp.close()
            raise ResponseTooLarge(resp.url, max_bytes)
        parts.append(chunk)
    resp._content = b"".join(parts)  # what requests itself stores once a body is read


class EnvProxies:
    """Environment proxies (HTTPS_PROXY, NO_PROXY...) per scheme and host, looked up once.

    requests re-reads the whole environment on every request when ``trust_env`` is on; that was half
    of our per-page overhead, so the session has it off and the client asks this cache instead.
    """

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, str]] = {}

    def for_url(self, url: str) -> dict[str, str]:
        scheme, _, rest = url.partition("://")
        key = f"{scheme}://{rest.split('/', 1)[0]}"
        proxies = self._cache.get(key)
        if proxies is None:
            proxies = self._cache[key] = requests.utils.get_environ_proxies(key)
        return proxies


def make_session(limits: Limits, pool_size: int, connect_guard: Callable[[str, int], str] | None = None,
                 ) -> GuardedSession:
    """A pooled guarded session (HttpClient's; its auth's token requests use it too).

    ``connect_guard`` (host, port -> address) is asked before every new connection (rest/guard.py).
    """
    import os

    session = GuardedSession(limits)
    session.trust_env = False  # HttpClient reads proxies from the environment once per host
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    if connect_guard is not None:
        from source_solidafy.rest.guard import GuardedAdapter

        adapter: WatchedAdapter = GuardedAdapter(connect_guard, pool_connections=pool_size, pool_maxsize=pool_size)
    else:
        adapter = WatchedAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def refusal(exc: BaseException) -> str:
    """The reason part of a transport refusal (its own message names the URL unredacted: drop it)."""
    if isinstance(exc, ResponseTooLarge):
        return f"the response is larger than {exc.limit / 2**20:g} MB, the limit (http.max_response_mb); stopped reading there"
    return str(exc)
