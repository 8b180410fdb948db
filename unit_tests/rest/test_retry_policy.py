"""A retry policy per stream: the HTTP client retries a request as its stream's policy says (else as the
connector's), against a real mock API; an Airbyte manifest whose streams' error handlers differ in
max_retries or backoff gives each stream its own. The whole, against airbyte-cdk itself:
integration_tests/airbyte_manifests/cases/retries.yaml."""

from __future__ import annotations

import pytest

from integration_tests.mocks.server import MockServer, Request, Response
from source_solidafy.errors import HttpError
from source_solidafy.lowcode.loader import load_airbyte_text
from source_solidafy.request_stats import RequestStats
from source_solidafy.rest.http import HttpClient
from source_solidafy.rest.ratelimit import RetryPolicy


def always_500(req: Request) -> Response:
    return Response.json({"error": "down"}, status=500)


def test_a_stream_policy_replaces_the_connectors_retries_and_backoff_for_its_requests_only() -> None:
    waits: list[float] = []
    with MockServer(always_500) as srv:
        client = HttpClient(srv.url, max_retries=3, backoff="constant", backoff_base=0.01, sleep=waits.append)
        with pytest.raises(HttpError, match="after 3 retries"):
            client.request("GET", "/connector")
        assert (srv.paths().count("/connector"), waits) == (4, [0.01] * 3)
        waits.clear()
        stats = RequestStats()
        with pytest.raises(HttpError, match="after 1 retries"):
            client.request("GET", "/own", retry=RetryPolicy(1, "exponential", 0.5), stats=stats)
        assert (srv.paths().count("/own"), waits, stats.retries) == (2, [0.5], 1)
        waits.clear()
        with pytest.raises(HttpError, match="HTTP 500 Internal Server Error from GET .*/none: "):
            client.request("GET", "/none", retry=RetryPolicy(0))
        assert (srv.paths().count("/none"), waits) == (1, [])
        with pytest.raises(HttpError, match="after 3 retries"):  # the connector's again, unchanged
            client.request("GET", "/connector")
        assert srv.paths().count("/connector") == 8


def test_a_streams_retry_block_overrides_only_what_it_gives() -> None:
    base = RetryPolicy(3, "exponential", 5.0)
    own = type("Own", (), {"max_retries": 1, "backoff": None, "backoff_base_secs": 0.1})()
    assert base.overridden(own) == RetryPolicy(1, "exponential", 0.1)
    with pytest.raises(ValueError, match="backoff must be one of exponential, linear, constant"):
        RetryPolicy(1, "fibonacci")


MANIFEST = """
version: 6.0.0
type: DeclarativeSource
check: {type: CheckStream, stream_names: [a]}
streams: [STREAMS]
spec: {type: Spec, connection_specification: {type: object}}
"""


def stream(name: str, retries: int, strategy: str) -> str:
    handler = f"{{type: DefaultErrorHandler, max_retries: {retries}, backoff_strategies: [{strategy}]}}"
    requester = f"{{type: HttpRequester, url_base: 'https://api.example.com', path: /{name}, error_handler: {handler}}}"
    selector = "{type: RecordSelector, extractor: {type: DpathExtractor, field_path: []}}"
    return (f"{{type: DeclarativeStream, name: {name}, schema_loader: {{type: InlineSchemaLoader, schema: {{}}}}, "
            f"retriever: {{type: SimpleRetriever, record_selector: {selector}, requester: {requester}}}}}")


def test_streams_whose_error_handlers_differ_each_get_their_own_retry_policy() -> None:
    constant = "{type: ConstantBackoffStrategy, backoff_time_in_seconds: 0.1}"
    streams = [stream("a", 3, constant), stream("b", 3, constant),
               stream("c", 1, "{type: ExponentialBackoffStrategy, factor: 0.05}")]
    manifest = load_airbyte_text(MANIFEST.replace("STREAMS", ", ".join(streams))).manifest
    http = manifest.http
    assert (http.max_retries, http.backoff, http.backoff_base_secs) == (3, "constant", 0.1)  # the first stream's
    a, b, c = (manifest.stream(n) for n in "abc")
    assert (a.retry, b.retry) == (None, None)  # the connector's
    assert c.retry is not None
    assert (c.retry.max_retries, c.retry.backoff, c.retry.backoff_base_secs) == (1, "exponential", 0.1)  # 0.05 * 2**n
