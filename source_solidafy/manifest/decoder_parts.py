"""Models of how a response body becomes records: the decoders and how a body is packed.

Each ``type:`` is one model in a discriminated union. Every decoder takes ``compression``:
``auto`` (the default: a gzip or zip body is found by its first bytes, whatever its headers say),
``gzip``, ``zip`` (``{type: zip, members: "*.csv"}`` reads the matching members only) or ``none``.

    decoder: {type: csv, compression: {type: zip, members: "exports/*.csv"}}
    decoder: {type: json_stream, records_path: data}      # one huge document, read as it arrives
"""

import codecs
import re
from typing import Annotated, Any, Literal

from source_solidafy.manifest.fields import Strict, Text, new_dict
from source_solidafy.manifest.pyd import (
    BeforeValidator,
    Field,
    PydanticCustomError,
    field_validator,
    model_validator,
)


def _carry_map(value: Any) -> Any:
    """``carry: [a, b]`` is ``carry: {a: a, b: b}`` (record field name -> path inside the bucket)."""
    if isinstance(value, list):
        return {str(v): str(v) for v in value}
    return value


def _compression_form(value: Any) -> Any:
    """``compression: gzip`` is ``compression: {type: gzip}``."""
    return {"type": value} if isinstance(value, str) else value


class Compression(Strict):
    """How a body is packed. ``auto`` unpacks gzip and zip bodies found by their first bytes (with or
    without a Content-Encoding header); ``gzip`` and ``zip`` insist (another body fails the stream);
    ``none`` reads the body as it is. A zip's ``members`` (a glob, default every file) are each read
    with the decoder, in archive order. The unpacked size counts against ``http.max_response_mb``.
    """

    type: Literal["auto", "gzip", "zip", "none"] = "auto"
    members: Text | None = None
    inner_gzip: int = Field(0, ge=0, le=8)
    """Gzip layers inside: after a gzip body is unpacked (or in each zip member), up to this many more
    are unpacked, each where the bytes start like gzip (Airbyte's GzipDecoder inside another decoder)."""

    @model_validator(mode="after")
    def _members_need_zip(self) -> "Compression":
        if self.members is not None and self.type not in ("zip", "auto"):
            raise PydanticCustomError("members_need_zip", "'members' picks zip members; compression is {kind}",
                                      {"kind": self.type})
        if self.inner_gzip and self.type == "none":
            raise PydanticCustomError("inner_gzip_needs_packing", "'inner_gzip' unpacks layers inside a packed "
                                      "body; compression is none")
        return self


CompressionSpec = Annotated[Compression, BeforeValidator(_compression_form)]


class _Packed(Strict):
    compression: CompressionSpec = Field(default_factory=Compression.model_construct)


class NestedRecords(Strict):
    """Records nested in buckets: ``data[].results[]``, each result carrying bucket fields."""

    path: Text
    carry: Annotated[dict[str, Text], BeforeValidator(_carry_map)] = Field(default_factory=new_dict)


class JsonDecoder(_Packed):
    """JSON body; ``records_path`` selects the records (an object is one record, an array its items).
    A ``records_path`` (or ``nested_records.path``) not in a non-empty response fails the stream;
    ``missing_means_empty: true`` makes it an empty page, except on the first page.
    """

    type: Literal["json"] = "json"
    records_path: Text | None = None
    nested_records: NestedRecords | None = None
    missing_means_empty: bool = False


class _Encoded(_Packed):
    """``encoding``: the body's text encoding (any Python codec: ``latin-1``, ``cp1252``, ``utf-16``);
    the body is decoded as it arrives, so a character split between chunks is read whole."""

    encoding: Text = "utf-8"

    @field_validator("encoding")
    @classmethod
    def _known(cls, value: str) -> str:
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise PydanticCustomError("expected", "expected a text encoding such as utf-8 or latin-1, got '{got}'",
                                      {"got": value}) from None


def _streamable(value: Compression) -> Compression:
    if value.type == "zip" or value.members is not None:
        raise PydanticCustomError("expected", "a streamed body is read as it arrives: compression auto, gzip or "
                                  "none (a zip needs the whole body; leave stream out)")
    return value


class _Lines(_Encoded):
    """``stream: true`` reads the body as it arrives, in batches of 1000 records, memory bounded by one
    line (``http.max_response_mb``), for exports larger than the response limit; no pagination."""

    stream: bool = False

    @model_validator(mode="after")
    def _stream_needs_no_zip(self) -> "_Lines":
        if self.stream:
            _streamable(self.compression)
        return self


class JsonlDecoder(_Lines):
    """One JSON record per line; ``stream: true`` reads a body of any size as it arrives."""

    type: Literal["jsonl"]


class CsvDecoder(_Lines):
    """CSV rows as records; values stay strings unless the schema says otherwise; ``stream: true``
    reads a body of any size as it arrives."""

    type: Literal["csv"]
    delimiter: Text = ","
    has_header: bool = True

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, v: str) -> str:
        if len(v) != 1:
            raise PydanticCustomError("expected", "expected a single character, got '{got}'", {"got": v})
        return v


class LinesDecoder(_Lines):
    """Each line of the body as the record ``{"record": "<the line>"}`` (its line break dropped; a line
    ends at ``\\n``, ``\\r\\n`` or ``\\r``; an empty line is a record too)."""

    type: Literal["lines"]


class XmlDecoder(_Packed):
    """XML parsed safely (no entity declarations, no external DTD, at most 256 levels deep); records
    map like xmltodict. An empty element on the ``records_path`` (``<items/>``) is an empty page; a
    path not there fails the stream as with JSON. ``prefixes``: ``strip`` drops namespace prefixes
    from names (and ``xmlns`` attributes), ``keep`` keeps names as written (``ns:item``, ``@xmlns:ns``).
    """

    type: Literal["xml"]
    records_path: Text | None = None
    missing_means_empty: bool = False
    prefixes: Literal["strip", "keep"] = "strip"  # keep: ``ns:item`` and ``@xmlns:ns`` as written


_KEYS = r"[^.\[\]*]+(\.[^.\[\]*]+)*"  # compiled by re on first use: a load from the cache validates nothing


class JsonStreamDecoder(_Encoded):
    """One JSON document read as it arrives: the items of the array at ``records_path`` (dotted object
    keys; absent: the document is the array) become records in batches of ``batch_records``. Memory
    is bounded by one record, not the document: a record (or anything skipped on the way to the
    path) larger than ``http.max_response_mb``, or no record for ``http.deadline_secs``, fails the
    stream. The document may be larger than ``max_response_mb``; a gzip body is unpacked as it
    streams (``compression``: ``auto``, ``gzip`` or ``none``). The stream has no ``pagination``.
    """

    type: Literal["json_stream"]
    records_path: Text | None = None
    batch_records: int = Field(default=1000, ge=1, le=100_000)

    @field_validator("records_path")
    @classmethod
    def _dotted_keys(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(_KEYS, value):
            raise PydanticCustomError("expected", "expected dotted object keys such as data.items (no [index] "
                                      "or [*] in a streamed document), got '{got}'", {"got": value})
        return value

    @field_validator("compression")
    @classmethod
    def _no_zip(cls, value: Compression) -> Compression:
        return _streamable(value)


Decoder = Annotated[JsonDecoder | JsonlDecoder | CsvDecoder | LinesDecoder | XmlDecoder | JsonStreamDecoder,
                    Field(discriminator="type")]
