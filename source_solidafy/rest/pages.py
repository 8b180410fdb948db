"""One page's request: what the paginator overrides (:class:`PageRequest`), what it reads back
(:class:`PageResponse`), and the page length the stream's own request asks for (:func:`page_size_of`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson


class PageResponse(Protocol):
    """What a paginator reads from a response (rest.http.Response satisfies it)."""

    @property
    def url(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


@dataclass(slots=True, repr=False, eq=False)
class PageRequest:
    """Overrides for one page's request.

    ``params``/``headers``/``body`` override the stream's (``body`` fields go into its JSON body; ``data``,
    a form body's text, replaces the stream's form body);
    with ``as_is`` the request goes to ``url`` exactly (its own query string; the stream's params are
    not added again; Shopify rejects them). ``token`` is the paginator's memory (cursor, offset, page);
    ``pages``/``records`` count what came before this request, ``empty_run`` the empty pages right
    before it; ``seen`` holds the fingerprints of the partition's requests so far (shared down the chain).
    """

    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    data: str | None = None
    url: str | None = None
    as_is: bool = False
    token: Any = None
    pages: int = 0
    records: int = 0
    empty_run: int = 0
    seen: set[int] | None = None
    last_page: int | None = None  # fingerprint of the records of the page before this request
    probe: str | None = None  # why this page is read only to check a stop condition that fired on page 1

    def resolve(
        self,
        path: str,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> tuple[str, Any, dict[str, str] | None, Any]:
        """The stream's (path, params, headers, json_body) with this page's overrides applied.

        ``params`` may be a mapping or a list of pairs (repeated keys); the result has the same form,
        with every pair whose key this page overrides replaced.
        """
        merged_headers = {**headers, **self.headers} if headers else dict(self.headers) or None
        if isinstance(json_body, Mapping) and self.body:
            json_body = {**json_body, **self.body}
        elif self.body and json_body is None:
            json_body = dict(self.body)
        if self.as_is and self.url is not None:
            return self.url, (dict(self.params) or None), merged_headers, json_body
        return self.url or path, _merge_params(params, self.params), merged_headers, json_body

    def same_as(self, other: PageRequest) -> bool:
        return ((self.url, self.params, self.headers, self.body, self.data)
                == (other.url, other.params, other.headers, other.body, other.data))

    def fingerprint(self) -> int:
        """A 64-bit hash of what this request sends (within one partition the rest is the same)."""
        return hash(orjson.dumps([self.url, self.params, self.headers, self.body, self.data],
                                 option=orjson.OPT_SORT_KEYS, default=str))


@dataclass(slots=True, repr=False, eq=False)
class PagePlan:
    """The requests of the pages after the first, in page order, known from the first page.

    ``pages`` counts all of them, the first included; ``said`` names what told (a reported total, a
    last-page link), for the warning when the pages read disagree with it. ``recheck`` reads what a
    later page says in the same words (None: it does not say), so a total that changes under the read
    is seen even when the number of pages does not.
    """

    pages: int
    said: str
    requests: Iterator[PageRequest]
    recheck: Callable[[Any], str | None] | None = None


def _merge_params(base: Mapping[str, Any] | Sequence[tuple[str, Any]] | None, over: dict[str, Any]) -> Any:
    if not base:
        return dict(over) or None
    if not over:
        return base
    if isinstance(base, Mapping):
        return {**base, **over}
    return [(k, v) for k, v in base if k not in over] + list(over.items())


# Query or body parameters that set a page's length, compared lower-cased without "_", "-", "$", "[]".
_PAGE_SIZE_NAMES = {"limit", "pagesize", "perpage", "maxresults", "maxrecords", "size", "top", "first",
                    "count", "resultsperpage", "pagelimit", "maxpagesize"}


def page_size_of(params: Any, body: Any = None) -> tuple[str, int] | None:
    """The page length a request asks for (``limit=100``, ``per_page``, ``maxRecords``, ``page[size]``...).

    Read from the request's query params (a mapping or pairs) or its JSON body; None when none is found.
    """
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params or [])
    if isinstance(body, Mapping):
        pairs += list(body.items())
    for name, value in pairs:
        key = "".join(c for c in str(name).lower() if c.isalnum())
        if key in _PAGE_SIZE_NAMES and not isinstance(value, (list, dict, bool)):
            size = as_int(value)
            if size is not None and size > 0:
                return str(name), size
    return None


def as_int(value: Any) -> int | None:
    """An API's count (``"42"``, ``42``) as an int; None when it is none."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
