from __future__ import annotations

import pytest
import requests

from source_solidafy.rest.http import HttpClient, Response, _param_list


def test_rest_http_url_for_joins_prefix_and_keeps_absolute() -> None:
    client = HttpClient("https://api.example.com/v1/")
    assert client.url_for("/customers") == "https://api.example.com/v1/customers"
    assert client.url_for("customers") == "https://api.example.com/v1/customers"
    assert client.url_for("") == "https://api.example.com/v1"
    assert client.url_for("https://other/x?y=1") == "https://other/x?y=1"


def test_rest_http_param_list_repeats_lists_and_drops_none() -> None:
    assert _param_list({"a": 1, "b": ["x", "y"], "c": None}) == [("a", 1), ("b", "x"), ("b", "y")]
    assert _param_list([("t[]", "a"), ("t[]", "b")]) == [("t[]", "a"), ("t[]", "b")]
    assert _param_list(None) == []


def test_rest_http_bad_backoff_is_value_error() -> None:
    with pytest.raises(ValueError, match="backoff must be one of exponential, linear, constant"):
        HttpClient("http://h", backoff="fibonacci")


def test_rest_http_proxies_from_environment_once_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    client = HttpClient("https://api.example.com")
    assert client._proxies.for_url("https://api.example.com/v1/x?y=1").get("https") == "http://proxy:3128"
    assert client._proxies.for_url("https://internal.example/a") == {}
    monkeypatch.delenv("HTTPS_PROXY")
    assert client._proxies.for_url("https://api.example.com/other").get("https") == "http://proxy:3128"  # cached


def test_rest_http_secret_named_params_and_headers_are_redacted() -> None:
    client = HttpClient("http://h", headers={"X-Api-Key": "hdrsecret1", "Accept": "application/json"},
                        secrets=["cfgsecret2"])
    client.add_secret("added_secret3")
    text = client.redact("hdrsecret1 cfgsecret2 added_secret3 application/json")
    assert text == "*** *** *** application/json"


def _raw(content: bytes, status: int = 200) -> requests.Response:
    raw = requests.Response()
    raw.status_code, raw._content, raw.url, raw.reason = status, content, "http://h/x?key=k_SECRET", "OK"
    raw.headers = requests.structures.CaseInsensitiveDict({"Link": '<http://h/x?page=2>; rel="next"'})
    return raw


def test_rest_http_response_json_cached_and_invalid_json_redacted() -> None:
    resp = Response(_raw(b'{"a": 1}'), "GET", lambda s: s.replace("k_SECRET", "***"))
    assert resp.json() is resp.json()
    assert resp.links["next"]["url"] == "http://h/x?page=2"
    bad = Response(_raw(b"not json"), "GET", lambda s: s.replace("k_SECRET", "***"))
    with pytest.raises(Exception, match=r"invalid JSON from GET http://h/x\?key=\*\*\*: .*first bytes: 'not json'"):
        bad.json()


def test_rest_http_missing_scheme_is_config_error_not_retried() -> None:
    from source_solidafy.errors import ConfigError

    sleeps: list[float] = []
    client = HttpClient("", sleep=sleeps.append)
    with pytest.raises(ConfigError, match=r"cannot request '/customers'.*check base_url"):
        client.request("GET", "/customers")
    assert sleeps == []
