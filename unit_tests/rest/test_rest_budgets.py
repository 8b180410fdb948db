"""Rate-limit headers of every family, and the budget they feed (rest/quota_headers.py, rest/budgets.py)."""

from __future__ import annotations

import pytest
from requests.structures import CaseInsensitiveDict

from source_solidafy.request_stats import RequestStats
from source_solidafy.rest.budgets import Budget, Budgets
from source_solidafy.rest.quota_headers import Quota, read_quotas
from source_solidafy.rest.ratelimit import RetryWait

NOW = 1_765_000_000.0  # epoch seconds


def quotas(**headers: str) -> list[Quota]:
    return read_quotas(CaseInsensitiveDict({k.replace("_", "-"): v for k, v in headers.items()}), NOW)


@pytest.mark.parametrize(("headers", "expected"), [
    ({"RateLimit": '"default";r=50;t=30', "RateLimit-Policy": '"default";q=100;w=60'},
     [Quota("default", 50, 30.0, 100)]),
    ({"RateLimit": 'default;r=5;t=1, "daily";r=900;t=80000'},  # a token (draft 08) and a string
     [Quota("default", 5, 1.0), Quota("daily", 900, 80000.0)]),
    ({"RateLimit": '"x";r=7'}, [Quota("x", 7, None)]),
    ({"RateLimit": '"x";r=7;t=0.25'}, [Quota("x", 7, 0.25)]),  # a fraction, leniently
    ({"RateLimit": "limit=100, remaining=50, reset=5"}, [Quota("", 50, 5.0, 100)]),  # draft 07
    ({"RateLimit-Limit": "100, 100;w=60", "RateLimit-Remaining": "9", "RateLimit-Reset": "7"},
     [Quota("", 9, 7.0, 100)]),
    ({"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999", "X-RateLimit-Reset": str(int(NOW) + 60)},
     [Quota("", 4999, 60.0, 5000)]),  # GitHub: epoch seconds
    ({"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": str(int(NOW * 1000) + 1500)}, [Quota("", 3, 1.5)]),
    ({"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "42"}, [Quota("", 3, 42.0)]),  # seconds from now
    ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "0.5"}, [Quota("", 0, 0.5)]),  # Discord
    ({"X-Rate-Limit-Remaining": "1", "X-Rate-Limit-Reset": str(int(NOW) + 2)}, [Quota("", 1, 2.0)]),  # Twitter
    ({"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": str(int(NOW) - 5)}, [Quota("", 3, 0.0)]),  # past
    ({"X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Remaining": "180",
      "X-HubSpot-RateLimit-Interval-Milliseconds": "10000", "X-HubSpot-RateLimit-Daily": "250000",
      "X-HubSpot-RateLimit-Daily-Remaining": "249000"},
     [Quota("", 180, 10.0, 190), Quota("daily", 249000, None, 250000)]),
    ({"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "499",
      "x-ratelimit-reset-requests": "1m0.5s", "x-ratelimit-remaining-tokens": "10"},
     [Quota("requests", 499, 60.5, 500)]),  # OpenAI
    ({"x-ratelimit-remaining-requests": "9", "x-ratelimit-reset-requests": "20ms"}, [Quota("requests", 9, 0.02)]),
    ({"x-ratelimit-remaining-requests": "9", "x-ratelimit-reset-requests": "soon"}, [Quota("requests", 9, None)]),
    ({"anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "49",
      "anthropic-ratelimit-requests-reset": "2025-12-06T05:46:52Z"}, [Quota("requests", 49, 12.0, 50)]),
])
def test_each_header_family_is_read(headers: dict[str, str], expected: list[Quota]) -> None:
    assert read_quotas(CaseInsensitiveDict(headers), NOW) == expected


@pytest.mark.parametrize("headers", [
    {}, {"RateLimit": "garbage"}, {"RateLimit": '"x";t=5'}, {"X-RateLimit-Remaining": "lots"},
    {"X-RateLimit-Remaining": "-1"}, {"X-RateLimit-Remaining": "nan"}, {"RateLimit": '"a;r=1' + "," * 10_000},
])
def test_what_does_not_parse_is_ignored(headers: dict[str, str]) -> None:
    assert read_quotas(CaseInsensitiveDict(headers), NOW) == []


def test_a_long_list_of_policies_is_bounded() -> None:
    value = ", ".join(f'"p{i}";r={i};t=1' for i in range(1000))
    assert len(read_quotas(CaseInsensitiveDict({"RateLimit": value}), NOW)) == 8


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def budget(clock: Clock) -> Budget:
    return Budget("api.example.com", 60.0, RetryWait("exponential", 1, 60, clock=lambda: NOW), clock=clock)


def test_requests_go_while_the_window_has_some_then_wait_for_the_reset() -> None:
    clock = Clock()
    b = budget(clock)
    epoch = b.acquire()
    b.done(epoch, [Quota("", 40, 10.0, 40)])  # after this one: 40 left for 10 s
    for _ in range(25):
        b.done(b.acquire(), None)  # none waits: 15 left
    assert b._wait(clock.now) <= 0
    b._windows[""].remaining = 0
    assert b._wait(clock.now) == pytest.approx(10.0)


def test_the_last_quarter_is_spread_over_the_time_left() -> None:
    clock = Clock()
    b = budget(clock)
    b.done(b.acquire(), [Quota("", 20, 10.0, 100)])  # 20 of 100 left, 10 s to go
    epoch = b.acquire()
    assert b._wait(clock.now) == pytest.approx(10.0 / 20)  # the next one waits its share
    b.done(epoch, None)


def test_a_long_window_is_not_spread_over_hours() -> None:
    clock = Clock()
    b = budget(clock)
    b.done(b.acquire(), [Quota("daily", 200, 80_000.0, 1000)])  # 200 of 1,000 left for 22 hours
    b.acquire()
    assert b._wait(clock.now) <= 0  # they go until none is left, then wait for the reset


def test_a_response_in_flight_counts_and_a_late_higher_figure_does_not_raise_it() -> None:
    clock = Clock()
    b = budget(clock)
    first, second, third = b.acquire(), b.acquire(), b.acquire()
    b.done(first, [Quota("", 10, 5.0)])  # two others in flight: maybe not counted yet
    assert b._windows[""].remaining == 8
    b.done(third, [Quota("", 3, 5.0)])  # second still in flight: 2
    b.done(second, [Quota("", 9, 5.0)])  # arrived late: old news within the window
    assert b._windows[""].remaining == 2


def test_after_the_reset_one_request_asks_and_older_answers_are_ignored() -> None:
    clock = Clock()
    b = budget(clock)
    b.done(b.acquire(), [Quota("", 5, 2.0)])
    old = b.acquire()  # sent in the old window
    clock.now += 2.5
    probe = b.acquire()  # the window is over: this one goes alone
    assert b._wait(clock.now) > 0
    b.done(old, [Quota("", 0, 0.0)])  # the old window's last word: ignored
    assert b._wait(clock.now) > 0
    b.done(probe, [Quota("", 99, 2.0)])
    assert b._windows[""].remaining == 99 and b._wait(clock.now) <= 0


def test_a_probe_answered_without_headers_forgets_the_window() -> None:
    clock = Clock()
    b = budget(clock)
    b.done(b.acquire(), [Quota("", 0, 1.0)])
    clock.now += 1.5
    b.done(b.acquire(), [])
    assert b._windows == {} and b._wait(clock.now) <= 0


def test_a_429_stops_every_thread_for_its_retry_after_capped() -> None:
    clock = Clock()
    b = budget(clock)
    first, second = b.acquire(), b.acquire()
    b.answered(first, CaseInsensitiveDict({"Retry-After": "7"}), 429)
    assert b._wait(clock.now) == pytest.approx(7.0)
    b.answered(second, CaseInsensitiveDict({"Retry-After": "7000"}), 429)
    assert b._wait(clock.now) == pytest.approx(60.0)  # http.backoff_max_secs caps every wait


def test_the_wait_is_counted_and_capped() -> None:
    stats = RequestStats()
    b = Budget("h", 0.05, RetryWait("exponential", 1, 60))
    b.done(b.acquire(stats), [Quota("", 0, 30.0)])
    b.acquire(stats)  # waits the cap (50 ms), not 30 s, then goes
    d = stats.as_dict()
    assert d["requests"] == 2 and d["rate_limit_waits"] == 1 and d["rate_limit_wait_ms"] >= 40


def test_a_server_naming_new_policies_forever_keeps_a_bounded_budget() -> None:
    clock = Clock()
    b = budget(clock)
    for i in range(1000):
        b._in_flight += 1  # as if acquired (acquiring would wait: each window has only 10)
        b.done(0, [Quota(f"p{i}", 10, 1.0)])
    assert len(b._windows) == 16


def test_pools_split_a_host_by_path_and_hosts_never_share() -> None:
    budgets = Budgets({"search": ["/search/*"]}, 60.0, RetryWait("exponential", 1, 60))
    core = budgets.of("https://api.github.com/repos/o/r")
    assert budgets.of("https://api.github.com/user") is core
    assert budgets.of("https://api.github.com/search/issues?q=x") is not core
    assert budgets.of("https://uploads.github.com/repos/o/r") is not core
    assert budgets.of("https://API.github.com/x").name == core.name == "api.github.com"
