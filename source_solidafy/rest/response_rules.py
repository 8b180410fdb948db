"""``errors:`` rules at run time: which rule, if any, a response matches, and what it makes of it.

The HTTP client asks :func:`first_match` for every attempt of a request that carries rules (a
stream's pages do: the stream's rules, then the connector's). A match decides instead of the
defaults: ``retry`` / ``rate_limited`` retry, ``fail`` fails with the rule's message,
``refresh_token`` refreshes the auth and tries once more, ``ignore`` raises :class:`ResponseIgnored`,
which the stream reader turns into a skipped partition, reported in the summary
(``ReadContext.skip``). ``accept`` (only a rule a subclass resolves to: an Airbyte filter that IGNOREs a
success) reads the response as a page, which is an empty page when its records path is not there. Models: :mod:`source_solidafy.manifest.error_rules`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from requests.structures import CaseInsensitiveDict

from source_solidafy.errors import HttpError, StreamError
from source_solidafy.rest.paths import compile_path

BODY_WINDOW = 64 * 1024  # what body_matches searches: error bodies are small, a huge body costs no more
RETRYING = frozenset({"retry", "rate_limited"})
_ABSENT = object()


class Answer(Protocol):
    """What a rule reads of a response (``rest.response.Response`` has it)."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> CaseInsensitiveDict[str]: ...

    @property
    def content(self) -> bytes: ...

    accepted: str | None  # set by first_match when an ``accept`` rule matched

    def json(self) -> object: ...


class ResponseRule:
    """One ``errors:`` rule, compiled; ``where`` names it in messages (``errors[0]``)."""

    __slots__ = ("action", "statuses", "message", "where", "wait", "_path", "_pattern", "_headers")

    def __init__(self, action: str, statuses: Iterable[int] = (), body_path: str | None = None,
                 body_matches: str | None = None, headers: Mapping[str, str] | None = None,
                 message: str | None = None, where: str = "errors", wait: float | None = None) -> None:
        self.action, self.statuses, self.message, self.where = action, frozenset(statuses), message, where
        self.wait = wait  # seconds to wait before the retry, when the rule knows them (else the client's waits)
        self._path = compile_path(body_path) if body_path else None
        self._pattern = re.compile(body_matches) if body_matches is not None else None
        self._headers = [(name, re.compile(rx)) for name, rx in (headers or {}).items()]

    def resolve(self, resp: Answer) -> ResponseRule | None:
        """The rule that acts on ``resp``: this one when it matches. A subclass may decide per response
        and answer a rule of its own making (its action, message and wait for this response)."""
        return self if self.matches(resp) else None

    def matches(self, resp: Answer) -> bool:
        """Every condition the rule gives holds (status first: the cheap test)."""
        if self.statuses and resp.status not in self.statuses:
            return False
        for name, pattern in self._headers:
            value = resp.headers.get(name)
            if value is None or pattern.search(value) is None:
                return False
        return self._body_matches(resp)

    def _body_matches(self, resp: Answer) -> bool:
        path, pattern = self._path, self._pattern
        if path is None:
            return pattern is None or pattern.search(resp.content[:BODY_WINDOW].decode("utf-8", "replace")) is not None
        try:
            value = path.get(resp.json(), _ABSENT)
        except StreamError:  # not JSON: a body_path cannot match
            return False
        if value is _ABSENT or value is None:
            return False
        return pattern is None or pattern.search(str(value)[:BODY_WINDOW]) is not None

    def failure(self, what: str, snippet: str, redact: Callable[[str], str]) -> str:
        """The error of a request this rule ended (``what``: the status, the request, the retries):
        the rule's message first, else ``what`` and the body's start; the rule named either way."""
        if self.message:
            return f"{redact(self.message)} ({what}; {self.where} {self.action})"
        return f"{what}: {snippet} ({self.where} {self.action})" if snippet else f"{what} ({self.where} {self.action})"

    def describe(self) -> str:
        """``errors[0] (ignore)``, with the rule's message when it has one."""
        said = f": {self.message}" if self.message else ""
        return f"{self.where} ({self.action}){said}"


def first_match(rules: Sequence[ResponseRule], resp: Answer) -> ResponseRule | None:
    """The first rule ``resp`` matches, in order (the stream's before the connector's), as it resolves.

    An ``accept`` is no rule for the client (the response is a success): it is noted on the response
    (``Response.accepted``), whose records path may then be missing (an empty page)."""
    for rule in rules:
        found = rule.resolve(resp)
        if found is not None and found.action == "accept":
            resp.accepted = found.describe()
            return None
        if found is not None:
            return found
    return None


class ResponseIgnored(HttpError):
    """An ``ignore`` rule matched: the caller skips the rest of what it was reading, and reports it."""

    def __init__(self, message: str, rule: ResponseRule, status: int, url: str) -> None:
        super().__init__(message, status=status, url=url)
        self.rule = rule
