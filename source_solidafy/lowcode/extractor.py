"""DpathExtractor.field_path forms our ``records_path`` has no words for, with airbyte-cdk 7.39.1's
semantics: dpath patterns (``*``, ``**``, a glob inside a key: ``d?ta``, ``it*ms``, ``[ab]*``), list
indexes (``0``, ``-1``), keys with special characters.

The CDK's DpathExtractor: with a ``*`` step in the path, ``dpath.values(body, path)``: every value the
path matches, in dpath's walk order (a node's children, then each child's subtree; a list by index,
an object by key order), each one record as it is (a matched list is one record, not its items);
without, ``dpath.get(body, path, default=[])``: the one value it matches (a second fails the stream,
as dpath.get raises), a list's items being the records, another value one record when it is truthy
(``{}``, ``0``, ``""`` and null give none). ``**`` is one or more steps, or none (``[data, "**"]``
matches ``data`` itself). The matching is :func:`source_solidafy.lowcode.dpath.found`.

Our trust rule (as ``records_path``): when nothing matches, the steps before the first pattern (the
whole path without one) are walked; a missing key, an index past the end, or a text or number in the
way is reported as the missing records path (a first page fails the stream), where the CDK reads no
records; so is a key pattern that no key (or index) there matches. A null on the way is an empty page;
so is a ``*`` or ``**`` over an empty object or list, or whose values all lack the rest of the path
(the CDK's empty result).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from source_solidafy import jsoncodec
from source_solidafy.errors import StreamError
from source_solidafy.lowcode import dpath
from source_solidafy.manifest.decoder_parts import Compression, CompressionSpec
from source_solidafy.manifest.fields import Strict, Template, new_list
from source_solidafy.manifest.pyd import Field
from source_solidafy.manifest.templates import TemplateString, build_context
from source_solidafy.rest import unpack as up
from source_solidafy.rest.builders import FACTORY
from source_solidafy.rest.decoders import DecodableResponse, DecodedPage, Decoder
from source_solidafy.rest.paths import describe, keys_hint


class AirbyteDpathExtractor(Strict):
    """A JSON body's records at a DpathExtractor.field_path: its steps, rendered; or ``templates``, steps
    that read the config (each the JSON text of its typed value), rendered once, at the first page."""

    field_path: list[str | int] = Field(default_factory=new_list)
    templates: list[Template] = Field(default_factory=new_list)
    compression: CompressionSpec = Field(default_factory=Compression.model_construct)
    type: Literal["airbyte_dpath_extractor"] = "airbyte_dpath_extractor"


def bad_step(step: Any) -> str | None:
    """Why a field_path step, typed, is not one we match as dpath would (None: it is)."""
    if (isinstance(step, str) and step) or type(step) is int:
        return None
    return f"field_path part {step!r} is not supported yet (values that are not text or integers, an empty text)"


class TooManyMatches(Exception):
    """dpath.get found two values (the CDK's extractor raises: its stream fails)."""


def records(body: Any, glob: list[Any]) -> tuple[list[Any], bool]:
    """The CDK's records at ``glob`` in ``body``, and whether the path matched anything. A top-level
    list is what the CDK's JsonDecoder makes of it: each item a body of its own."""
    found: list[Any] = []
    matched = False
    for item in body if isinstance(body, list) else [body]:
        got, hit = _records(item, glob)
        found.extend(got)
        matched = matched or hit
    return found, matched


def _records(body: Any, glob: list[Any]) -> tuple[list[Any], bool]:
    if not isinstance(body, (dict, list)):
        return [], False
    if "*" in glob:
        matches = dpath.found(body, glob)
        return matches, bool(matches)
    matches = dpath.found(body, glob, limit=2)
    if len(matches) > 1:
        raise TooManyMatches
    got = matches[0] if matches else []
    if isinstance(got, list):
        return got, bool(matches)
    return ([got] if got else []), bool(matches)


def _index(step: Any, node: list[Any]) -> int | None:
    if type(step) is not int:  # dpath matches an index with int() of the step: the CDK's typed steps
        return None
    wanted = step
    return wanted if -len(node) <= wanted < len(node) else None


def _pattern_misses(node: Any, step: Any, where: str) -> str | None:
    """Why a key pattern (``d?ta``) finds nothing in ``node`` (None: it finds something, or fans out)."""
    if node is None:
        return None
    if not isinstance(node, (dict, list)):
        return f"{where} is {describe(node)}, not an object or a list"
    if step in ("*", "**"):
        return None
    if isinstance(node, dict):
        if any(dpath.segment_matches(key, step) for key in node):
            return None
        return f"no key matching {step!r} in {where}{keys_hint(str(step), node, prefer_lists=True)}"
    if any(dpath.segment_matches(i, step) for i in range(len(node))):
        return None
    return f"{where} is a list of {len(node)}, with no item matching [{step}]"


def why_missing(body: Any, glob: list[Any]) -> str | None:
    """Why the steps before the first pattern lead nowhere (None: they do, or meet a null); in a
    top-level list, in its first item."""
    node, where = body, "the response"
    if isinstance(body, list):
        if not body:
            return None
        node, where = body[0], "the response's first item"
    for i, step in enumerate(glob):
        if node is None:
            return None
        if not dpath.is_plain([step]):
            return _pattern_misses(node, step, where)
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
        where = f"{glob[: i + 1]}"
    return None


class DpathRecords(Decoder):
    """Reads a JSON body's records at a DpathExtractor.field_path (see the module)."""

    def __init__(self, glob: list[Any], templates: list[TemplateString] | None = None) -> None:
        self.glob: list[Any] | None = None if templates else glob
        self.templates = templates or []
        self.config: Mapping[str, Any] = {}

    def bind(self, config: Mapping[str, Any]) -> None:
        self.config = config

    def _path(self) -> list[Any]:
        """The steps; those that read the config rendered against it once (the CDK renders them on
        each page, against the same config)."""
        if self.glob is None:
            ctx = build_context(self.config)
            steps = [jsoncodec.loads(t.render(ctx)) for t in self.templates]
            problem = dpath.check_glob(steps) or next(filter(None, map(bad_step, steps)), None)
            if problem is not None:
                raise StreamError(f"DpathExtractor.field_path {steps} (from the config): {problem}")
            self.glob = steps
        return self.glob

    def decode(self, response: DecodableResponse) -> DecodedPage:
        if not response.content.strip():
            return DecodedPage(None, [])
        body, glob = response.json(), self._path()
        try:
            found, matched = records(body, glob)
        except TooManyMatches:
            raise StreamError(f"DpathExtractor.field_path {glob} matches more than one value in "
                              f"{response.method} {response.url} (dpath.get refuses it: the CDK fails the "
                              "stream too)") from None
        why = None if matched else why_missing(body, glob)
        if why is None:
            return DecodedPage(body, found)
        return DecodedPage(body, [], f"DpathExtractor.field_path {glob} matched nothing in "
                                     f"{response.method} {response.url}: {why}")


@FACTORY.register(AirbyteDpathExtractor, DpathRecords, up.Unpacking, slot="decoder")
def _dpath_records(spec: AirbyteDpathExtractor, key: str) -> Decoder:
    return up.Unpacking(DpathRecords(list(spec.field_path), list(spec.templates)),
                        FACTORY.build(spec.compression, None, up.Packing))
