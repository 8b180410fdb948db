"""SimpleRetriever.decoder -> our decoder, with airbyte-cdk 7.39.1's semantics (decoders/composite_raw_decoder.py).

- ``JsonDecoder``: our ``json`` decoder, as without a decoder.
- ``JsonlDecoder`` (the CDK's JsonLineParser, UTF-8) and ``CsvDecoder`` (CsvParser: a header row,
  ``delimiter`` with the CDK's backslash escapes such as ``\\t``, ``set_values_to_none``): our ``jsonl``
  and ``csv`` decoders reading the body as it arrives (``stream: true``, as the CDK streams it), the
  body taken as it is (``compression: none``: the CDK reads the raw bytes).
- ``GzipDecoder``: its inner decoder over a body unpacked when it starts like gzip, else taken as it
  is (``compression: auto``; the CDK's GzipParser); a Content-Encoding is undone by our transport.
- ``ZipfileDecoder``: its inner decoder over each file of the archive in turn (``compression: zip``).
- A GzipDecoder inside a GzipDecoder or ZipfileDecoder (the CDK's GzipParser inside the outer parser):
  one more gzip layer unpacked where the bytes start like gzip, else taken as they are
  (``compression.inner_gzip``; within the same response limit).
- ``JsonItemsDecoder`` (the CDK's JsonItemsParser, ijson): our ``json_stream`` decoder, the items of
  the array at ``items_path`` (dotted object keys) read as the body arrives.
- ``encoding`` (CsvDecoder, JsonItemsDecoder): our decoder's ``encoding`` (any Python codec; the body
  is decoded as it arrives, as the CDK's TextIOWrapper and _Utf8Recoder do).
- ``IterableDecoder`` (each line as ``{"record": line}``): our ``lines`` decoder, read as it arrives.
- ``XmlDecoder`` (xmltodict): our ``xml`` decoder with ``prefixes: keep`` (tag and attribute names as
  written, ``ns:tag`` and ``@xmlns:ns``: xmltodict without namespace processing); it pages.

What we cannot honour exactly fails at load time with the component's path: an unknown encoding,
a delimiter that is not one character, a ZipfileDecoder inside a GzipDecoder or ZipfileDecoder (the
CDK has no parser for it either), a ``field_path`` with a line decoder, an ``items_path`` part ``item`` (ijson's
array items) or a JsonItemsDecoder in a zip, a paginator over anything but JSON (the CDK
refuses that too), ``set_values_to_none`` with a record filter that runs before the transformations.
"""

from __future__ import annotations

import codecs
from typing import Any

from source_solidafy.lowcode.extractor import AirbyteDpathExtractor
from source_solidafy.lowcode.transforms import AirbyteNoneValues
from source_solidafy.lowcode.translate_core import TranslatorCore
from source_solidafy.manifest.decoder_parts import Compression

_WRAPPERS = {"GzipDecoder": "auto", "ZipfileDecoder": "zip"}
_TOP_ONLY = ("IterableDecoder", "XmlDecoder")  # the CDK has no parser for them inside a wrapper
_MAX_INNER_GZIP = 8  # Compression.inner_gzip's bound


class DecoderParts(TranslatorCore):
    def decoder(self, retriever: dict[str, Any], selected: dict[str, Any] | AirbyteDpathExtractor) -> tuple[Any, Any]:
        """Our decoder for the retriever's ``decoder`` (``selected``: the JSON decoder the record selector
        gives), and the step that sets CSV values to null (or None)."""
        if isinstance(selected, AirbyteDpathExtractor):
            return self._dpath(retriever, selected), None
        node = retriever.get("decoder")
        if node is None:
            return selected, None
        kind = self.check(node, self.path(retriever, "decoder"))
        packing: dict[str, Any] = {"type": "none"}
        if kind in _WRAPPERS:
            packing, node, kind = self._unwrapped(node, kind)
        if kind == "JsonDecoder":
            return ({**selected, "compression": packing} if packing["type"] != "none" else selected), None
        if kind == "XmlDecoder":  # the CDK reads response.text: a Content-Encoding undone, nothing else
            return {**selected, "type": "xml", "prefixes": "keep", "compression": {"type": "none"}}, None
        self._no_paging(retriever, kind)
        if selected.get("records_path"):
            extractor = retriever["record_selector"]["extractor"]
            raise self.fail(self.path(extractor, "field_path"), f"a field_path with a {kind} is not "
                            "supported yet (each item it decodes is a record)")
        if kind == "JsonItemsDecoder":
            return self._items(node, packing), None
        if kind == "IterableDecoder":
            return {"type": "lines", "compression": {"type": "none"}, "stream": True}, None
        out: dict[str, Any] = {"type": "jsonl" if kind == "JsonlDecoder" else "csv",
                               "compression": packing, "stream": packing["type"] != "zip"}
        if kind == "JsonlDecoder":
            return out, None
        out["delimiter"] = self._delimiter(node)
        out["encoding"] = self._encoding(node, kind)
        nones = node.get("set_values_to_none")
        return out, (AirbyteNoneValues(values=[v for v in nones if isinstance(v, str)]) if nones else None)

    def _unwrapped(self, node: dict[str, Any], kind: str) -> tuple[dict[str, Any], dict[str, Any], str]:
        """A GzipDecoder's or ZipfileDecoder's packing (the GzipDecoders inside it are our ``inner_gzip``
        layers: the CDK's GzipParser in a GzipParser), and the decoder inside them all."""
        packing: dict[str, Any] = {"type": _WRAPPERS[kind]}
        outer = kind
        while True:
            inner: Any = node.get("decoder")
            inner_kind = self.check(inner, self.path(node, "decoder"))
            if inner_kind == "ZipfileDecoder" or inner_kind in _TOP_ONLY:
                raise self.fail(self.path(inner), f"a {inner_kind} inside a {kind} is not supported (airbyte-cdk "
                                "refuses it too: it has no parser for it)")
            node, kind = inner, inner_kind
            if kind != "GzipDecoder":
                return packing, node, kind
            packing["inner_gzip"] = packing.get("inner_gzip", 0) + 1
            if packing["inner_gzip"] > _MAX_INNER_GZIP:
                raise self.fail(self.path(node), f"more than {_MAX_INNER_GZIP} GzipDecoders inside a {outer} "
                                "are not supported")

    def _encoding(self, node: dict[str, Any], kind: str) -> str:
        encoding = str(node.get("encoding") or "utf-8")
        try:
            return codecs.lookup(encoding).name
        except LookupError:
            raise self.fail(self.path(node, "encoding"), f"{kind}.encoding {encoding!r} is not a known text "
                            "encoding (the CDK fails on it too, when it reads)") from None

    def _dpath(self, retriever: dict[str, Any], selected: AirbyteDpathExtractor) -> AirbyteDpathExtractor:
        """A field_path with a pattern, an index or a special character: over a JSON body, gzipped or
        zipped or not."""
        node = retriever.get("decoder")
        if node is None:
            return selected
        kind = self.check(node, self.path(retriever, "decoder"))
        if kind in _WRAPPERS:
            packing, node, kind = self._unwrapped(node, kind)
            if kind == "JsonDecoder":
                return selected.model_copy(update={"compression": Compression.model_validate(packing)})
        elif kind == "JsonDecoder":
            return selected
        extractor = retriever["record_selector"]["extractor"]
        raise self.fail(self.path(extractor, "field_path"), f"a field_path with a pattern, a list index or a "
                        f"special character with a {kind} is not supported yet")

    def _items(self, node: dict[str, Any], packing: dict[str, Any]) -> dict[str, Any]:
        if packing["type"] == "zip":
            raise self.fail(self.path(node), "a JsonItemsDecoder inside a ZipfileDecoder is not supported yet")
        encoding = self._encoding(node, "JsonItemsDecoder")
        path = str(node.get("items_path") or "")
        parts = path.split(".")
        if not path or any(not p or p == "item" or any(ch in p for ch in "[]*{}") for p in parts):
            raise self.fail(self.path(node, "items_path"), f"JsonItemsDecoder.items_path {path!r} is not supported "
                            "(dotted object keys are; ijson's 'item' steps into arrays)")
        return {"type": "json_stream", "records_path": path, "compression": packing, "encoding": encoding}

    def _delimiter(self, node: dict[str, Any]) -> str:
        text = str(node.get("delimiter") or ",")
        if text.startswith("\\"):  # the CDK's CsvParser._get_delimiter
            try:
                text = text.encode("utf-8").decode("unicode_escape")
            except UnicodeDecodeError as exc:
                raise self.fail(self.path(node, "delimiter"), f"CsvDecoder.delimiter {text!r}: {exc.reason} "
                                "(the CDK cannot read it either)") from None
        if len(text) != 1:
            raise self.fail(self.path(node, "delimiter"), f"a CsvDecoder.delimiter of {len(text)} characters "
                            f"({text!r}) is not supported (Python's csv module, which the CDK uses, takes one)")
        return text

    def _no_paging(self, retriever: dict[str, Any], kind: str) -> None:
        paginator = retriever.get("paginator")
        if paginator and paginator.get("type") != "NoPagination":
            raise self.fail(self.path(retriever, "paginator"), f"a paginator over a {kind} is not supported "
                            "(airbyte-cdk refuses it too: pages are read from JSON only)")

    def place_none_values(self, out: dict[str, Any], step: Any, retriever: dict[str, Any]) -> None:
        """``set_values_to_none`` as the first transformation: the CDK does it in the parser, before the
        record filter, so a filter that runs before the transformations would see other values."""
        if step is None:
            return
        if out.get("filter") is not None:
            raise self.fail((*self.path(retriever), "record_selector", "record_filter"),
                            "a RecordFilter with CsvDecoder.set_values_to_none is not supported yet")
        out["transform"].insert(0, step)
