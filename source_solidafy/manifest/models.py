"""The connector YAML schema: the single source of truth for what a manifest may say.

Both spellings of the contract (README form and seed-file form) load into ONE canonical model; the
engine reads only these canonical attribute names:

- ``Manifest``: name, version, base_url (T), auth (always set: ``NoAuth`` when absent), http (always
  set), check (or None), headers (T map), streams, description, category, aliases (list),
  documentation_url, spec (list of ``SpecField`` or None).
- ``Stream``: name, request (None only with an async_job partition), headers, decoder (always set:
  ``JsonDecoder`` when absent), pagination, partition, primary_key (always a list of str),
  cursor_field, filter (T), transform (list of ``SetStep`` / ``RemoveStep`` / ``RenameStep`` /
  ``FlattenStep`` / ``NormalizeKeysStep`` / ``HashStep`` / ``MaskStep`` / ``CastStep``, told apart by
  ``op``), json_schema (YAML ``schema``, or the loaded ``schema_file``), description, incremental.
- ``Request``: method (upper case), path (T), params (name -> T, or a list of T for a repeated
  parameter such as ``group_by[]`` given twice), body (T; a YAML mapping is stored as JSON text),
  content_type.
- Pagination ``stop`` is always ``Stop(type, path, value)``, whichever of ``stop: empty_page``,
  ``stop: {type: total_count, path: ...}`` or ``stop: {total_count: {path: ...}}`` was written.
- ``DateRangePartition.step`` is ISO 8601 (``1d`` -> ``P1D``, ``1w`` -> ``P1W``); ``step_parts()``.
- ``ParentStreamPartition``: type ``parent_stream`` (``parent`` accepted), stream, parent_fields
  (partition name -> parent path, always set; the single form ``parent_field`` + README ``field`` or
  seed ``partition_field``, defaulting to parent_field, is ``{field: parent_field}``).
- ``AsyncDownload.pagination``: ``locator_header`` / ``locator_param`` become a cursor paginator
  reading that header.
- ``JsonDecoder.nested_records.carry`` is always a mapping record field -> path in the bucket.
- ``RemoveStep.fields`` is a list; ``RenameStep.from_field`` / ``to``.

Values marked (T) are :class:`~source_solidafy.manifest.templates.TemplateString` objects, compiled
once while validating; ``.lenient`` is True for every ``params`` value (request, check, async job)
and ``incremental.start``: an undefined variable renders "" there. Paths (records_path,
cursor_path, ...) stay strings.
"""

# No ``from __future__ import annotations`` in the model modules: pydantic would evaluate each annotation
# string while creating the classes (~7 ms of every start-up; test_manifest_start_up.py).
from typing import Annotated, Any, Literal

from source_solidafy.config import OAUTH2_TYPES  # noqa: F401 - part of this module's API
from source_solidafy.manifest.auth_models import (  # re-exported: models.py is the public module
    ApiKeyAuth,
    ApiKeysAuth,
    Auth,
    AuthAlternative,
    AuthSpec,
    AuthWhen,
    BasicAuth,
    BearerAuth,
    JwtAuth,
    NoAuth,
    OAuth2ClientCredentialsAuth,
    OAuth2JwtBearerAuth,
    OAuth2RefreshTokenAuth,
    SessionTokenAuth,
)
from source_solidafy.manifest.decoder_parts import (  # re-exported: models.py is the public module
    Compression,
    CsvDecoder,
    Decoder,
    JsonDecoder,
    JsonlDecoder,
    JsonStreamDecoder,
    LinesDecoder,
    NestedRecords,
    XmlDecoder,
)
from source_solidafy.manifest.error_rules import ErrorRule, ErrorRules
from source_solidafy.manifest.extensions import open_slot
from source_solidafy.manifest.fields import (
    HostList,
    LenientTemplate,
    ParamMap,
    PathGlobList,
    Strict,
    Template,
    TemplateMap,
    Text,
    TextList,
    new_dict,
    new_list,
)
from source_solidafy.manifest.lookup_parts import Lookup, Request, SchemaFields  # re-exported
from source_solidafy.manifest.partition_parts import (  # re-exported: models.py is the public module
    AsyncCreate,
    AsyncDownload,
    AsyncJobPartition,
    AsyncPoll,
    DateRangePartition,
    ListPartition,
    ParentStreamPartition,
    Partition,
    SplitWhen,
)
from source_solidafy.manifest.plugin_models import plugin_slot
from source_solidafy.manifest.pyd import (
    ConfigDict,
    Field,
    PrivateAttr,
    PydanticCustomError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from source_solidafy.manifest.safe_regex import Regex
from source_solidafy.manifest.stream_parts import (  # re-exported: models.py is the public module
    CursorPagination,
    LinkHeaderPagination,
    NextUrlPagination,
    OffsetPagination,
    PageNumberPagination,
    Pagination,
    Stop,
)
from source_solidafy.manifest.transform_parts import (  # re-exported: models.py is the public module
    CastStep,
    FlattenStep,
    HashStep,
    MaskStep,
    NormalizeKeysStep,
    RemoveStep,
    RenameStep,
    SetStep,
    TransformStep,
)
from source_solidafy.source import ConfigField

__all__ = [
    "ApiKeyAuth", "ApiKeysAuth", "AsyncCreate", "AsyncDownload", "AsyncJobPartition", "AsyncPoll", "Auth", "AuthAlternative",
    "AuthSpec", "AuthWhen", "BasicAuth", "BearerAuth", "CastStep", "Check", "Compression", "CsvDecoder",
    "CursorPagination", "DateRangePartition", "Decoder", "ErrorRule", "FlattenStep", "HashStep", "Http", "Incremental",
    "JsonDecoder", "JsonStreamDecoder", "JsonlDecoder", "JwtAuth", "LinesDecoder", "LinkHeaderPagination", "ListPartition", "Lookup",
    "Manifest", "MaskStep", "NestedRecords", "NextUrlPagination", "NoAuth", "NormalizeKeysStep",
    "OAuth2ClientCredentialsAuth", "OAuth2JwtBearerAuth", "OAuth2RefreshTokenAuth", "OffsetPagination",
    "PageNumberPagination", "Pagination", "ParentStreamPartition", "Partition", "RemoveStep", "RenameStep",
    "Request", "SchemaFields", "SessionTokenAuth", "SetStep", "SpecField", "SplitWhen",
    "Stop", "Stream", "TransformStep",
    "XmlDecoder",
]

# ---------------------------------------------------------------------------------- http, check


class Http(Strict):
    """Timeouts, retries, backoff, rate limits, response limits and the hosts that get credentials.

    ``deadline_secs`` (default ``timeout_secs``) bounds one attempt from connect to last byte;
    ``max_response_mb`` one decoded body, and again once a gzip or zip body is unpacked (a
    ``json_stream`` decoder: one record, and the deadline the wait for each record);
    ``allowed_hosts`` adds origins to base_url's for credentials.
    ``rate_limit_pools`` names the URL paths (globs) that have a rate limit of their own, apart from
    the rest of their host's (GitHub's ``search: ["/search/*"]``).
    """

    timeout_secs: float = Field(default=30.0, gt=0)
    deadline_secs: float | None = Field(default=None, gt=0)
    max_response_mb: float = Field(default=128.0, gt=0)
    allowed_hosts: HostList = Field(default_factory=new_list)
    max_retries: int = Field(default=3, ge=0)
    rate_limit_rps: float | None = Field(default=None, gt=0)
    user_agent: Text | None = None
    backoff: Literal["exponential", "linear", "constant"] = "exponential"
    backoff_base_secs: float = Field(default=1.0, ge=0)
    backoff_max_secs: float = Field(default=60.0, ge=0)
    retry_statuses: list[int] = Field(default_factory=lambda: [429, 500, 502, 503, 504])
    max_concurrency: int | None = Field(default=None, ge=1)
    rate_limit_pools: dict[str, PathGlobList] = Field(default_factory=new_dict)


class StreamRetry(Strict):
    """A stream's own retry policy for its requests; a key not given is the connector's ``http:`` one."""

    max_retries: int | None = Field(default=None, ge=0)
    backoff: Literal["exponential", "linear", "constant"] | None = None
    backoff_base_secs: float | None = Field(default=None, ge=0)


class Check(Strict):
    """The request ``check`` makes; params are lenient (an undefined value drops the param)."""

    path: Template
    params: ParamMap = Field(default_factory=new_dict)


class Incremental(Strict):
    """How state feeds the request: ``since`` = cursor - lookback, or ``start`` with no state."""

    request_param: Text | None = None
    format: Text | None = None
    start: LenientTemplate | None = None
    lookback_secs: float = Field(default=0, ge=0)


class SpecField(Strict):
    """One explicit config field (``spec:`` list); ``secret`` defaults to the name rule."""

    name: Text
    type: Literal["string", "integer", "number", "boolean", "object", "array"] = "string"
    required: bool = False
    secret: bool | None = None
    description: Text = ""
    default: Any = None
    examples: list[Any] = Field(default_factory=new_list)
    enum: list[Any] = Field(default_factory=new_list)
    pattern: Regex | None = None

    def to_config_field(self) -> ConfigField:
        from source_solidafy.secret_names import is_secret_name

        return ConfigField(
            name=self.name,
            type=self.type,
            required=self.required,
            secret=is_secret_name(self.name) if self.secret is None else self.secret,
            description=self.description,
            default=self.default,
            examples=tuple(self.examples),
            enum=tuple(self.enum),
            pattern=self.pattern,
        )


# ---------------------------------------------------------------------------------------- stream


class Stream(Strict):
    name: Text
    request: Request | None = None
    headers: TemplateMap = Field(default_factory=new_dict)
    decoder: Annotated[Decoder, open_slot("decoder"), plugin_slot("decoder")] = Field(default_factory=JsonDecoder.model_construct)
    pagination: Annotated[Pagination | None, open_slot("pagination"), plugin_slot("pagination")] = None
    partition: Annotated[Partition | None, open_slot("partition"), plugin_slot("partition")] = None
    primary_key: TextList = Field(default_factory=new_list)
    cursor_field: Text | None = None
    filter: Template | None = None  # a condition per record, before transform (rest/record_filter.py)
    transform: list[Annotated[TransformStep, open_slot("transform"), plugin_slot("transform")]] = \
        Field(default_factory=new_list)
    schema_fields: SchemaFields | None = None  # fields discover adds from a lookup (lookup_parts.py)
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    schema_file: Text | None = None
    description: Text = ""
    incremental: Incremental | None = None
    dedupe: Literal["cursor_boundary"] | None = None  # after primary_key and cursor_field: it checks both
    errors: ErrorRules = Field(default_factory=new_list)  # tried before the connector's errors
    retry: StreamRetry | None = None  # the stream's retries and backoff over the connector's (http:)

    @field_validator("dedupe")
    @classmethod
    def _dedupe_needs_key_and_cursor(cls, value: str | None, info: ValidationInfo) -> str | None:
        missing = [key for key in ("primary_key", "cursor_field") if value and not info.data.get(key)]
        if missing:
            raise PydanticCustomError("dedupe_needs", "{value} needs the stream's {missing}",
                                      {"value": value, "missing": " and ".join(missing)})
        return value

    @model_validator(mode="after")
    def _request_needed(self) -> "Stream":
        if self.request is None and not isinstance(self.partition, AsyncJobPartition):
            raise PydanticCustomError("missing_key", "missing required key 'request'")
        if isinstance(self.decoder, JsonStreamDecoder) and self.pagination is not None:
            raise PydanticCustomError("stream_pages", "decoder.type json_stream reads one document as it arrives; "
                                      "it takes no pagination (use decoder.type json to page)")
        if getattr(self.decoder, "stream", False) and self.pagination is not None:
            raise PydanticCustomError("stream_pages", "decoder.stream reads one body as it arrives; it takes no "
                                      "pagination (leave stream out to page)")
        return self

    @property
    def pagination_type(self) -> str | None:
        return self.pagination.type if self.pagination else None

    @property
    def partition_type(self) -> str | None:
        return self.partition.type if self.partition else None


# -------------------------------------------------------------------------------------- manifest


class Manifest(Strict):
    """A validated connector. Build it with :func:`source_solidafy.manifest.load_manifest`."""

    # The one validator every load uses, built on the first load (not at import: a load from the
    # validated-manifest cache, manifest/cache.py, needs none). Defaults (``auth``, ``http``, a stream's
    # ``decoder``) are made with ``model_construct``: all-default values need no validation, and
    # validating them would build each part model's own validator at start-up.
    model_config = ConfigDict(defer_build=True)

    name: Text
    version: Text = "0.1.0"
    base_url: Template
    auth: Annotated[AuthSpec, plugin_slot("auth")] = Field(default_factory=NoAuth.model_construct)
    http: Http = Field(default_factory=Http.model_construct)
    errors: ErrorRules = Field(default_factory=new_list)  # every stream's, after the stream's own
    check: Check | None = None
    headers: TemplateMap = Field(default_factory=new_dict)
    lookups: dict[str, Lookup] = Field(default_factory=new_dict)
    streams: list[Stream] = Field(min_length=1)
    description: Text = ""
    category: Text = ""
    aliases: TextList = Field(default_factory=new_list)
    documentation_url: Text | None = None
    spec: list[SpecField] | None = None

    _source_name: str = PrivateAttr(default="<string>")
    _warnings: list[str] = PrivateAttr(default_factory=new_list)
    _fields: list[ConfigField] | None = PrivateAttr(default=None)
    _usages: dict[str, Any] | None = PrivateAttr(default=None)  # spec.config_usages, found once

    @model_validator(mode="before")
    @classmethod
    def _auth_none(cls, data: Any) -> Any:
        """``auth: null`` (or absent) means no auth."""
        if isinstance(data, dict) and "auth" in data and data["auth"] is None:
            data = {k: v for k, v in data.items() if k != "auth"}
        return data

    @property
    def source_name(self) -> str:
        """The file name errors and ``where`` strings use (``stripe.yaml``)."""
        return self._source_name

    @property
    def warnings(self) -> list[str]:
        """Load-time warnings (e.g. a ``request`` block next to an async_job partition is ignored)."""
        return list(self._warnings)

    def stream_names(self) -> list[str]:
        return [s.name for s in self.streams]

    def stream(self, name: str) -> Stream:
        for s in self.streams:
            if s.name == name:
                return s
        raise KeyError(name)

    def config_fields(self) -> list[ConfigField]:
        """The config form: explicit ``spec`` wins, else derived from the templates (see spec.py)."""
        from source_solidafy.manifest.spec import config_fields

        if self._fields is None:  # derived once: the secrets and config checks ask often
            self._fields = config_fields(self)
        return list(self._fields)

    def auth_for(self, config: dict[str, Any]) -> Auth:
        """The auth block ``config`` selects (the only one without alternatives); ConfigError if none."""
        from source_solidafy.manifest.auth_choice import choose_auth

        return choose_auth(self, config)

    def missing_config(self, config: dict[str, Any]) -> list[str]:
        """One message per required config key that ``config`` lacks (empty list = fine)."""
        from source_solidafy.manifest.spec import missing_config

        return missing_config(self, config)

    def require_config(self, config: dict[str, Any]) -> None:
        """Raise ConfigError naming the first missing required key and where it is used."""
        from source_solidafy.errors import ConfigError

        problems = self.missing_config(config)
        if problems:
            raise ConfigError("; ".join(problems))
