"""Airbyte's LegacySessionTokenAuthenticator, as airbyte-cdk 7.39.1 runs it, onto :class:`AirbyteSession`.

The CDK (``token.LegacySessionTokenAuthenticator``, ``get_new_session_token``): a POST of the JSON
``{"username": ..., "password": ...}`` to the requester's ``url_base`` and ``login_url`` joined as text
(``f"{url_base}{login_url}"``, no slash added or removed), the token the answer's top-level key
``session_token_response_key``, sent as it is in the header ``header``; the login is cached for a day
(a TTLCache of 86400 s), so one login per sync. A ``session_token`` the config gives is checked at
``validate_session_url`` before every use of it: not supported yet, a config error when it renders
non-empty (before any request); empty, the login with username and password is used, as in the CDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from source_solidafy.lowcode.interpolation import Interpolated
from source_solidafy.lowcode.page_templates import PageTemplates
from source_solidafy.lowcode.resolve import PARAMETERS
from source_solidafy.lowcode.session import AirbyteSession, LoginOptions
from source_solidafy.lowcode.translate_parts import CONFIG_VARS

if TYPE_CHECKING:
    from source_solidafy.lowcode.translate_core import TranslatorCore

CACHE_SECS = 86400  # the CDK's cacheSessionTokenAuthenticator ttl


def _plain(t: TranslatorCore, node: dict[str, Any], key: str) -> str:
    text = str(node.get(key) or "")
    if not text or "{" in text or not text.replace("_", "").replace("-", "").isalnum():
        raise t.fail(t.path(node, key), f"LegacySessionTokenAuthenticator.{key}: expected a plain name "
                                        "(a template is not supported yet)")
    return text


def legacy_block(t: TranslatorCore, node: dict[str, Any], requester: dict[str, Any]) -> AirbyteSession:
    """LegacySessionTokenAuthenticator -> :class:`AirbyteSession`: the CDK's login POST, its one key, its header."""
    key, header = _plain(t, node, "session_token_response_key"), _plain(t, node, "header")
    for name in ("username", "password", "login_url"):
        if not node.get(name):
            raise t.fail(t.path(node, name), f"LegacySessionTokenAuthenticator without {name} is not supported yet "
                                             "(the CDK then fails unless the config's session token is valid)")
    where = t.where_of(t.path(node, "login_url"))
    url = Interpolated(f"{requester.get('url_base') or ''}{node['login_url']}", requester.get(PARAMETERS) or {}, where)
    body = {name: t.interp(node, name, CONFIG_VARS) for name in ("username", "password")}
    given = t.table.template(t.interp(node, "session_token", CONFIG_VARS), where) if node.get("session_token") else None
    options = LoginOptions(method="POST", request=PageTemplates(body=body), given_token=given)
    return AirbyteSession(type="session_token", login_url=t.table.template(url, where), token_path=key,
                          header_name=header, header_prefix="", lifetime_secs=CACHE_SECS, airbyte=options)
