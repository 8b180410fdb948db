"""The ``auth:`` blocks: one model per ``type``, and an ``auth:`` list of alternatives made from them.

Each block's alternative (the same keys plus ``when``) is generated from the block by
:func:`_alternative`, never written out, so the two cannot drift apart. The core class each block
builds is registered in :mod:`source_solidafy.rest.builders`; the choice among alternatives is
:mod:`source_solidafy.manifest.auth_choice`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag

from source_solidafy.manifest.fields import Body, Strict, Template, Text, TextList


class BearerAuth(Strict):
    """``Authorization: Bearer <token>``."""

    type: Literal["bearer"]
    token: Template


class ApiKeyAuth(Strict):
    """``key`` names the header (or query parameter with ``location: query``) carrying ``value``."""

    type: Literal["api_key"]
    key: Text
    value: Template
    location: Literal["header", "query"] = "header"


class BasicAuth(Strict):
    """HTTP basic auth; ``password`` may be left out."""

    type: Literal["basic"]
    username: Template
    password: Template | None = None


class OAuth2RefreshTokenAuth(Strict):
    """POSTs ``grant_type=refresh_token`` (with ``scopes``) to ``token_url``; refreshes before expiry and once on a 401."""

    type: Literal["oauth2_refresh_token"]
    token_url: Template
    client_id: Template
    client_secret: Template
    refresh_token: Template
    scopes: TextList = Field(default_factory=list)


class OAuth2ClientCredentialsAuth(Strict):
    """POSTs ``grant_type=client_credentials`` (with ``scopes``) to ``token_url``."""

    type: Literal["oauth2_client_credentials"]
    token_url: Template
    client_id: Template
    client_secret: Template
    scopes: TextList = Field(default_factory=list)


class SessionTokenAuth(Strict):
    """POST ``body`` to ``login_url``, read ``token_path``, send ``<header_name>: <prefix> <token>``.

    A word prefix (``Session``) gets one space before the token; ``""`` means none; one ending in
    punctuation (``token=``) is used as written.
    """

    type: Literal["session_token"]
    login_url: Template
    body: Body | None = None
    token_path: Text
    header_name: Text = "Authorization"
    header_prefix: Text = "Bearer "


class NoAuth(Strict):
    """No credentials (also what an absent ``auth`` means)."""

    type: Literal["none"] = "none"


AUTH_BLOCKS: tuple[type[Strict], ...] = (
    BearerAuth, ApiKeyAuth, BasicAuth, OAuth2RefreshTokenAuth, OAuth2ClientCredentialsAuth, SessionTokenAuth, NoAuth,
)
AuthBlock = BearerAuth | ApiKeyAuth | BasicAuth | OAuth2RefreshTokenAuth | OAuth2ClientCredentialsAuth | \
    SessionTokenAuth | NoAuth
Auth = Annotated[AuthBlock, Field(discriminator="type")]


class AuthWhen(Strict):
    """An auth alternative: any auth block plus ``when: <config key>``; a list of them is ``auth``.

    The first alternative whose ``when`` config key is present and non-empty is used; one
    alternative may leave ``when`` out and must then come last (the default)::

        auth:
          - when: access_token
            type: bearer
            token: "{{ config.access_token }}"
          - when: refresh_token
            type: oauth2_refresh_token
            token_url: https://api.hubapi.com/oauth/v1/token
            client_id: "{{ config.client_id }}"
            client_secret: "{{ config.client_secret }}"
            refresh_token: "{{ config.refresh_token }}"
    """

    when: Text | None = None


def _alternative(block: type[Strict]) -> type[Strict]:
    """``block`` plus :class:`AuthWhen`; an alternative names its ``type`` even where the block has a default."""
    namespace: dict[str, Any] = {"__module__": __name__, "__doc__": f"{block.__name__} plus ``when``."}
    kind = block.model_fields["type"]
    if not kind.is_required():
        namespace["__annotations__"] = {"type": kind.annotation}
    return type(f"{block.__name__}Alternative", (block, AuthWhen), namespace)


ALTERNATIVES: tuple[type[Strict], ...] = tuple(_alternative(block) for block in AUTH_BLOCKS)
globals().update({alt.__name__: alt for alt in ALTERNATIVES})  # module attributes: pickle finds them by name
if TYPE_CHECKING:  # each alternative is one of the blocks and an AuthWhen; a checker knows the latter
    AuthAlternative = AuthWhen
else:
    AuthAlternative = Annotated[Union[ALTERNATIVES], Field(discriminator="type")]  # noqa: UP007 - a tuple of classes
AUTH_LIST_TAG = "alternatives"  # the union tags pydantic puts in error locations (problems.py skips them)
AUTH_ONE_TAG = "block"


def _auth_shape(value: Any) -> str:
    return AUTH_LIST_TAG if isinstance(value, list) else AUTH_ONE_TAG


AuthSpec = Annotated[
    Annotated[Auth, Tag(AUTH_ONE_TAG)] | Annotated[list[AuthAlternative], Tag(AUTH_LIST_TAG), Field(min_length=1)],
    Discriminator(_auth_shape),
]
