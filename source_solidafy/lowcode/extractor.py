"""DpathExtractor.field_path forms our ``records_path`` has no words for, with airbyte-cdk 7.39.1's
semantics: a ``*`` step (over a list's items *and* an object's values), two or more ``*``, a list
index (``"0"``, ``"-1"``).

The CDK's DpathExtractor: with a ``*`` in the path, ``dpath.values(body, path)``: every value the
path matches, in dpath's walk order (for a path of fixed length: the nested-loop order, a list by
index, an object by key order), each one record as it is (a matched list is one record, not its
items); without, ``dpath.get(body, path, default=[])``: a list's items are the records, another
value one record when it is truthy (``{}``, ``0``, ``""`` and null give none). The matching is
:func:`source_solidafy.lowcode.dpath.found`.

Our trust rule (as ``records_path``): when nothing matches, the steps before the first ``*`` (the
whole path without one) are walked; a missing key, an index past the end, or a text or number in
the way is reported as the missing records path (a first page fails the stream), where the CDK
reads no records. A null on the way is an empty page; so is a ``*`` that fans out over an empty
object or list, or whose items all lack the rest of the path (the CDK's empty result).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from source_solidafy.lowcode import dpath
from source_solidafy.manifest.decoder_parts import Compression, CompressionSpec
from source_solidafy.manifest.fields import Strict
from source_solidafy.rest import unpack as up
from source_solidafy.rest.builders import FACTORY
from source_solidafy.rest.decoders import DecodableResponse, DecodedPage, Decoder
from source_solidafy.rest.paths import describe, keys_hint


class AirbyteDpathExtractor(Strict):
    """A JSON body's records at a DpathExtractor.field_path (its steps, rendered)."""

    field_path: list[str | int] = Field(min_length=1)
    compression: CompressionSpec = Field(default_factory=Compression.model_construct)
    type: Literal["airbyte_dpath_extractor"] = "airbyte_dpath_extractor"


def records(body: Any, glob: list[Any]) -> tuple[list[Any], bool]:
    """The CDK's records at ``glob`` in ``body``, and whether the path matched anything."""
    matches = dpath.found(body, glob) if isinstance(body, (dict, list)) else []
    if "*" in glob:
        return matches, bool(matches)
    got = matches[0] if matches else []
    if isinstance(got, list):
        return got, bool(matches)
    return ([got] if got else []), bool(matches)


def _index(step: Any, node: list[Any]) -> int | None:
    if type(step) is not int:  # dpath matches an index with int() of the step: the CDK's typed steps
        return None
    wanted = step
    return wanted if -len(node) <= wanted < len(node) else None


def why_missing(body: Any, glob: list[Any]) -> str | None:
    """Why the steps before the first ``*`` lead nowhere (None: they do, or meet a null)."""
    node, where = body, "the response"
    prefix = glob[: glob.index("*")] if "*" in glob else glob
    for i, step in enumerate(prefix):
        if node is None:
            return None
        if isinstance(node, dict):
            if step not in node:
                return f"no key {step!r} in {where}{keys_hint(str(step), node, prefer_lists=True)}"
            node = node[step]
        elif isinstance(node, list):
            position = _index(step, node)
            if position is None:
                return f"{where} is a list of {len(node)}, with no item [{step}]"
            node = node[position]
        else:
            return f"{where} is {describe(node)}, not an object or a list"
        where = f"{prefix[: i + 1]}"
    if "*" in glob and node is not None and not isinstance(node, (dict, list)):
        return f"{where} is {describe(node)}, not an object or a list"
    return None


class DpathRecords(Decoder):
    """Reads a JSON body's records at a DpathExtractor.field_path (see the module)."""

    def __init__(self, glob: list[Any]) -> None:
        self.glob = glob

    def decode(self, response: DecodableResponse) -> DecodedPage:
        if not response.content.strip():
            return DecodedPage(None, [])
        body = response.json()
        found, matched = records(body, self.glob)
        why = None if matched else why_missing(body, self.glob)
        if why is None:
            return DecodedPage(body, found)
        return DecodedPage(body, [], f"DpathExtractor.field_path {self.glob} matched nothing in "
                                     f"{response.method} {response.url}: {why}")


@FACTORY.register(AirbyteDpathExtractor, DpathRecords, up.Unpacking, slot="decoder")
def _dpath_records(spec: AirbyteDpathExtractor, key: str) -> Decoder:
    return up.Unpacking(DpathRecords(list(spec.field_path)), FACTORY.build(spec.compression, None, up.Packing))
