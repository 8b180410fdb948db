"""Config forms: derived from the templates, or an explicit ``spec`` list."""

from __future__ import annotations

from pathlib import Path

import pytest

from source_solidafy.errors import ConfigError
from source_solidafy.manifest import load_manifest, load_manifest_text

SEEDS = Path("/work/shared/compat/seed-connectors")


def _fields(manifest):
    return {f.name: f for f in manifest.config_fields()}


def test_stripe_derived_spec() -> None:
    fields = _fields(load_manifest(SEEDS / "stripe.yaml"))
    assert set(fields) == {"api_key", "start_date_ts", "base_url"}
    assert fields["api_key"].required and fields["api_key"].secret
    assert not fields["start_date_ts"].required and not fields["start_date_ts"].secret
    assert not fields["base_url"].required
    assert "Override the API base URL" in fields["base_url"].description


def test_oauth2_adds_optional_token_url_and_secrets() -> None:
    fields = _fields(load_manifest(SEEDS / "zendesk.yaml"))
    assert fields["subdomain"].required and not fields["subdomain"].secret
    assert fields["client_secret"].secret and fields["client_id"].required
    assert "token_url" in fields and not fields["token_url"].required


def test_missing_config_names_the_use_and_line() -> None:
    m = load_manifest(SEEDS / "stripe.yaml")
    assert m.missing_config({"api_key": "sk_test"}) == []
    assert m.missing_config({}) == ["stripe: config field 'api_key' is required (used by auth.token at stripe.yaml:7)"]
    with pytest.raises(ConfigError) as info:
        m.require_config({"api_key": ""})
    assert "api_key" in str(info.value) and info.value.exit_code == 2


def test_base_url_override_makes_base_url_only_keys_optional() -> None:
    m = load_manifest(SEEDS / "zendesk.yaml")
    missing = m.missing_config({"client_id": "a", "client_secret": "b"})
    assert len(missing) == 1 and "'subdomain'" in missing[0] and "base_url" in missing[0]
    assert m.missing_config({"client_id": "a", "client_secret": "b", "base_url": "http://127.0.0.1:1",
                             "token_url": "http://127.0.0.1:1/t"}) == []


YAML_WITH_SPEC = """
name: demo
base_url: "https://{{ config.host }}"
auth: {type: api_key, key: X-Key, value: "{{ api_key }}"}
spec:
  - {name: host, required: true, description: API host, examples: [api.example.com]}
  - {name: api_key, required: true}
  - {name: page_size, type: integer, default: 50}
streams:
  - {name: a, request: {path: /a}}
"""


def test_explicit_spec_wins() -> None:
    fields = _fields(load_manifest_text(YAML_WITH_SPEC))
    assert list(fields) == ["host", "api_key", "page_size", "base_url"]
    assert fields["host"].examples == ("api.example.com",) and not fields["host"].secret
    assert fields["api_key"].secret  # by the name rule
    assert fields["page_size"].type == "integer" and fields["page_size"].default == 50


def test_bare_names_count_as_config() -> None:
    m = load_manifest_text(YAML_WITH_SPEC.replace("spec:", "unused_spec:").split("unused_spec:")[0]
                           + "streams:\n  - {name: a, request: {path: /a}}\n")
    fields = _fields(m)
    assert fields["api_key"].required and fields["api_key"].secret
    assert fields["host"].required


def test_lenient_only_uses_are_optional_strict_uses_required() -> None:
    m = load_manifest_text(
        "name: t\nbase_url: https://x\nstreams:\n  - name: s\n"
        "    request: {path: /s, method: POST, body: '{\"q\": \"{{ config.query }}\"}', params: {a: '{{ config.p }}'}}\n"
        "    incremental: {start: '{{ config.start }}', request_param: since}\n"
        "    transform: [{set: {field: tenant, value: '{{ config.tenant }}'}}]\n"
    )
    fields = {f.name: f.required for f in m.config_fields()}
    assert fields == {"query": True, "p": False, "start": False, "tenant": True, "base_url": False}
    assert m.streams[0].incremental.start.lenient  # type: ignore[union-attr]
