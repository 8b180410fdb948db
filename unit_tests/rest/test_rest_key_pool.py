"""The API key pool: keys in turn, a key out of quota rests until its answer says, the note when all are out."""

from __future__ import annotations

import pytest
from requests.structures import CaseInsensitiveDict as H

from source_solidafy.errors import ConfigError
from source_solidafy.rest.key_pool import KeyPool, key_list
from unit_tests.rest.test_rest_auth import _applied


@pytest.mark.parametrize(("value", "keys"), [
    (["a", "b", "a", "", None, " c "], ["a", "b", "c"]),
    ("a, b\nc  d,,", ["a", "b", "c", "d"]),
    ("", []),
    (None, []),
])
def test_key_list_reads_a_list_or_text(value: object, keys: list[str]) -> None:
    assert key_list(value) == keys


def _pool(**kw: object) -> tuple[KeyPool, list[float]]:
    now = [100.0]
    pool = KeyPool("X-Key", ["k1", "k2", "k3"], monotonic=lambda: now[0], clock=lambda: 1_000.0, **kw)  # type: ignore[arg-type]
    return pool, now


def test_a_key_out_of_quota_rests_and_the_next_takes_over() -> None:
    pool, now = _pool()
    assert _applied(pool)[0] == {"X-Key": "k1"}
    assert pool.on_response(500, {}, b"") is None, "not a quota answer"
    assert pool.on_response(429, H({"Retry-After": "30"}), b"") == \
        "key 1 of 3 is out of quota (resting 30s), key 2 takes over"
    assert _applied(pool)[0] == {"X-Key": "k2"}
    now[0] += 31  # k1 is back, but k2 is still fine: it stays in use
    assert _applied(pool)[0] == {"X-Key": "k2"}
    assert pool.on_response(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1060"}, b"") == \
        "key 2 of 3 is out of quota (resting 60s), key 1 takes over"
    assert pool.secrets() == ["k1", "k2", "k3"]


def test_when_every_key_rests_the_pool_lets_the_client_retry_and_says_so() -> None:
    pool, now = _pool(prefix="Bearer", location="query")
    for expected in ("k1", "k2"):
        assert _applied(pool)[1] == {"X-Key": f"Bearer {expected}"}
        assert pool.on_response(429, H({"Retry-After": "10"}), b"") is not None
    assert pool.failure_note() == ""
    _applied(pool)
    assert pool.on_response(429, H({"Retry-After": "5"}), b"") is None, "no key left to switch to"
    assert pool.failure_note() == " (all 3 keys of auth.values are out of quota)"
    assert _applied(pool)[1] == {"X-Key": "Bearer k3"}, "the key that rests least"
    now[0] += 11
    assert pool.failure_note() == ""


def test_quota_body_and_statuses() -> None:
    pool, _ = _pool(quota_statuses=[402], quota_body="quotaExceeded")
    _applied(pool)
    assert pool.on_response(403, {}, b'{"error": {"errors": [{"reason": "rateLimitExceeded"}]}}') is None
    assert pool.on_response(403, {}, b'{"error": {"errors": [{"reason": "quotaExceeded"}]}}') is not None
    assert pool.on_response(402, {}, b"") is not None
    assert pool.on_response(429, {}, b"") is None, "429 is not listed in quota_statuses here"


def test_no_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no key given"):
        KeyPool("X-Key", [])
