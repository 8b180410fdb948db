"""Airbyte's error handlers as our ``errors:`` rules (rest/response_rules.py), with airbyte-cdk 7's semantics.

The CDK decides each response in turn:

- ``DefaultErrorHandler``: its ``response_filters`` in order (an ``HttpResponseFilter`` matches when the
  status is one of its ``http_codes``), then any status below 400 is a success, then the CDK's default
  mapping (400, 401, 403, 404, 405 fail; 408 and 5xx retry; 429 rate limited), then any other status is
  retried (its fallback).
- ``CompositeErrorHandler``: its handlers in order; the first that says success, retry or ignore decides,
  else the last one's answer (fail and rate limited go on to the next handler).

With http_codes the only condition, the answer depends on the status alone, so it is worked out here for
every status, once, and written as rules where it differs from what our engine does by itself
(``retry_statuses`` retried, a 401 refreshed once, other statuses from 400 failed). IGNORE becomes our
``ignore`` (the partition's rest skipped and reported: the CDK reads the error body as an empty page).
``max_retries`` (the first handler's, default 5) and the backoff strategies (``WaitTimeFromHeader`` on
``Retry-After``, which our engine honours anyway; ``ConstantBackoffStrategy``; ``ExponentialBackoffStrategy``)
are the connector's ``http`` settings, so every stream must agree on them. Predicates,
``error_message_contains`` and other wait headers fail at load time.
"""

from __future__ import annotations

from typing import Any

from source_solidafy.lowcode.interpolation import is_static
from source_solidafy.lowcode.translate_core import TranslatorCore

DEFAULT_MAPPING = {400: "fail", 401: "fail", 403: "fail", 404: "fail", 405: "fail", 408: "retry", 429: "rate_limited"}
ACTIONS = {"IGNORE": "ignore", "FAIL": "fail", "RETRY": "retry", "RATE_LIMITED": "rate_limited"}
STATUSES = range(100, 600)
DEFAULT_HTTP = {"max_retries": 5, "backoff": "exponential", "backoff_base_secs": 5.0}


class Handler:
    """One DefaultErrorHandler (``filters``: status -> (action, message)) or CompositeErrorHandler (``parts``)."""

    def __init__(self, filters: dict[int, tuple[str, str | None]] | None = None,
                 parts: list[Handler] | None = None) -> None:
        self.filters, self.parts = filters or {}, parts

    def action(self, status: int) -> tuple[str, str | None]:
        if self.parts is not None:
            last: tuple[str, str | None] = ("fail", None)
            for part in self.parts:
                last = part.action(status)
                if last[0] in ("success", "retry", "ignore"):
                    return last
            return last
        if status in self.filters:
            return self.filters[status]
        if status < 400:
            return "success", None
        return DEFAULT_MAPPING.get(status, "retry"), None


def _ours(status: int, retry_statuses: frozenset[int]) -> str:
    """What our engine does with a status no rule matches."""
    if status < 400:
        return "success"
    if status in retry_statuses:
        return "retry"
    return "refresh" if status == 401 else "fail"


def rules_for(handler: Handler, retry_statuses: frozenset[int]) -> list[dict[str, Any]]:
    """Our rules (grouped by action and message, in status order) for where the CDK's answer differs."""
    groups: dict[tuple[str, str | None], list[int]] = {}
    for status in STATUSES:
        action, message = handler.action(status)
        if action == "ignore" and status < 400:
            action, message = "success", None  # the CDK reads an ignored success as it reads any success
        ours = _ours(status, retry_statuses)
        same = action == ours or (action == "rate_limited" and ours == "retry")
        if same and message is None:
            continue
        if action == "success":
            continue  # a filter saying a success is one (only our defaults below 400 agree)
        groups.setdefault((action, message), []).append(status)
    out = []
    for (action, message), statuses in groups.items():
        rule: dict[str, Any] = {"status": statuses, "action": action}
        if message:
            rule["message"] = message
        out.append(rule)
    return out


class ErrorHandlerParts(TranslatorCore):
    """Mixed into :class:`~source_solidafy.lowcode.translate.Translator`."""

    http_choice: dict[str, Any] | None = None  # the connector's http settings the first stream asked for

    def error_rules(self, requester: dict[str, Any], retry_statuses: frozenset[int]) -> list[dict[str, Any]]:
        """The stream's ``errors`` for its requester's error handler (absent: a DefaultErrorHandler)."""
        node = requester.get("error_handler")
        at = self.path(requester, "error_handler")
        handler, retries, backoff = (Handler(), 5, None) if node is None else self._handler(node, at)
        http = {**DEFAULT_HTTP, "max_retries": retries, **(backoff or {})}
        if self.http_choice is None:
            self.http_choice = http
        elif http != self.http_choice:
            raise self.fail(at, f"error handler retries/backoff {http} differ from another stream's "
                                f"{self.http_choice} (one retry policy per connector is supported)")
        return rules_for(handler, retry_statuses)

    def _handler(self, node: Any, at: Any) -> tuple[Handler, int, dict[str, Any] | None]:
        """(the handler, its max_retries, the backoff its strategies give or None for the default)."""
        kind = self.check(node, at)
        if kind == "CompositeErrorHandler":
            parts = [self._handler(h, (*self.path(node, "error_handlers"), i))
                     for i, h in enumerate(node.get("error_handlers") or [])]
            if not parts:
                raise self.fail(self.path(node, "error_handlers"), "CompositeErrorHandler needs error_handlers")
            backoff = next((p[2] for p in parts if p[2] is not None), None)  # the CDK: the first strategy found
            return Handler(parts=[p[0] for p in parts]), parts[0][1], backoff
        filters: dict[int, tuple[str, str | None]] = {}
        for i, flt in enumerate(node.get("response_filters") or []):
            self._filter(flt, (*self.path(node, "response_filters"), i), filters)
        retries = node.get("max_retries", 5)
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise self.fail(self.path(node, "max_retries"), f"max_retries {retries!r} is not supported (a number is)")
        found = [self._strategy(st, (*self.path(node, "backoff_strategies"), j))
                 for j, st in enumerate(node.get("backoff_strategies") or [])]
        return Handler(filters=filters), retries, next((f for f in found if f is not None), None)

    def _filter(self, node: Any, at: Any, filters: dict[int, tuple[str, str | None]]) -> None:
        self.check(node, at)
        action = ACTIONS.get(str(node.get("action") or "").upper())
        if action is None:
            raise self.fail(self.path(node, "action"), f"HttpResponseFilter.action {node.get('action')!r} is not "
                            f"supported (one of {', '.join(ACTIONS)} is)")
        codes = node.get("http_codes") or []
        if not codes:
            raise self.fail(self.path(node), "an HttpResponseFilter without http_codes is not supported yet")
        message = node.get("error_message") or None
        if message is not None and not (isinstance(message, str) and is_static(message)):
            message = None  # a templated message: our engine's own words instead
        for code in codes:
            filters.setdefault(int(code), (action, message))  # the first filter naming a status decides

    def _strategy(self, node: Any, at: Any) -> dict[str, Any] | None:
        kind = self.check(node, at)
        if kind == "WaitTimeFromHeader":
            if str(node.get("header") or "").lower() != "retry-after":
                raise self.fail(self.path(node, "header"), "WaitTimeFromHeader on a header other than Retry-After is "
                                "not supported yet")
            return None  # our engine waits Retry-After itself; without it, the next strategy (or the default)
        value = node.get("backoff_time_in_seconds" if kind == "ConstantBackoffStrategy" else "factor", 5)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise self.fail(at, f"a templated {kind} is not supported yet")
        return {"backoff": "constant" if kind == "ConstantBackoffStrategy" else "exponential",
                "backoff_base_secs": float(value)}
