"""Airbyte's error handlers as our ``errors:`` rules (rest/response_rules.py), with airbyte-cdk 7's semantics.

The CDK's decision (error_filters.py: a handler's filters in order, success below 400, the default
mapping, the fallback retry; a composite's first handler that says success, retry or ignore) depends
on the status alone when every filter is ``http_codes`` with a static ``error_message``: it is then
worked out here for every status, once, and written as rules where it differs from what our engine does
by itself (``retry_statuses`` retried, a 401 refreshed once, other statuses from 400 failed). A handler
with a ``predicate``, ``error_message_contains``, a templated ``error_message``, or a header strategy
other than a plain ``Retry-After`` (which our engine honours anyway) is one rule of its own
(``AirbyteErrorHandler``) that decides each response as the CDK does.
``max_retries`` (the first handler's, default 5) and the Constant / Exponential strategies are a retry
policy: the first stream's is the connector's ``http`` settings, a stream whose policy differs has its
own (its ``retry:``, rest/ratelimit.py ``RetryPolicy``), for its requests only.
"""

from __future__ import annotations

from typing import Any

from source_solidafy.lowcode.error_filters import (
    POLICY,
    AirbyteErrorHandler,
    Filter,
    Handler,
    HeaderWait,
    Strategy,
    View,
    engine_action,
    ours,
)
from source_solidafy.lowcode.interpolation import Interpolated, is_static
from source_solidafy.lowcode.translate_core import TranslatorCore
from source_solidafy.manifest.safe_regex import regex_problem

ACTIONS = {"SUCCESS": "success", "IGNORE": "ignore", "FAIL": "fail", "RETRY": "retry", "RATE_LIMITED": "rate_limited"}
STATUSES = range(100, 600)
DEFAULT_HTTP = {"max_retries": 5, "backoff": "exponential", "backoff_base_secs": 5.0}
RESPONSE_VARS = {"config", "parameters", "response", "headers", "request_url"}
CONFIG_VARS = {"config", "parameters"}


def rules_for(handler: Handler, retry_statuses: frozenset[int]) -> list[dict[str, Any]]:
    """Our rules (grouped by action and message, in status order) for where the CDK's answer differs;
    ``handler`` decides by status alone (``Handler.by_status``)."""
    groups: dict[tuple[str, str | None], list[int]] = {}
    for status in STATUSES:
        view = View(status)
        action, flt = handler.decide(view)
        mine = engine_action(action, status)
        if mine is None:
            continue  # a success (an ignored one included: the CDK reads its records as any page's)
        message = flt.said(view, None) if flt is not None else None
        default = ours(status, retry_statuses)
        if message is None and (mine == default or (mine == "rate_limited" and default == "retry")):
            continue
        groups.setdefault((mine, message), []).append(status)
    out = []
    for (action, message), statuses in groups.items():
        rule: dict[str, Any] = {"status": statuses, "action": action}
        if message:
            rule["message"] = message
        out.append(rule)
    return out


def _plain_retry_after(strategy: Strategy) -> bool:
    """``WaitTimeFromHeader: Retry-After`` with no regex or cap: our engine waits Retry-After itself."""
    return strategy == POLICY or (isinstance(strategy, HeaderWait) and not strategy.until and strategy.regex is None
                                  and strategy.max_wait is None and strategy.header.text.lower() == "retry-after")


def _static(handler: Handler) -> bool:
    """Whether status rules carry the handler: its filters read the status alone, none IGNOREs a success
    (an ``accept``, which only the handler's own rule gives) and its only header strategy is Retry-After."""
    accepts = any(f.action in ("ignore", "success") and min(f.codes, default=600) < 400 for f in handler.all_filters)
    return handler.by_status and not accepts and all(_plain_retry_after(s) for s in handler.strategies)


class ErrorHandlerParts(TranslatorCore):
    """Mixed into :class:`~source_solidafy.lowcode.translate.Translator`."""

    http_choice: dict[str, Any] | None = None  # the connector's http settings the first stream asked for

    def error_rules(self, requester: dict[str, Any], retry_statuses: frozenset[int],
                    streamed: bool = False) -> dict[str, Any]:
        """The stream's ``errors`` for its requester's error handler (absent: a DefaultErrorHandler), and its
        ``retry`` when its policy is not the connector's; ``streamed``: the decoder reads a success's body as
        it arrives, so no rule sees that body."""
        node = requester.get("error_handler")
        at = self.path(requester, "error_handler")
        handler, retries, backoff = (Handler(), 5, None) if node is None else self._handler(node, at)
        if streamed and any(f.predicate or f.contains or min(f.codes, default=600) < 400 for f in handler.all_filters):
            raise self.fail(self.path(node) or at, "a response filter that may act on a success (a predicate, error_message_contains, "
                            "a status below 400) is not supported yet with a decoder that reads the body as it "
                            "arrives (JsonlDecoder, CsvDecoder, JsonItemsDecoder)")
        http = {**DEFAULT_HTTP, "max_retries": retries, **(backoff or {})}
        if self.http_choice is None:
            self.http_choice = http
        own = {} if http == self.http_choice else {"retry": http}
        if _static(handler):
            return {"errors": rules_for(handler, retry_statuses), **own}
        return {"errors": [AirbyteErrorHandler(handler=handler, retry_statuses=retry_statuses)], **own}

    def _handler(self, node: Any, at: Any) -> tuple[Handler, int, dict[str, Any] | None]:
        """(the handler, its max_retries, the backoff its strategies give or None for the default)."""
        kind = self.check(node, at)
        if kind == "CompositeErrorHandler":
            parts = [self._handler(h, (*self.path(node, "error_handlers"), i))
                     for i, h in enumerate(node.get("error_handlers") or [])]
            if not parts:
                raise self.fail(self.path(node, "error_handlers"), "CompositeErrorHandler needs error_handlers")
            backoff = next((p[2] for p in parts if p[2] is not None), None)  # the CDK: the first strategy found
            return Handler(parts=tuple(p[0] for p in parts)), parts[0][1], backoff
        filters = tuple(self._filter(flt, (*self.path(node, "response_filters"), i))
                        for i, flt in enumerate(node.get("response_filters") or []))
        retries = node.get("max_retries", 5)
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise self.fail(self.path(node, "max_retries"), f"max_retries {retries!r} is not supported (a number is)")
        found = [self._strategy(st, (*self.path(node, "backoff_strategies"), j))
                 for j, st in enumerate(node.get("backoff_strategies") or [])]
        backoff = next((f[1] for f in found if f[1] is not None), None)
        return Handler(filters=filters, own_strategies=tuple(f[0] for f in found)), retries, backoff

    def _filter(self, node: Any, at: Any) -> Filter:
        """An HttpResponseFilter; without an action or a condition it never matches, as in the CDK."""
        self.check(node, at)
        raw = node.get("action")
        action = ACTIONS.get(str(raw or "").upper())
        if raw is not None and action is None:
            raise self.fail(self.path(node, "action"), f"HttpResponseFilter.action {raw!r} is not "
                            f"supported (one of {', '.join(ACTIONS)} is)")
        if action is None:
            return Filter("fail")
        codes = node.get("http_codes") or []
        if not all(isinstance(c, int) and not isinstance(c, bool) for c in codes):
            raise self.fail(self.path(node, "http_codes"), f"http_codes {codes!r}: expected status numbers")
        predicate = self.interp(node, "predicate", RESPONSE_VARS) if node.get("predicate") else None
        contains = node.get("error_message_contains")
        message = self.interp(node, "error_message", RESPONSE_VARS) if node.get("error_message") else None
        return Filter(action, frozenset(codes), predicate, str(contains) if contains else None, message)

    def _strategy(self, node: Any, at: Any) -> tuple[Strategy, dict[str, Any] | None]:
        """The strategy, and the backoff of the stream's retry policy a Constant / Exponential one gives."""
        kind = self.check(node, at)
        if kind in ("WaitTimeFromHeader", "WaitUntilTimeFromHeader"):
            return self._header_wait(node, kind == "WaitUntilTimeFromHeader"), None
        value = node.get("backoff_time_in_seconds" if kind == "ConstantBackoffStrategy" else "factor", 5)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise self.fail(at, f"a templated {kind} is not supported yet")
        if kind == "ConstantBackoffStrategy":
            return POLICY, {"backoff": "constant", "backoff_base_secs": float(value)}
        # the CDK waits factor * 2**n after the n-th try; ours base * 2**(n-1)
        return POLICY, {"backoff": "exponential", "backoff_base_secs": 2.0 * value}

    def _header_wait(self, node: Any, until: bool) -> HeaderWait:
        """WaitTimeFromHeader / WaitUntilTimeFromHeader; a static regex is held to the one regex rule here."""
        def opt(key: str) -> Interpolated | None:  # an empty regex is none (the CDK's truth test); a cap of 0 is one
            given = node.get(key) if key != "regex" else node.get(key) or None
            return self.interp(node, key, CONFIG_VARS) if given is not None else None

        if not node.get("header"):
            raise self.fail(self.path(node), "a wait header strategy needs header")
        regex = opt("regex")
        if regex is not None and is_static(regex.text) and (problem := regex_problem(regex.text)) is not None:
            raise self.fail(self.path(node, "regex"), problem)
        return HeaderWait(self.interp(node, "header", CONFIG_VARS), regex, opt("max_waiting_time_in_seconds"),
                          until, opt("min_wait") if until else None)
