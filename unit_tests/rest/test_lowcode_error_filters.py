"""Airbyte's error handlers decided per response (source_solidafy/lowcode/error_filters.py), piece by piece,
against airbyte-cdk 7.39.1's code (HttpResponseFilter, DefaultErrorHandler, CompositeErrorHandler,
JsonErrorMessageParser, WaitTimeFromHeader / WaitUntilTimeFromHeader). The whole, against the CDK
itself: integration_tests/airbyte_manifests/cases/errors*.yaml."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from requests.structures import CaseInsensitiveDict

from source_solidafy.errors import StreamError, TemplateError
from source_solidafy.lowcode.error_filters import (
    POLICY,
    TOO_LONG,
    AirbyteErrorRule,
    Filter,
    Handler,
    HeaderWait,
    TooLong,
    View,
    error_text,
    request_url,
)
from source_solidafy.lowcode.interpolation import Interpolated
from source_solidafy.rest.ratelimit import RetryWait
from source_solidafy.rest.response_rules import ResponseRule, first_match

RETRY_STATUSES = frozenset([429, *range(500, 600)])


class Answer:
    """What a rule reads of a response (rest/response_rules.Answer)."""

    def __init__(self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None,
                 raw: bytes | None = None, url: str = "https://u:p@api.example.com/v1/orders?key=s3cret#x") -> None:
        self.status, self.url, self.accepted = status, url, None
        self.headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(headers or {})
        self.content = raw if raw is not None else orjson.dumps(body if body is not None else {})

    def json(self) -> Any:
        try:
            return orjson.loads(self.content)
        except orjson.JSONDecodeError:
            raise StreamError("invalid JSON") from None


def t(text: str, **parameters: Any) -> Interpolated:
    return Interpolated(text, parameters, "m.yaml:9: f")


def test_the_error_message_is_the_cdks_json_error_message_parser() -> None:
    assert error_text({"error": {"message": "busy, try again"}}) == "busy, try again"
    assert error_text({"message": "", "detail": "the detail"}) == "the detail"  # an empty value: the next key
    assert error_text({"errors": [{"msg": "a"}, {"x": 1}, "b"]}) == "a, b"
    assert error_text({"code": 7}) is None
    assert View(500, Answer(500, raw=b"<html>down</html>")).error_message() == "<html>down</html>"  # not JSON: the text
    assert View(500, Answer(500, raw=b"\xff\xfe")).error_message() is None


def test_a_filter_matches_on_its_codes_or_its_predicate_or_its_message() -> None:
    """The three conditions are OR'ed; a predicate sees the body ({} when it is not JSON), the headers, the
    URL without query, fragment or user info, the parameters, and config as None (the CDK passes None)."""
    flt = Filter("ignore", frozenset({404}), t("{{ response.status == 'error' and headers['X-A'] == parameters.a }}",
                                               a="1"), "maintenance")
    assert flt.matches(View(404, Answer(404)))
    assert flt.matches(View(200, Answer(body={"status": "error"}, headers={"x-a": "1"})))
    assert not flt.matches(View(200, Answer(body={"status": "error"}, headers={"X-A": "2"})))
    assert flt.matches(View(503, Answer(503, body={"errors": ["down for maintenance"]})))
    assert not flt.matches(View(200, Answer(body={"data": []})))
    assert Filter("fail", predicate=t("{{ request_url }}")).said(View(200, Answer()), None) is None  # no message
    url = Filter("fail", predicate=t("{{ request_url == 'https://api.example.com/v1/orders' }}"))
    assert url.matches(View(200, Answer())) and request_url(Answer()) == "https://api.example.com/v1/orders"
    assert not Filter("fail", predicate=t("{{ config['x'] }}")).matches(View(200, Answer()))  # config is None
    assert not Filter("fail", predicate=t("{{ response }}")).matches(View(200, Answer(raw=b"not json")))
    # an attribute of an undefined value: the CDK's jinja eval takes the default ("False"), no error
    assert not Filter("fail", predicate=t("{{ response.a.b.c }}")).matches(View(200, Answer()))
    with pytest.raises(TemplateError, match=r"^m\.yaml:9: f: "):
        Filter("fail", predicate=t("{{ 1 // response.zero }}")).matches(View(200, Answer(body={"zero": 0})))


def test_a_composite_takes_the_first_success_retry_or_ignore_else_the_last_answer() -> None:
    fails_200 = Handler(filters=(Filter("fail", predicate=t("{{ response.suspended }}")),))
    body = Answer(body={"suspended": True})
    assert fails_200.decide(View(200, body))[0] == "fail"
    assert Handler(parts=(fails_200, Handler())).decide(View(200, body))[0] == "success"  # the next one's success wins
    assert Handler(parts=(Handler(), fails_200)).decide(View(200, body))[0] == "success"  # never reaches it
    assert Handler().decide(View(409))[0] == "retry"  # the CDK's fallback
    assert Handler(parts=(Handler(), Handler())).decide(View(401))[0] == "fail"
    assert Handler(parts=(Handler(),)).decide(View(429))[0] == "rate_limited"


def test_wait_time_from_header_reads_the_regex_match_at_the_start_and_refuses_a_wait_at_the_cap() -> None:
    wait = HeaderWait(t("X-Retry-In"), t("[0-9]+"), t("{{ config['cap'] }}"))
    assert wait.wait(Answer(headers={"X-Retry-In": "12s"}), {"cap": 30}) == 12.0
    assert wait.wait(Answer(headers={"X-Retry-In": "in 12s"}), {"cap": 30}) is None  # re.match: at the start only
    assert wait.wait(Answer(headers={"X-Retry-In": "0"}), {"cap": 0}) == 0.0  # no wait asked: no cap refuses it
    with pytest.raises(TooLong, match="^" + TOO_LONG):
        wait.wait(Answer(headers={"X-Retry-In": "30"}), {"cap": 30})  # >=: a wait equal to the cap is refused
    with pytest.raises(TemplateError, match="max_waiting_time_in_seconds"):
        wait.wait(Answer(headers={"X-Retry-In": "3"}), {"cap": "soon"})
    assert HeaderWait(t("Retry-After")).wait(Answer(headers={"Retry-After": "1.5"}), {}) == 1.5


def test_wait_until_time_from_header_waits_until_the_epoch_time_at_least_min_wait() -> None:
    until = HeaderWait(t("X-Reset"), until=True, min_wait=t("2"), max_wait=t("60"))
    now = lambda: 1000.0  # noqa: E731
    assert until.wait(Answer(headers={"X-Reset": "1010"}), {}, now) == 10.0
    assert until.wait(Answer(headers={"X-Reset": "999"}), {}, now) == 2.0  # past: min_wait
    assert until.wait(Answer(), {}, now) == 2.0  # no header: min_wait
    assert HeaderWait(t("X-Reset"), until=True).wait(Answer(headers={"X-Reset": "999"}), {}, now) is None
    with pytest.raises(TooLong):
        until.wait(Answer(headers={"X-Reset": "1060"}), {}, now)


def test_the_first_strategy_that_gives_a_wait_decides_and_a_policy_one_leaves_it_to_the_backoff() -> None:
    header = HeaderWait(t("X-Wait"))
    assert Handler(own_strategies=(header, POLICY)).wait(Answer(headers={"X-Wait": "3"}), {}) == 4.0  # + the CDK's 1 s
    assert Handler(own_strategies=(header, POLICY)).wait(Answer(), {}) is None
    assert Handler(own_strategies=(POLICY, header)).wait(Answer(headers={"X-Wait": "3"}), {}) is None
    composite = Handler(parts=(Handler(), Handler(own_strategies=(header,))))
    assert composite.wait(Answer(headers={"X-Wait": "3"}), {}) == 4.0  # a composite's strategies, all in order


def rule(*filters: Filter, strategies: tuple[Any, ...] = (), config: dict[str, Any] | None = None) -> AirbyteErrorRule:
    return AirbyteErrorRule(Handler(filters=filters, own_strategies=strategies), config or {}, RETRY_STATUSES,
                            "errors[0]")


def test_the_rule_answers_what_the_cdks_decision_amounts_to_in_our_engine() -> None:
    said = t("account {{ response.account }} of {{ config['who'] }}")
    r = rule(Filter("ignore", predicate=t("{{ response.error }}")), Filter("success", frozenset({409})),
             Filter("fail", predicate=t("{{ response.suspended }}"), message=said),
             Filter("retry", contains="again"), strategies=(HeaderWait(t("X-Wait"), max_wait=t("10")),),
             config={"who": "ann"})
    accepted = r.resolve(Answer(body={"error": "maintenance"}))
    assert accepted is not None and accepted.action == "accept"  # read as a page: its records, if any, and next page
    assert r.resolve(Answer(body={"data": [1]})) is None  # a success as our engine reads one
    ignored = r.resolve(Answer(409))
    assert ignored is not None and ignored.action == "ignore"  # no records from an error status, paging stops
    failed = r.resolve(Answer(body={"suspended": True, "account": "acme"}))
    assert failed is not None and (failed.action, failed.message) == ("fail", "account acme of ann")
    retried = r.resolve(Answer(body={"message": "try again"}, headers={"X-Wait": "2"}))
    assert retried is not None and (retried.action, retried.wait) == ("retry", 3.0)
    too_long = r.resolve(Answer(503, headers={"X-Wait": "10"}))
    assert too_long is not None and too_long.action == "fail" and too_long.message is not None
    assert too_long.message.startswith(TOO_LONG)
    assert r.resolve(Answer(503)) is None  # retried as our engine retries a 503: no rule needed
    unauthorized = r.resolve(Answer(401))
    assert unauthorized is not None and unauthorized.action == "fail"  # the CDK fails a 401 (ours would refresh)
    page = Answer(body={"error": "x"})
    assert first_match([ResponseRule("retry", [418]), r], page) is None  # an accept is a success for the client,
    assert page.accepted == "errors[0] (accept)"  # noted on the response: no records path there is an empty page


def test_a_rules_own_wait_goes_before_the_servers_hints() -> None:
    waits = RetryWait("exponential", 5.0, 600.0)
    exc = SimpleNamespace(response=Answer(429, headers={"Retry-After": "30"}), wait=3.0, rate_limited=False)
    state = SimpleNamespace(outcome=SimpleNamespace(exception=lambda: exc), attempt_number=1)
    assert waits(state) == 3.0 and state.solidafy_reason == "the rule's wait"
    exc.wait = None
    assert waits(state) == 30.0
