"""Airbyte's SessionTokenAuthenticator with airbyte-cdk 7.39.1's login request, as an auth of ours.

The CDK's SessionTokenProvider sends its ``login_requester`` (an HttpRequester, without stream state,
slice or page) and reads the token at ``session_token_path`` in the decoded answer:

- the login request: ``http_method`` (GET, the HttpRequester's default, or POST) to ``url_base`` +
  ``path``, with its ``request_parameters`` and ``request_headers`` (a value rendering empty is left out,
  as for the streams' requests), and a body: ``request_body_json`` (text values, sent as JSON),
  ``request_body_data`` (a mapping sent as a form, as ``requests`` encodes one; a text sent as it is);
  its own ``authenticator`` (Basic, Bearer, ApiKey in a header or the query) on that request only;
- the token: in ``Authorization: Bearer`` (``request_authentication`` Bearer), or where the ApiKey's
  ``inject_into`` says (a header or a query parameter) as ``<prefix>{{ session_token }}``;
- logged in again after ``expiration_duration``; without it the CDK logs in at every use of the token,
  so before each request 6 times (an ApiKey header), twice (Bearer) or once (an ApiKey query parameter),
  the request carrying the last token: so do we (:func:`_logins_per_request`). A retry of a request logs
  in that often again here (the CDK: 3, 1 or 0 times).

The login request goes only to the login URL, through the connector's session; what it carries
(credentials in the body, the query, the headers, its own authenticator's) is redacted from messages.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl
from xml.parsers.expat import ExpatError

import requests

from source_solidafy import jsoncodec
from source_solidafy.errors import ConfigError
from source_solidafy.lowcode.durations import parse_duration
from source_solidafy.lowcode.interpolation import Interpolated
from source_solidafy.lowcode.page_templates import PageTemplates
from source_solidafy.lowcode.resolve import PARAMETERS
from source_solidafy.lowcode.translate_parts import CONFIG_VARS
from source_solidafy.manifest import auth_models as am
from source_solidafy.manifest.fields import Strict, Template
from source_solidafy.rest import auth as a
from source_solidafy.rest.auth_builders import AuthInputs
from source_solidafy.rest.factory import FACTORY
from source_solidafy.rest.pages import PageRequest
from source_solidafy.rest.xml_tree import as_mapping

if TYPE_CHECKING:
    from source_solidafy.lowcode.translate_core import TranslatorCore

    _SessionAlternative = am.SessionTokenAuth
else:  # the session block plus ``when`` (a SelectiveAuthenticator's alternative), made in auth_models
    _SessionAlternative = next(alt for alt in am.ALTERNATIVES if issubclass(alt, am.SessionTokenAuth))

SESSION_TOKEN = re.compile(r"([^{}]*)\{\{\s*session_token\s*\}\}")
KEPT_TOKENS = 32  # logging in per request: the last tokens, redacted from messages (not every one of a sync)
LOGIN_AUTHS = {"BasicHttpAuthenticator", "BearerAuthenticator", "ApiKeyAuthenticator", "NoAuth"}
LoginAuth = am.BasicAuth | am.BearerAuth | am.ApiKeyAuth | am.NoAuth


class LoginOptions(Strict):
    """The CDK's login request besides its URL (the block's ``login_url``): method, query, headers and
    body rendered as the streams' requests are (page_templates.py), its own authenticator, and where the
    token goes when not in a header."""

    method: Literal["GET", "POST"] = "POST"
    request: PageTemplates  # request_parameters, request_headers, request_body_json / request_body_data
    auth: LoginAuth | None = None  # the login requester's own authenticator
    token_param: str | None = None  # the token in this query parameter instead of a header
    logins_per_request: int = 0  # without expiration_duration: the CDK's logins before each request
    xml: bool = False  # the login's answer read by the CDK's XmlDecoder (xmltodict), else JSON
    given_token: Template | None = None  # LegacySessionTokenAuthenticator.session_token (must render empty)


class AirbyteSession(_SessionAlternative):
    """Our session_token block with the CDK's login request in ``airbyte``."""

    airbyte: LoginOptions


class AirbyteSessionAuth(a.SessionTokenAuth):
    """:class:`~source_solidafy.rest.auth.SessionTokenAuth` logging in with any method, query, headers,
    body and authenticator, and sending the token in a header or a query parameter."""

    def __init__(self, *args: Any, request: PageTemplates, config: Mapping[str, Any], method: str, login_auth: a.Auth,
                 token_param: str | None, each: int = 0, xml: bool = False, given: str = "", **options: Any) -> None:
        if given not in ("", "None"):  # Legacy's session_token (legacy_session.py)
            raise ConfigError("LegacySessionTokenAuthenticator: a session token from the config (the CDK checks it at "
                              "validate_session_url before every request) is not supported yet; leave it empty to log "
                              "in with username and password")
        super().__init__(*args, **options)
        self._request, self._config, self._login_auth, self._token_param = request, config, login_auth, token_param
        self._page: PageRequest | None = None
        self.token_method, self._each, self._xml = method, each, xml

    def _login(self) -> PageRequest:
        """The login request, rendered once as the CDK renders it (no partition, no page: ``send_request()``)."""
        if self._page is None:
            page = PageRequest()
            self._request.apply(page, self._config, {}, None)
            self._page = page
        return self._page

    def _static_secrets(self) -> list[str]:
        page = self._login()
        return [*a._string_leaves(page.body), *_templated(self._request, page), *self._login_auth.secrets()]

    def _fetch(self) -> dict[str, Any]:
        page = self._login()
        headers, params = dict(page.headers), dict(page.params)
        self._login_auth.apply(headers, params)
        data = page.data.encode() if page.data is not None else None
        if page.body:  # the CDK sends no JSON body for an empty mapping
            headers["Content-Type"], data = "application/json", jsoncodec.dumps(page.body)
        return self._post(self.login_url, params=params, data=data, headers=headers)

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        token = self._token_now()
        self._local.applied = token
        if self._token_param is None:
            headers[self.header_name] = f"{self.header_prefix}{token}"
        else:
            params[self._token_param] = f"{self.header_prefix}{token}"

    def _answer(self, resp: requests.Response) -> Any:
        """The XmlDecoder's mapping (xmltodict's: ``{root: ...}``; an answer that is no XML: ``{}``, as the CDK)."""
        if not self._xml:
            return super()._answer(resp)
        try:
            return as_mapping(resp.content, True, resp.encoding if "charset" in resp.headers.get("Content-Type", "") else None)
        except (ExpatError, ValueError):
            return {}

    @property
    def token_info(self) -> dict[str, Any]:
        """No login for it: a manifest's templates never read ``auth.*`` (the CDK logs in only to send requests)."""
        return dict(self._info)

    def _token_now(self) -> str:
        """The token for one request: the kept one, or (without expiration_duration) the last of
        ``logins_per_request`` new logins, as the CDK logs in at each use of the token."""
        if not self._each:
            return self._current()
        with self._lock:
            for _ in range(self._each):
                self._refresh_locked()
            del self._seen_secrets[:-KEPT_TOKENS]  # the tokens of the requests in flight, not of the whole sync
            assert self._token is not None
            return self._token


@FACTORY.register(AirbyteSession, AirbyteSessionAuth, elsewhere={
    "when": "source_solidafy.manifest.auth_choice.choose_auth", "body": "unset: the body is in airbyte.request"})
def _airbyte_session(spec: AirbyteSession, inputs: AuthInputs) -> a.Auth:
    opts = spec.airbyte
    login_auth = FACTORY.build(opts.auth, inputs, a.Auth) if opts.auth is not None else a.Auth()
    return AirbyteSessionAuth(inputs.token_url or inputs.render(spec.login_url), "{}", spec.token_path,
                              spec.header_name, spec.header_prefix, session=inputs.session,
                              lifetime_secs=spec.lifetime_secs, request=opts.request, config=inputs.config,
                              method=opts.method, login_auth=login_auth, token_param=opts.token_param,
                              each=opts.logins_per_request, xml=opts.xml,
                              given=inputs.render(opts.given_token) if opts.given_token is not None else "")


def _templated(request: PageTemplates, login: PageRequest) -> list[str]:
    """The values of the login's query, headers and form that templates made (credentials, app keys)."""
    form = dict(parse_qsl(login.data or "")) if isinstance(request.form, dict) else {"": login.data or ""}
    out = []
    for templates, sent in ((request.params, login.params), (request.headers, login.headers), (request.form, form)):
        for key, template in (templates.items() if isinstance(templates, dict) else [("", templates)]):
            if isinstance(template, Interpolated) and "{" in template.text and sent.get(key):
                out.append(str(sent[key]))
    return out


# -------------------------------------------------------------------------------- from the manifest


def session_block(t: TranslatorCore, node: dict[str, Any], one_auth: Callable[[dict[str, Any], str], Any]) -> AirbyteSession:
    """SessionTokenAuthenticator -> :class:`AirbyteSession` (``one_auth``: the translator's, for the login's own)."""
    decoder = t.check(node["decoder"], t.path(node, "decoder")) if node.get("decoder") is not None else "JsonDecoder"
    if decoder not in ("JsonDecoder", "XmlDecoder"):
        raise t.fail(t.path(node, "decoder"), f"a login answer read by {decoder} is not supported yet (JSON or XML)")
    token_path = [str(p) for p in node.get("session_token_path") or []]
    if not token_path or any(not p or not p.replace("_", "").replace("-", "").isalnum() for p in token_path):
        raise t.fail(t.path(node, "session_token_path"), "session_token_path: expected a list of plain keys")
    fields, options = _login(t, node.get("login_requester"), one_auth)
    where, token_param = _token_place(t, node.get("request_authentication"))
    lifetime = _lifetime(t, node)
    each = 0 if lifetime is not None else _logins_per_request(node, token_param)
    return AirbyteSession(type="session_token", **fields, token_path=".".join(token_path), **where, lifetime_secs=lifetime,
                          airbyte=options.model_copy(update={"token_param": token_param, "logins_per_request": each,
                                                             "xml": decoder == "XmlDecoder"}))


def _login(t: TranslatorCore, requester: Any, one_auth: Callable[[dict[str, Any], str], Any]) -> tuple[dict[str, Any], LoginOptions]:
    """The login requester: its URL (our block's ``login_url``), the rest in :class:`LoginOptions`."""
    at = t.path(requester) if isinstance(requester, dict) else ()
    t.check(requester, at)
    method = str(requester.get("http_method") or "GET").upper()
    if method not in ("GET", "POST"):
        raise t.fail((*at, "http_method"), f"a login request with {method} is not supported yet (GET or POST)")
    if requester.get("error_handler"):
        raise t.fail((*at, "error_handler"), "the login requester's error_handler is not supported yet")
    url = t.table.url_template(t.interp(requester, "url_base", CONFIG_VARS, ""),
                               t.interp(requester, "path", CONFIG_VARS, ""), t.where_of((*at, "path")))
    if requester.get("request_body_data") and requester.get("request_body_json"):
        raise t.fail((*at, "request_body_data"), "request_body_data with request_body_json (the CDK fails on it too)")
    request = PageTemplates(params=_mapping(t, requester, "request_parameters"),
                            headers=_mapping(t, requester, "request_headers"),
                            body=_tree(t, requester, "request_body_json") or None, form=_form(t, requester))
    options = LoginOptions(method="POST" if method == "POST" else "GET", request=request,
                           auth=_login_auth(t, requester, one_auth))
    return {"login_url": url}, options


def _mapping(t: TranslatorCore, requester: dict[str, Any], key: str) -> dict[str, Interpolated]:
    owner = requester.get(key) or {}
    if not isinstance(owner, dict) or any(isinstance(v, (dict, list)) for v in owner.values()):
        raise t.fail(t.path(requester, key), f"the login requester's {key}: expected a mapping of text values")
    return {str(k): _interp(t, requester, (key, k), v) for k, v in owner.items()}


def _interp(t: TranslatorCore, requester: dict[str, Any], at: tuple[Any, ...], value: Any) -> Interpolated:
    """One value of the login requester (its ``$parameters`` apply), where it is for messages."""
    name = str(at[-1])
    holder = {name: value if isinstance(value, str) else str(value), PARAMETERS: requester.get(PARAMETERS)}
    t.resolved.origin[id(holder)] = (*t.path(requester), *at[:-1])
    return t.interp(holder, name, CONFIG_VARS)


def _tree(t: TranslatorCore, requester: dict[str, Any], key: str) -> Any:
    """request_body_json: a mapping whose text leaves are templates (the CDK's InterpolatedNestedMapping)."""
    value = requester.get(key)
    if value is not None and not isinstance(value, dict):
        raise t.fail(t.path(requester, key), "a login request_body_json string is not supported yet")

    def walk(node: Any, at: tuple[Any, ...]) -> Any:
        if isinstance(node, str):
            return _interp(t, requester, at, node)
        if isinstance(node, dict):
            return {k: walk(v, (*at, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, (*at, i)) for i, v in enumerate(node)]
        return node

    return walk(value, (key,)) if value else None


def _form(t: TranslatorCore, requester: dict[str, Any]) -> dict[str, Any] | Interpolated | None:
    """request_body_data: a mapping (a form) or a text (sent as it is), rendered as page_templates.py does."""
    value = requester.get("request_body_data")
    if not value:
        return None
    if not isinstance(value, dict):
        return _interp(t, requester, ("request_body_data",), value)
    return {str(k): _interp(t, requester, ("request_body_data", k), v) if isinstance(v, str) else v
            for k, v in value.items()}


def _login_auth(t: TranslatorCore, requester: dict[str, Any], one_auth: Callable[[dict[str, Any], str], Any]) -> Any:
    node = requester.get("authenticator")
    if node is None:
        return None
    kind = t.check(node, t.path(requester, "authenticator"))
    if kind not in LOGIN_AUTHS:
        raise t.fail(t.path(requester, "authenticator"), f"a login requester's {kind} is not supported yet "
                                                         f"(only {', '.join(sorted(LOGIN_AUTHS))})")
    block = one_auth(node, kind)
    models: dict[str, type[Strict]] = {"BasicHttpAuthenticator": am.BasicAuth, "BearerAuthenticator": am.BearerAuth,
                                       "ApiKeyAuthenticator": am.ApiKeyAuth, "NoAuth": am.NoAuth}
    return models[kind].model_validate(block)


def _token_place(t: TranslatorCore, option: Any) -> tuple[dict[str, Any], str | None]:
    """Where the session token goes: ``Authorization: Bearer <token>``, or the ApiKey's header or query
    parameter, whose ``api_token`` is ``<prefix>{{ session_token }}`` with a prefix sent as written."""
    at = t.path(option) if isinstance(option, dict) else ()
    if t.check(option, at) == "Bearer":
        return {"header_name": "Authorization", "header_prefix": "Bearer "}, None
    opt = t.option(option.get("inject_into"), (*at, "inject_into"))
    if opt.inject_into not in ("header", "request_parameter"):
        raise t.fail((*at, "inject_into"), "a session token in the request body is not supported yet")
    match = SESSION_TOKEN.fullmatch(str(option.get("api_token") or "{{ session_token }}"))
    if match is None or a.spaced_prefix(match.group(1)) != match.group(1):
        raise t.fail((*at, "api_token"), "api_token other than '<prefix>{{ session_token }}' (a prefix that "
                                         "is empty, ends in one space or in punctuation) is not supported yet")
    if opt.inject_into == "header":
        return {"header_name": opt.field_name, "header_prefix": match.group(1)}, None
    return {"header_prefix": match.group(1)}, opt.field_name


def _logins_per_request(node: dict[str, Any], token_param: str | None) -> int:
    """Without expiration_duration the CDK's SessionTokenProvider logs in at every use of the token, and its
    HttpRequester uses it: an ApiKey header 6 times (``get_auth_header`` reads ``auth_header``, then
    ``auth_header`` and ``token``, each logging in; again when ``requests`` prepares the request with the
    session's auth), a Bearer token twice (``token`` only), an ApiKey query parameter once
    (``get_request_params``). The request carries the last token."""
    if token_param is not None:
        return 1
    option = node.get("request_authentication")
    return 2 if isinstance(option, dict) and option.get("type") == "Bearer" else 6


def _lifetime(t: TranslatorCore, node: dict[str, Any]) -> int | None:
    text = node.get("expiration_duration")
    if not text:
        return None
    try:
        step = parse_duration(str(text))
    except ValueError as exc:
        raise t.fail(t.path(node, "expiration_duration"), str(exc)) from None
    if not isinstance(step, dt.timedelta) or step.total_seconds() < 1 or step.total_seconds() % 1:
        raise t.fail(t.path(node, "expiration_duration"), "expiration_duration: expected whole seconds, "
                                                          "weeks, days, hours or minutes (no months, years)")
    return int(step.total_seconds())

