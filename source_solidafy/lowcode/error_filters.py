"""Airbyte's error handlers decided per response, with airbyte-cdk 7.39.1's semantics.

- ``HttpResponseFilter`` matches when the status is one of its ``http_codes``, or its ``predicate``
  (an InterpolatedBoolean over ``response``, the body as JSON or ``{}``, ``headers``, ``request_url``,
  the URL without its query, fragment or user info, and ``parameters``; ``config`` is None there, as
  the CDK passes it) is true, or ``error_message_contains`` is in the body's error message (the CDK's
  ``JsonErrorMessageParser``). Its ``error_message`` is rendered with ``config`` too.
- ``DefaultErrorHandler``: its filters in order, then any status below 400 is a success, then the
  default mapping (400, 401, 403, 404, 405 fail; 408 and 5xx retry; 429 rate limited), then retry.
- ``CompositeErrorHandler``: the first handler that says success, retry or ignore, else the last one's.
- A retry waits what the first backoff strategy that gives a wait says (the strategies of every handler
  of a composite, in order): ``WaitTimeFromHeader`` (the header's number, its ``regex`` matched at the
  start of the value) and ``WaitUntilTimeFromHeader`` (an epoch time in the header, less now, at least
  ``min_wait``), plus the CDK's extra second; a wait at or over ``max_waiting_time_in_seconds`` fails
  the stream instead. A Constant or Exponential strategy reached first leaves the wait to the
  connector's backoff (error_handlers.py).

How the CDK's answer becomes our engine's (:class:`AirbyteErrorRule`): a success is no rule; IGNORE or
SUCCESS of an error status is our ``ignore`` (the CDK reads no records from an error status and stops
the partition's paging); a success a filter IGNOREs (or calls one) is ``accept``, read as any page
(the CDK reads its records and next page as any page's; a body without the records path is a page
without records, which our engine otherwise refuses); FAIL, RETRY and RATE_LIMITED are ours, on any status.
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import urlsplit, urlunsplit

from source_solidafy.errors import StreamError, TemplateError
from source_solidafy.lowcode.interpolation import Interpolated, checked_regex, is_static
from source_solidafy.lowcode.values import is_true
from source_solidafy.manifest.fields import Strict
from source_solidafy.manifest.pyd import ConfigDict
from source_solidafy.rest.builders import FACTORY, RuleInputs
from source_solidafy.rest.response_rules import Answer, ResponseRule

DEFAULT_MAPPING = {400: "fail", 401: "fail", 403: "fail", 404: "fail", 405: "fail", 408: "retry", 429: "rate_limited"}
TOO_LONG = "The rate limit wait time is longer than the connector is allowed to wait."  # the CDK's words
_ERROR_KEYS = ("message", "messages", "error", "errors", "failures", "failure", "detail", "err", "error_message",
               "msg", "reason", "status_message")
_UNREAD = object()


def error_text(value: Any) -> str | None:
    """The CDK's ``JsonErrorMessageParser._try_get_error``: the first error-like key's text, lists joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(t for t in (error_text(v) for v in value) if t is not None)
    if isinstance(value, dict):
        return error_text(next((value[k] for k in _ERROR_KEYS if value.get(k)), None))
    return None


class View:
    """What the filters read of one response: its status, and on demand its body and headers."""

    __slots__ = ("status", "_resp", "_body", "_json")

    def __init__(self, status: int, resp: Answer | None = None) -> None:
        self.status, self._resp, self._body, self._json = status, resp, _UNREAD, True

    @property
    def resp(self) -> Answer:
        assert self._resp is not None, "a filter on more than the status needs the response"
        return self._resp

    def body(self) -> Any:
        """The body as JSON, ``{}`` when it is not JSON (the CDK's ``_safe_response_json``)."""
        if self._body is _UNREAD:
            try:
                self._body = self.resp.json()
            except StreamError:
                self._body, self._json = {}, False
        return self._body

    def error_message(self) -> str | None:
        """The CDK's ``parse_response_error_message``: from the JSON body, else the body as text."""
        body = self.body()
        if not self._json:
            try:
                return self.resp.content.decode("utf-8")
            except UnicodeDecodeError:
                return None
        return error_text(body)

    def context(self) -> dict[str, Any]:
        return {"response": self.body(), "headers": self.resp.headers, "request_url": request_url(self.resp)}


def request_url(resp: Answer) -> str:
    """The response's URL without query, fragment and user info (the CDK's ``_request_url``)."""
    url = str(getattr(resp, "url", "") or "")
    if not url:
        return ""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))


def _render(value: Interpolated, config: Any, default: Any, view: View) -> Any:
    try:
        return value.eval(config, default, **view.context())
    except (ValueError, TypeError, LookupError, ArithmeticError) as exc:
        raise TemplateError(f"{value.where}: {exc}") from None
    except Exception as exc:  # jinja's UndefinedError, SecurityError: the template's place and its words
        raise TemplateError(f"{value.where}: {type(exc).__name__}: {exc}") from None


@dataclass(frozen=True)
class Filter:
    """One HttpResponseFilter; ``action`` is ours (``success``, ``ignore``, ``fail``, ``retry``, ``rate_limited``)."""

    action: str
    codes: frozenset[int] = frozenset()
    predicate: Interpolated | None = None
    contains: str | None = None
    message: Interpolated | None = None  # None: no error_message

    @property
    def by_status(self) -> bool:
        """Whether the status alone decides a match (and the message needs nothing of the response)."""
        return self.predicate is None and not self.contains and (self.message is None or is_static(self.message.text))

    def matches(self, view: View) -> bool:
        if view.status in self.codes:
            return True
        if self.predicate is not None and is_true(_render(self.predicate, None, "False", view)):
            return True
        return self.contains is not None and self.contains in (view.error_message() or "")

    def said(self, view: View, config: Any) -> str | None:
        """The rendered error_message (None when it has none or renders empty)."""
        if self.message is None:
            return None
        if is_static(self.message.text):
            return self.message.text or None
        got = _render(self.message, config, None, view)
        return None if got is None or got == "" else str(got)


@dataclass(frozen=True)
class HeaderWait:
    """WaitTimeFromHeader (``until`` False) or WaitUntilTimeFromHeader: ``wait`` raises TooLong past the cap."""

    header: Interpolated
    regex: Interpolated | None = None
    max_wait: Interpolated | None = None  # max_waiting_time_in_seconds (config may give it)
    until: bool = False
    min_wait: Interpolated | None = None

    def wait(self, resp: Answer, config: Any, now: Callable[[], float] = time.time) -> float | None:
        moment = now()
        value = self._number(resp, config)
        if not self.until:
            if value:
                self._capped(value, config)
            return value
        least = self.min_wait.eval(config) if self.min_wait is not None else None
        if not value:
            return self._capped(float(least), config) if least else None
        wait = value - moment
        if least:
            return self._capped(float(max(wait, least)), config)
        return None if wait < 0 else self._capped(wait, config)

    def _capped(self, wait: float, config: Any) -> float:
        """``wait``, or TooLong when it is at or over the cap (the CDK's ``>=``: a cap of 0 refuses any wait)."""
        if self.max_wait is None:
            return wait
        try:
            cap = float(self.max_wait.eval(config))
        except (TypeError, ValueError, LookupError) as exc:
            raise TemplateError(f"{self.max_wait.where}: max_waiting_time_in_seconds: {exc}") from None
        if not math.isfinite(cap):
            raise TemplateError(f"{self.max_wait.where}: max_waiting_time_in_seconds is {cap}, not a finite number")
        if wait >= cap:
            raise TooLong(wait, cap)
        return wait

    def _number(self, resp: Answer, config: Any) -> float | None:
        """The CDK's ``get_numeric_value_from_header``: the regex's match at the value's start, as a float."""
        text = resp.headers.get(str(self.header.eval(config)))
        if not text:
            return None
        if self.regex is not None:
            match = _compiled(checked_regex(str(self.regex.eval(config)))).match(text)
            if match:
                text = match.group()
        try:
            return float(text)
        except ValueError:
            return None


@functools.lru_cache(maxsize=64)
def _compiled(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


class TooLong(Exception):
    def __init__(self, wait: float, cap: float) -> None:
        super().__init__(f"{TOO_LONG} (the API asks for {wait:g} s; max_waiting_time_in_seconds is {cap:g})")


POLICY: Final = "policy"  # a Constant / Exponential strategy: the connector's backoff decides the wait
Strategy = HeaderWait | Literal["policy"]


@dataclass(frozen=True)
class Handler:
    """A DefaultErrorHandler (``filters``) or a CompositeErrorHandler (``parts``), with its backoff strategies."""

    filters: tuple[Filter, ...] = ()
    parts: tuple[Handler, ...] | None = None
    own_strategies: tuple[Strategy, ...] = ()

    @property
    def strategies(self) -> tuple[Strategy, ...]:
        """The CDK's order: a composite's are its handlers' strategies one after the other."""
        if self.parts is None:
            return self.own_strategies
        return tuple(s for p in self.parts for s in p.strategies)

    @property
    def all_filters(self) -> tuple[Filter, ...]:
        """Every filter, a composite's handlers' (nested ones too) in order."""
        if self.parts is None:
            return self.filters
        return tuple(f for p in self.parts for f in p.all_filters)

    @property
    def by_status(self) -> bool:
        return all(f.by_status for f in self.all_filters)

    def decide(self, view: View) -> tuple[str, Filter | None]:
        """The CDK's answer (our action name) and the filter that gave it (None: the defaults)."""
        if self.parts is not None:
            last: tuple[str, Filter | None] = ("fail", None)
            for part in self.parts:
                last = part.decide(view)
                if last[0] in ("success", "retry", "ignore"):
                    return last
            return last
        for flt in self.filters:
            if flt.matches(view):
                return flt.action, flt
        if view.status < 400:
            return "success", None
        return DEFAULT_MAPPING.get(view.status, "retry"), None

    def wait(self, resp: Answer, config: Any) -> float | None:
        """The first strategy's wait (None: the connector's backoff); TooLong past a cap."""
        for strategy in self.strategies:
            if strategy == POLICY:
                return None
            assert isinstance(strategy, HeaderWait)
            got = strategy.wait(resp, config)
            if got:
                return got + 1.0  # the CDK's user-defined backoff sleeps one second more
        return None


def ours(status: int, retry_statuses: frozenset[int]) -> str:
    """What our engine does with a status no rule matches."""
    if status < 400:
        return "success"
    if status in retry_statuses:
        return "retry"
    return "refresh" if status == 401 else "fail"


def engine_action(action: str, status: int, by_filter: bool = False) -> str | None:
    """The CDK's action as ours for this status; None for a success, ``accept`` for a success a filter
    IGNOREs or calls one (the CDK reads its body as any page's, with no records when the path is absent)."""
    if action in ("success", "ignore"):
        if status >= 400:
            return "ignore"
        return "accept" if by_filter else None
    return action


class AirbyteErrorHandler(Strict):
    """The model of a handler whose filters read the response or whose strategies read headers."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    handler: Any  # a Handler
    retry_statuses: frozenset[int] = frozenset()
    type: Literal["airbyte_error_handler"] = "airbyte_error_handler"


class AirbyteErrorRule(ResponseRule):
    """One rule that answers, per response, the rule of ours the CDK's decision amounts to."""

    __slots__ = ("handler", "config", "retry_statuses")

    def __init__(self, handler: Handler, config: Mapping[str, Any], retry_statuses: frozenset[int], where: str) -> None:
        super().__init__("fail", where=where)
        self.handler, self.config, self.retry_statuses = handler, config, retry_statuses

    def resolve(self, resp: Answer) -> ResponseRule | None:
        view = View(resp.status, resp)
        action, flt = self.handler.decide(view)
        mine = engine_action(action, resp.status, flt is not None)
        if mine is None:
            return None
        message = flt.said(view, self.config) if flt is not None else None
        wait = None
        if mine in ("retry", "rate_limited"):
            try:
                wait = self.handler.wait(resp, self.config)
            except TooLong as exc:
                return ResponseRule("fail", message=str(exc), where=self.where)
        default = ours(resp.status, self.retry_statuses)
        same = mine == default or (mine == "rate_limited" and default == "retry")
        if message is None and wait is None and same:
            return None
        return ResponseRule(mine, message=message, where=self.where, wait=wait)

    def matches(self, resp: Answer) -> bool:
        return self.resolve(resp) is not None


@FACTORY.register(AirbyteErrorHandler, AirbyteErrorRule, slot="errors")
def _error_handler(spec: AirbyteErrorHandler, inputs: RuleInputs) -> ResponseRule:
    return AirbyteErrorRule(spec.handler, inputs.config, spec.retry_statuses, inputs.where)
