"""Models of a stream's parts: decoders, stop conditions, paginators, partitions, transforms.

Each ``type:`` is one model in a discriminated union; other spellings are normalised on the way in
(see the module docstring of :mod:`source_solidafy.manifest.models` for the canonical names).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from source_solidafy.manifest.fields import (
    Body,
    ParamMap,
    Strict,
    Template,
    TemplateMap,
    Text,
    TextList,
)

# -------------------------------------------------------------------------------------- decoders


def _carry_map(value: Any) -> Any:
    """``carry: [a, b]`` is ``carry: {a: a, b: b}`` (record field name -> path inside the bucket)."""
    if isinstance(value, list):
        return {str(v): str(v) for v in value}
    return value


class NestedRecords(Strict):
    """Records nested in buckets: ``data[].results[]``, each result carrying bucket fields."""

    path: Text
    carry: Annotated[dict[str, Text], BeforeValidator(_carry_map)] = Field(default_factory=dict)


class JsonDecoder(Strict):
    """JSON body; ``records_path`` selects the records (an object is one record, an array its items).
    A ``records_path`` (or ``nested_records.path``) not in a non-empty response fails the stream;
    ``missing_means_empty: true`` makes it an empty page, except on the first page.
    """

    type: Literal["json"] = "json"
    records_path: Text | None = None
    nested_records: NestedRecords | None = None
    missing_means_empty: bool = False


class JsonlDecoder(Strict):
    """One JSON record per line."""

    type: Literal["jsonl"]


class CsvDecoder(Strict):
    """CSV rows as records; values stay strings unless the schema says otherwise."""

    type: Literal["csv"]
    delimiter: Text = ","
    has_header: bool = True

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, v: str) -> str:
        if len(v) != 1:
            raise PydanticCustomError("expected", "expected a single character, got '{got}'", {"got": v})
        return v


class XmlDecoder(Strict):
    """XML parsed safely (no DTD entities); records map like xmltodict. An empty element on the
    ``records_path`` (``<items/>``) is an empty page; a path not there fails the stream as with JSON.
    """

    type: Literal["xml"]
    records_path: Text | None = None
    missing_means_empty: bool = False


Decoder = Annotated[JsonDecoder | JsonlDecoder | CsvDecoder | XmlDecoder, Field(discriminator="type")]

# ----------------------------------------------------------------------------------------- stop

STOP_TYPES = ("empty_page", "total_count", "total_pages", "field")


def _stop_form(value: Any) -> Any:
    """``stop: empty_page`` / ``{type: total_count, path}`` / ``{total_count: {path}}`` -> canonical."""
    if isinstance(value, str):
        return {"type": value}
    if isinstance(value, Mapping) and "type" not in value and len(value) == 1:
        (kind, inner), = value.items()
        if kind in STOP_TYPES:
            if isinstance(inner, Mapping):
                return {"type": kind, **inner}
            if kind == "empty_page" and inner is True:
                return {"type": kind}
    return value


class Stop(Strict):
    """When a paginator stops besides its own rule: ``stop: {type: field, path: has_more, value: false}``."""

    type: Literal["empty_page", "total_count", "total_pages", "field"]
    path: Text | None = None
    value: Any = None

    @model_validator(mode="after")
    def _needs_path(self) -> Stop:
        if self.type != "empty_page" and not self.path:
            raise PydanticCustomError(
                "missing_key", "missing required key 'path' (stop type {kind})", {"kind": self.type}
            )
        return self


StopSpec = Annotated[Stop, BeforeValidator(_stop_form)]

# ------------------------------------------------------------------------------------ pagination


class _Paging(Strict):
    stop: StopSpec | None = None
    max_pages: int | None = Field(default=None, ge=1)
    max_empty_pages: int = Field(default=10, ge=1)


class CursorPagination(_Paging):
    """Next cursor from ``cursor_path`` (body) or ``cursor_header``, sent as ``cursor_param``."""

    type: Literal["cursor"]
    cursor_param: Text
    cursor_path: Text | None = None
    cursor_header: Text | None = None
    location: Literal["query", "header", "body"] = "query"

    @model_validator(mode="after")
    def _one_source(self) -> CursorPagination:
        if bool(self.cursor_path) == bool(self.cursor_header):
            raise PydanticCustomError(
                "cursor_source", "give exactly one of 'cursor_path' (body) or 'cursor_header' (header)"
            )
        return self


class OffsetPagination(_Paging):
    """``offset_param`` grows by ``limit``; stops on a short page or ``stop``."""

    type: Literal["offset"]
    offset_param: Text = "offset"
    limit_param: Text = "limit"
    limit: int = Field(default=100, ge=1)


class PageNumberPagination(_Paging):
    """``page_param`` counts from ``start_page``; stops on an empty or short page, or ``stop``."""

    type: Literal["page_number"]
    page_param: Text = "page"
    start_page: int = 1
    page_size_param: Text | None = None
    page_size: int | None = Field(default=None, ge=1)


class LinkHeaderPagination(_Paging):
    """Follows the RFC 8288 ``Link`` header entry with ``rel``."""

    type: Literal["link_header"]
    rel: Text = "next"


class NextUrlPagination(_Paging):
    """Follows the URL (absolute or relative) found at ``next_url_path``."""

    type: Literal["next_url"]
    next_url_path: Text


Pagination = Annotated[
    CursorPagination | OffsetPagination | PageNumberPagination | LinkHeaderPagination | NextUrlPagination,
    Field(discriminator="type"),
]

# ------------------------------------------------------------------------------------ partitions


class ListPartition(Strict):
    """``partition: {type: list, field: region, values: [us, eu]}`` -> ``partition.region``."""

    type: Literal["list"]
    field: Text
    values: list[Any]


_SHORT_STEP = re.compile(r"^(\d+)\s*(s|m|h|d|w|mo|y)$", re.IGNORECASE)
_ISO_STEP = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_SHORT_TO_ISO = {"s": "PT{}S", "m": "PT{}M", "h": "PT{}H", "d": "P{}D", "w": "P{}W", "mo": "P{}M", "y": "P{}Y"}


def _iso_step(value: Any) -> Any:
    """Seed steps (``1d``, ``1h``, ``1w``) become ISO 8601 durations (``P1D``, ``PT1H``, ``P1W``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"PT{value}S"
    if isinstance(value, str):
        m = _SHORT_STEP.match(value.strip())
        if m:
            return _SHORT_TO_ISO[m.group(2).lower()].format(int(m.group(1)))
        text = value.strip().upper()
        if _ISO_STEP.match(text) and text not in ("P", "PT"):
            return text
        raise PydanticCustomError(
            "step", "expected an ISO 8601 duration (P1D, PT1H) or 1d/1h/1w, got '{got}'", {"got": value}
        )
    return value


class DateRangePartition(Strict):
    """Half-open ``[start, end)`` windows of ``step``; ``partition.start`` / ``partition.end``.

    ``field`` (README form) also exposes the window start as ``partition.<field>``; ``start_field`` /
    ``end_field`` (seed form) expose start and end under those names.
    """

    type: Literal["date_range"]
    start: Template
    end: Template | None = None
    step: Annotated[Text, BeforeValidator(_iso_step)] = "P1D"
    format: Text = "%Y-%m-%dT%H:%M:%SZ"
    field: Text | None = None
    start_field: Text | None = None
    end_field: Text | None = None

    def step_parts(self) -> tuple[int, timedelta]:
        """``(months, delta)``: years and months are calendar steps, the rest a fixed timedelta."""
        m = _ISO_STEP.match(self.step)
        assert m is not None
        y, mo, w, d, h, mi, s = (int(g or 0) for g in m.groups())
        return y * 12 + mo, timedelta(weeks=w, days=d, hours=h, minutes=mi, seconds=s)


class ParentStreamPartition(Strict):
    """One partition per parent record: ``partition.<field>`` = the parent record's ``parent_field``."""

    spellings = {"partition_field": "field"}
    type: Literal["parent_stream", "parent"]
    stream: Text
    parent_field: Text
    field: Text | None = None

    @model_validator(mode="before")
    @classmethod
    def _accept_spellings(cls, data: Any) -> Any:
        return cls.normalise_keys(data)

    @field_validator("type")
    @classmethod
    def _canonical_type(cls, v: str) -> str:
        return "parent_stream"

    @model_validator(mode="after")
    def _default_field(self) -> ParentStreamPartition:
        if self.field is None:
            self.field = self.parent_field
        return self


class AsyncCreate(Strict):
    """The request that creates the job; ``job_id_path`` reads its id."""

    method: Annotated[Literal["GET", "POST", "PUT", "PATCH"], BeforeValidator(lambda v: str(v).upper())] = "POST"
    path: Template
    body: Body | None = None
    params: ParamMap = Field(default_factory=dict)
    headers: TemplateMap = Field(default_factory=dict)
    job_id_path: Text = "id"


class AsyncPoll(Strict):
    """Polled every ``interval_secs`` until ``status_path`` equals ``completed_value``."""

    path: Template
    interval_secs: float = Field(default=5.0, ge=0)
    max_attempts: int = Field(default=120, ge=1)
    status_path: Text
    completed_value: Text
    failed_values: TextList = Field(default_factory=list)


def _locator_form(value: Any) -> Any:
    """``locator_header: Sforce-Locator`` (+ ``locator_param``) is a cursor read from that header."""
    if not isinstance(value, Mapping) or "locator_header" not in value:
        return value
    out = dict(value)
    header = out.pop("locator_header")
    param = out.pop("locator_param", "locator")
    out.setdefault("pagination", {"type": "cursor", "cursor_param": param, "cursor_header": header})
    return out


def _sforce_locator() -> CursorPagination:
    return CursorPagination(type="cursor", cursor_param="locator", cursor_header="Sforce-Locator")


class AsyncDownload(Strict):
    """The results request. Without ``pagination`` it follows the ``Sforce-Locator`` header as the
    ``locator`` param (Salesforce Bulk 2.0; the string ``null`` or no header ends), ``pagination: null``
    reads one page; ``locator_header``/``locator_param`` are a shorthand for ``pagination``.
    """

    path: Template
    records_path: Text | None = None
    params: ParamMap = Field(default_factory=dict)
    headers: TemplateMap = Field(default_factory=dict)
    pagination: Pagination | None = Field(default_factory=_sforce_locator)


class AsyncJobPartition(Strict):
    """create -> poll until ``completed_value`` -> download (with its own pagination); ``job_id``."""

    type: Literal["async_job"]
    create: AsyncCreate
    poll: AsyncPoll
    download: Annotated[AsyncDownload, BeforeValidator(_locator_form)]


Partition = Annotated[
    ListPartition | DateRangePartition | ParentStreamPartition | AsyncJobPartition,
    Field(discriminator="type"),
]

# ------------------------------------------------------------------------------------ transforms

STEP_KINDS = ("set", "remove", "rename")


class SetStep(Strict):
    """``- set: {field: org, value: "{{ config.org }}"}``; ``record`` is in the template context."""

    op: Literal["set"]
    field: Text
    value: Template


class RemoveStep(Strict):
    """``- remove: {field: x}``, ``- remove: [a, b]`` or ``- remove: x``: stored as ``fields``."""

    op: Literal["remove"]
    fields: TextList


class RenameStep(Strict):
    """``- rename: {from: a, to: b}``; ``from`` is stored as ``from_field``."""

    op: Literal["rename"]
    from_field: Text = Field(alias="from")
    to: Text


def _remove_fields(inner: Any) -> Any:
    if isinstance(inner, Mapping):
        if "field" in inner and "fields" not in inner:
            inner = {"fields": inner["field"], **{k: v for k, v in inner.items() if k != "field"}}
        return dict(inner)
    return {"fields": inner}


def _step_form(value: Any) -> Any:
    """``{set: {...}}`` -> ``{op: set, ...}``; one clear message for an unknown or ambiguous step."""
    if not isinstance(value, Mapping) or "op" in value:
        return value
    kinds = [k for k in value if k in STEP_KINDS]
    if len(value) != 1 or len(kinds) != 1:
        unknown = [str(k) for k in value if k not in STEP_KINDS]
        if unknown and not kinds:
            close = difflib.get_close_matches(unknown[0], STEP_KINDS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise PydanticCustomError(
                "step_kind",
                "unknown transform step '{kind}'; expected one of set, remove, rename{hint}",
                {"kind": unknown[0], "hint": hint},
            )
        raise PydanticCustomError("step_kind", "a transform step has exactly one key: set, remove or rename")
    kind = kinds[0]
    inner = value[kind]
    if kind == "remove":
        return {"op": "remove", **_remove_fields(inner)}
    if not isinstance(inner, Mapping):
        raise PydanticCustomError("expected", "expected a mapping under '{kind}'", {"kind": kind})
    return {"op": kind, **inner}


TransformStep = Annotated[SetStep | RemoveStep | RenameStep, Field(discriminator="op"), BeforeValidator(_step_form)]
