"""Plumbing the API mocks share: one-shot faults armed under a path prefix, the cursor in a state, a
form body read with its repeated fields, an OAuth token answer of a given shape.

A mock keeps what its API answers when it limits a client (Stripe's error body, Shopify's
fractional Retry-After, Salesforce's 403 REQUEST_LIMIT_EXCEEDED); this module only decides which
request gets that answer, the same way for every mock:

    self.faults = ArmedFaults()

    def inject_429(self, path_prefix: str, nth: int = 2, retry_after: str = "0.1") -> None:
        self.faults.arm(path_prefix, nth, retry_after=retry_after)

    def handler(self, req: Request) -> Response:
        due = self.faults.take(req.path)
        if due is not None:
            return Response.json({"errors": "slow down"}, 429, **{"Retry-After": due["retry_after"]})
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


@dataclass
class _Armed:
    prefix: str
    left: int
    details: dict[str, Any] = field(default_factory=dict)


class ArmedFaults:
    """Faults that each answer one request, the ``nth`` under their path prefix counted from arming.

    Every armed fault counts every request under its prefix, so two armed with ``nth=2`` and
    ``nth=3`` on one path hit a request and then its retry. ``served`` lists the paths that got one.
    """

    def __init__(self) -> None:
        self._armed: list[_Armed] = []
        self._lock = threading.Lock()
        self.served: list[str] = []

    def arm(self, path_prefix: str, nth: int, **details: Any) -> None:
        """Fail the ``nth`` request under ``path_prefix`` from now; ``details`` come back from take()."""
        with self._lock:
            self._armed.append(_Armed(path_prefix, nth, details))

    def take(self, path: str) -> dict[str, Any] | None:
        """The details of the fault due on this request (it is then spent), or None to answer normally."""
        with self._lock:
            hits = [f for f in self._armed if path.startswith(f.prefix)]
            for f in hits:
                f.left -= 1
            due = next((f for f in hits if f.left <= 0), None)
            if due is None:
                return None
            self._armed.remove(due)
            self.served.append(path)
            return due.details


def stream_cursor(stream: str, state: Any) -> str | None:
    """The cursor of ``stream`` in a bare value, ``{"cursor": v}`` or ``{"streams": {stream: {"cursor": v}}}``.

    ``expected_records(stream, state)`` takes whichever a test has at hand: the saved global state
    of a first run, or one stream's state moved back by hand.
    """
    if state is None or isinstance(state, str):
        return state
    if "streams" in state:
        state = state["streams"].get(stream) or {}
    return state.get("cursor")


def multi_form(body: bytes) -> dict[str, Any]:
    """A form body: each field's value, or its values as a list when it is there more than once."""
    fields = parse_qs(body.decode(), keep_blank_values=True)
    return {k: values[0] if len(values) == 1 else values for k, values in sorted(fields.items())}


def token_answer(template: Any, token: str, expires_in: int) -> Any:
    """A token answer: ``template`` with ``$access_token``, ``$expires_in`` (seconds) and ``$expires_at``
    (now plus those seconds, ISO 8601) put in; default ``{access_token, token_type, expires_in}``."""
    if template is None:
        return {"access_token": token, "token_type": "bearer", "expires_in": expires_in}
    if isinstance(template, dict):
        return {k: token_answer(t, token, expires_in) for k, t in template.items()}
    if isinstance(template, list):
        return [token_answer(t, token, expires_in) for t in template]
    at = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=expires_in)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"$access_token": token, "$expires_in": expires_in, "$expires_at": at}.get(template, template) \
        if isinstance(template, str) else template
