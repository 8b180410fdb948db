"""An XML body as the mapping xmltodict 0.14 makes of it (airbyte-cdk's XmlDecoder), read with the
standard library's expat, bounded for hostile input.

    as_mapping(b'<r a="1"><i>x</i><i>y</i></r>', keep_prefixes=True)
    # -> {"r": {"@a": "1", "i": ["x", "y"]}}

The shape: an element's attributes are ``@name`` keys, its child elements are keys (a name seen twice
becomes a list, in document order), its text (all of it, between children too, joined then
stripped) is ``#text`` when it has attributes or children, else the element is just its text (None
when empty). Comments and processing instructions are dropped. Names are kept as written
(``ns:item``, ``@xmlns:ns``: no namespace processing, as xmltodict by default) or, with
``keep_prefixes=False``, without their prefix and without ``xmlns`` attributes.

Hostile documents: the body size is bounded by the caller (``http.max_response_mb``); any entity
declaration is refused, which rules out billion laughs and quadratic blowup (Python 3.11's expat
2.4+ also limits entity amplification, but only past 8 MB of expansion), and a DOCTYPE naming an
external DTD is refused (expat never fetches anything: pyexpat has no resolver; external parameter
entities are never parsed); elements nested deeper than ``MAX_DEPTH`` are refused (expat has no such
limit; orjson cannot write records nested much deeper anyway).
"""

from __future__ import annotations

from typing import Any
from xml.parsers import expat

MAX_DEPTH = 256


class XmlRefused(ValueError):
    """A document refused for what it declares or how deep it nests (the message says which)."""


class _Builder:
    """xmltodict's _DictSAXHandler with its defaults (no postprocessor, no force_list)."""

    def __init__(self, keep_prefixes: bool) -> None:
        self.keep = keep_prefixes
        self.stack: list[tuple[dict[str, Any] | None, list[str]]] = []
        self.item: dict[str, Any] | None = None
        self.data: list[str] = []

    def _name(self, name: str) -> str:
        return name if self.keep else name.rsplit(":", 1)[-1]

    def start(self, name: str, attrs: list[str]) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise XmlRefused(f"elements nested deeper than {MAX_DEPTH} levels")
        self.stack.append((self.item, self.data))
        pairs = zip(attrs[0::2], attrs[1::2], strict=True)
        if not self.keep:
            pairs = ((k, v) for k, v in pairs if k != "xmlns" and not k.startswith("xmlns:"))  # type: ignore[assignment]
        self.item = {f"@{self._name(k)}": v for k, v in pairs} or None
        self.data = []

    def end(self, name: str) -> None:
        text = "".join(self.data).strip() or None
        item = self.item
        self.item, self.data = self.stack.pop()
        if item is not None:
            if text:
                _push(item, "#text", text)
            self.item = _push(self.item, self._name(name), item)
        else:
            self.item = _push(self.item, self._name(name), text)

    def characters(self, text: str) -> None:
        self.data.append(text)


def _push(item: dict[str, Any] | None, key: str, value: Any) -> dict[str, Any]:
    if item is None:
        item = {}
    if key not in item:
        item[key] = value
    elif isinstance(item[key], list):
        item[key].append(value)
    else:
        item[key] = [item[key], value]
    return item


def _refuse_entity(*_: Any) -> None:
    raise XmlRefused("the document declares entities (refused: entity expansion and external entities)")


def _refuse_external_entity(context: str, base: str | None, sysid: str | None, pubid: str | None) -> int:
    raise XmlRefused(f"the document references an external entity ({sysid or pubid}); refused, never fetched")


def _refuse_external_dtd(name: str, sysid: str | None, pubid: str | None, internal: int) -> None:
    if sysid or pubid:
        raise XmlRefused(f"the document's DOCTYPE names an external DTD ({sysid or pubid}); refused, never fetched")


def as_mapping(content: bytes, keep_prefixes: bool = True, charset: str | None = None) -> dict[str, Any]:
    """The document as xmltodict maps it (``{root_name: ...}``). ``charset`` (the Content-Type's)
    overrides the document's own encoding, as the CDK's ``response.text`` does. Raises
    :class:`XmlRefused` or ``expat.ExpatError``."""
    if charset:
        content = content.decode(charset).encode("utf-8")
    parser = expat.ParserCreate("utf-8" if charset else None)
    parser.ordered_attributes = True
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    builder = _Builder(keep_prefixes)
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.characters
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_external_entity
    parser.StartDoctypeDeclHandler = _refuse_external_dtd
    parser.Parse(content, True)
    return builder.item or {}
