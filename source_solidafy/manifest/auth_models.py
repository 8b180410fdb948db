"""The ``auth:`` blocks: one model per ``type``, and an ``auth:`` list of alternatives made from them.

Each block's alternative (the same keys plus ``when``) is generated from the block by
:func:`_alternative`, never written out, so the two cannot drift apart. The core class each block
builds is registered in :mod:`source_solidafy.rest.builders`; the choice among alternatives is
:mod:`source_solidafy.manifest.auth_choice`.
"""

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from source_solidafy.manifest.fields import (
    Body,
    Strict,
    Template,
    TemplateMap,
    Text,
    TextList,
    new_dict,
    new_list,
)
from source_solidafy.manifest.pyd import (
    Discriminator,
    Field,
    PositiveInt,
    PydanticCustomError,
    Tag,
    field_validator,
)


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


class ApiKeysAuth(Strict):
    """Several API keys used in turn: when one is out of quota the next takes over at once.

    ``values``: ``"{{ config.api_keys }}"``, a list in the config (declare it ``type: array`` in
    ``spec``) or text of keys separated by commas or spaces. ``key`` names the header (or query
    parameter with ``location: query``); ``prefix`` goes before the key (``Bearer``: one space added).
    Out of quota: a status in ``quota_statuses``, a 403/429 with ``x-ratelimit-remaining: 0``, or a
    4xx whose body contains ``quota_body``. A key out of quota rests until the answer's
    ``Retry-After`` (or reset time; else 60 s); with every key resting, ``http`` retries decide.
    """

    type: Literal["api_keys"]
    key: Text
    values: Template
    location: Literal["header", "query"] = "header"
    prefix: Text = ""
    quota_statuses: list[int] = Field(default_factory=lambda: [429])
    quota_body: Text | None = None


class BasicAuth(Strict):
    """HTTP basic auth; ``password`` may be left out."""

    type: Literal["basic"]
    username: Template
    password: Template | None = None


class _OAuth2Client(Strict):
    """What every OAuth2 grant sends: the client's credentials, scopes, extra fields and headers.

    ``client_auth``: ``client_secret_post`` (the default) puts ``client_id`` and ``client_secret`` in
    the form; ``client_secret_basic`` sends them as ``Authorization: Basic`` (RFC 6749 section 2.3.1),
    as Reddit, Spotify, Okta and many others want. ``token_params`` are extra form fields
    (``audience``, ``resource``, ``account_id``); ``token_headers`` extra request headers.
    """

    token_url: Template
    client_id: Template
    client_secret: Template
    scopes: TextList = Field(default_factory=new_list)
    client_auth: Literal["client_secret_post", "client_secret_basic"] = "client_secret_post"
    token_params: TemplateMap = Field(default_factory=new_dict)
    token_headers: TemplateMap = Field(default_factory=new_dict)


class OAuth2RefreshTokenAuth(_OAuth2Client):
    """POSTs ``grant_type=refresh_token`` (with ``scopes``) to ``token_url``; refreshes before expiry and once on a 401.

    A ``refresh_token`` in the answer replaces the old one (rotation): the sync reports the updated
    config (see docs/connector-yaml.md, "Rotating refresh tokens").
    """

    type: Literal["oauth2_refresh_token"]
    refresh_token: Template


class OAuth2ClientCredentialsAuth(_OAuth2Client):
    """POSTs ``grant_type=client_credentials`` (with ``scopes``) to ``token_url``."""

    type: Literal["oauth2_client_credentials"]


JwtAlgorithm = Literal["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                       "ES256", "ES256K", "ES384", "ES512", "EdDSA"]
TIME_CLAIMS = ("iat", "exp", "nbf")
KEYED_AUTH_TYPES = ("jwt", "oauth2_jwt_bearer")  # their builder parses a key from the config: checked up front


class _JwtSigning(Strict):
    """How a JWT is made (needs the ``jwt`` extra: PyJWT and cryptography).

    ``key``: the PEM private key for RS*, PS*, ES* (ES256K: secp256k1) and EdDSA (Ed25519, Ed448) (a
    config value; ``\\n`` escapes are read as newlines), the shared secret for HS*. ``key_passphrase``
    decrypts an encrypted PEM key (an empty one: the key is not encrypted). ``base64_key``: sign with
    the base64 text of ``key`` instead (Airbyte's ``base64_encode_secret_key``). ``claims`` (T map: ``iss``, ``sub``, ``aud``, ``scope``, ...)
    are rendered once per config; ``iat`` and ``exp`` are set at signing: ``iat`` ``backdate_secs`` in
    the past (clock skew: GitHub asks for 60), ``exp`` ``lifetime_secs`` after now. A new JWT is signed
    before the old one expires. ``key_id`` is the header's ``kid``; ``jwt_headers`` more header fields.
    """

    algorithm: JwtAlgorithm = "RS256"
    key: Template
    key_id: Template | None = None
    key_passphrase: Template | None = None
    base64_key: bool = False
    claims: TemplateMap = Field(default_factory=new_dict)
    jwt_headers: TemplateMap = Field(default_factory=new_dict)
    lifetime_secs: int = Field(default=600, gt=0, le=86400)
    backdate_secs: int = Field(default=0, ge=0, le=3600)

    @field_validator("claims")
    @classmethod
    def _no_time_claims(cls, claims: dict[str, Any]) -> dict[str, Any]:
        fixed = [c for c in claims if c in TIME_CLAIMS]
        if fixed:
            raise PydanticCustomError("time_claim", "{names}: set at signing from lifetime_secs and backdate_secs; "
                                      "leave {them} out", {"names": ", ".join(fixed),
                                                           "them": "it" if len(fixed) == 1 else "them"})
        return claims


class JwtAuth(_JwtSigning):
    """A signed JWT sent as the token itself: ``<header_name>: <header_prefix> <jwt>`` (a GitHub App's JWT).

    ``header_prefix`` as for ``session_token``: a word gets one space, ``""`` none. ``param_name``: the
    JWT (with its prefix) goes in that query parameter instead of a header.
    """

    type: Literal["jwt"]
    header_name: Text = "Authorization"
    header_prefix: Text = "Bearer "
    param_name: Text | None = None


class OAuth2JwtBearerAuth(_JwtSigning):
    """A signed JWT traded for an access token (RFC 7523: Google service accounts, Salesforce's JWT flow).

    POSTs ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and ``assertion=<jwt>`` (with
    ``token_params``, ``token_headers``) to ``token_url`` and sends ``Authorization: Bearer
    <access_token>``, refreshed before ``expires_in`` runs out and once on a 401. The ``aud`` claim
    defaults to the token URL.
    """

    type: Literal["oauth2_jwt_bearer"]
    token_url: Template
    token_params: TemplateMap = Field(default_factory=new_dict)
    token_headers: TemplateMap = Field(default_factory=new_dict)


class SessionTokenAuth(Strict):
    """POST ``body`` to ``login_url``, read ``token_path``, send ``<header_name>: <prefix> <token>``.

    A word prefix (``Session``) gets one space before the token; ``""`` means none; one ending in
    punctuation (``token=``) is used as written. ``lifetime_secs``: log in again that long after each
    login (else when the answer's ``expires_in`` runs out, or never).
    """

    type: Literal["session_token"]
    login_url: Template
    body: Body | None = None
    token_path: Text
    header_name: Text = "Authorization"
    header_prefix: Text = "Bearer "
    lifetime_secs: PositiveInt | None = None


class NoAuth(Strict):
    """No credentials (also what an absent ``auth`` means)."""

    type: Literal["none"] = "none"


AUTH_BLOCKS: tuple[type[Strict], ...] = (
    BearerAuth, ApiKeyAuth, ApiKeysAuth, BasicAuth, OAuth2RefreshTokenAuth, OAuth2ClientCredentialsAuth, OAuth2JwtBearerAuth,
    JwtAuth, SessionTokenAuth, NoAuth,
)
AuthBlock = BearerAuth | ApiKeyAuth | ApiKeysAuth | BasicAuth | OAuth2RefreshTokenAuth | OAuth2ClientCredentialsAuth | \
    OAuth2JwtBearerAuth | JwtAuth | SessionTokenAuth | NoAuth
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
