"""Airbyte authenticators -> our auth blocks, with the CDK's semantics.

- ``BearerAuthenticator``, ``BasicHttpAuthenticator``, ``ApiKeyAuthenticator`` (header or query),
  ``NoAuth``: our bearer / basic / api_key / none.
- ``OAuthAuthenticator``: :class:`~source_solidafy.lowcode.oauth.AirbyteOAuth`, the CDK's refresh request
  (its form, field names, scopes, an ``Authorization`` refresh header) and answer (token and lifetime
  names, expiry dates); see oauth.py. A ``refresh_token`` that is one config key
  (``{{ config['refresh_token'] }}``) is kept as written, so a rotated refresh token is handed back
  like in our own YAML.
- ``SessionTokenAuthenticator``: :class:`~source_solidafy.lowcode.session.AirbyteSession`, the CDK's login
  request (method, query, headers, JSON or form body, its own authenticator) and token placement; see session.py.
- ``SelectiveAuthenticator``: the authenticator named by the config value at
  ``authenticator_selection_path`` (read as the CDK does, as text); a config without that value, or
  with a value naming no authenticator, is a config error before any request.
"""

from __future__ import annotations

from typing import Any, get_args

from source_solidafy.config_updates import config_path
from source_solidafy.errors import ConfigError
from source_solidafy.lowcode.legacy_session import legacy_block
from source_solidafy.lowcode.oauth import AirbyteOAuth, oauth_block
from source_solidafy.lowcode.session import AirbyteSession, session_block
from source_solidafy.lowcode.translate_core import TranslatorCore
from source_solidafy.lowcode.translate_parts import CONFIG_VARS, _static
from source_solidafy.manifest.auth_choice import alternatives
from source_solidafy.manifest.auth_models import JwtAlgorithm
from source_solidafy.manifest.models import Auth, Manifest, Stream
from source_solidafy.manifest.pyd import BaseModel, ConfigDict, PrivateAttr
from source_solidafy.manifest.templates import TemplateString


class AirbyteManifest(Manifest):
    """Our Manifest, with SelectiveAuthenticator's choice: ``auth`` lists one alternative per key.

    Made from a validated Manifest by :meth:`of`, so its own validator is never built (deferred: every
    load of a connector file imports this module, and building it costs as much as Manifest's, ~0.1 s).
    """

    model_config = ConfigDict(defer_build=True)
    _selection: tuple[list[str], list[str]] | None = PrivateAttr(default=None)  # (config path, keys)
    _hidden: list[Stream] = PrivateAttr(default_factory=list)  # parent streams not among the streams

    @classmethod
    def of(cls, manifest: Manifest, selection: tuple[list[str], list[str]] | None, hidden: int = 0) -> AirbyteManifest:
        """``manifest`` whose last ``hidden`` streams are hidden parents (read by their children only)."""
        fields = {name: getattr(manifest, name) for name in Manifest.model_fields}
        cut = len(manifest.streams) - hidden
        fields["streams"] = manifest.streams[:cut]
        out = cls.model_construct(_fields_set=manifest.model_fields_set, **fields)
        out._selection = selection
        out._hidden = manifest.streams[cut:]
        return out

    def stream(self, name: str) -> Stream:
        for s in self._hidden:
            if s.name == name:
                return s
        return super().stream(name)

    def readable_names(self) -> list[str]:
        """The streams a parent may be: the manifest's and the hidden parents."""
        return [*self.stream_names(), *(s.name for s in self._hidden)]

    def auth_for(self, config: dict[str, Any]) -> Auth:
        if self._selection is None:
            return super().auth_for(config)
        path, keys = self._selection
        node: Any = config
        for part in path:
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(f"{self.name}: config has no '{'.'.join(path)}' to choose the authenticator "
                                  f"(one of {', '.join(keys)})")
            node = node[part]
        if str(node) not in keys:
            raise ConfigError(f"{self.name}: config '{'.'.join(path)}' is {str(node)!r}; the authenticators are "
                              f"{', '.join(keys)}")
        return alternatives(self)[keys.index(str(node))]


class AuthParts(TranslatorCore):
    """Mixed into :class:`~source_solidafy.lowcode.translate.Translator`."""

    selection: tuple[list[str], list[str]] | None = None
    requester: dict[str, Any] | None = None  # whose authenticator is translated (its url_base: Legacy's)

    def auth(self, requester: dict[str, Any]) -> Any:
        """Our auth block (a mapping, or an :class:`AirbyteOAuth`), or a list of alternatives."""
        self.requester = requester
        node = requester.get("authenticator")
        if node is None:
            return {"type": "none"}
        kind = self.check(node, self.path(requester, "authenticator"))
        if kind != "SelectiveAuthenticator":
            return self.one_auth(node, kind)
        path = [str(p) for p in node.get("authenticator_selection_path") or []]
        choices = node.get("authenticators")
        if not path or not isinstance(choices, dict) or not choices:
            raise self.fail(self.path(node), "SelectiveAuthenticator needs authenticator_selection_path and "
                                             "authenticators")
        out = []
        for key, choice in choices.items():
            block = self.one_auth(choice, self.check(choice, (*self.path(node, "authenticators"), key)))
            when = f"{'.'.join(path)} = {key}"
            out.append(block.model_copy(update={"when": when}) if isinstance(block, BaseModel) else {**block, "when": when})
        self.selection = (path, [str(k) for k in choices])
        return out

    def one_auth(self, node: dict[str, Any], kind: str) -> dict[str, Any] | AirbyteOAuth | AirbyteSession:
        def value(key: str, default: Any = None) -> Any:
            return self.table.template(self.interp(node, key, CONFIG_VARS, default), self.where_of(self.path(node, key)))

        if kind == "BearerAuthenticator":
            return {"type": "bearer", "token": value("api_token")}
        if kind == "BasicHttpAuthenticator":
            return {"type": "basic", "username": value("username"), "password": value("password", "")}
        if kind == "ApiKeyAuthenticator":
            option = node.get("inject_into")
            if option is None:
                return {"type": "api_key", "key": _static(self, node, "header", "header"), "value": value("api_token")}
            opt = self.option(option, self.path(node, "inject_into"))
            if opt.inject_into not in ("header", "request_parameter"):
                raise self.fail(self.path(node, "inject_into"), "an API key in the body is not supported yet")
            where = "header" if opt.inject_into == "header" else "query"
            return {"type": "api_key", "key": opt.field_name, "value": value("api_token"), "location": where}
        if kind == "OAuthAuthenticator":
            return self.oauth(node, value)
        if kind == "JwtAuthenticator":
            return self.jwt(node, value)
        if kind == "SessionTokenAuthenticator":
            return session_block(self, node, self.one_auth)
        if kind == "LegacySessionTokenAuthenticator":
            return legacy_block(self, node, self.requester or {})
        if kind == "SelectiveAuthenticator":
            raise self.fail(self.path(node), "a SelectiveAuthenticator inside another is not supported yet")
        return {"type": "none"}

    def oauth(self, node: dict[str, Any], value: Any) -> AirbyteOAuth | dict[str, Any]:
        saved = self.config_key_or(node, "refresh_token", value) if node.get("refresh_token") is not None else None
        given = node.get("profile_assertion")
        assertion = self.one_auth(given, self.check(given, self.path(node, "profile_assertion"))) if given else None
        return oauth_block(self, node, saved, assertion)

    def config_key_or(self, node: dict[str, Any], key: str, value: Any) -> Any:
        """``{{ config['refresh_token'] }}`` kept as written (it renders alike), so a rotated refresh token can
        be written back to that key (config_updates.py); any other value through the CDK's interpolation."""
        text = node.get(key)
        if isinstance(text, str) and config_path(text) is not None:
            return TemplateString(text, where=self.where_of(self.path(node, key)))
        return value(key)

    def jwt(self, node: dict[str, Any], value: Any) -> dict[str, Any]:
        """JwtAuthenticator -> our ``jwt``: the JWT in ``Authorization`` (with ``header_prefix`` when given)."""
        algorithm = _static(self, node, "algorithm", "JWT algorithm")
        if algorithm not in get_args(JwtAlgorithm):
            raise self.fail(self.path(node, "algorithm"), f"JwtAuthenticator algorithm {algorithm!r} is not supported "
                            f"(only {', '.join(get_args(JwtAlgorithm))})")
        claims = {k: self.nested(node, "jwt_payload", k) for k in ("iss", "sub", "aud") if _has(node, "jwt_payload", k)}
        headers = {k: self.nested(node, "jwt_headers", k) for k in ("typ", "cty") if _has(node, "jwt_headers", k)}
        for group, out, reserved in (("additional_jwt_payload", claims, ("iss", "sub", "aud", "iat", "exp", "nbf")),
                                     ("additional_jwt_headers", headers, ("kid", "alg", "typ", "cty"))):
            for key in (node.get(group) or {}):
                if key in reserved:
                    raise self.fail(self.path(node, group), f"'{key}' is reserved and may not be in {group}")
                out[str(key)] = self.nested(node, group, key)
        block = {"type": "jwt", "algorithm": algorithm, "key": value("secret_key"), "claims": claims,
                 "jwt_headers": headers, "lifetime_secs": int(node.get("token_duration") or 1200),
                 "header_prefix": _static(self, node, "header_prefix", "JWT header_prefix") if node.get("header_prefix") else ""}
        if _has(node, "jwt_headers", "kid"):
            block["key_id"] = self.nested(node, "jwt_headers", "kid")
        return {**block, **self.jwt_options(node, value)}

    def jwt_options(self, node: dict[str, Any], value: Any) -> dict[str, Any]:
        """passphrase (an encrypted PEM key: wins over base64, as in the CDK), base64_encode_secret_key
        (a boolean, pydantic's words for one), request_option (a header or a query parameter)."""
        out: dict[str, Any] = {"key_passphrase": value("passphrase")} if node.get("passphrase") else {}
        flag = node.get("base64_encode_secret_key")
        words = {"true": True, "1": True, "yes": True, "y": True, "on": True, "t": True,
                 "false": False, "0": False, "no": False, "n": False, "off": False, "f": False}
        if flag is not None:
            if not isinstance(flag, bool) and str(flag).strip().lower() not in words:
                raise self.fail(self.path(node, "base64_encode_secret_key"), f"base64_encode_secret_key {flag!r}: "
                                "expected true or false (the CDK's schema takes a boolean, not a template)")
            out["base64_key"] = flag if isinstance(flag, bool) else words[str(flag).strip().lower()]
        if node.get("request_option") is not None:
            opt = self.option(node["request_option"], self.path(node, "request_option"))
            if opt.inject_into not in ("header", "request_parameter"):
                raise self.fail(self.path(node, "request_option"), "a JWT in the request body is not supported yet")
            out["header_name" if opt.inject_into == "header" else "param_name"] = opt.field_name
        return out

    def nested(self, node: dict[str, Any], group: str, key: str) -> Any:
        """A template of ``node[group][key]`` (``jwt_payload.iss``), with the mapping's own path in messages."""
        owner = node[group]
        return self.table.template(self.interp(owner, key, CONFIG_VARS), self.where_of(self.path(owner, key)))


def _has(node: dict[str, Any], group: str, key: str) -> bool:
    owner = node.get(group)
    return isinstance(owner, dict) and owner.get(key) not in (None, "")
