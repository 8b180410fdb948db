"""Airbyte's OAuthAuthenticator with airbyte-cdk 7.39.1's refresh request and answer, as an auth of ours.

The CDK's refresh request (AbstractOauth2Authenticator._build_standard_refresh_args), a form POSTed to
``token_refresh_endpoint`` as ``requests`` encodes a dict:

- ``<grant_type_name>=<grant_type>``, then ``<client_id_name>`` and ``<client_secret_name>`` unless
  ``refresh_request_headers`` has an ``Authorization`` header (that exact name: the client is then in
  the header), then ``<refresh_token_name>`` (when the authenticator has a refresh token, whatever the
  grant), then ``scopes`` once per scope (the list as a form field: ``scopes=a&scopes=b``), then each
  ``refresh_request_body`` field whose name is not one of those; a value that is null is left out.
- Every value is the CDK's interpolation of it (``literal_eval`` included: a body value rendering
  ``None`` is left out, as ``requests`` leaves it out); ``refresh_request_headers`` go with it.
- The answer: the access token is the first value named ``access_token_name`` found in it (nested up to
  five levels, as the CDK searches), its lifetime the one named ``expires_in_name``: seconds, or with
  ``token_expiry_date_format`` a moment (the CDK's ``ab_datetime_parse``: epoch seconds, a date, ISO
  8601; other texts its dateutil reads fail here). Without one the token lasts an hour, as in the CDK.

The token request goes only to the token endpoint, through the connector's session, as our other
OAuth2 grants (rest/oauth2.py): what it carries never goes elsewhere and is redacted from messages.
A rotated refresh token is handed back as our oauth2_refresh_token does (the CDK without
``refresh_token_updater`` drops it); with ``refresh_token_updater``, see oauth_updater.py.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from source_solidafy import jsoncodec
from source_solidafy.errors import AuthError, ConfigError
from source_solidafy.lowcode.interpolation import Interpolated, literal
from source_solidafy.lowcode.oauth_errors import RefreshErrors, refresh_errors, rejected
from source_solidafy.manifest import auth_models as am
from source_solidafy.manifest.fields import Strict, Template, TemplateMap
from source_solidafy.manifest.templates import TemplateString
from source_solidafy.rest import auth as a
from source_solidafy.rest import oauth2 as o
from source_solidafy.rest.auth_builders import AuthInputs
from source_solidafy.rest.factory import FACTORY

if TYPE_CHECKING:
    from source_solidafy.lowcode.translate_core import TranslatorCore

    _RefreshAlternative = am.OAuth2RefreshTokenAuth
else:  # the refresh-token block plus ``when`` (a SelectiveAuthenticator's alternative), made in auth_models
    _RefreshAlternative = next(alt for alt in am.ALTERNATIVES if issubclass(alt, am.OAuth2RefreshTokenAuth))

NAMES = {"grant_type": "grant_type", "client_id": "client_id", "client_secret": "client_secret",
         "refresh_token": "refresh_token", "access_token": "access_token", "expires_in": "expires_in"}
DEFAULT_LIFETIME_SECS = 3600  # the CDK's _default_token_expiry_date
MAX_DEPTH = 5  # the CDK's _find_and_get_value_from_response
CONFIG_VARS = {"config", "parameters"}


class TokenUpdater(Strict):
    """refresh_token_updater: where the config keeps the tokens and their expiry (oauth_updater.py)."""

    access_path: list[str]
    refresh_path: list[str]
    expiry_path: list[str]


class AirbyteOAuthOptions(Strict):
    """The CDK's refresh request; each value the JSON text of its typed value (values.typed_template)."""

    grant_type: Template
    names: TemplateMap  # NAMES' keys -> <x>_name
    client_id: Template
    client_secret: Template | None = None
    refresh_token: Template | None = None
    scopes: list[str] = []
    body: TemplateMap = {}
    headers: TemplateMap = {}
    expiry_is_date: bool = False
    updater: TokenUpdater | None = None
    as_query: bool = False  # send_refresh_request_as_query_params
    access_token: Template | None = None  # access_token_value
    expiry_date: Template | None = None  # token_expiry_date
    errors: RefreshErrors | None = None  # refresh_token_error_*


class AirbyteOAuth(_RefreshAlternative):
    """Our oauth2_refresh_token block (``refresh_token``: the template a rotated token is saved to)
    with the CDK's refresh request in ``airbyte``."""

    airbyte: AirbyteOAuthOptions
    assertion: am.JwtAuth | None = None  # profile_assertion, when use_profile_assertion (oauth_assertion.py)


class _TooDeep(Exception):
    pass


def find_value(data: Any, key: str, depth: int = 0) -> Any:
    """The CDK's _find_and_get_value_from_response: ``key``'s value, depth first, None when absent."""
    if depth > MAX_DEPTH:
        raise _TooDeep
    children: list[Any] = []
    if isinstance(data, dict):
        if key in data:
            return data[key]
        children = list(data.values())
    elif isinstance(data, list):
        children = data
    for child in children:
        found = find_value(child, key, depth + 1)
        if found is not None:
            return found
    return None


def expiry_moment(value: Any) -> dt.datetime:
    """The CDK's ab_datetime_parse for what it reads without dateutil: epoch seconds, a date, ISO 8601."""
    text = str(value)
    if text.isdigit() or (text.startswith("-") and text[1:].isdigit()):
        if int(text) < 0 or len(text.lstrip("-")) > 10:
            raise ValueError("a timestamp that is negative or too large")
        return dt.datetime.fromtimestamp(int(text), dt.timezone.utc)
    if ":" not in text and text.count("-") == 2 and "/" not in text:
        year, month, day = (int(p) for p in text.split("-"))
        return dt.datetime(year, month, day, tzinfo=dt.timezone.utc)
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _form_values(value: Any) -> list[str]:
    """What ``requests`` makes of a form value: none for null, one per item of a list, else its text."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, dict)):
        return [str(item) for item in value if item is not None]
    return [str(value)]


class AirbyteOAuthGrant(o.OAuth2RefreshToken):
    """OAuth2RefreshToken with the CDK's form, token and lifetime fields (see the module)."""

    def __init__(self, token_url: str, head: dict[str, Any], tail: dict[str, Any], names: dict[str, str],
                 refresh_token: str | None, expiry_is_date: bool, as_query: bool = False,
                 errors: RefreshErrors | None = None, **options: Any) -> None:
        super().__init__(token_url, str(head.get(names["client_id"], "")), str(head.get(names["client_secret"]) or ""),
                         refresh_token or "", **options)
        self._head, self._tail, self._names = head, tail, names  # the form before and after the refresh token
        self._has_refresh, self._expiry_is_date = refresh_token is not None, expiry_is_date
        self._as_query, self._errors = as_query, errors

    def seed(self, access: Any, expiry: dt.datetime | None) -> None:
        """A token given (access_token_value, the config's), used while its expiry is ahead (the CDK's
        ``now > expiry``: no margin), then refreshed."""
        ahead = None if expiry is None else (expiry - dt.datetime.now(dt.timezone.utc)).total_seconds()
        if access is not None and ahead is not None and ahead > 0:
            self._token = str(access)
            self._seen_secrets.append(self._token)
            self._expires_at = self._clock() + ahead

    def _send_token_request(self, url: str, proxies: Any, **kwargs: Any) -> Any:
        resp = super()._send_token_request(url, proxies, **kwargs)
        message = None if self._errors is None else rejected(resp, self._errors, self.secrets())
        if message is not None:
            raise AuthError(message, status=resp.status_code, url=url)
        return resp

    def _static_secrets(self) -> list[str]:
        auth = [v for k, v in self._request.headers.items() if k.lower() == "authorization"]
        return [*super()._static_secrets(), *auth]

    def _grant(self, grant_type: str, **fields: str) -> dict[str, Any]:
        payload = dict(self._head)
        payload[self._names["refresh_token"]] = fields.get("refresh_token") if self._has_refresh else None
        for key, value in self._tail.items():
            payload.setdefault(key, value)
        form = [(key, text) for key, value in payload.items() for text in _form_values(value)]
        where = "params" if self._as_query else "data"  # the CDK's query string, the body then empty
        return self._post(self.token_url, **{where: form}, headers={"Accept": "application/json", **self._request.headers})

    def _fetch(self) -> dict[str, Any]:
        return super()._fetch() if self._has_refresh else self._grant("")

    def _extract(self, info: dict[str, Any]) -> str | None:
        try:
            token = find_value(info, self._names["access_token"])
        except _TooDeep:
            raise AuthError(f"token response from {self.token_url}: no {self._names['access_token']!r} within "
                            f"{MAX_DEPTH} levels") from None
        return str(token) if token else None

    def _refresh_locked(self) -> None:
        before, now = self._expires_at, self._clock()
        super()._refresh_locked()
        moment, lifetime = self._expiry_of(self._info)
        if moment is None:
            fresh = before is not None and now < before
            self._expires_at = before if fresh else a._expiry(DEFAULT_LIFETIME_SECS, now)
        else:
            self._expires_at = a._expiry(lifetime, now)
        self._refreshed(moment)

    def _expiry_of(self, info: dict[str, Any]) -> tuple[dt.datetime | None, float]:
        """When the answer says the token expires, and in how many seconds ((None, 0): it does not say)."""
        try:
            value = find_value(info, self._names["expires_in"])
        except _TooDeep:
            value = None
        now = dt.datetime.now(dt.timezone.utc)
        if value is None:
            return None, 0.0
        try:
            if self._expiry_is_date:
                moment = expiry_moment(value)
                return moment, (moment - now).total_seconds()
            seconds = int(float(str(value)))
            return now + dt.timedelta(seconds=seconds), float(seconds)
        except (ValueError, OverflowError):
            kind = "a date" if self._expiry_is_date else "a number of seconds"
            raise AuthError(f"token response from {self.token_url}: {self._names['expires_in']} {str(value)[:40]!r} "
                            f"is not {kind} (the CDK fails too)") from None

    def _refreshed(self, moment: dt.datetime | None) -> None:
        """After a refresh (``moment``: the expiry the answer gave): nothing here; see oauth_updater.py."""


def _typed(inputs: AuthInputs, template: TemplateString | None) -> Any:
    return None if template is None else jsoncodec.loads(inputs.render(template))


def _headers(inputs: AuthInputs, spec: AirbyteOAuthOptions) -> dict[str, str]:
    out = {}
    for key, template in spec.headers.items():
        value = _typed(inputs, template)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"OAuthAuthenticator.refresh_request_headers.{key} is {type(value).__name__}, not text "
                              "(requests refuses it: the CDK's sync fails too)")
        if value is not None:
            out[key] = value
    return out


def _given_token(inputs: AuthInputs, spec: AirbyteOAuthOptions) -> tuple[Any, dt.datetime | None]:
    """access_token_value and token_expiry_date as the CDK reads them (a date it cannot read fails the
    sync before any request; no date: the token is expired, so refreshed first)."""
    access = _typed(inputs, spec.access_token)
    if spec.expiry_date is None:
        return access, None
    value = _typed(inputs, spec.expiry_date)
    try:
        return access, expiry_moment(value)
    except (ValueError, OverflowError):
        raise ConfigError(f"OAuthAuthenticator.token_expiry_date: {str(value)[:40]!r} is not a date the CDK reads "
                          "(it fails too)") from None


_CDK = "source_solidafy.lowcode.oauth: unset by the translator; the CDK's request is in airbyte"
_SHAPE = "source_solidafy.lowcode.oauth: our block's texts (config keys found, redaction); airbyte's typed values are sent"


@FACTORY.register(AirbyteOAuth, AirbyteOAuthGrant, elsewhere={
    "when": "source_solidafy.manifest.auth_choice.choose_auth", "client_id": _SHAPE, "client_secret": _SHAPE,
    "refresh_token": "source_solidafy.lowcode.oauth._airbyte_oauth: where a rotated token is saved (on_rotate)",
    "client_auth": _CDK, "scopes": _CDK, "token_headers": _CDK, "token_params": _CDK,
    "assertion": "source_solidafy.lowcode.oauth_assertion.AssertionGrant: the JwtAuth that signs each assertion"})
def _airbyte_oauth(spec: AirbyteOAuth, inputs: AuthInputs) -> a.Auth:
    opts = spec.airbyte
    names = {**NAMES, **{key: str(_typed(inputs, template)) for key, template in opts.names.items()}}
    client_id = _typed(inputs, opts.client_id)
    if not client_id and spec.assertion is None:
        raise ConfigError("OAuthAuthenticator: client_id is empty (the CDK cannot evaluate it either)")
    headers = _headers(inputs, opts)
    head: dict[str, Any] = {names["grant_type"]: _typed(inputs, opts.grant_type)}
    if "Authorization" not in opts.headers:  # the CDK: the client is in that header then (null or not)
        head[names["client_id"]] = client_id
        head[names["client_secret"]] = _typed(inputs, opts.client_secret)
    tail: dict[str, Any] = {"scopes": list(opts.scopes)} if opts.scopes else {}
    for key, template in opts.body.items():
        tail.setdefault(key, _typed(inputs, template))
    if opts.updater is not None:
        from source_solidafy.lowcode.oauth_updater import single_use

        return single_use(spec, inputs, head, tail, names, headers)
    refresh = None if opts.refresh_token is None else str(_typed(inputs, opts.refresh_token))  # None -> "None", as the CDK
    save = inputs.save
    on_rotate = (lambda value: save(spec.refresh_token, value)) if save is not None and refresh is not None else None
    secrets = {k: v for k, v in tail.items() if isinstance(v, str)}
    given = _given_token(inputs, opts)
    args = (inputs.token_url or inputs.render(spec.token_url), head, tail, names, refresh, opts.expiry_is_date,
            opts.as_query, opts.errors)
    options: dict[str, Any] = {"on_rotate": on_rotate, "session": inputs.session,
                               "request": o.TokenRequest(params=secrets, headers=headers)}
    if spec.assertion is None:
        grant = AirbyteOAuthGrant(*args, **options)
    else:
        from source_solidafy.lowcode.oauth_assertion import AssertionGrant

        grant = AssertionGrant(*args, signer=FACTORY.build(spec.assertion, inputs, a.Auth), **options)
    grant.seed(*given)
    return grant


# -------------------------------------------------------------------------------- from the manifest


def _mapping(t: TranslatorCore, node: dict[str, Any], key: str) -> dict[str, TemplateString]:
    """refresh_request_body / refresh_request_headers: static names (the CDK's text literal of each),
    values through the CDK's interpolation (an InterpolatedMapping's: empty is null)."""
    owner = node.get(key) or {}
    if not isinstance(owner, dict):
        raise t.fail(t.path(node, key), f"OAuthAuthenticator.{key}: expected a mapping")
    out = {}
    for name in owner:
        if "{" in str(name):
            raise t.fail(t.path(node, key), f"OAuthAuthenticator.{key}: a templated name ({name!r}) is not supported yet")
        out[str(literal(str(name), (str,)))] = t.table.typed_template(t.interp(owner, name, CONFIG_VARS), True)
    return out


def _named(t: TranslatorCore, node: dict[str, Any], key: str, default: str) -> TemplateString:
    """An option the CDK's factory gives a default when it is absent or empty (``model.x or default``)."""
    if not node.get(key):
        return t.table.typed_template(Interpolated(default, {}, t.where_of(t.path(node, key))))
    return t.table.typed_template(t.interp(node, key, CONFIG_VARS))


def _required(t: TranslatorCore, node: dict[str, Any], assertion: bool) -> None:
    """What the CDK refuses when it builds the authenticator (``assertion``: the profile-assertion flow)."""
    if not node.get("token_refresh_endpoint") and node.get("access_token_value") is None:
        raise t.fail(t.path(node), "OAuthAuthenticator without token_refresh_endpoint nor access_token_value "
                                   "(the CDK fails on the first request)")
    if not assertion and (node.get("client_id") is None or node.get("client_secret") is None):
        raise t.fail(t.path(node), "OAuthAuthenticator needs client_id and client_secret (the CDK refuses it)")
    if (not assertion and (node.get("grant_type") or "refresh_token") == "refresh_token" and node.get("refresh_token") is None
            and node.get("refresh_token_updater") is None):  # with an updater the config holds it
        raise t.fail(t.path(node), "OAuthAuthenticator with grant_type refresh_token needs a refresh_token "
                                   "(the CDK refuses it)")
    scopes = node.get("scopes")
    if scopes is not None and (not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes)):
        raise t.fail(t.path(node, "scopes"), "OAuthAuthenticator.scopes: expected a list of text")


def _optional(t: TranslatorCore, node: dict[str, Any], key: str) -> TemplateString | None:
    return None if node.get(key) is None else t.table.typed_template(t.interp(node, key, CONFIG_VARS))


def oauth_block(t: TranslatorCore, node: dict[str, Any], saved: TemplateString | None,
                assertion: Any = None) -> AirbyteOAuth | dict[str, Any]:
    """OAuthAuthenticator -> :class:`AirbyteOAuth`. ``saved``: the template a rotated refresh token is
    written back to (a config key), else the refresh token's own. Without token_refresh_endpoint, the
    CDK's access-token flow: access_token_value as a bearer token, never refreshed. ``assertion``: the
    profile_assertion translated (oauth_assertion.py)."""
    from source_solidafy.lowcode.oauth_assertion import uses_assertion

    use = uses_assertion(t, node, assertion)
    _required(t, node, use)

    def text(key: str) -> TemplateString:  # a client is optional with a profile assertion
        return t.table.template(t.interp(node, key, CONFIG_VARS, ""), t.where_of(t.path(node, key)))

    if not node.get("token_refresh_endpoint"):
        return {"type": "bearer", "token": text("access_token_value")}

    from source_solidafy.lowcode.oauth_updater import path_template, updater

    refresh = t.table.typed_template(t.interp(node, "refresh_token", CONFIG_VARS)) if node.get("refresh_token") is not None else None
    names = {k: _named(t, node, f"{k}_name", v) for k, v in NAMES.items()}
    found = updater(t, node)
    if found is not None:  # the CDK's factory: the updater's refresh_token_name, the config's refresh token
        names["refresh_token"] = t.table.typed_template(Interpolated(found[1], {}, t.where_of(t.path(node))))
        refresh, saved = None, path_template(found[0].refresh_path)
    options = AirbyteOAuthOptions(
        grant_type=_named(t, node, "grant_type", "refresh_token"), names=names,
        client_id=t.table.typed_template(t.interp(node, "client_id", CONFIG_VARS, "")),
        client_secret=t.table.typed_template(t.interp(node, "client_secret", CONFIG_VARS, "")),
        refresh_token=refresh, scopes=list(node.get("scopes") or []),
        body=_mapping(t, node, "refresh_request_body"), headers=_mapping(t, node, "refresh_request_headers"),
        expiry_is_date=bool(node.get("token_expiry_date_format")), updater=found[0] if found else None,
        as_query=bool(node.get("send_refresh_request_as_query_params")), errors=refresh_errors(t, node),
        access_token=None if found else _optional(t, node, "access_token_value"),
        expiry_date=None if found else _optional(t, node, "token_expiry_date"))
    return AirbyteOAuth(type="oauth2_refresh_token", token_url=text("token_refresh_endpoint"),
                        client_id=text("client_id"), client_secret=text("client_secret"),
                        refresh_token=saved if saved is not None else TemplateString(""), airbyte=options,
                        assertion=am.JwtAuth.model_validate(assertion) if use else None)
