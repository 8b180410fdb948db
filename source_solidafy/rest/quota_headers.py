"""What an API says about its rate limit, read from any response (not only a 429), in every family in use.

- The IETF fields (draft-ietf-httpapi-ratelimit-headers, drafts 08 to 11): a Structured Fields list
  of service limits, ``RateLimit: "default";r=50;t=30`` (``r`` requests left, ``t`` seconds until
  the window resets), several policies at once (``"burst";r=9;t=1, "daily";r=900;t=80000``), and
  ``RateLimit-Policy: "default";q=100;w=60`` (``q`` the quota: the limit of the named policy).
- Draft 07's one dictionary: ``RateLimit: limit=100, remaining=50, reset=30``.
- The older drafts' trio: ``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset`` (seconds).
- ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` (and Twitter's ``X-Rate-Limit-*``): the reset is
  epoch seconds for GitHub and Twitter, epoch milliseconds for some, seconds until the reset for
  most others; told apart by size (an epoch is above 10^9). ``X-RateLimit-Reset-After`` (Discord)
  is seconds.
- HubSpot's ``X-HubSpot-RateLimit-Remaining`` / ``-Max`` / ``-Interval-Milliseconds`` and ``-Daily-Remaining``;
  OpenAI's ``x-ratelimit-remaining-requests`` and Anthropic's ``anthropic-ratelimit-requests-*``.

:func:`read_quotas` is called once per response: a few header lookups when none is present. Header
values are bounded (the first 1,024 characters, 8 policies); a value that does not parse is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple

MAX_FIELD_CHARS = 1024
MAX_POLICIES = 8
_EPOCH_SECS = 1e9  # a reset above this is a point in time (2001-09-09 and later), not a duration
_EPOCH_MS = 1e12


class Quota(NamedTuple):  # a NamedTuple: immutable and small, and ~1 ms less start-up than a slotted dataclass
    """One policy's current limit: requests left, seconds until its window resets, its quota."""

    policy: str  # "" when the family names none
    remaining: int
    reset_secs: float | None = None
    limit: int | None = None


def read_quotas(headers: Mapping[str, str], now: float) -> list[Quota]:
    """The quotas ``headers`` announce (first family found wins); ``now`` is epoch seconds."""
    names = ",".join(headers).lower()
    if "ratelimit" not in names and "rate-limit" not in names:  # every name read below has one of them
        return []
    value = headers.get("ratelimit")
    if value:
        return _ietf(value, headers.get("ratelimit-policy") or "")
    for prefix in ("ratelimit-", "x-ratelimit-", "x-rate-limit-"):
        remaining = headers.get(prefix + "remaining")
        if remaining is not None:
            return _trio(headers, prefix, remaining, now)
    return _hubspot(headers) or _requests_quota(headers, now)


def _requests_quota(headers: Mapping[str, str], now: float) -> list[Quota]:
    """OpenAI's ``x-ratelimit-remaining-requests`` (reset a duration: ``1s``, ``6m0s``, ``20ms``) and
    Anthropic's ``anthropic-ratelimit-requests-remaining`` (reset an RFC 3339 time); their token
    quotas are not requests and are left to the 429s."""
    left = _int(headers.get("x-ratelimit-remaining-requests") or "")
    if left is not None:
        return [Quota("requests", left, _duration(headers.get("x-ratelimit-reset-requests") or ""),
                      _int(headers.get("x-ratelimit-limit-requests") or ""))]
    left = _int(headers.get("anthropic-ratelimit-requests-remaining") or "")
    if left is not None:
        reset = _instant(headers.get("anthropic-ratelimit-requests-reset") or "")
        return [Quota("requests", left, _non_negative(reset - now) if reset is not None else None,
                      _int(headers.get("anthropic-ratelimit-requests-limit") or ""))]
    return []


_DURATION = r"(\d+(?:\.\d+)?)(ms|s|m|h)"  # compiled on first use (see errors._URL_PASSWORD)
_UNIT_SECS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration(value: str) -> float | None:
    """``6m0s`` / ``1.5s`` / ``20ms`` in seconds (Go's duration text, as OpenAI sends it)."""
    text = value.strip()[:40]
    parts = re.findall(_DURATION, text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNIT_SECS[u] for n, u in parts)


def _instant(value: str) -> float | None:
    """An RFC 3339 time (``2026-12-07T14:00:30Z``) in epoch seconds."""
    try:
        when = datetime.fromisoformat(value.strip()[:40].replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.timestamp() if when.tzinfo is not None else None


def _hubspot(headers: Mapping[str, str]) -> list[Quota]:
    """HubSpot's ``X-HubSpot-RateLimit-Remaining`` of ``-Max`` per ``-Interval-Milliseconds`` (a rolling
    window: the whole interval is the safe reset) and ``-Daily-Remaining`` of ``-Daily``."""
    out = []
    left = _int(headers.get("x-hubspot-ratelimit-remaining") or "")
    if left is not None:
        interval = _number(headers.get("x-hubspot-ratelimit-interval-milliseconds") or "")
        out.append(Quota("", left, _non_negative(interval / 1000 if interval is not None else None),
                         _int(headers.get("x-hubspot-ratelimit-max") or "")))
    daily = _int(headers.get("x-hubspot-ratelimit-daily-remaining") or "")
    if daily is not None:
        out.append(Quota("daily", daily, None, _int(headers.get("x-hubspot-ratelimit-daily") or "")))
    return out


def _trio(headers: Mapping[str, str], prefix: str, remaining: str, now: float) -> list[Quota]:
    left = _int(_first(remaining))
    if left is None:
        return []
    reset = _number(_first(headers.get(prefix + "reset") or ""))
    if reset is not None:
        reset = _seconds_until(reset, now)
    after = _number(headers.get(prefix + "reset-after") or "")
    if after is not None:
        reset = after
    limit = _int(_first(headers.get(prefix + "limit") or ""))
    return [Quota("", left, _non_negative(reset), limit)]


def _seconds_until(reset: float, now: float) -> float:
    if reset >= _EPOCH_MS:
        return reset / 1000.0 - now
    if reset >= _EPOCH_SECS:
        return reset - now
    return reset


def _ietf(value: str, policy: str) -> list[Quota]:
    if "remaining=" in value:  # draft 07: one dictionary
        params = dict(_pairs(value[:MAX_FIELD_CHARS]))
        left = _int(params.get("remaining", ""))
        if left is None:
            return []
        return [Quota("", left, _non_negative(_number(params.get("reset", ""))), _int(params.get("limit", "")))]
    quotas = {name: _int(params.get("q", "")) for name, params in parse_list(policy)}
    out = []
    for name, params in parse_list(value):
        left = _int(params.get("r", ""))
        if left is not None:
            out.append(Quota(name, left, _non_negative(_number(params.get("t", ""))), quotas.get(name)))
    return out


def parse_list(value: str) -> list[tuple[str, dict[str, str]]]:
    """A Structured Fields list of items with parameters, leniently: ``"a";r=1;t=2, b;r=3``.

    Items are strings or tokens; parameter values are kept as text (quotes removed). Bounded: the
    first ``MAX_FIELD_CHARS`` characters, ``MAX_POLICIES`` members.
    """
    out: list[tuple[str, dict[str, str]]] = []
    for member in _split(value[:MAX_FIELD_CHARS], ",")[:MAX_POLICIES]:
        parts = _split(member, ";")
        if not parts or not parts[0].strip():
            continue
        name = _unquote(parts[0].strip())
        params = dict(_pairs(";".join(parts[1:]), ";"))
        out.append((name, params))
    return out


def _pairs(text: str, sep: str = ",") -> list[tuple[str, str]]:
    pairs = []
    for part in _split(text, sep):
        key, eq, val = part.partition("=")
        if key.strip():
            pairs.append((key.strip().lower(), _unquote(val.strip()) if eq else "1"))
    return pairs


def _split(text: str, sep: str) -> list[str]:
    """``text`` split on ``sep`` outside double quotes."""
    parts, start, quoted = [], 0, False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def _first(value: str) -> str:
    """``100, 100;w=60`` (draft 03's RateLimit-Limit with a policy): the first number."""
    return value.split(",", 1)[0].split(";", 1)[0]


def _number(value: str) -> float | None:
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _int(value: str) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number >= 0 else None


def _non_negative(secs: float | None) -> float | None:
    return None if secs is None else max(0.0, secs)
