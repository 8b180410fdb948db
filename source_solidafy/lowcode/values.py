"""Manifest values handed to our engine: each Airbyte template becomes ``{{ _ab(N, config, partition) }}``.

The table evaluates value N with the CDK's interpolation (see interpolation.py) when our engine renders
it; ``stream_slice`` (and its aliases) is the partition being read. Static values are passed as they are.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

import orjson

from source_solidafy.errors import TemplateError
from source_solidafy.lowcode.cursor import SYNC_BOUNDS
from source_solidafy.lowcode.interpolation import Interpolated, is_static, make_environment
from source_solidafy.lowcode.parents import REPEAT_KEY
from source_solidafy.manifest.templates import Namespace, TemplateString


def _plain(value: Any) -> dict[str, Any]:
    """A config or partition as a dict (a partition without the marker of a repeated parent record)."""
    data = dict(value._ns_data) if isinstance(value, Namespace) else dict(value or {})
    data.pop(REPEAT_KEY, None)
    data.pop(SYNC_BOUNDS, None)
    return data


_FALSE_VALUES = ("False", "false", "{}", "[]", "()", "", "0", "0.0", False, None)  # and the empty collections


class SliceValue:
    """A partition value injected as it is (a RequestOption of a cursor or router): no literal_eval."""

    def __init__(self, field: str) -> None:
        self.field = field


def join_url(url_base: str, path: str | None) -> str:
    """The CDK's ``HttpRequester._join_url`` (the path arrives without its leading slashes)."""
    if path == "" or path is None:
        return url_base
    if not url_base.endswith("/"):
        url_base += "/"
    return urljoin(url_base, path)


def _key(value: Any) -> Any:
    """What makes two values the same one: text, parameters and place in the YAML (None: not shared)."""
    if isinstance(value, Interpolated):
        return value.text, orjson.dumps(value.parameters, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str), value.where
    if isinstance(value, tuple) and all(isinstance(v, Interpolated) for v in value):
        return tuple(_key(v) for v in value)
    return None


class TemplateTable:
    """The manifest's Airbyte values, evaluated on demand by the engine's templates."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.env = make_environment()
        self.env.globals.update(_ab=self.text, _ab_body=self.body, _ab_url=self.url, _ab_field=self.field,
                                _ab_keep=self.keep)
        self._index: dict[Any, int] = {}  # a value reached through several $refs is kept once
        self._templates: dict[tuple[str, bool], TemplateString] = {}  # ... and compiled once

    def _add(self, value: Any) -> int:
        key = _key(value)
        if key is not None and key in self._index:
            return self._index[key]
        self.values.append(value)
        if key is not None:
            self._index[key] = len(self.values) - 1
        return len(self.values) - 1

    def _compiled(self, source: str, where: str, lenient: bool = False) -> TemplateString:
        known = self._templates.get((source, lenient))
        if known is None:
            known = self._templates[(source, lenient)] = TemplateString(source, where=where, lenient=lenient)
            known.compile(self.env)
        tmpl = copy.copy(known)  # shares the compiled template
        tmpl.where = where
        return tmpl

    def template(self, value: Interpolated | str, where: str, lenient: bool = False) -> TemplateString:
        """An engine template for one value (static text stays as it is)."""
        if isinstance(value, str):
            return TemplateString(value, where=where, lenient=lenient)
        if is_static(value.text):
            return TemplateString(value.text, where=where, lenient=lenient)
        return self._compiled(f"{{{{ _ab({self._add(value)}, config, partition) }}}}", where, lenient)

    def slice_value(self, field: str, where: str) -> TemplateString:
        return self._compiled(f"{{{{ partition[{orjson.dumps(field).decode()}] }}}}", where, lenient=True)

    def body_template(self, body: Any, where: str) -> TemplateString:
        """A JSON body (mapping with Interpolated / SliceValue leaves), rendered to JSON text."""
        return self._compiled(f"{{{{ _ab_body({self._add(body)}, config, partition) }}}}", where)

    def url_template(self, url_base: Interpolated, path: Interpolated, where: str) -> TemplateString:
        n = self._add((url_base, path))
        return self._compiled(f"{{{{ _ab_url({n}, config, partition) }}}}", where)

    def keep_template(self, value: Interpolated) -> TemplateString:
        """A RecordFilter condition as our stream ``filter`` (see :meth:`keep`)."""
        return self._compiled(f"{{{{ _ab_keep({self._add(value)}, config, partition, record) }}}}", value.where)

    def field_template(self, value: Interpolated) -> TemplateString:
        """An AddFields value for our ``set`` step (see :meth:`field`)."""
        return self._compiled(f"{{{{ _ab_field({self._add(value)}, config, partition, record) }}}}", value.where)

    # -- called by the engine's templates ------------------------------------------------------------

    def _eval(self, value: Interpolated, config: Any, partition: Any) -> Any:
        try:
            return value.eval(_plain(config), stream_slice=_plain(partition))
        except (ValueError, TypeError, LookupError, ArithmeticError) as exc:
            raise TemplateError(f"{value.where}: {exc}") from None

    def text(self, n: int, config: Any, partition: Any) -> str:
        value = self._eval(self.values[n], config, partition)
        return "" if value is None else str(value)

    def field(self, n: int, config: Any, partition: Any, record: Any) -> str:
        """The CDK's typed value as the text our ``set`` step turns back into exactly that value.

        Our set step keeps strings, turns ``True``/``False`` into booleans and short digit strings into
        integers; a value it cannot carry exactly (a float, null, list, mapping, or a string it would
        change) fails the stream instead of being written differently.
        """
        value = self.values[n]
        try:
            got = value.eval(_plain(config), stream_slice=_plain(partition), record=record)
        except (ValueError, TypeError, LookupError, ArithmeticError) as exc:
            raise TemplateError(f"{value.where}: {exc}") from None
        if isinstance(got, bool) or (isinstance(got, int) and len(str(got)) < 19):
            return str(got)
        if isinstance(got, str) and got not in ("True", "False") and not (
                got.lstrip("-").isdigit() and len(got) < 19):
            return got
        raise TemplateError(f"{value.where}: AddFields value of type {type(got).__name__} needs a typed set step "
                            "(not supported yet)")

    def keep(self, n: int, config: Any, partition: Any, record: Any) -> bool:
        """The CDK's InterpolatedBoolean: false when the value (``False`` when empty) is one of its FALSE_VALUES."""
        value = self.values[n]
        try:
            got = value.eval(_plain(config), "False", stream_slice=_plain(partition), record=record)
        except (ValueError, TypeError, LookupError, ArithmeticError) as exc:
            raise TemplateError(f"{value.where}: {exc}") from None
        if isinstance(got, (dict, list, set, tuple)):
            return bool(got)
        return got not in _FALSE_VALUES

    def body(self, n: int, config: Any, partition: Any) -> str:
        part = _plain(partition)

        def walk(node: Any) -> Any:
            if isinstance(node, Interpolated):
                return self._eval(node, config, partition) if not is_static(node.text) else node.text
            if isinstance(node, SliceValue):
                return part.get(node.field)
            if isinstance(node, Mapping):
                return {k: walk(v) for k, v in node.items()}
            if isinstance(node, list):
                return [walk(v) for v in node]
            return node

        return orjson.dumps(walk(self.values[n]), default=str).decode()

    def url(self, n: int, config: Any, partition: Any) -> str:
        base, path = self.values[n]
        base_text = self.text_of(base, config, partition)
        path_text = self.text_of(path, config, partition).lstrip("/")
        return join_url(base_text, path_text)

    def text_of(self, value: Interpolated, config: Any, partition: Any) -> str:
        got = self._eval(value, config, partition) if not is_static(value.text) else value.text
        return "" if got is None else str(got)
