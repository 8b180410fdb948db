"""OAuthAuthenticator's refresh_token_error_status_codes / _key / _values, as airbyte-cdk 7.39.1 reads them
(AbstractOauth2Authenticator._wrap_refresh_token_exception and _make_handled_request).

A token request refused with one of those statuses (not 429 nor a 5xx: those are retried first) whose
JSON object answer has, under the key, one of the values is a rejected refresh token: the sync fails
as a config error (never retried) with the CDK's words, then a short ``Provider error``: the answer's
``error`` and the provider code leading its ``error_description`` (``AADSTS50173``), redacted and cut
to 64 characters. The options sit on the authenticator or on its refresh_token_updater (not both:
the CDK refuses that). Any other refusal fails as every token refusal does (rest/auth.py).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson
import requests

from source_solidafy.errors import redact
from source_solidafy.manifest.fields import Strict

if TYPE_CHECKING:
    from source_solidafy.lowcode.translate_core import TranslatorCore

OPTIONS = ("refresh_token_error_status_codes", "refresh_token_error_key", "refresh_token_error_values")
MESSAGE = ("Refresh token was rejected by the OAuth provider (invalid, expired, or already used). Re-authenticate "
           "this source's credentials in its connection settings.")
PROVIDER_CODE = re.compile(r"^[A-Za-z]{3,}\d{4,}\b")
DETAIL_MAX = 64


class RefreshErrors(Strict):
    """The statuses, the key and its values that mark a rejected refresh token."""

    codes: list[int]
    key: str
    values: list[str]


def _detail(body: dict[str, Any], secrets: list[str]) -> str | None:
    """The CDK's _build_provider_error_detail: ``error`` and a leading provider code, redacted and cut."""
    parts = []
    error = body.get("error")
    if isinstance(error, str) and error.strip():
        parts.append(" ".join(error.split()))
    description = body.get("error_description")
    if isinstance(description, str):
        code = PROVIDER_CODE.match(description.strip())
        if code:
            parts.append(code.group())
    if not parts:
        return None
    text = redact(": ".join(parts), secrets).replace("***", "****")
    return text if len(text) <= DETAIL_MAX else text[:DETAIL_MAX] + "..."


def rejected(resp: requests.Response, errors: RefreshErrors, secrets: list[str]) -> str | None:
    """The CDK's message when ``resp`` says the refresh token was rejected, else None."""
    if resp.status_code < 400 or resp.status_code == 429 or resp.status_code >= 500:
        return None
    try:
        body = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict) or resp.status_code not in errors.codes or body.get(errors.key) not in errors.values:
        return None
    detail = _detail(body, secrets)
    return f"{MESSAGE} Provider error: {detail}" if detail else MESSAGE


def refresh_errors(t: TranslatorCore, node: dict[str, Any]) -> RefreshErrors | None:
    """The options from the authenticator or its refresh_token_updater; None when neither has them."""
    updater = node.get("refresh_token_updater")
    owners = [(node, t.path(node))]
    if isinstance(updater, dict):
        owners.append((updater, t.path(node, "refresh_token_updater")))
    given = [(owner, at) for owner, at in owners if any(owner.get(key) for key in OPTIONS)]
    if len(given) > 1:
        raise t.fail(t.path(node), "refresh_token_error_* on both the OAuthAuthenticator and its "
                                   "refresh_token_updater (the CDK refuses it)")
    if not given:
        return None
    owner, at = given[0]
    codes, key, values = (owner.get(k) for k in OPTIONS)
    if not isinstance(codes or [], list) or not all(isinstance(c, int) for c in codes or []):
        raise t.fail((*at, OPTIONS[0]), f"{OPTIONS[0]}: expected a list of HTTP statuses")
    if not isinstance(key or "", str) or "{" in (key or ""):
        raise t.fail((*at, OPTIONS[1]), f"{OPTIONS[1]}: expected plain text")
    if not isinstance(values or [], list) or not all(isinstance(v, str) for v in values or []):
        raise t.fail((*at, OPTIONS[2]), f"{OPTIONS[2]}: expected a list of text")
    return RefreshErrors(codes=list(codes or []), key=str(key or ""), values=list(values or []))
