"""Small pieces of the credential and redaction rules (the attacks themselves are integration tests)."""

from __future__ import annotations

import pytest

from source_solidafy.errors import redact_cut
from source_solidafy.rest.origins import CredentialScope, origin_of, parse_allowed, same_origin

SECRET = "sk_live_SUPERSECRET_abc123"


def test_origin_is_scheme_host_and_port() -> None:
    assert origin_of("https://API.example.com/v1?x=1") == ("https", "api.example.com", 443)
    assert origin_of("http://127.0.0.1:8080/x") == ("http", "127.0.0.1", 8080)
    assert origin_of("ftp://h/x") is None and origin_of("/relative") is None and origin_of("http://h:port/") is None


def test_same_origin_allows_only_the_https_upgrade_on_default_ports() -> None:
    assert same_origin("http://h/a", "http://h:80/b")
    assert same_origin("http://h/a", "https://h/b")
    assert not same_origin("https://h/a", "http://h/b")
    assert not same_origin("http://127.0.0.1:1/a", "http://127.0.0.1:2/a")
    assert not same_origin("http://127.0.0.1:1/a", "http://localhost:1/a")


def test_allowed_hosts_entries() -> None:
    assert parse_allowed("cdn.example.com") == ("https", "cdn.example.com", 443)
    assert parse_allowed("cdn.example.com:8443") == ("https", "cdn.example.com", 8443)
    assert parse_allowed("http://127.0.0.1:9000") == ("http", "127.0.0.1", 9000)
    for bad in ("http://a/b", "", "ftp://x"):
        with pytest.raises(ValueError, match="is not a host"):
            parse_allowed(bad)


def test_scope_follows_base_url() -> None:
    scope = CredentialScope(["cdn.example.com"])
    assert not scope.allows("https://api.example.com/x")
    scope.set_base("https://api.example.com/v1")
    assert scope.allows("https://api.example.com/other") and scope.allows("https://cdn.example.com/f")
    assert not scope.allows("https://api.example.com:444/x") and not scope.allows("http://cdn.example.com/f")


def test_redact_cut_never_leaks_the_start_of_a_cut_secret() -> None:
    text = "x" * 190 + f" Bearer {SECRET} tail"
    assert redact_cut(text, [SECRET], 200) == "x" * 190 + " Bearer **..."
    assert SECRET[:3] not in redact_cut(text, lambda t: t.replace(SECRET, "***"), 200)


def test_redact_cut_window_grows_past_collapsed_whitespace() -> None:
    """Whitespace collapses to one space, which moves later text forward: it is redacted all the same."""
    text = "a" + " " * 20_000 + SECRET + " b"
    assert redact_cut(text, [SECRET], 40) == "a *** b"
    assert redact_cut(text.encode(), [SECRET], 40) == "a *** b"
