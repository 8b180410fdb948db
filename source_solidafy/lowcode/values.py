"""Manifest values handed to our engine: each Airbyte template becomes ``{{ _ab(N, config, partition) }}``.

The table evaluates value N with the CDK's interpolation (see interpolation.py) when our engine renders
it; ``stream_slice`` (and its aliases) is the partition being read. Static values are passed as they are.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import orjson

from source_solidafy import jsoncodec
from source_solidafy.errors import TemplateError
from source_solidafy.lowcode.cursor import SYNC_BOUNDS
from source_solidafy.lowcode.interpolation import Interpolated, StreamSlice, is_static, make_environment
from source_solidafy.lowcode.parents import EXTRA_KEY, REPEAT_KEY
from source_solidafy.manifest.templates import Namespace, TemplateString, is_template_text


def _plain(value: Any) -> dict[str, Any]:
    """A config or partition as a dict (a partition without the marker of a repeated parent record)."""
    data = dict(value._ns_data) if isinstance(value, Namespace) else dict(value or {})
    data.pop(REPEAT_KEY, None)
    data.pop(SYNC_BOUNDS, None)
    return data


def stream_slice(partition: Any) -> StreamSlice:
    """A partition as the CDK's templates see its StreamSlice: its values, and the parent record's
    extra_fields apart (``stream_slice.extra_fields``; parents.py)."""
    data = _plain(partition)
    return StreamSlice(data, data.pop(EXTRA_KEY, None) or {})


_FALSE_VALUES = ("False", "false", "{}", "[]", "()", "", "0", "0.0", False, None)  # and the empty collections


@dataclass(frozen=True)
class AddedValue:
    """An AddedFieldDefinition's value, its ``value_type`` as Python types, and AddFields' condition
    (which reads ``value`` and ``path`` too)."""

    value: Interpolated
    valid_types: tuple[type, ...] | None = None
    condition: Interpolated | None = None
    path: tuple[str, ...] = ()
    empty_is_none: bool = False  # an InterpolatedMapping's value (else an InterpolatedString's: ``""``)


def _json_key(key: Any, where: str) -> str:
    """A mapping key as ``json.dumps`` writes it (the CDK's serializer falls back to it for these)."""
    if isinstance(key, str):
        return key
    if isinstance(key, (bool, type(None), int, float)):
        return json.dumps(key)
    raise TemplateError(f"{where}: AddFields value has a {type(key).__name__} key, which JSON cannot hold "
                        "(the CDK's sync fails on it)")


def _jsonable(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, where) for v in value]
    if isinstance(value, dict):
        return {_json_key(k, where): _jsonable(v, where) for k, v in value.items()}
    raise TemplateError(f"{where}: AddFields value {type(value).__name__} is not JSON "
                        "(the CDK's sync fails on it: a record that cannot be serialized)")


def json_text(value: Any, where: str) -> str:
    """A typed AddFields value as the JSON the CDK writes for it (infinities and NaN as null, as orjson)."""
    return jsoncodec.dumps(_jsonable(value, where)).decode()


def is_true(value: Any) -> bool:
    """The CDK's InterpolatedBoolean of an evaluated value: false when it is one of its FALSE_VALUES."""
    if isinstance(value, (dict, list, set, tuple)):
        return bool(value)
    return value not in _FALSE_VALUES


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


_DIRECT = re.compile(r"\{\{ (_ab|_ab_body|_ab_url)\((\d+), config, partition\) \}\}")  # as TemplateTable writes them


class TableTemplate(TemplateString):
    """A template of the table's own environment (its ``_ab`` helpers): a copy from the
    validated-manifest cache (manifest/cache.py) is compiled there again, not in the default one.

    ``{{ _ab(N, config, partition) }}`` (and ``_ab_body``, ``_ab_url``) is rendered by calling the
    helper as jinja would, without jinja: the same text, the same TemplateError on a failure. A read
    whose values are all plain lookups then never imports jinja (~3% of its start-up instructions)."""

    __slots__ = ("table", "_direct")

    def __init__(self, source: str, where: str = "", lenient: bool = False, table: TemplateTable | None = None) -> None:
        super().__init__(source, where, lenient)
        self.table = table
        match = _DIRECT.fullmatch(source)
        self._direct = (match.group(1), int(match.group(2))) if match else None

    def render(self, ctx: Mapping[str, Any], **extra: Any) -> str:
        direct, table = self._direct, self.table
        if direct is None or table is None or extra or "config" not in ctx or "partition" not in ctx \
                or direct[0] in ctx:  # a name of the context would shadow the helper in jinja
            return super().render(ctx, **extra)
        helper = {"_ab": table.text, "_ab_body": table.body, "_ab_url": table.url}[direct[0]]
        try:
            return str(helper(direct[1], ctx["config"], ctx["partition"]))
        except Exception as exc:
            from source_solidafy.manifest import jinja_env

            if isinstance(exc, jinja_env.RENDER_ERRORS):
                raise TemplateError(jinja_env.describe_failure(self, exc)) from None
            raise

    def compile(self, env: Any = None, where: str | None = None, lenient: bool | None = None) -> TemplateString:
        return super().compile(env if env is not None or self.table is None else self.table.env, where, lenient)

    def __copy__(self) -> TableTemplate:
        twin = TableTemplate(self.source, self.where, self.lenient, self.table)  # its _direct made again
        twin._template = self._template
        return twin

    def __reduce__(self) -> tuple[Any, ...]:
        return (TableTemplate, (self.source, self.where, self.lenient, self.table))


class TemplateTable:
    """The manifest's Airbyte values, evaluated on demand by the engine's templates."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._index: dict[Any, int] = {}  # a value reached through several $refs is kept once
        self._templates: dict[tuple[str, bool], TemplateString] = {}  # ... and compiled once
        self._env: Any = None

    @property
    def env(self) -> Any:
        """The table's jinja environment, made on first need (TableTemplate renders most without it)."""
        if self._env is None:
            self._env = make_environment()
            self._env.globals.update(_ab=self.text, _ab_body=self.body, _ab_url=self.url, _ab_field=self.field,
                                     _ab_keep=self.keep, _ab_holds=self.holds, _ab_affix=self.affix)
        return self._env

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its jinja environment (made again on first need) nor compiled templates."""
        return {"values": self.values, "_index": self._index, "_templates": {}}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._env = None

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
            known = self._templates[(source, lenient)] = TableTemplate(source, where, lenient, self)
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

    def field_template(self, added: AddedValue) -> TemplateString:
        """An AddFields value as JSON text for our AddFields step (see :meth:`field`); a value without
        template and condition is that JSON text, computed once."""
        value = added.value
        if added.condition is None and not is_template_text(value.text):
            default = None if added.empty_is_none else value.text
            text = json_text(value.eval({}, default, added.valid_types), value.where)
            if not is_template_text(text):
                return TemplateString(text, where=value.where)
        return self._compiled(f"{{{{ _ab_field({self._add(added)}, config, partition, record) }}}}", value.where)

    def typed_template(self, value: Interpolated, empty_is_none: bool = False) -> TemplateString:
        """A value of the config's (an authenticator's) as the JSON text of the CDK's typed value."""
        added = AddedValue(value, empty_is_none=empty_is_none)
        if not is_template_text(value.text):
            return self.field_template(added)
        return self._compiled(f"{{{{ _ab_field({self._add(added)}, config) }}}}", value.where)

    def affix_template(self, value: Interpolated) -> TemplateString:
        """A KeyTransformation prefix/suffix (see :meth:`affix`)."""
        return self._compiled(f"{{{{ _ab_affix({self._add(value)}, config) }}}}", value.where)

    def holds_template(self, value: Interpolated) -> TemplateString:
        """A RemoveFields condition (see :meth:`holds`)."""
        return self._compiled(f"{{{{ _ab_holds({self._add(value)}, config, property) }}}}", value.where)

    # -- called by the engine's templates ------------------------------------------------------------

    def _eval(self, value: Interpolated, config: Any, partition: Any) -> Any:
        try:
            return value.eval(_plain(config), stream_slice=stream_slice(partition))
        except (ValueError, TypeError, LookupError, ArithmeticError) as exc:
            raise TemplateError(f"{value.where}: {exc}") from None

    def text(self, n: int, config: Any, partition: Any) -> str:
        value = self._eval(self.values[n], config, partition)
        return "" if value is None else str(value)

    def field(self, n: int, config: Any, partition: Any = None, record: Any = None) -> str:
        """An AddFields value as JSON text (see :class:`AddedValue`); empty when its condition says no."""
        added: AddedValue = self.values[n]
        value, where = added.value, added.value.where
        default = None if added.empty_is_none else value.text
        try:
            got = value.eval(_plain(config), default, added.valid_types, added.empty_is_none,
                             stream_slice=stream_slice(partition), record=record)
        except (ValueError, TypeError, LookupError, ArithmeticError) as exc:
            raise TemplateError(f"{where}: {exc}") from None
        if added.condition is not None and not self._truth(added.condition, config, value=got, path=list(added.path),
                                                           stream_slice=stream_slice(partition), record=record):
            return ""
        return json_text(got, where)

    def _truth(self, condition: Interpolated, config: Any, **context: Any) -> bool:
        """The CDK's InterpolatedBoolean: false when the value (``False`` when empty) is one of its FALSE_VALUES."""
        try:
            got = condition.eval(_plain(config), "False", **context)
        except (ValueError, TypeError, LookupError, ArithmeticError) as exc:
            raise TemplateError(f"{condition.where}: {exc}") from None
        return is_true(got)

    def keep(self, n: int, config: Any, partition: Any, record: Any) -> bool:
        return self._truth(self.values[n], config, stream_slice=stream_slice(partition), record=record)

    def affix(self, n: int, config: Any) -> str:
        """A KeyTransformation prefix/suffix as the CDK makes it once: its typed value for the config
        (``"1e3"`` is ``1000.0``), as text, none when that value is false (``0``, ``None``, ``""``)."""
        value = self._eval(self.values[n], config, None)
        return str(value) if value else ""

    def holds(self, n: int, config: Any, prop: Any) -> bool:
        """A RemoveFields condition for one leaf (``property``)."""
        return self._truth(self.values[n], config, property=prop)

    def body(self, n: int, config: Any, partition: Any) -> str:
        part = stream_slice(partition)

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
