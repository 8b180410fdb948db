"""xml_tree: xmltodict 0.14's shape (EXPECTED is what xmltodict 0.14.2 gives for DOCS; the airbyte
differential case compares against it too) and the bounds."""

from __future__ import annotations

from typing import Any
from xml.parsers.expat import ExpatError

import pytest

from source_solidafy.rest.xml_tree import MAX_DEPTH, XmlRefused, as_mapping

DOCS = [
    b'<r a="1"><i>x</i><i>y</i><e/><t k="v">txt</t></r>',
    b"<r>before<c>1</c>between<c>2</c>after</r>",  # all the text, joined, is #text
    b'<ns:r xmlns:ns="urn:x" xmlns="urn:d"><ns:i ns:a="1">v</ns:i><i>w</i></ns:r>',
    b"<r><![CDATA[ <raw> ]]><!-- dropped --><?pi dropped?></r>",
    b"<r>&amp;&lt;&#233;&#x1F600;</r>",
    "<r><n>caf\u00e9</n></r>".encode("utf-16"),
    b'<?xml version="1.0" encoding="ISO-8859-1"?><r><n>caf\xe9</n></r>',
    b"<r>  <a>  </a>\n</r>",
    b"<r/>",
]

EXPECTED: list[Any] = [
    {"r": {"@a": "1", "i": ["x", "y"], "e": None, "t": {"@k": "v", "#text": "txt"}}},
    {"r": {"c": ["1", "2"], "#text": "beforebetweenafter"}},
    {"ns:r": {"@xmlns:ns": "urn:x", "@xmlns": "urn:d", "ns:i": {"@ns:a": "1", "#text": "v"}, "i": "w"}},
    {"r": "<raw>"},
    {"r": "&<\u00e9\U0001F600"},
    {"r": {"n": "caf\u00e9"}},
    {"r": {"n": "caf\u00e9"}},
    {"r": {"a": None}},
    {"r": None},
]


@pytest.mark.parametrize(("doc", "expected"), zip(DOCS, EXPECTED, strict=True))
def test_xml_tree_shape(doc: bytes, expected: Any) -> None:
    assert as_mapping(doc) == expected


def test_xml_tree_strips_prefixes_when_asked() -> None:
    assert as_mapping(DOCS[2], keep_prefixes=False) == {"r": {"i": [{"@a": "1", "#text": "v"}, "w"]}}


def test_xml_tree_charset_wins() -> None:
    assert as_mapping("<r>caf\u00e9</r>".encode("latin-1"), charset="latin-1") == {"r": "caf\u00e9"}


@pytest.mark.parametrize("doc", [
    b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><r>&b;</r>',
    b'<!DOCTYPE r [<!ENTITY a "x">]><r k="&a;"/>',
    b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
    b'<!DOCTYPE r [<!ENTITY u SYSTEM "http://127.0.0.1:1/u" NDATA gif>]><r/>',
    b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:1/p"> %p;]><r/>',
    b'<!DOCTYPE r SYSTEM "http://127.0.0.1:1/x.dtd"><r/>',
    b'<!DOCTYPE r PUBLIC "-//x//y" "http://127.0.0.1:1/x.dtd"><r/>',
])
def test_xml_tree_refuses_entities_and_external_dtds(doc: bytes) -> None:
    with pytest.raises(XmlRefused, match="refused"):
        as_mapping(doc)


def test_xml_tree_depth_is_bounded() -> None:
    assert as_mapping(b"<a>" * MAX_DEPTH + b"</a>" * MAX_DEPTH)  # the limit itself is fine
    with pytest.raises(XmlRefused, match=f"deeper than {MAX_DEPTH}"):
        as_mapping(b"<a>" * 100_000 + b"</a>" * 100_000)


def test_xml_tree_undeclared_entity_is_an_error() -> None:
    with pytest.raises(ExpatError, match="undefined entity"):
        as_mapping(b"<r>&nope;</r>")
