"""The auth blocks' builders: for each ``auth.type`` model, the core Auth it makes (registered in the
REST engine's factory, :data:`source_solidafy.rest.builders.FACTORY`; see :mod:`source_solidafy.rest.builders`).

The token-fetching auths (OAuth2, JWT) and the key pool are named by path and imported by their builder:
a read with a static key or none never imports them (~5 M instructions of start-up).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import requests

from source_solidafy.config_updates import config_path, value_at
from source_solidafy.manifest import models as m
from source_solidafy.manifest.templates import TemplateString, build_context
from source_solidafy.rest import auth as a
from source_solidafy.rest.factory import EMPTY, FACTORY

if TYPE_CHECKING:
    from source_solidafy.rest import jwt_auth as j
    from source_solidafy.rest import oauth2 as o

_J, _KP, _O = "source_solidafy.rest.jwt_auth.", "source_solidafy.rest.key_pool.", "source_solidafy.rest.oauth2."


class AuthInputs(NamedTuple):
    render: Callable[[TemplateString], str]  # a template rendered against the config
    token_url: str | None = None  # the config's token_url: replaces the manifest's (local mocks, sandboxes)
    session: requests.Session | None = None  # the connector's HTTP session (its proxies, its TLS settings)
    # save(template, value): the auth changed the value of the config key ``template`` reads (a rotated
    # refresh token); the runtime keeps it in the updated config (config_updates.py)
    save: Callable[[TemplateString, str], None] | None = None
    config: Mapping[str, Any] = EMPTY  # the config itself (a list of keys is no text)

    @classmethod
    def of(cls, config: dict[str, Any], session: requests.Session | None = None,
           save: Callable[[TemplateString, str], None] | None = None) -> AuthInputs:
        """Templates rendered against ``config``; its ``token_url``, when given, wins over the manifest's."""
        ctx = build_context(config)
        return cls(lambda t: t.render(ctx), str(config.get("token_url") or "") or None, session, save, config)

    def value(self, template: TemplateString) -> Any:
        """The config value a template is exactly (``{{ config.api_keys }}``: a list stays a list), else its text."""
        path = config_path(template.source)
        return value_at(self.config, path) if path is not None else self.render(template)



# ------------------------------------------------------------------------------------------ auth


@FACTORY.register(m.BearerAuth, a.BearerAuth)
def _bearer(spec: m.BearerAuth, inputs: AuthInputs) -> a.Auth:
    return a.BearerAuth(inputs.render(spec.token))


@FACTORY.register(m.ApiKeyAuth, a.ApiKeyAuth)
def _api_key(spec: m.ApiKeyAuth, inputs: AuthInputs) -> a.Auth:
    return a.ApiKeyAuth(spec.key, inputs.render(spec.value), spec.location)


@FACTORY.register(m.ApiKeysAuth, _KP + "KeyPool")
def _api_keys(spec: m.ApiKeysAuth, inputs: AuthInputs) -> a.Auth:
    from source_solidafy.rest import key_pool as kp

    return kp.KeyPool(spec.key, kp.key_list(inputs.value(spec.values)), spec.location, spec.prefix,
                      spec.quota_statuses, spec.quota_body)


@FACTORY.register(m.BasicAuth, a.BasicAuth)
def _basic(spec: m.BasicAuth, inputs: AuthInputs) -> a.Auth:
    return a.BasicAuth(inputs.render(spec.username), inputs.render(spec.password) if spec.password is not None else "")


def _token_request_of(spec: m.OAuth2RefreshTokenAuth | m.OAuth2ClientCredentialsAuth | m.OAuth2JwtBearerAuth,
                      inputs: AuthInputs) -> o.TokenRequest:
    """What an OAuth2 token request carries besides the grant: client auth, extra fields and headers."""
    from source_solidafy.rest import oauth2 as o

    return o.TokenRequest(getattr(spec, "client_auth", "client_secret_post"),
                          {k: inputs.render(v) for k, v in spec.token_params.items()},
                          {k: inputs.render(v) for k, v in spec.token_headers.items()})


def _token_request(spec: m.OAuth2RefreshTokenAuth | m.OAuth2ClientCredentialsAuth, inputs: AuthInputs) -> dict[str, Any]:
    """The keywords every OAuth2 grant takes: its token request's options and the connector's session."""
    return {"request": _token_request_of(spec, inputs), "session": inputs.session}


def _saver(inputs: AuthInputs, template: TemplateString) -> Callable[[str], None] | None:
    """``save(value)``: the new value of the config key ``template`` reads (a rotated refresh token)."""
    save = inputs.save
    if save is None:
        return None
    return lambda value: save(template, value)


@FACTORY.register(m.OAuth2RefreshTokenAuth, _O + "OAuth2RefreshToken", _O + "TokenRequest")
def _oauth2_refresh(spec: m.OAuth2RefreshTokenAuth, inputs: AuthInputs) -> a.Auth:
    from source_solidafy.rest import oauth2 as o

    return o.OAuth2RefreshToken(
        inputs.token_url or inputs.render(spec.token_url), inputs.render(spec.client_id),
        inputs.render(spec.client_secret), inputs.render(spec.refresh_token), spec.scopes,
        on_rotate=_saver(inputs, spec.refresh_token),
        **_token_request(spec, inputs),
    )


@FACTORY.register(m.OAuth2ClientCredentialsAuth, _O + "OAuth2ClientCredentials", _O + "TokenRequest")
def _oauth2_client(spec: m.OAuth2ClientCredentialsAuth, inputs: AuthInputs) -> a.Auth:
    from source_solidafy.rest import oauth2 as o

    return o.OAuth2ClientCredentials(
        inputs.token_url or inputs.render(spec.token_url), inputs.render(spec.client_id),
        inputs.render(spec.client_secret), spec.scopes, **_token_request(spec, inputs),
    )


def _signer(spec: m.JwtAuth | m.OAuth2JwtBearerAuth, inputs: AuthInputs, **claims: str) -> j.JwtSigner:
    """The JWT signer of a ``jwt`` or ``oauth2_jwt_bearer`` block (``claims``: defaults the YAML may override)."""
    from source_solidafy.rest import jwt_auth as j

    return j.JwtSigner(
        spec.algorithm, inputs.render(spec.key), {**claims, **{k: inputs.render(v) for k, v in spec.claims.items()}},
        key_id=inputs.render(spec.key_id) if spec.key_id is not None else None, base64_key=spec.base64_key,
        passphrase=inputs.render(spec.key_passphrase) if spec.key_passphrase is not None else None,
        headers={k: inputs.render(v) for k, v in spec.jwt_headers.items()},
        lifetime=spec.lifetime_secs, backdate=spec.backdate_secs, kind=spec.type,
    )


@FACTORY.register(m.JwtAuth, _J + "JwtAuth", _J + "JwtSigner")
def _jwt(spec: m.JwtAuth, inputs: AuthInputs) -> a.Auth:
    from source_solidafy.rest import jwt_auth as j

    return j.JwtAuth(_signer(spec, inputs), spec.header_name, spec.header_prefix, spec.param_name)


@FACTORY.register(m.OAuth2JwtBearerAuth, _O + "OAuth2JwtBearer", _J + "JwtSigner", _O + "TokenRequest")
def _oauth2_jwt_bearer(spec: m.OAuth2JwtBearerAuth, inputs: AuthInputs) -> a.Auth:
    from source_solidafy.rest import oauth2 as o

    token_url = inputs.token_url or inputs.render(spec.token_url)
    return o.OAuth2JwtBearer(token_url, _signer(spec, inputs, aud=token_url), _token_request_of(spec, inputs),
                             session=inputs.session)


@FACTORY.register(m.SessionTokenAuth, a.SessionTokenAuth)
def _session_token(spec: m.SessionTokenAuth, inputs: AuthInputs) -> a.Auth:
    body = inputs.render(spec.body) if spec.body is not None else "{}"
    return a.SessionTokenAuth(inputs.token_url or inputs.render(spec.login_url), body, spec.token_path,
                              spec.header_name, spec.header_prefix, session=inputs.session,
                              lifetime_secs=spec.lifetime_secs)


@FACTORY.register(m.NoAuth, a.Auth)
def _no_auth(spec: m.NoAuth, inputs: AuthInputs) -> a.Auth:
    return a.Auth()
