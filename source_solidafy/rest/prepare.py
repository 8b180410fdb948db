"""One request prepared as ``requests.Session.request`` would prepare it, at a fraction of the CPU.

``Session.request`` merges the session's settings into every request through generic code (the
runtime ``Protocol`` checks of requests 2.34 in ``to_key_val_list``/``merge_setting``, a copy of the
cookie jar, the URL parsed and re-quoted whole, every header re-validated): ~40% of a request's CPU
on a fast local API. :class:`Preparer` builds the same ``PreparedRequest`` from what ``HttpClient``
sends (an absolute URL, ``(name, value)`` parameters, a header dict, a body of bytes or text):

- the URL without its parameters is prepared by requests itself (``prepare_url``: IDNA, quoting,
  ``/`` for a bare host) once per URL; the parameters are appended with ``urlencode`` exactly as
  requests encodes them (any value that is not text or a number goes through requests' own encoder);
  a URL with a fragment or credentials (``user:pass@``) is prepared by requests whole, every time;
- headers: the session's, then the request's (a ``None`` value removes one), each (name, value)
  checked by requests' ``check_header_validity`` the first time it is seen;
- the body by requests (``prepare_body``: ``Content-Length``), the cookies from the session's jar
  under its policy (the credential scope: none to another origin), skipped while the jar is empty.

Redirects, limits and the deadline stay with ``GuardedSession.send``; unit_tests/rest/test_prepare.py
compares every part with what ``Session.prepare_request`` makes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import requests
from requests.structures import CaseInsensitiveDict
from requests.utils import check_header_validity

_MAX_CACHED = 512  # URLs and header pairs remembered (cleared when full: a next_url per page churns it)
_SIMPLE = (str, int, float)  # parameter values urlencode writes as requests does (bool is not one: type check)


class Preparer:
    """Prepared URL bases and validated headers of one session (thread-safe: only whole values are stored)."""

    def __init__(self) -> None:
        self._bases: dict[str, tuple[str, str] | None] = {}
        self._valid: set[tuple[str, str]] = set()

    def prepare(self, session: requests.Session, method: str, url: str, params: Sequence[tuple[str, Any]],
                headers: Mapping[str, str], body: Any) -> requests.PreparedRequest:
        """What ``session.prepare_request(Request(method, url, headers, params=params, data=body))`` makes."""
        p = requests.PreparedRequest()
        p.method = method.upper()
        simple = self._url(p, url, params)
        p.headers = self._headers(session.headers, headers)
        if next(iter(session.cookies), None) is not None:  # (the order of requests' prepare())
            p.prepare_cookies(session.cookies)
        p.prepare_body(body, None)
        if not simple:  # credentials in the URL: requests' basic auth from them
            p.prepare_auth(None, url)
        return p

    def _url(self, p: requests.PreparedRequest, url: str, params: Sequence[tuple[str, Any]]) -> bool:
        """Set ``p.url``; False when requests prepared it whole (see :meth:`_bases_entry`)."""
        base = self._bases.get(url)
        if base is None and url not in self._bases:  # (another thread may clear the cache at any time)
            base = self._bases_entry(p, url)
        if base is None:
            p.prepare_url(url, params)
            return False
        prefix, sep = base
        if not params:
            query = ""
        elif all(type(k) is str and type(v) in _SIMPLE for k, v in params):
            query = urlencode(params, doseq=True)
        else:
            query = str(requests.PreparedRequest._encode_params(params))
        p.url = f"{prefix}{sep}{query}" if query else prefix
        return True

    def _bases_entry(self, p: requests.PreparedRequest, url: str) -> tuple[str, str] | None:
        """``url`` prepared without parameters and the separator before them; None: prepare it whole."""
        p.prepare_url(url, None)  # raises InvalidURL, MissingSchema... as requests would
        prepared = p.url or ""
        netloc = prepared.partition("://")[2].partition("/")[0]
        simple = prepared.startswith(("http://", "https://")) and "#" not in url and "@" not in netloc
        entry = (prepared, "&" if "?" in prepared else "?") if simple else None
        if len(self._bases) >= _MAX_CACHED:
            self._bases.clear()
        self._bases[url] = entry
        return entry

    def _headers(self, defaults: Mapping[str, str | bytes], headers: Mapping[str, str]) -> CaseInsensitiveDict[Any]:
        """The session's headers under the request's, as ``merge_setting`` + ``prepare_headers`` leave them."""
        merged: CaseInsensitiveDict[Any] = CaseInsensitiveDict()
        dropped = False
        for source in (defaults, headers):
            for name, value in source.items():
                if value is None:
                    dropped = True
                elif (name, value) not in self._valid:
                    check_header_validity((name, value))
                    if len(self._valid) >= _MAX_CACHED:
                        self._valid.clear()
                    self._valid.add((name, value))  # type: ignore[arg-type]
                merged[name] = value
        if dropped:
            for name in [k for k, v in merged.items() if v is None]:
                del merged[name]
        return merged
