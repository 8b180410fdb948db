"""HttpClient against a real socket: retries, waits, auth refresh, throttles, redaction.

Waits are recorded through the injected ``sleep`` (never slept), so nothing here depends on timing.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Iterator

import pytest

from integration_tests.mocks.server import Faults, MockServer, Request, Response
from source_solidafy.errors import AuthError, HttpError, StreamError
from source_solidafy.rest.auth import ApiKeyAuth, BearerAuth
from source_solidafy.rest.http import HttpClient
from source_solidafy.rest.oauth2 import OAuth2RefreshToken

STRIPE_429 = {"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"}}


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.logs: list[tuple[str, str]] = []

    def sleep(self, secs: float) -> None:
        self.sleeps.append(secs)

    def log(self, level: str, message: str) -> None:
        self.logs.append((level, message))


def customers(req: Request) -> Response:
    return Response.json({"object": "list", "has_more": False, "data": [{"id": "cus_1"}]})


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def serve(faults: dict[int, Response], fallback=customers) -> MockServer:  # type: ignore[no-untyped-def]
    plan = Faults(faults)

    def handler(req: Request) -> Response:
        return plan.take(req) or fallback(req)

    return MockServer(handler)


@pytest.fixture
def client_for(rec: Recorder) -> Iterator:  # type: ignore[type-arg]
    made: list[HttpClient] = []

    def make(srv: MockServer, **kwargs) -> HttpClient:  # type: ignore[no-untyped-def]
        kwargs.setdefault("sleep", rec.sleep)
        kwargs.setdefault("log", rec.log)
        client = HttpClient(f"{srv.url}/v1", **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_rest_http_429_retry_after_seconds_then_success(rec: Recorder, client_for) -> None:  # type: ignore[no-untyped-def]
    with serve({1: Response.json(STRIPE_429, 429, **{"Retry-After": "1"})}) as srv:
        resp = client_for(srv).request("GET", "/customers", params={"limit": 100})
    assert resp.json()["data"] == [{"id": "cus_1"}]
    assert rec.sleeps == [1.0]
    assert rec.logs == [("WARN", f"HTTP 429 from GET {srv.url}/v1/customers?limit=100, retry 1/3 in 1.0s (Retry-After)")]
    assert [r.url for r in srv.requests] == ["/v1/customers?limit=100"] * 2


def test_rest_http_429_retry_after_http_date_and_fractional(rec: Recorder, client_for) -> None:  # type: ignore[no-untyped-def]
    now = time.time()  # the client's wall clock is frozen: however slow this run, the date is 5 s ahead
    later = email.utils.formatdate(now + 5, usegmt=True)
    faults = {1: Response.json(STRIPE_429, 429, **{"Retry-After": later}),
              2: Response.json({"errors": "Throttled"}, 429, **{"Retry-After": "2.0"})}
    with serve(faults) as srv:
        client_for(srv, backoff_max=30, clock=lambda: now).request("GET", "customers")
    assert 4 < rec.sleeps[0] <= 5 and rec.sleeps[1] == 2.0  # the date has whole seconds
    assert len(srv.requests) == 3


def test_rest_http_retry_after_is_capped_by_backoff_max(rec: Recorder, client_for) -> None:  # type: ignore[no-untyped-def]
    with serve({1: Response.json(STRIPE_429, 429, **{"Retry-After": "3600"})}) as srv:
        client_for(srv, backoff_max=2.5).request("GET", "customers")
    assert rec.sleeps == [2.5]


def test_rest_http_500_then_success_exponential_backoff(rec: Recorder, client_for) -> None:  # type: ignore[no-untyped-def]
    faults = {1: Response(500, "boom"), 2: Response(502, "bad gateway")}
    with serve(faults) as srv:
        resp = client_for(srv, backoff_base=0.5).request("GET", "customers")
    assert resp.status == 200 and rec.sleeps == [0.5, 1.0]
    assert "HTTP 502 from GET" in rec.logs[1][1] and "retry 2/3 in 1.0s (backoff)" in rec.logs[1][1]


def test_rest_http_connection_reset_then_success(rec: Recorder, client_for) -> None:  # type: ignore[no-untyped-def]
    with serve({1: Response.reset()}) as srv:
        resp = client_for(srv).request("GET", "customers")
    assert resp.json()["data"][0]["id"] == "cus_1"
    assert len(srv.requests) == 2 and "connection reset" in rec.logs[0][1]


def test_rest_http_truncated_body_then_success(rec: Recorder, client_for) -> None:  # type: ignore[no-untyped-def]
    truncated = Response(200, {"data": [{"id": "partial"}] * 50}, {"Content-Type": "application/json"}, truncate=True)
    with serve({1: truncated}) as srv:
        resp = client_for(srv).request("GET", "customers")
    assert resp.json()["data"] == [{"id": "cus_1"}]
    assert len(srv.requests) == 2 and "truncated response body" in rec.logs[0][1]


def test_rest_http_timeout_then_success(rec: Recorder, client_for) -> None:  # type: ignore[no-untyped-def]
    with serve({1: Response(200, {"data": []}, delay=1.0)}) as srv:
        resp = client_for(srv, timeout=0.2).request("GET", "customers")
    assert resp.json()["data"] == [{"id": "cus_1"}] and "timeout" in rec.logs[0][1]


def test_rest_http_404_is_not_retried(rec: Recorder, client_for) -> None:  # type: ignore[no-untyped-def]
    not_found = Response.json({"error": {"message": "No such customer: 'cus_x'"}}, 404)
    with serve({1: not_found}) as srv, pytest.raises(HttpError) as info:
        client_for(srv).request("GET", "customers/cus_x")
    assert len(srv.requests) == 1 and rec.sleeps == []
    assert not isinstance(info.value, AuthError) and info.value.status == 404
    assert str(info.value).startswith(f"HTTP 404 Not Found from GET {srv.url}/v1/customers/cus_x: ")
    assert "No such customer" in str(info.value)


def test_rest_http_retries_exhausted_message(rec: Recorder, client_for) -> None:  # type: ignore[no-untyped-def]
    always_500 = {n: Response(500, "x" * 300) for n in range(1, 10)}
    with serve(always_500) as srv, pytest.raises(HttpError) as info:
        client_for(srv, max_retries=2).request("GET", "customers", params={"limit": 3})
    assert len(srv.requests) == 3 and len(rec.sleeps) == 2
    assert str(info.value) == (
        f"HTTP 500 Internal Server Error from GET {srv.url}/v1/customers?limit=3 after 2 retries: " + "x" * 200 + "...")


def test_rest_http_connection_refused_fails_clearly(rec: Recorder) -> None:
    with MockServer(customers) as srv:
        dead = srv.url
    client = HttpClient(dead, max_retries=1, sleep=rec.sleep, log=rec.log)
    with pytest.raises(HttpError, match=r"connection failed .* from GET http://127.0.0.1:\d+/x after 1 retries"):
        client.request("GET", "/x")


def test_rest_http_stripe_should_retry_false_is_final(rec: Recorder, client_for) -> None:  # type: ignore[no-untyped-def]
    no_retry = Response.json(STRIPE_429, 429, **{"Stripe-Should-Retry": "false"})
    with serve({1: no_retry}) as srv, pytest.raises(HttpError) as info:
        client_for(srv).request("GET", "customers")
    assert len(srv.requests) == 1 and info.value.status == 429 and "after" not in str(info.value)


def test_rest_http_github_403_rate_limit_waits_until_reset(rec: Recorder, client_for) -> None:  # type: ignore[no-untyped-def]
    now = time.time()  # frozen for the client, so the wait is exactly reset - now whatever the load
    reset = int(now) + 7
    limited = Response.json({"message": "API rate limit exceeded"}, 403,
                            **{"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)})
    with serve({1: limited}) as srv:
        client_for(srv, clock=lambda: now).request("GET", "orgs/o/repos")
    assert len(srv.requests) == 2 and rec.sleeps[0] == pytest.approx(reset - now)
    assert rec.logs[0][1].endswith("(x-ratelimit-reset)")


def test_rest_http_plain_403_is_auth_error_not_retried(rec: Recorder, client_for) -> None:  # type: ignore[no-untyped-def]
    forbidden = Response.json({"message": "Resource not accessible by integration"}, 403)
    with serve({1: forbidden}) as srv, pytest.raises(AuthError):
        client_for(srv).request("GET", "orgs/o/repos")
    assert len(srv.requests) == 1


def _oauth_api(issued: list[str]):  # type: ignore[no-untyped-def]
    """Token endpoint issues at_1, at_2, ...; the data API has already expired at_1 (Salesforce 401)."""
    lock = threading.Lock()

    def handler(req: Request) -> Response:
        if req.path == "/services/oauth2/token":
            form = req.form()
            if form.get("refresh_token") != "rt_good" or form.get("client_secret") != "cs_secret":
                return Response.json({"error": "invalid_grant", "error_description": "expired access/refresh token"}, 400)
            with lock:
                issued.append(f"at_{len(issued) + 1}")
                token = issued[-1]
            return Response.json({"access_token": token, "instance_url": "https://x.my.salesforce.com",
                                  "token_type": "Bearer"})
        if req.header("Authorization") != "Bearer at_2":
            return Response.json([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], 401)
        return Response.json({"totalSize": 1, "done": True, "records": [{"Id": "001"}]})

    return handler


def test_rest_http_401_refreshes_oauth_token_once_then_succeeds(rec: Recorder, client_for) -> None:  # type: ignore[no-untyped-def]
    issued: list[str] = []
    with MockServer(_oauth_api(issued)) as srv:
        client = client_for(srv)
        client.auth = OAuth2RefreshToken(f"{srv.url}/services/oauth2/token", "cid", "cs_secret", "rt_good",
                                         session=client.session)
        resp = client.request("GET", "/query", params={"q": "SELECT Id FROM Account"})
        assert resp.json()["records"] == [{"Id": "001"}]
        assert client.auth.token_info["instance_url"] == "https://x.my.salesforce.com"
    assert issued == ["at_1", "at_2"]
    data_auth = [r.header("Authorization") for r in srv.requests if r.path == "/v1/query"]
    assert data_auth == ["Bearer at_1", "Bearer at_2"]
    assert any("token refreshed" in m for _, m in rec.logs)
    assert not any("at_1" in m or "at_2" in m for _, m in rec.logs)


def test_rest_http_401_after_refresh_is_auth_error(rec: Recorder, client_for) -> None:  # type: ignore[no-untyped-def]
    with MockServer(lambda req: Response.json({"error": "bad"}, 401) if req.path != "/tok"
                    else Response.json({"access_token": "tok_abcdef"})) as srv:
        client = client_for(srv)
        client.auth = OAuth2RefreshToken(f"{srv.url}/tok", "c", "s_secret", "r_secret", session=client.session)
        with pytest.raises(AuthError) as info:
            client.request("GET", "things")
    assert "HTTP 401" in str(info.value) and "tok_abcdef" not in str(info.value)
    assert len([r for r in srv.requests if r.path == "/v1/things"]) == 2


def test_rest_http_bad_refresh_token_is_auth_error_without_secrets(client_for) -> None:  # type: ignore[no-untyped-def]
    with MockServer(_oauth_api([])) as srv:
        client = client_for(srv)
        client.auth = OAuth2RefreshToken(f"{srv.url}/services/oauth2/token", "cid", "cs_secret", "rt_revoked",
                                         session=client.session)
        with pytest.raises(AuthError) as info:
            client.request("GET", "query")
    message = str(info.value)
    assert "invalid_grant: expired access/refresh token" in message
    assert "rt_revoked" not in message and "cs_secret" not in message


def test_rest_http_secrets_redacted_from_errors_and_retry_logs(rec: Recorder, client_for) -> None:  # type: ignore[no-untyped-def]
    def echo(req: Request) -> Response:  # a careless API that echoes the request, key included
        return Response(500, f"failed {req.url} with key {req.arg('api_key')} auth {req.header('Authorization')}")

    with MockServer(echo) as srv:
        client = client_for(srv, auth=ApiKeyAuth("api_key", "k_live_SECRET42", location="query"),
                            headers={"X-Token": "hdr_SECRET77"}, secrets=["cfg_SECRET99"])
        with pytest.raises(HttpError) as info:
            client.request("GET", "items", params={"token": "param_SECRET55", "note": "cfg_SECRET99"})
    assert srv.requests[0].arg("api_key") == "k_live_SECRET42"  # the key really was sent
    outputs = [str(info.value), *(m for _, m in rec.logs)]
    assert len(rec.logs) == 3
    for text in outputs:
        for secret in ("k_live_SECRET42", "hdr_SECRET77", "cfg_SECRET99", "param_SECRET55"):
            assert secret not in text
    assert "api_key=***" in outputs[0]


def test_rest_http_bearer_token_not_in_error(client_for) -> None:  # type: ignore[no-untyped-def]
    echo = MockServer(lambda req: Response(400, f"bad header {req.header('Authorization')}"))
    with echo as srv, pytest.raises(HttpError) as info:
        client_for(srv, auth=BearerAuth("sk_test_BEARER1")).request("GET", "x")
    assert "sk_test_BEARER1" not in str(info.value) and "Bearer ***" in str(info.value)


def test_rest_http_rate_limiter_throttles_every_attempt(rec: Recorder, client_for) -> None:  # type: ignore[no-untyped-def]
    with serve({2: Response(503, "busy")}) as srv:
        client = client_for(srv, rate_limit_rps=5, monotonic=lambda: 0.0, backoff_base=0.01)
        for _ in range(3):
            client.request("GET", "customers")
    # frozen clock: 4 attempts (3 requests + 1 retry), the first free, each later one waits its slot;
    # the retry's own backoff (0.01) sits between them
    assert rec.sleeps == pytest.approx([0.2, 0.01, 0.4, 0.6])
    assert len(srv.requests) == 4


def test_rest_http_max_concurrency_caps_requests_in_flight(client_for) -> None:  # type: ignore[no-untyped-def]
    lock, state = threading.Lock(), {"now": 0, "peak": 0}

    def slow(req: Request) -> Response:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return Response.json({"ok": True})

    with MockServer(slow) as srv:
        client = client_for(srv, max_concurrency=2)
        threads = [threading.Thread(target=client.request, args=("GET", f"c/{i}")) for i in range(6)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert len(srv.requests) == 6 and state["peak"] <= 2


def test_rest_http_params_lists_repeat_and_base_prefix_and_absolute(client_for) -> None:  # type: ignore[no-untyped-def]
    with MockServer(customers) as srv:
        client = client_for(srv)
        client.request("GET", "/organization/usage/completions",
                       params={"group_by": ["model", "project_id"], "start_time": 1730419200, "skip": None})
        client.request("GET", "events", params=[("types[]", "customer.created"), ("types[]", "customer.updated")])
        client.request("GET", f"{srv.url}/other/path?x=1")
        client.request("POST", "search", json_body={"filters": [], "after": "10"})
    urls = [r.url for r in srv.requests]
    assert urls[0] == "/v1/organization/usage/completions?group_by=model&group_by=project_id&start_time=1730419200"
    assert urls[1] == "/v1/events?types%5B%5D=customer.created&types%5B%5D=customer.updated"
    assert urls[2] == "/other/path?x=1"
    assert srv.requests[3].json() == {"filters": [], "after": "10"}
    assert srv.requests[3].header("Content-Type") == "application/json"


def test_rest_http_invalid_json_is_stream_error(client_for) -> None:  # type: ignore[no-untyped-def]
    with MockServer(lambda req: Response(200, "<html>maintenance</html>")) as srv:
        resp = client_for(srv).request("GET", "customers")
        with pytest.raises(StreamError, match=r"invalid JSON from GET http://127.0.0.1:\d+/v1/customers: .*first bytes: '<html>"):
            resp.json()


def test_rest_http_one_client_many_threads_with_faults(rec: Recorder, client_for) -> None:  # type: ignore[no-untyped-def]
    lock, seen = threading.Lock(), {"n": 0}

    def flaky(req: Request) -> Response:
        with lock:
            seen["n"] += 1
            n = seen["n"]
        if n % 3 == 0:
            return Response.json({"error": "busy"}, 503, **{"Retry-After": "0"})
        if n % 7 == 0:
            return Response.reset()
        return Response.json({"path": req.path})

    results: dict[str, str] = {}
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        for i in range(5):
            try:
                resp = client.request("GET", f"p/{t}/{i}")
                results[f"/v1/p/{t}/{i}"] = resp.json()["path"]
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

    with MockServer(flaky) as srv:
        client = client_for(srv, max_retries=30, backoff_base=0.0)  # ~43% of answers are faults
        threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert errors == []
    assert len(results) == 20 and all(k == v for k, v in results.items())
    assert len(rec.logs) == len(srv.requests) - 20  # one WARN per retry


def test_unknown_host_fails_at_once_with_a_clear_message() -> None:
    waits: list[float] = []
    client = HttpClient("http://no-such-host.invalid/v1", max_retries=3, sleep=waits.append)
    with pytest.raises(HttpError, match=r"cannot resolve host 'no-such-host.invalid'.*check base_url"):
        client.request("GET", "/customers")
    assert waits == []
