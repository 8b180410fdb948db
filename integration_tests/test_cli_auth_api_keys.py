"""Several API keys used in turn, end to end: a mock API gives each key a quota and answers like the real
ones when it is spent (429 with Retry-After, or YouTube's 403 quotaExceeded)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.generic import Credentials, GenericApi, connector, make_items
from integration_tests.mocks.server import MockServer

ITEMS = make_items(15)  # three pages of five
IDS = [r["id"] for r in ITEMS]
KEYS = ["key-AAAA-1111", "key-BBBB-2222", "key-CCCC-3333"]


def _creds(quotas: list[int], **extra: Any) -> Credentials:
    return Credentials("keys", name="X-Api-Key", quotas=dict(zip(KEYS, quotas, strict=True)), **extra)


def _read(srv: MockServer, keys: Any, yaml: str | None = None) -> Result:
    config = {"api_keys": keys, "base_url": f"{srv.url}/v1"}
    return run_cli("read", "-c", yaml or connector("auth_api_keys"), "--verbose", "--config-json", json.dumps(config))


def _sent(creds: Credentials) -> list[str]:
    return [r["key"] for r in creds.token_requests]


def _assert_hidden(res: Result) -> None:
    for key in KEYS:
        assert key not in res.stdout and key not in res.stderr, key


def test_the_next_key_takes_over_when_one_is_out_of_quota() -> None:
    creds = _creds([1, 1, 5])
    with MockServer(GenericApi(ITEMS, creds)) as srv:
        res = _read(srv, KEYS)
    assert res.rc == 0, res.stdout[-1500:]
    assert [r["id"] for r in res.records("items")] == IDS
    # page 1 with key 1; page 2: key 1 spent -> key 2; page 3: key 2 spent -> key 3
    assert _sent(creds) == [KEYS[0], KEYS[0], KEYS[1], KEYS[1], KEYS[2]]
    warns = [m["log"]["message"] for m in res.of_type("LOG") if m["log"]["level"] == "WARN"]
    assert any("key 1 of 3 is out of quota (resting 3600s), key 2 takes over" in w for w in warns), warns
    assert res.summary["streams"][0]["warnings"] == [], "a key switch is no doubt about the data"
    _assert_hidden(res)


def test_a_403_quota_exceeded_body_counts_and_a_comma_list_works(tmp_path: Path) -> None:
    creds = _creds([2, 5, 0], quota_status=403)
    text = Path(connector("auth_api_keys")).read_text().replace("type: array", "type: string")
    yaml = tmp_path / "keys_text.yaml"
    yaml.write_text(text)
    with MockServer(GenericApi(ITEMS, creds)) as srv:
        res = _read(srv, f"{KEYS[0]}, {KEYS[1]}\n{KEYS[2]}", str(yaml))
    assert res.rc == 0, res.stdout[-1500:]
    assert [r["id"] for r in res.records("items")] == IDS
    assert _sent(creds) == [KEYS[0], KEYS[0], KEYS[0], KEYS[1]]
    _assert_hidden(res)


def test_all_keys_out_of_quota_fails_clearly() -> None:
    creds = _creds([1, 0, 0])
    with MockServer(GenericApi(ITEMS, creds)) as srv:
        res = _read(srv, KEYS)
    assert res.rc == 1
    assert [r["id"] for r in res.records("items")] == IDS[:5], "what was read before stays delivered"
    error = res.summary["streams"][0]["error"]
    assert "HTTP 429" in error and "(all 3 keys of auth.values are out of quota)" in error, error
    assert _sent(creds) == [KEYS[0], KEYS[0], KEYS[1], KEYS[2]], "each key tried once, then the error"
    _assert_hidden(res)


def test_all_keys_resting_then_the_retry_waits_for_retry_after(tmp_path: Path) -> None:
    """With http retries, a short Retry-After on every key is waited out and the read completes
    (the mock gives a key its quota back once its Retry-After has passed)."""
    text = Path(connector("auth_api_keys")).read_text().replace(
        "http: {max_retries: 0}", "http: {max_retries: 2, backoff_max_secs: 1}")
    yaml = tmp_path / "keys_retry.yaml"
    yaml.write_text(text)
    creds = _creds([1, 0, 0], retry_after="0.2", refill=5)
    api = GenericApi(ITEMS, creds)
    with MockServer(api) as srv:
        res = _read(srv, KEYS, str(yaml))
    assert res.rc == 0, res.stdout[-1500:]
    assert [r["id"] for r in res.records("items")] == IDS
    assert _sent(creds)[:4] == [KEYS[0], KEYS[0], KEYS[1], KEYS[2]]
    warns = [m["log"]["message"] for m in res.of_type("LOG") if m["log"]["level"] == "WARN"]
    assert any("HTTP 429" in w and "(Retry-After)" in w for w in warns), warns
