"""Decoders: one response body -> (parsed body for the paginator, list of records).

The body is parsed once per page and shared with the paginator; paths are compiled at construction.

    decoder:
      type: json
      records_path: data
      nested_records: {path: results, carry: [start_time, end_time]}   # OpenAI buckets
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from source_solidafy import jsoncodec
from source_solidafy.errors import StreamError, redact_cut
from source_solidafy.rest.paths import Path, compile_path


class DecodableResponse(Protocol):
    """What a decoder reads (rest.http.Response satisfies it)."""

    url: str
    method: str
    content: bytes

    def json(self) -> Any: ...


@dataclass(slots=True, repr=False, eq=False)
class DecodedPage:
    """One page: the parsed body, its records, and why the records path matched nothing (if so).

    ``missing`` names the YAML key, the path, the request and what the body has instead; the reader
    decides whether that is an error (always on a first page) or an empty page (``missing_means_empty``).
    """

    body: Any
    records: list[Any]
    missing: str | None = None


_ABSENT = object()


def _missing(key: str, path: Path, body: Any, response: DecodableResponse, root: str = "the response",
             where: str = "") -> str:
    why = path.missing(body, prefer_lists=True, root=root) or "nothing there"
    return f"{key} '{path.text}' matched nothing in {where}{response.method} {response.url}: {why}"


class Decoder:
    """Reads one response's records. A ``streaming`` decoder reads the body as it arrives instead:
    the reader calls ``batches`` with a ``StreamedResponse`` (one document, no pagination)."""

    missing_means_empty = False  # a page after the first without the records path is an empty page
    streaming = False

    def decode(self, response: DecodableResponse) -> DecodedPage:
        raise NotImplementedError

    def bind(self, config: Mapping[str, Any]) -> None:
        """Sees the sync's config before the first page (an Airbyte field_path may read it)."""

    def batches(self, response: Any) -> Iterator[list[Any]]:
        """The records of a streamed body, a batch at a time (``streaming`` decoders only)."""
        raise NotImplementedError


def _as_records(value: Any) -> list[Any]:
    """A selected value as records: a list's items, an object as one record, nothing for null."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


class NestedRecords:
    """Records inside buckets: each bucket's ``path`` list, with bucket fields carried into each record.

    ``carry`` is a list of bucket paths (the record field is named like the path) or a mapping
    ``record field -> bucket path``. The record's own fields win over carried ones.
    """

    def __init__(self, path: str, carry: list[str] | Mapping[str, str] | None = None) -> None:
        self.path = compile_path(path)
        pairs = carry.items() if isinstance(carry, Mapping) else ((c, c) for c in carry or ())
        self.carry: list[tuple[str, Path]] = [(name, compile_path(p)) for name, p in pairs]

    def flatten(self, buckets: list[Any]) -> list[Any]:
        out: list[Any] = []
        for bucket in buckets:
            inner = _as_records(self.path.get(bucket))
            if not self.carry:
                out.extend(inner)
                continue
            carried = {name: path.get(bucket) for name, path in self.carry}
            out.extend({**carried, **rec} if isinstance(rec, dict) else rec for rec in inner)
        return out


class JsonDecoder(Decoder):
    """A JSON body: records at ``records_path`` (whole body when absent); object -> one record.

    A ``records_path`` (or ``nested_records.path`` in every bucket) that is not in a non-empty body
    is reported in ``DecodedPage.missing``; a key present with ``null`` is an empty page. ``key``
    is the YAML key named in that report.
    """

    def __init__(
        self,
        records_path: str | None = None,
        nested_records: NestedRecords | Mapping[str, Any] | None = None,
        key: str = "decoder.records_path",
        missing_means_empty: bool = False,
    ) -> None:
        self.records_path = compile_path(records_path) if records_path else None
        self.missing_means_empty = missing_means_empty
        if isinstance(nested_records, Mapping):
            nested_records = NestedRecords(nested_records["path"], nested_records.get("carry"))
        self.nested = nested_records
        self.key = key

    def decode(self, response: DecodableResponse) -> DecodedPage:
        if not response.content.strip():
            return DecodedPage(None, [])
        body = response.json()
        selected = self.records_path.get(body, _ABSENT) if self.records_path is not None else body
        if selected is _ABSENT:
            assert self.records_path is not None
            if self.records_path.stops_at_null(body):  # {"data": null} for data.items: no records
                return DecodedPage(body, [])
            return DecodedPage(body, [], _missing(self.key, self.records_path, body, response))
        records = _as_records(selected)
        if self.nested is not None:
            buckets = records
            records = self.nested.flatten(buckets)
            if not records and buckets and not any(self.nested.path.get(b, _ABSENT) is not _ABSENT for b in buckets):
                return DecodedPage(body, [], _missing(
                    "decoder.nested_records.path", self.nested.path, buckets[0], response, "the first bucket",
                    f"any of the {len(buckets)} buckets of "))
        return DecodedPage(body, records)


def _content_type(response: DecodableResponse) -> str:
    headers = getattr(response, "headers", None) or {}
    return str(headers.get("Content-Type") or headers.get("content-type") or "").split(";")[0].strip().lower()


def _document_kind(content_type: str) -> str | None:
    """``json``, ``xml`` or ``html`` when the Content-Type names one whole document of that kind."""
    subtype = content_type.rsplit("/", 1)[-1]
    if subtype in ("json", "xml", "html") or subtype.endswith(("+json", "+xml")):
        return subtype.rsplit("+", 1)[-1]
    return None


def _wrong_decoder(decoder: str, response: DecodableResponse, kind: str | None, found: str) -> StreamError:
    hint = f"; did you mean decoder.type: {kind}?" if kind in ("json", "xml") else " (an error or login page?)"
    return StreamError(f"decoder.type '{decoder}' cannot read {response.method} {response.url}: it answered "
                       f"{found}{hint}")


def utf8_chunks(chunks: Iterable[bytes], encoding: str, where: str) -> Iterator[bytes]:
    """``chunks`` of text in ``encoding`` as UTF-8, decoded as they come (a character split between two
    chunks is read whole); UTF-8 chunks are passed as they are. Bytes not valid in ``encoding`` fail."""
    if codecs.lookup(encoding).name == "utf-8":
        yield from chunks
        return
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for chunk in chunks:
            yield decoder.decode(chunk).encode("utf-8")
        yield decoder.decode(b"", final=True).encode("utf-8")
    except UnicodeError as exc:  # UTF-16 without a BOM is a bare UnicodeError
        reason = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
        raise StreamError(f"{where}: the body is not valid {encoding} ({reason}); set decoder.encoding to "
                          "the body's") from None


class JsonlDecoder(Decoder):
    """One JSON value per line (in ``encoding``); blank lines are skipped.

    A body that is one JSON document with a list in it, sent as ``application/json``, is the wrong
    decoder (``json`` reads it), not one record: the stream fails saying so.
    """

    def __init__(self, encoding: str = "utf-8") -> None:
        self.encoding = encoding

    def decode(self, response: DecodableResponse) -> DecodedPage:
        body = b"".join(utf8_chunks([response.content], self.encoding, f"{response.method} {response.url}"))
        records = self.parse(response, body.splitlines())
        self.refuse_one_document(response, records)
        return DecodedPage(None, records)

    @staticmethod
    def refuse_one_document(response: Any, records: list[Any]) -> None:
        """One JSON document with a list in it, sent as application/json: the wrong decoder."""
        if len(records) == 1 and _document_kind(_content_type(response)) == "json":
            only = records[0]
            if isinstance(only, list) or (isinstance(only, dict) and any(isinstance(v, list) for v in only.values())):
                keys = f" (keys: {', '.join(map(str, list(only)[:10]))})" if isinstance(only, dict) else ""
                raise _wrong_decoder("jsonl", response, "json",
                                     f"one JSON document{keys}, Content-Type {_content_type(response)}")

    @staticmethod
    def parse(response: Any, lines: list[bytes], first: int = 1) -> list[Any]:
        """The values of ``lines`` (numbered from ``first``; blank ones skipped), each exactly one value."""
        records: list[Any] = []
        for number, line in enumerate(lines, start=first):
            if not line.strip():
                continue
            try:
                records.append(jsoncodec.loads(line))
            except orjson.JSONDecodeError as exc:
                raise StreamError(
                    f"invalid JSON line {number} from {response.method} {response.url}: {exc} "
                    f"(first bytes: {_first_bytes(response, line)!r})"
                ) from None
        return records


def _first_bytes(response: DecodableResponse, line: bytes) -> str:
    """The start of a bad line, redacted before it is cut (the response knows the secrets)."""
    redactor = getattr(response, "redact", None) or (lambda text: text)
    return redact_cut(line, redactor, 80)


class CsvDecoder(Decoder):
    """CSV rows (in ``encoding``) as string-valued records (quoted newlines allowed; a UTF-8 BOM is dropped).

    Without a header the columns are named ``column_1``, ``column_2``, ... Extra cells beyond the
    header land in ``_extra``; missing trailing cells are null.
    """

    def __init__(self, delimiter: str = ",", has_header: bool = True, encoding: str = "utf-8") -> None:
        if len(delimiter) != 1:
            raise ValueError(f"csv delimiter must be one character, got {delimiter!r}")
        self.delimiter, self.has_header, self.encoding = delimiter, has_header, encoding

    def decode(self, response: DecodableResponse) -> DecodedPage:
        self.refuse_other_content(response, response.content)
        # BytesIO shares the bytes object (no copy); the wrapper decodes incrementally.
        utf8 = codecs.lookup(self.encoding).name == "utf-8"
        text = io.TextIOWrapper(io.BytesIO(response.content), encoding="utf-8-sig" if utf8 else self.encoding,
                                newline="")
        try:
            return DecodedPage(None, list(self.rows(csv.reader(text, delimiter=self.delimiter))))
        except (csv.Error, UnicodeDecodeError, ValueError) as exc:
            raise StreamError(f"invalid CSV from {response.method} {response.url}: {exc}") from None

    @staticmethod
    def refuse_other_content(response: Any, start: bytes) -> None:
        """A JSON, XML or HTML answer is the wrong decoder (it would read as a one-column CSV)."""
        kind = _document_kind(_content_type(response))
        if kind is not None or start.lstrip()[:1] == b"{":
            found = f"Content-Type {_content_type(response)}" if kind else "a body that starts with '{'"
            raise _wrong_decoder("csv", response, kind or "json", found)

    def rows(self, reader: Iterator[list[str]]) -> Iterator[dict[str, Any]]:
        """The records of a ``csv.reader``, one by one (a ValueError for a header naming a column twice)."""
        header: list[str] | None = next(reader, None) if self.has_header else None
        if self.has_header and header is None:
            return
        if header is not None and len(set(header)) < len(header):
            twice = next(name for name in header if header.count(name) > 1)
            raise ValueError(f"the header names the column {twice!r} twice: one of them would be lost "
                             "(if the first row is data, not a header, set decoder.has_header: false)")
        for row in reader:
            if not row:
                continue
            if header is None:
                yield {f"column_{i}": v for i, v in enumerate(row, start=1)}
                continue
            record: dict[str, Any] = dict(zip(header, row, strict=False))
            if len(row) > len(header):
                record["_extra"] = row[len(header):]
            elif len(row) < len(header):
                record.update(dict.fromkeys(header[len(row):]))
            yield record


class XmlDecoder(Decoder):
    """XML mapped like xmltodict (text -> string, attributes -> ``@name``, repeats -> lists; see
    :mod:`source_solidafy.rest.xml_tree`, which also bounds hostile documents).

    The body handed to the paginator is ``{root_tag: ...}``, so ``records_path`` starts at the root
    element: ``response.items.item``. Namespace prefixes are dropped from names unless ``prefixes``
    is ``keep`` (airbyte-cdk's XmlDecoder keeps them). A Content-Type charset wins over the
    document's own encoding declaration.
    """

    def __init__(self, records_path: str | None = None, key: str = "decoder.records_path",
                 missing_means_empty: bool = False, prefixes: str = "strip") -> None:
        self.records_path = compile_path(records_path) if records_path else None
        self.key, self.keep_prefixes = key, prefixes == "keep"
        self.missing_means_empty = missing_means_empty

    def decode(self, response: DecodableResponse) -> DecodedPage:
        if not response.content.strip():
            return DecodedPage(None, [])
        from xml.parsers.expat import ExpatError

        from source_solidafy.rest import xml_tree  # XML connectors only: not imported by JSON reads

        charset = _charset(response)
        try:
            body = xml_tree.as_mapping(response.content, self.keep_prefixes, charset)
        except xml_tree.XmlRefused as exc:
            raise StreamError(f"XML from {response.method} {response.url}: {exc}") from None
        except (ExpatError, UnicodeDecodeError, LookupError) as exc:
            raise StreamError(f"invalid XML from {response.method} {response.url}: {exc}") from None
        selected = self.records_path.get(body, _ABSENT) if self.records_path is not None else body
        if selected is _ABSENT:
            assert self.records_path is not None
            if self.records_path.stops_at_null(body):  # an empty element on the way (<items/>): no records
                return DecodedPage(body, [])
            return DecodedPage(body, [], _missing(self.key, self.records_path, body, response))
        records = [r if isinstance(r, dict) else {"#text": r} for r in _as_records(selected)]
        return DecodedPage(body, records)


def _charset(response: DecodableResponse) -> str | None:
    headers = getattr(response, "headers", None) or {}
    content_type = str(headers.get("Content-Type") or headers.get("content-type") or "")
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"'):
            return value.strip().strip('"')
    return None
