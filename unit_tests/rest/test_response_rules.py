"""``errors:`` rules: how the YAML loads (both forms, every mistake on one line) and what a rule matches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from requests.structures import CaseInsensitiveDict

from source_solidafy.errors import ManifestError, StreamError
from source_solidafy.manifest import load_manifest_text
from source_solidafy.rest import builders
from source_solidafy.rest.ratelimit import RetryWait
from source_solidafy.rest.response_rules import BODY_WINDOW, ResponseRule, first_match

HEAD = "name: t\nbase_url: https://x\nstreams:\n  - name: s\n    request: {path: /s}\n"


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    headers: CaseInsensitiveDict[str] = field(default_factory=CaseInsensitiveDict)

    @property
    def content(self) -> bytes:
        return self.body

    def json(self) -> Any:
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            raise StreamError("invalid JSON") from None


def rules(errors: str, top: str = "") -> tuple[ResponseRule, ...]:
    manifest = load_manifest_text(top + HEAD + f"    errors: {errors}\n")
    return builders.response_rules(manifest.streams[0].errors, manifest.errors)


def problem(errors: str) -> str:
    with pytest.raises(ManifestError) as info:
        load_manifest_text(HEAD + f"    errors: {errors}\n", source_name="t.yaml")
    (line,) = info.value.problems
    return line


# ------------------------------------------------------------------------------------------ loading


def test_the_mapping_form_is_one_rule_per_action_in_order() -> None:
    got = rules("{ignore: [404, 422], retry: 409, fail: 5xx}")
    assert [(r.action, sorted(r.statuses)[:2], len(r.statuses)) for r in got] == [
        ("ignore", [404, 422], 2), ("retry", [409], 1), ("fail", [500, 501], 100)]
    assert [r.where for r in got] == ["errors[0]", "errors[1]", "errors[2]"]


def test_stream_rules_come_before_the_connector_rules() -> None:
    got = rules("[{status: 404, action: ignore}]", top="errors: {fail: 404}\n")
    assert [(r.where, r.action) for r in got] == [("errors[0]", "ignore"), ("connector errors[0]", "fail")]


@pytest.mark.parametrize(("errors", "message"), [
    ("{ignroe: [404]}", "t.yaml:6: streams[0].errors: unknown action 'ignroe'; did you mean 'ignore'? (expected one "
                        "of ignore, fail, retry, rate_limited, refresh_token; a list of rules gives body and header "
                        "conditions)"),
    ("[{status: 404, action: ratelimited}]", "t.yaml:6: streams[0].errors[0].action: expected one of ignore, fail, "
                                             "retry, rate_limited, refresh_token; got 'ratelimited'; did you mean "
                                             "'rate_limited'?"),
    ("{ignore: [404, nope]}", "t.yaml:6: streams[0].errors: ignore: expected an HTTP status (404) or class (4xx), "
                              "got 'nope'"),
    ("[{status: 99, action: fail}]", "t.yaml:6: streams[0].errors[0].status: expected an HTTP status (404) or class "
                                     "(4xx), got 99"),
    ("[{body_matches: '(', action: fail}]", "t.yaml:6: streams[0].errors[0].body_matches: invalid regular "
                                            "expression: missing ), unterminated subpattern at position 0"),
    ("[{body_matches: '^(a+)+$', action: fail}]", "t.yaml:6: streams[0].errors[0].body_matches: a repeat inside a "
                                                  "repeated group ((a+)+) can take exponential time on hostile "
                                                  "input; write it without the nesting"),
    ("[{action: ignore}]", "t.yaml:6: streams[0].errors[0]: a rule needs status, body_path, body_matches or headers "
                           "(it would match every response, successes included)"),
    ("[{status: 404, action: ignore, mesage: x}]", "t.yaml:6: streams[0].errors[0].mesage: unknown key; did you "
                                                   "mean 'message'?"),
])
def test_every_mistake_is_one_line_with_its_place(errors: str, message: str) -> None:
    assert problem(errors) == message


# ----------------------------------------------------------------------------------------- matching


def test_every_condition_given_must_hold() -> None:
    rule = ResponseRule("fail", [400], "error.code", "^expired", {"X-Reason": "token"})
    hit = Answer(400, b'{"error": {"code": "expired_token"}}', CaseInsensitiveDict({"x-reason": "bad token"}))
    assert rule.matches(hit)
    assert not rule.matches(Answer(401, hit.body, hit.headers))  # status
    assert not rule.matches(Answer(400, b'{"error": {"code": "revoked"}}', hit.headers))  # body value
    assert not rule.matches(Answer(400, hit.body, CaseInsensitiveDict({"X-Reason": "quota"})))  # header value
    assert not rule.matches(Answer(400, hit.body))  # header absent


def test_body_path_alone_means_present_and_not_null() -> None:
    rule = ResponseRule("fail", body_path="error")
    assert rule.matches(Answer(200, b'{"ok": false, "error": "invalid_auth"}'))
    assert not rule.matches(Answer(200, b'{"ok": true, "error": null}'))
    assert not rule.matches(Answer(200, b'{"ok": true}'))
    assert not rule.matches(Answer(200, b"id,name\n1,a\n"))  # not JSON: a path cannot match


def test_body_matches_searches_the_start_of_the_body_only() -> None:
    rule = ResponseRule("retry", body_matches="try again")
    assert rule.matches(Answer(409, b"conflict: please try again later"))
    assert not rule.matches(Answer(200, b"x" * BODY_WINDOW + b"try again"))


def test_the_first_matching_rule_wins() -> None:
    got = rules("[{status: 404, body_matches: archived, action: fail}, {status: 4xx, action: ignore}]")
    assert first_match(got, Answer(404, b'{"message": "archived"}')) is got[0]
    assert first_match(got, Answer(404, b'{"message": "gone"}')) is got[1]
    assert first_match(got, Answer(500)) is None
    assert first_match(got, Answer(200)) is None


# -------------------------------------------------------------------------------------- the waits


class _State:
    def __init__(self, exc: Any) -> None:
        self.attempt_number = 1
        self.outcome = self
        self._exc = exc

    def exception(self) -> Any:
        return self._exc


class _Throttled(Exception):
    def __init__(self, headers: dict[str, str], rate_limited: bool) -> None:
        self.response = Answer(400, b"{}", CaseInsensitiveDict(headers))
        self.rate_limited = rate_limited


def test_a_rate_limited_rule_honours_reset_headers_on_any_status() -> None:
    wait = RetryWait("constant", 0.5, 60, clock=lambda: 1000.0)
    reset = {"X-RateLimit-Reset": "1012"}
    assert wait(_State(_Throttled(reset, rate_limited=True))) == 12.0
    assert wait(_State(_Throttled(reset, rate_limited=False))) == 0.5  # a plain 400: the backoff, as before
    assert wait(_State(_Throttled({"RateLimit-Reset": "7"}, rate_limited=True))) == 7.0
    assert wait(_State(_Throttled({"Retry-After": "3"}, rate_limited=False))) == 3.0
