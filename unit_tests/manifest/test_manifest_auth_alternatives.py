"""``auth`` as a list of alternatives chosen by ``when: <config key>``: loading, choosing, config forms."""

from __future__ import annotations

from pathlib import Path

import pytest

from source_solidafy.errors import ConfigError, ManifestError
from source_solidafy.manifest import load_manifest, load_manifest_text
from source_solidafy.manifest.models import BasicAuth, BearerAuth, NoAuth, OAuth2RefreshTokenAuth
from source_solidafy.manifest.summary import summarize
from source_solidafy.rest import builders
from source_solidafy.rest import oauth2 as rest_oauth2
from source_solidafy.rest.source import DeclarativeSource

CONNECTORS = Path(__file__).resolve().parents[2] / "connectors"

TWO_WAYS = """\
name: demo
base_url: https://api.example.com
auth:
  - when: api_key
    type: bearer
    token: "{{ config.api_key }}"
  - when: refresh_token
    type: oauth2_refresh_token
    token_url: https://auth.example.com/token
    client_id: "{{ config.client_id }}"
    client_secret: "{{ config.client_secret }}"
    refresh_token: "{{ config.refresh_token }}"
streams:
  - name: things
    request: {path: /things}
"""


def _load(auth_yaml: str) -> None:
    load_manifest_text(f"name: x\nbase_url: https://a\n{auth_yaml}streams:\n  - name: s\n    request: {{path: /s}}\n",
                       source_name="x.yaml")


def _problems(auth_yaml: str) -> list[str]:
    with pytest.raises(ManifestError) as info:
        _load(auth_yaml)
    return info.value.problems


def test_first_alternative_whose_key_is_set_wins() -> None:
    m = load_manifest_text(TWO_WAYS)
    assert isinstance(m.auth_for({"api_key": "k", "refresh_token": "r"}), BearerAuth)
    assert isinstance(m.auth_for({"api_key": "", "refresh_token": "r"}), OAuth2RefreshTokenAuth)
    assert isinstance(m.auth_for({"api_key": None, "refresh_token": "r"}), OAuth2RefreshTokenAuth)


def test_nothing_selected_and_no_default_is_one_config_error_naming_the_choices() -> None:
    m = load_manifest_text(TWO_WAYS)
    message = "demo: give either 'api_key' or 'refresh_token' (with client_id and client_secret)"
    with pytest.raises(ConfigError, match=r"^demo: give either 'api_key' or 'refresh_token' \(with client_id"):
        m.auth_for({})
    assert m.missing_config({"client_id": "c"}) == [message]


def test_default_alternative_is_used_when_no_key_is_set() -> None:
    text = TWO_WAYS.replace("streams:", "  - type: basic\n    username: \"{{ config.user }}\"\nstreams:")
    m = load_manifest_text(text)
    assert isinstance(m.auth_for({}), BasicAuth)
    assert m.missing_config({}) == ["demo: config field 'user' is required (used by auth[2].username at <string>:14)"]
    assert m.missing_config({"user": "u"}) == []


def test_only_the_chosen_alternatives_keys_are_required() -> None:
    m = load_manifest_text(TWO_WAYS)
    assert m.missing_config({"api_key": "k"}) == []
    assert m.missing_config({"refresh_token": "r"}) == [
        "demo: config field 'client_id' is required (used by auth[1].client_id at <string>:10)",
        "demo: config field 'client_secret' is required (used by auth[1].client_secret at <string>:11)",
    ]


def test_derived_spec_lists_every_alternative_field_as_optional_plus_token_url() -> None:
    fields = {f.name: f for f in load_manifest_text(TWO_WAYS).config_fields()}
    assert set(fields) == {"api_key", "client_id", "client_secret", "refresh_token", "base_url", "token_url"}
    assert not any(f.required for f in fields.values())
    assert fields["api_key"].secret and fields["client_secret"].secret and fields["refresh_token"].secret


def test_a_when_key_no_template_reads_is_still_a_spec_field() -> None:
    text = TWO_WAYS.replace("when: api_key", "when: use_token").replace("config.api_key", "config.token")
    fields = {f.name: f for f in load_manifest_text(text).config_fields()}
    assert "use_token" in fields and not fields["use_token"].required
    assert fields["use_token"].description == "Selects auth[0]"


def test_secrets_of_every_alternative_are_redacted() -> None:
    source = DeclarativeSource(load_manifest_text(TWO_WAYS))
    config = {"api_key": "k-secret", "client_id": "cid", "client_secret": "cs-secret", "refresh_token": "rt-secret"}
    assert sorted(source.secrets(config)) == ["cs-secret", "k-secret", "rt-secret"]


def test_config_token_url_overrides_the_oauth_alternative() -> None:
    m = load_manifest_text(TWO_WAYS)
    config = {"refresh_token": "r", "client_id": "c", "client_secret": "s", "token_url": "http://127.0.0.1:1/t"}
    built = builders.auth(m.auth_for(config), builders.AuthInputs.of(config))
    assert isinstance(built, rest_oauth2.OAuth2RefreshToken)
    assert built.token_url == "http://127.0.0.1:1/t"


def test_single_block_is_unchanged() -> None:
    m = load_manifest_text(TWO_WAYS.split("auth:")[0] + "streams:\n  - name: s\n    request: {path: /s}\n")
    assert isinstance(m.auth, NoAuth) and isinstance(m.auth_for({}), NoAuth)


def test_default_must_come_last_and_only_once() -> None:
    problems = _problems("auth:\n  - type: none\n  - when: k\n    type: bearer\n    token: t\n")
    assert problems == ["x.yaml:4: auth[0]: an alternative without 'when' is the default and must come last"]
    problems = _problems("auth:\n  - type: none\n  - type: none\n")
    assert problems == ["x.yaml:4: auth[0]: an alternative without 'when' is the default and must come last"]


def test_a_when_key_used_twice_is_an_error() -> None:
    problems = _problems("auth:\n  - when: k\n    type: bearer\n    token: a\n  - when: k\n    type: bearer\n    token: b\n")
    assert problems == ["x.yaml:7: auth[1].when: 'k' already selects auth[0]: this one is never used"]


def test_errors_inside_an_alternative_name_its_index_and_line() -> None:
    problems = _problems("auth:\n  - when: k\n    type: bearer\n    tokn: a\n")
    assert problems == ["x.yaml:4: auth[0]: missing required key 'token'",
                        "x.yaml:6: auth[0].tokn: unknown key; did you mean 'token'?"]
    problems = _problems("auth:\n  - when: k\n    type: beerer\n")
    assert problems[0].startswith("x.yaml:5: auth[0].type: unknown auth type 'beerer'")
    assert _problems("auth: []\n") == ["x.yaml:3: auth: expected at least one item"]


def test_when_on_a_single_block_is_an_unknown_key() -> None:
    problems = _problems("auth:\n  type: bearer\n  token: t\n  when: k\n")
    assert problems == ["x.yaml:6: auth.when: unknown key; 'when' belongs to an alternative in a list of auth blocks "
                        "(auth: [...])"]


def test_builtins_offer_both_ways_and_summarise_them() -> None:
    hubspot = load_manifest(CONNECTORS / "hubspot.yaml")
    assert "auth: bearer (when access_token) | oauth2_refresh_token (when refresh_token)" in summarize(hubspot)
    assert hubspot.missing_config({"access_token": "t"}) == []
    zendesk = load_manifest(CONNECTORS / "zendesk.yaml")
    assert zendesk.missing_config({"subdomain": "acme", "access_token": "t"}) == []
    assert zendesk.missing_config({"subdomain": "acme"}) == ["zendesk: give either 'api_token' (with email) or 'access_token'"]


def test_every_auth_block_has_a_generated_alternative() -> None:
    """An alternative is its block plus ``when`` (made from the block, so a new key reaches both)."""
    import typing

    from source_solidafy.manifest.auth_models import ALTERNATIVES, AUTH_BLOCKS, AuthAlternative

    members = typing.get_args(typing.get_args(AuthAlternative)[0])
    assert members == ALTERNATIVES and len(ALTERNATIVES) == len(AUTH_BLOCKS)
    for block, alt in zip(AUTH_BLOCKS, ALTERNATIVES, strict=True):
        assert issubclass(alt, block)
        assert set(alt.model_fields) == {*block.model_fields, "when"}
        assert alt.model_fields["type"].is_required()  # an alternative names its type, even "none"
