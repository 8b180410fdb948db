"""One rule says which names hold secrets: the spec, the server's redaction and the HTTP client agree.

The words that used to split them: ``passwd``, ``credentials`` and ``dsn`` were secrets to the server
only; ``monkey`` and ``tokenizer_model`` were secrets in the spec (a substring rule).
"""

from __future__ import annotations

import pytest

from source_solidafy.registry import source_from_yaml_text
from source_solidafy.rest.http import HttpClient
from source_solidafy.secret_names import is_secret_name
from source_solidafy.server.bodies import config_secrets
from source_solidafy.source import ConfigField

SECRETS = ["passwd", "credentials", "dsn", "api_key", "X-API-Key", "apikey", "clientSecret", "Authorization",
           "X-Session-Id", "connection_string", "private_key", "sig"]
NOT_SECRETS = ["monkey", "tokenizer_model", "token_url", "auth_type", "author", "subdomain", "account_id"]
VALUE = "v-0123456789-value"

_SPEC_YAML = """
name: names
spec:
{fields}
base_url: http://127.0.0.1:1
streams:
  - name: s
    request: {{path: /s}}
"""


def _spec_fields(names: list[str]) -> dict[str, ConfigField]:
    listed = "\n".join(f"  - name: {n}" for n in names)
    source = source_from_yaml_text(_SPEC_YAML.format(fields=listed))
    return {f.name: f for f in source.config_fields()}


@pytest.mark.parametrize(("name", "secret"), [*((n, True) for n in SECRETS), *((n, False) for n in NOT_SECRETS)])
def test_the_rule(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_spec_marks_the_same_names_secret() -> None:
    fields = _spec_fields(["passwd", "credentials", "dsn", "monkey", "tokenizer_model"])
    assert {n: f.secret for n, f in fields.items() if n != "base_url"} == {
        "passwd": True, "credentials": True, "dsn": True, "monkey": False, "tokenizer_model": False}


def test_server_redacts_the_same_names() -> None:
    config = {n: f"{VALUE}-{n}" for n in ["passwd", "credentials", "dsn", "monkey", "tokenizer_model"]}
    assert sorted(config_secrets({"nested": config})) == sorted(
        [f"{VALUE}-passwd", f"{VALUE}-credentials", f"{VALUE}-dsn"])


def test_a_list_of_keys_is_secret_item_by_item() -> None:
    """``api_keys: [...]`` (auth type api_keys): the server's redaction and a source's secrets list each key."""
    from source_solidafy.registry import source_from_yaml_text

    assert sorted(config_secrets({"api_keys": ["k-1", "k-2", 3], "names": ["a"]})) == ["k-1", "k-2"]
    source = source_from_yaml_text("name: t\nbase_url: https://x\nspec: [{name: api_keys, type: array, secret: true}]\n"
                                   "streams: [{name: s, request: {path: /s}}]\n")
    assert source.secrets({"api_keys": ["k-1", "k-2"]}) == ["k-1", "k-2"]


def test_http_client_redacts_the_same_header_names() -> None:
    headers = {n: f"{VALUE}-{n}" for n in ["passwd", "credentials", "dsn", "monkey", "tokenizer_model"]}
    client = HttpClient("http://127.0.0.1:1", headers=headers)
    try:
        text = client.redact(" ".join(headers.values()))
    finally:
        client.close()
    assert text.split() == ["***", "***", "***", f"{VALUE}-monkey", f"{VALUE}-tokenizer_model"]
