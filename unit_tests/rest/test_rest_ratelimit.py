from __future__ import annotations

import contextlib
import threading
from types import SimpleNamespace

import pytest
from requests.structures import CaseInsensitiveDict

from source_solidafy.rest.ratelimit import ConcurrencyLimiter, RetryWait, TokenBucket


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, secs: float) -> None:
        self.sleeps.append(secs)
        self.now += secs


def test_ratelimit_bucket_spaces_requests_at_the_rate() -> None:
    t = FakeTime()
    bucket = TokenBucket(4, clock=t.clock, sleep=t.sleep)
    for _ in range(5):
        bucket.acquire()
    assert t.sleeps == pytest.approx([0.25, 0.25, 0.25, 0.25])


def test_ratelimit_bucket_allows_burst_then_refills() -> None:
    t = FakeTime()
    bucket = TokenBucket(2, burst=3, clock=t.clock, sleep=t.sleep)
    for _ in range(3):
        bucket.acquire()
    assert t.sleeps == []
    bucket.acquire()
    assert t.sleeps == pytest.approx([0.5])
    t.now += 10  # idle: refills to burst, not beyond
    for _ in range(3):
        bucket.acquire()
    assert t.sleeps == pytest.approx([0.5])


def test_ratelimit_bucket_unset_is_a_noop() -> None:
    t = FakeTime()
    bucket = TokenBucket(None, clock=t.clock, sleep=t.sleep)
    assert [bucket.acquire() for _ in range(100)] == [0.0] * 100
    assert t.sleeps == []


def test_ratelimit_bucket_is_thread_safe_total_wait_matches_rate() -> None:
    lock = threading.Lock()
    sleeps: list[float] = []

    def sleep(secs: float) -> None:
        with lock:
            sleeps.append(secs)

    bucket = TokenBucket(10, clock=lambda: 0.0, sleep=sleep)  # frozen clock: every token must be waited for
    threads = [threading.Thread(target=lambda: [bucket.acquire() for _ in range(25)]) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    # 100 acquisitions, the first free: waits are 0.1, 0.2, ..., 9.9 in some order
    assert sorted(round(s, 6) for s in sleeps) == [round(0.1 * i, 6) for i in range(1, 100)]


def test_ratelimit_bucket_rejects_bad_rate() -> None:
    with pytest.raises(ValueError, match="rate_limit_rps"):
        TokenBucket(0)


def test_ratelimit_concurrency_limiter_caps_in_flight() -> None:
    limiter = ConcurrencyLimiter(2)
    inside, peak, lock = 0, 0, threading.Lock()
    gate = threading.Barrier(2)  # two inside meet here; no timeout: a slow thread start cannot break it

    def work() -> None:
        nonlocal inside, peak
        with limiter:
            with lock:
                inside += 1
                peak = max(peak, inside)
            with contextlib.suppress(threading.BrokenBarrierError):
                gate.wait(timeout=120)  # broken only if the limiter let fewer than two in (a hang guard)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert peak == 2


def test_ratelimit_concurrency_unset_is_noop() -> None:
    limiter = ConcurrencyLimiter(None)
    with limiter, limiter, limiter:
        pass


def _state(attempt: int, status: int | None = None, **headers: str) -> SimpleNamespace:
    exc = None
    if status is not None:
        exc = Exception()
        exc.response = SimpleNamespace(status=status, headers=CaseInsensitiveDict(headers))  # type: ignore[attr-defined]
    outcome = SimpleNamespace(exception=lambda: exc)
    return SimpleNamespace(attempt_number=attempt, outcome=outcome)


@pytest.mark.parametrize(
    ("policy", "waits"),
    [("exponential", [0.5, 1, 2, 4, 5, 5]), ("linear", [0.5, 1, 1.5, 2, 2.5, 3]), ("constant", [0.5] * 6)],
)
def test_ratelimit_backoff_policies_capped(policy: str, waits: list[float]) -> None:
    wait = RetryWait(policy, 0.5, 5.0)
    assert [wait(_state(n)) for n in range(1, 7)] == waits


def test_ratelimit_retry_after_seconds_fractional_and_capped() -> None:
    wait = RetryWait("exponential", 1.0, 60.0)
    state = _state(1, 429, **{"Retry-After": "2.0"})
    assert wait(state) == 2.0
    assert state.solidafy_reason == "Retry-After"
    assert wait(_state(1, 429, **{"Retry-After": "3600"})) == 60.0


def test_ratelimit_retry_after_http_date() -> None:
    wait = RetryWait("exponential", 1.0, 60.0, clock=lambda: 1_700_000_000.0)
    # 1_700_000_000 is Tue, 14 Nov 2023 22:13:20 GMT
    assert wait(_state(1, 503, **{"Retry-After": "Tue, 14 Nov 2023 22:13:27 GMT"})) == pytest.approx(7.0)
    assert wait(_state(1, 503, **{"Retry-After": "Tue, 14 Nov 2023 22:13:00 GMT"})) == 0.0


def test_ratelimit_retry_after_ms_and_github_reset() -> None:
    wait = RetryWait("exponential", 1.0, 60.0, clock=lambda: 1_700_000_000.0)
    assert wait(_state(1, 429, **{"retry-after-ms": "250"})) == 0.25
    gh = _state(1, 403, **{"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1700000012"})
    assert wait(gh) == 12.0
    assert gh.solidafy_reason == "x-ratelimit-reset"
    # reset header on a 500 is not a rate-limit hint: policy applies
    assert wait(_state(2, 500, **{"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1700000012"})) == 2.0


def test_ratelimit_garbage_retry_after_falls_back_to_backoff() -> None:
    wait = RetryWait("constant", 1.5, 60.0)
    state = _state(1, 429, **{"Retry-After": "soon"})
    assert wait(state) == 1.5
    assert state.solidafy_reason == "backoff"
