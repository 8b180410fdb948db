"""The parts of a stream's translation: cursor, partition router, selector, paginator, schema, transforms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from source_solidafy.lowcode import components as c
from source_solidafy.lowcode import dpath
from source_solidafy.lowcode.clamping import clamp_of
from source_solidafy.lowcode.cursor import DatetimeSlices, MinMax
from source_solidafy.lowcode.durations import parse_duration
from source_solidafy.lowcode.extractor import AirbyteDpathExtractor, bad_step
from source_solidafy.lowcode.fields import add_fields, dpath_flatten, remove_fields
from source_solidafy.lowcode.interpolation import Interpolated, is_static, literal
from source_solidafy.lowcode.paging import AirbytePaging
from source_solidafy.lowcode.parents import AirbyteParent
from source_solidafy.lowcode.partition_cursor import PerPartitionCursor
from source_solidafy.lowcode.resolve import PARAMETERS
from source_solidafy.lowcode.transforms import (
    AirbyteFlatten,
    AirbyteKeys,
    AirbyteKeysReplace,
)
from source_solidafy.lowcode.translate_core import Injected, TranslatorCore, Unsupported
from source_solidafy.manifest.partition_parts import ListPartition

CONFIG_VARS = {"config", "parameters"}
PAGE_VARS = {"config", "parameters", "response", "headers", "last_record", "last_page_size", "page_size",
             "stream_slice", "stream_partition", "stream_interval"}
RECORD_VARS = {"config", "parameters", "record", "stream_slice", "stream_partition", "stream_interval"}
_NOT_IN_KEYS = frozenset(".[]$*?\"'\\")  # what a records_path key cannot hold (or a dpath pattern is made of)


def _static(t: TranslatorCore, node: dict[str, Any], key: str, what: str) -> str:
    """A value that must not depend on the config: evaluated once, at load time."""
    item = t.interp(node, key, CONFIG_VARS)
    if not is_static(item.text) and "config" in item.text:
        raise t.fail(t.path(node, key), f"a {what} that depends on the config is not supported yet")
    value = item.eval({})
    return "" if value is None else str(value)


def _config_duration(t: TranslatorCore, node: dict[str, Any], key: str) -> Interpolated | None:
    """A ``step`` or ``lookback_window`` reading the config: the CDK renders it with the config when it builds
    the cursor, ours when the stream is read (DatetimeSlices.duration). None for a static one (checked here)."""
    if not node.get(key):
        return None
    item = t.interp(node, key, CONFIG_VARS)
    return item if not is_static(item.text) and "config" in item.text else None


def _extra_fields(t: TranslatorCore, parent: dict[str, Any]) -> list[list[str]]:
    """ParentStreamConfig.extra_fields: paths of text steps, each matched as dpath.get matches it (parents.py).
    A step the CDK's interpolation makes a number, boolean or None (``"1"``, ``"True"``) fails its stream when
    it joins the path, and fails here; a first step is a plain key (a shared parent record keeps it whole)."""
    out: list[list[str]] = []
    for i, path in enumerate(parent.get("extra_fields") or []):
        at = (*t.path(parent, "extra_fields"), i)
        if not isinstance(path, list) or not path or not all(isinstance(s, str) and s for s in path):
            raise t.fail(at, "an extra_fields path must be a non-empty list of non-empty text")
        if any("{" in s for s in path):
            raise t.fail(at, "a templated extra_fields step is not supported yet")
        typed = next((s for s in path if not isinstance(literal(s), str)), None)
        if typed is not None:
            raise t.fail(at, f"extra_fields step {typed!r} is no text to the CDK's interpolation (its stream fails "
                             "joining the path)")
        if _NOT_IN_KEYS & set(path[0]) or path[0] != path[0].strip():
            raise t.fail(at, f"an extra_fields path starting with {path[0]!r} (a pattern or special character) "
                             "is not supported yet")
        problem = dpath.check_glob(path)
        if problem:
            raise t.fail(at, f"extra_fields: {problem}")
        out.append(path)
    return out


class StreamParts(TranslatorCore):
    """Mixed into :class:`~source_solidafy.lowcode.translate.Translator`."""

    base_dir: Path | None = None
    allow_files: bool = True

    def __init__(self, resolved: Any, where: Any) -> None:
        super().__init__(resolved, where)
        self.hidden: list[dict[str, Any]] = []  # parent streams that are not among the manifest's streams
        self.hidden_plain: list[tuple[Any, str]] = []
        self.files_read: list[Path] = []  # schema files read or looked for (a process cache watches them)

    def cursor(self, node: Any, injected: Any) -> DatetimeSlices:
        self.check(node, ())
        if node.get("type") != "DatetimeBasedCursor":
            raise self.fail(self.path(node), f"{node.get('type')} is not supported")
        fmt = _static(self, node, "datetime_format", "datetime_format")
        field = _static(self, node, "cursor_field", "cursor_field")
        if "." in field or "/" in field:
            raise self.fail(self.path(node, "cursor_field"), "a nested cursor_field is not supported yet")
        step, gran = node.get("step"), node.get("cursor_granularity")
        if bool(step) != bool(gran):
            raise self.fail(self.path(node), "give both step and cursor_granularity, or neither (the CDK requires it)")
        step_t, lookback_t = _config_duration(self, node, "step"), _config_duration(self, node, "lookback_window")
        lookback = node.get("lookback_window")
        spec = DatetimeSlices(
            cursor_field=field, datetime_format=fmt, start=self._minmax(node, "start_datetime"),
            end=self._minmax(node, "end_datetime") if node.get("end_datetime") else None,
            step=_static(self, node, "step", "step") if step and step_t is None else None, step_template=step_t,
            granularity=_static(self, node, "cursor_granularity", "cursor_granularity") if gran else None,
            lookback=_static(self, node, "lookback_window", "lookback_window") if lookback and lookback_t is None
            else None, lookback_template=lookback_t,
            cursor_formats=[str(f) for f in node.get("cursor_datetime_formats") or []],
            start_field=_static(self, node, "partition_field_start", "field") if node.get("partition_field_start")
            else "start_time",
            end_field=_static(self, node, "partition_field_end", "field") if node.get("partition_field_end")
            else "end_time",
            compare_strictly=bool(node.get("is_compare_strictly")),
            client_side=bool(node.get("is_client_side_incremental")),
            data_feed=bool(node.get("is_data_feed")),
        )
        if node.get("clamping"):
            spec.clamp_target, spec.clamp_weekday = self._clamping(node)
        for key, value in (("step", spec.step), ("cursor_granularity", spec.granularity),
                           ("lookback_window", spec.lookback)):  # static ones; templates when read
            try:
                if value:
                    parse_duration(value)
            except ValueError as exc:
                raise self.fail(self.path(node, key), str(exc)) from None
        for key, field_name in (("start_time_option", spec.start_field), ("end_time_option", spec.end_field)):
            if node.get(key):
                option = self.option(node[key], self.path(node, key))
                self.inject(option, field_name, injected, self.path(node[key]))
        return spec

    def _clamping(self, node: dict[str, Any]) -> tuple[Interpolated, str | None]:
        """``clamping``: its target (a template of the config) and WEEK's weekday; a static target or a
        weekday the CDK refuses fails here, as the CDK fails building the stream."""
        value = node["clamping"]
        at = self.path(node, "clamping")
        if not isinstance(value, dict) or "target" not in value:
            raise self.fail(at, "clamping needs a target (DAY, WEEK or MONTH)")
        details = value.get("target_details") or {}
        weekday = details.get("weekday") if isinstance(details, dict) else None
        holder = {"target": str(value["target"]), PARAMETERS: node.get(PARAMETERS)}
        self.resolved.origin[id(holder)] = at
        target = self.interp(holder, "target", CONFIG_VARS)
        if is_static(target.text):
            try:
                clamp_of(str(target.eval({})), None if weekday is None else str(weekday))
            except ValueError as exc:
                raise self.fail(at, str(exc)) from None
        return target, None if weekday is None else str(weekday)

    def _minmax(self, node: dict[str, Any], key: str) -> MinMax:
        value: Any = node.get(key)
        if isinstance(value, str):
            holder = {"datetime": value, PARAMETERS: node.get(PARAMETERS)}
            self.resolved.origin[id(holder)] = self.path(node, key)
            return MinMax(datetime=self.interp(holder, "datetime", CONFIG_VARS))
        self.check(value, self.path(node, key))
        return MinMax(
            datetime=self.interp(value, "datetime", CONFIG_VARS), datetime_format=str(value.get("datetime_format") or ""),
            min_datetime=self.interp(value, "min_datetime", CONFIG_VARS) if value.get("min_datetime") else None,
            max_datetime=self.interp(value, "max_datetime", CONFIG_VARS) if value.get("max_datetime") else None,
        )

    def router(self, node: Any, injected: Any, retriever: dict[str, Any]) -> dict[str, Any] | AirbyteParent:
        if isinstance(node, list):  # the CDK's cartesian product of routers; one router is itself
            if len(node) != 1:
                raise self.fail(self.path(retriever, "partition_router"),
                                f"a product of {len(node)} partition routers is not supported yet")
            node = node[0]
        kind = self.check(node, self.path(retriever, "partition_router"))
        if kind == "ListPartitionRouter":
            values = node.get("values")
            if not isinstance(values, list):
                raise self.fail(self.path(node, "values"), "ListPartitionRouter.values from a template is not supported yet")
            field = _static(self, node, "cursor_field", "cursor_field")
            if node.get("request_option"):
                self.inject(self.option(node["request_option"], self.path(node, "request_option")), field,
                            injected, self.path(node, "request_option"))
            return {"type": "list", "field": field, "values": [str(v) for v in values]}
        configs = node.get("parent_stream_configs") or []
        if len(configs) != 1:
            raise self.fail(self.path(node, "parent_stream_configs"),
                            f"{len(configs)} parent streams are not supported yet (one is)")
        parent = configs[0]
        self.check(parent, self.path(node, "parent_stream_configs"))
        key = _static(self, parent, "parent_key", "parent_key")
        field = _static(self, parent, "partition_field", "partition_field")
        if any(ch in key for ch in "./[*"):
            raise self.fail(self.path(parent, "parent_key"), "a nested parent_key is not supported yet")
        name = self._parent_name(parent)
        if parent.get("request_option"):
            self.inject(self.option(parent["request_option"], self.path(parent, "request_option")), field,
                        injected, self.path(parent, "request_option"))
        return AirbyteParent(stream=name, parent_field=key, field=field, extra_fields=_extra_fields(self, parent))

    def _parent_name(self, parent: dict[str, Any]) -> str:
        """The parent's stream name: one of the manifest's streams, or a hidden one translated here."""
        stream = parent.get("stream")
        name = str((stream or {}).get("name") or "")
        plain = _plain_stream(stream)
        tops = [s for s in self.resolved.tree.get("streams") or [] if isinstance(s, dict) and s.get("name") == name]
        if tops and _plain_stream(tops[0]) == plain:
            return name
        for seen, internal in self.hidden_plain:
            if seen == plain:
                return internal
        internal = f"{name} (parent {len(self.hidden_plain) + 1})"
        self.check(stream, self.path(parent, "stream"))
        translated = self.stream(stream, self.path(parent, "stream"))  # type: ignore[attr-defined]
        translated["name"] = internal
        self.hidden.append(translated)
        self.hidden_plain.append((plain, internal))
        return internal

    def per_partition(self, outer: dict[str, Any] | AirbyteParent, cursor: DatetimeSlices,
                      node: Any, global_cursor: bool = False) -> PerPartitionCursor:
        """A DatetimeBasedCursor on a partitioned stream: a cursor per partition (partition_cursor.py), or
        one for all (``global_cursor``: global_substream_cursor)."""
        in_list = isinstance(node, list)
        node = node[0] if in_list else node
        if not isinstance(outer, AirbyteParent):
            return PerPartitionCursor(outer=ListPartition.model_validate(outer), cursor=cursor, in_list=in_list,
                                      global_cursor=global_cursor)
        config = node["parent_stream_configs"][0]
        stream = config["stream"]
        parent_router = (stream.get("retriever") or {}).get("partition_router")
        if parent_router:
            raise self.fail(self.path(config, "stream"), "a cursor per partition under a partitioned parent "
                            "(parent_slice) is not supported yet")
        name = str(stream.get("name") or "")
        parent_cursor = None
        if config.get("incremental_dependency"):
            if not stream.get("incremental_sync"):
                raise self.fail(self.path(config, "incremental_dependency"),
                                "incremental_dependency on a parent without incremental_sync is not supported yet")
            parent_cursor = self.cursor(stream["incremental_sync"], Injected({}, {}, None))
        return PerPartitionCursor(outer=outer, cursor=cursor, parent_name=name, parent_cursor=parent_cursor,
                                  in_list=in_list, global_cursor=global_cursor)

    def selector(self, node: Any, retriever: dict[str, Any]) -> dict[str, Any] | AirbyteDpathExtractor:
        """The JSON decoder of a RecordSelector: a records_path for plain keys; with a pattern, a list
        index or a special character, dpath's own matching (lowcode/extractor.py)."""
        self.check(node, self.path(retriever, "record_selector"))
        extractor = node.get("extractor")
        self.check(extractor, self.path(node, "extractor"))
        parts = [self._field_part(extractor, i, part) for i, part in enumerate(extractor.get("field_path") or [])]
        if any("config" in part.text for part in parts):  # rendered once, at the first page (extractor.py)
            return AirbyteDpathExtractor(templates=[self.table.typed_template(part) for part in parts])
        steps = [part.eval({}) for part in parts]  # typed, as the CDK's: "0" and "-1" are list indexes
        for i, step in enumerate(steps):
            if (problem := bad_step(step)) is not None:
                raise self.fail((*self.path(extractor, "field_path"), i), problem)
        if (problem := dpath.check_glob(steps)) is not None:
            raise self.fail(self.path(extractor, "field_path"), problem)
        if not all(isinstance(s, str) and s == s.strip() and not set(s) & _NOT_IN_KEYS for s in steps):
            return AirbyteDpathExtractor(field_path=steps)
        return {"type": "json", "records_path": ".".join(map(str, steps))} if steps else {"type": "json"}

    def _field_part(self, extractor: dict[str, Any], i: int, part: Any) -> Interpolated:
        """One field_path step: the CDK's interpolation of it, with the extractor's ``$parameters``."""
        holder = {"p": part, PARAMETERS: extractor.get(PARAMETERS)}
        self.resolved.origin[id(holder)] = (*self.path(extractor, "field_path"), i)
        return self.interp(holder, "p", CONFIG_VARS)

    def paginator(self, node: Any, retriever: dict[str, Any]) -> AirbytePaging | None:
        kind = self.check(node, self.path(retriever, "paginator"))
        if kind == "NoPagination":
            return None
        strategy = node.get("pagination_strategy")
        skind = self.check(strategy, self.path(node, "pagination_strategy"))
        size = strategy.get("page_size")
        templated = size is not None and not isinstance(size, int)
        spec = AirbytePaging(strategy={"OffsetIncrement": "offset", "PageIncrement": "page"}.get(skind, "cursor"),
                             page_size=None if templated else size)
        if templated:  # the CDK evaluates it with the config (an integer, else it fails)
            spec.page_size_template = self.interp(strategy, "page_size", CONFIG_VARS)
        if skind in ("OffsetIncrement", "PageIncrement"):
            spec.inject_on_first_request = bool(strategy.get("inject_on_first_request"))
            spec.start_from_page = int(strategy.get("start_from_page") or 0)
        else:
            for key in ("cursor_value", "stop_condition"):
                if strategy.get(key) is None:
                    continue
                setattr(spec, key, self.interp(strategy, key, PAGE_VARS))  # the paginator is given the config
        if node.get("page_token_option"):
            spec.token_option = self.option(node["page_token_option"], self.path(node, "page_token_option"))
        if node.get("page_size_option"):
            spec.size_option = self.option(node["page_size_option"], self.path(node, "page_size_option"))
        return spec

    def schema(self, s: dict[str, Any]) -> dict[str, Any] | None:
        loader = s.get("schema_loader")
        if loader is None:
            loader = {"type": "JsonFileSchemaLoader"}
        kind = self.check(loader, self.path(s, "schema_loader"))
        if kind == "InlineSchemaLoader":
            schema = loader.get("schema")
            return schema if isinstance(schema, dict) else None
        name = str(s.get("name") or "")
        file_path = str(loader.get("file_path") or f"schemas/{name}.json")
        if "{" in file_path:
            file_path = f"schemas/{name}.json"  # the CDK's default: ./source_x/schemas/{{ parameters.name }}.json
        if not self.allow_files or self.base_dir is None:
            return None
        candidate = self.base_dir / "schemas" / Path(file_path).name
        self.files_read.append(candidate)
        if not candidate.is_file():
            return None
        try:
            return json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise self.fail(self.path(loader), f"cannot read {candidate.name}: {exc}") from None

    def _static_key(self, step: dict[str, Any], key: str) -> str:
        """KeysReplace's ``old`` or ``new`` as the CDK's ``str(InterpolatedString.eval())`` gives it (an empty
        one is ``None``); a template of ``parameters`` only."""
        value = self.interp(step, key, {"parameters"}, "")
        return str(value.eval({}))

    def transforms(self, s: dict[str, Any]) -> list[Any]:
        out: list[Any] = []
        for i, step in enumerate(s.get("transformations") or []):
            kind = self.check(step, (*self.path(s, "transformations"), i))
            if kind in ("KeysToLower", "KeysToSnakeCase"):
                out.append(AirbyteKeys(case="lower" if kind == "KeysToLower" else "snake"))
                continue
            if kind == "DpathFlattenFields":
                out.append(dpath_flatten(self, step))
                continue
            if kind == "FlattenFields":
                lists = step.get("flatten_lists")
                out.append(AirbyteFlatten(flatten_lists=True if lists is None else bool(lists)))
                continue
            if kind == "KeysReplace":
                out.append(AirbyteKeysReplace(old=self._static_key(step, "old"), new=self._static_key(step, "new")))
                continue
            if kind == "RemoveFields":
                out.append(remove_fields(self, step))
                continue
            out.append(add_fields(self, step))
        return out



def signature(node: Any) -> Any:
    """A component reduced to what we translate (its type and supported options), for comparing."""
    if isinstance(node, dict):
        keep = c.SUPPORTED.get(str(node.get("type")), frozenset(node))
        return {k: signature(v) for k, v in node.items() if k == "type" or (k in keep and k != PARAMETERS)}
    if isinstance(node, list):
        return [signature(v) for v in node]
    return node


def _plain_stream(stream: Any) -> Any:
    """A stream definition without the parameters the CDK copied into it (for comparing)."""
    if isinstance(stream, dict):
        return {k: _plain_stream(v) for k, v in stream.items() if k != PARAMETERS}
    if isinstance(stream, list):
        return [_plain_stream(v) for v in stream]
    return stream


__all__ = ["StreamParts", "Unsupported", "Interpolated"]
