"""OAuthAuthenticator.profile_assertion with use_profile_assertion, as airbyte-cdk 7.39.1 sends it
(DeclarativeOauth2Authenticator.build_refresh_request_body).

The refresh request is then a form of two fields only: ``<grant_type_name>=urn:ietf:params:oauth:grant-
type:jwt-bearer`` and ``assertion=<the JwtAuthenticator's token>`` (its ``header_prefix`` and a space
first when it has one, as the CDK's ``JwtAuthenticator.token``), signed anew for every token request,
with the refresh_request_headers; no client, refresh token, scopes nor body fields (client_id and
client_secret are not needed). The answer is read as every OAuthAuthenticator's (oauth.py). A
profile_assertion without use_profile_assertion is not used, as in the CDK. Each assertion is a
credential for its lifetime: a secret, redacted from every message. Otherwise the authenticator is
every OAuthAuthenticator: access_token_value, token_expiry_date, refresh_token_error_* as in oauth.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from source_solidafy.lowcode import oauth as lo
from source_solidafy.rest import jwt_auth as j

if TYPE_CHECKING:
    from source_solidafy.lowcode.translate_core import TranslatorCore

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
WORDS = {"true": True, "false": False}  # pydantic reads these as the schema's boolean


class AssertionGrant(lo.AirbyteOAuthGrant):
    """AirbyteOAuthGrant whose token request is the assertion form (``signer``: the JwtAuthenticator's)."""

    def __init__(self, *args: Any, signer: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        self._signer: j.JwtAuth = signer

    def _static_secrets(self) -> list[str]:
        return [*super()._static_secrets(), *self._signer.secrets()]

    def _fetch(self) -> dict[str, Any]:
        assertion = self._signer.assertion()
        self._seen_secrets.append(assertion)
        form = [(self._names["grant_type"], GRANT_TYPE), ("assertion", assertion)]
        return self._post(self.token_url, data=form, headers={"Accept": "application/json", **self._request.headers})


def uses_assertion(t: TranslatorCore, node: dict[str, Any], assertion: Any) -> bool:
    """use_profile_assertion (a boolean, as the CDK's schema) with the profile_assertion it needs."""
    flag = node.get("use_profile_assertion")
    if isinstance(flag, str) and flag.strip().lower() in WORDS:
        flag = WORDS[flag.strip().lower()]
    if flag is not None and not isinstance(flag, bool):
        raise t.fail(t.path(node, "use_profile_assertion"), "OAuthAuthenticator.use_profile_assertion: expected "
                     "true or false (the CDK's schema takes a boolean)")
    if not flag:
        return False
    if assertion is None:
        raise t.fail(t.path(node), "OAuthAuthenticator with use_profile_assertion needs a profile_assertion "
                                   "(the CDK refuses it)")
    if node.get("refresh_token_updater") is not None:
        raise t.fail(t.path(node, "refresh_token_updater"), "a profile assertion with refresh_token_updater is not "
                     "supported yet")
    if node.get("send_refresh_request_as_query_params"):
        raise t.fail(t.path(node, "send_refresh_request_as_query_params"), "send_refresh_request_as_query_params "
                     "with a profile assertion is not supported yet")
    if not isinstance(assertion, dict) or assertion.get("type") != "jwt":
        raise t.fail(t.path(node, "profile_assertion"), "profile_assertion: expected a JwtAuthenticator")
    return True
