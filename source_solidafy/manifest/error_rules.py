"""Models of ``errors:``: rules matched on each response of a stream, in order, before the defaults.

A stream's ``errors`` (or the connector's, tried after the stream's) is a list of rules, or, for the
common case, a mapping action -> status codes:

    errors: {ignore: [404, 422]}            # a child partition that 404s/422s is skipped and reported
    errors:
      - status: 400
        body_path: error.code
        body_matches: "^cursor_expired$"
        action: fail
        message: "the export cursor expired; run again with a fresh start date"
      - headers: {X-Throttled: "true"}
        action: rate_limited

Actions: ``ignore`` (skip the rest of the partition: counted and listed in the summary), ``fail``
(with ``message``), ``retry`` and ``rate_limited`` (within ``http.max_retries``; rate_limited also
waits for ``X-RateLimit-Reset`` / ``RateLimit-Reset`` on any status), ``refresh_token`` (a new token,
then once more). A response no rule matches is handled as before: ``http.retry_statuses`` retried,
a 401 refreshed once, other 4xx/5xx fail. The engine is :mod:`source_solidafy.rest.response_rules`.
"""

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from source_solidafy.manifest.extensions import open_slot
from source_solidafy.manifest.fields import Strict, Text, describe_value, new_dict, new_list
from source_solidafy.manifest.pyd import BeforeValidator, Field, PydanticCustomError, model_validator
from source_solidafy.manifest.safe_regex import Regex

ACTIONS = ("ignore", "fail", "retry", "rate_limited", "refresh_token")
Action = Literal["ignore", "fail", "retry", "rate_limited", "refresh_token"]
_CLASS = r"^([1-5])xx$"  # compiled by re on first use: a load from the cache validates nothing


def _statuses(value: Any) -> list[int]:
    """``404``, ``"4xx"`` or a list of them -> the status codes (a class is its hundred codes)."""
    out: list[int] = []
    for item in value if isinstance(value, list) else [value]:
        text = str(item).strip() if isinstance(item, (int, str)) and not isinstance(item, bool) else ""
        if text.isdigit() and 100 <= int(text) <= 599:
            out.append(int(text))
        elif (m := re.match(_CLASS, text, re.IGNORECASE)) is not None:
            out.extend(range(int(m.group(1)) * 100, int(m.group(1)) * 100 + 100))
        else:
            raise PydanticCustomError("status", "expected an HTTP status (404) or class (4xx), got {got}",
                                      {"got": describe_value(item)})
    return sorted(set(out))


class ErrorRule(Strict):
    """One rule of ``errors:`` (a list of rules, or a mapping action -> statuses: ``{ignore: [404, 422]}``),
    matched when every condition it gives holds; the first rule that matches acts.

    ``status``: codes or classes (``[404, 422]``, ``5xx``); ``body_path``: a path in the JSON body,
    present and not null (with ``body_matches``: its value searched); ``body_matches``: a regex searched
    in the body (its first 64 KiB); ``headers``: header name -> regex searched in its value.
    ``message`` is the error of ``fail`` and is shown with every other action's report.
    """

    status: Annotated[list[int], BeforeValidator(_statuses)] = Field(default_factory=new_list)
    body_path: Text | None = None
    body_matches: Regex | None = None
    headers: dict[str, Regex] = Field(default_factory=new_dict)
    action: Action
    message: Text | None = None

    @model_validator(mode="after")
    def _some_condition(self) -> "ErrorRule":
        if not (self.status or self.body_path or self.body_matches is not None or self.headers):
            raise PydanticCustomError("rule_condition", "a rule needs status, body_path, body_matches or headers "
                                      "(it would match every response, successes included)")
        return self


def _rule_list(value: Any) -> Any:
    """The mapping form (``{ignore: [404, 422], retry: 409}``) as rules, one per action, in order."""
    if not isinstance(value, Mapping):
        return value
    rules = []
    for action, statuses in value.items():
        if action not in ACTIONS:
            import difflib  # only for the hint: not imported at start-up
            close = difflib.get_close_matches(str(action), ACTIONS, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise PydanticCustomError("action", "unknown action '{action}'{hint} (expected one of {expected}; "
                                      "a list of rules gives body and header conditions)",
                                      {"action": action, "hint": hint, "expected": ", ".join(ACTIONS)})
        try:
            rules.append({"status": _statuses(statuses), "action": action})
        except PydanticCustomError as exc:
            raise PydanticCustomError("status", "{action}: {problem}", {"action": action, "problem": exc.message()}) \
                from None
    return rules


ErrorRules = Annotated[list[Annotated[ErrorRule, open_slot("errors")]], BeforeValidator(_rule_list)]
"""``errors:``: a list of rules, or a mapping action -> status codes (one rule per action)."""
