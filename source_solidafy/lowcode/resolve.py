"""Airbyte manifest preprocessing as airbyte-cdk does it: references, then types and ``$parameters``.

Two passes, in the CDK's order (``ManifestReferenceResolver`` then ``ManifestComponentTransformer``):

1. References. A string ``"#/a/b"`` anywhere is replaced by the value at that path (a key holding a
   ``/`` is tried whole first, then the path is walked part by part, integers indexing lists); a
   mapping with ``$ref`` is the referenced mapping updated with the mapping's other keys. Cycles and
   missing targets are errors. ``config_overrides`` values are kept as written.
2. Types and parameters. A component without ``type`` gets its default type from the field holding
   it (``SimpleRetriever.paginator`` -> ``NoPagination``...); ``$parameters`` flow down to every
   nested component, the inner ones winning, and each parameter also becomes a field of the
   component unless the component sets that field to a truthy value (``name``, ``path``,
   ``primary_key`` reach streams and requesters this way). The parameter named like the field being
   descended into is not passed into it. JSON Schema objects (``type: object``) are left alone.

Both passes build new mappings and remember, for each, the path in the YAML where its ``type`` was
written (:attr:`Resolved.origin`), so an error names ``definitions.streams.users.retriever`` even
when the stream was reached through ``streams[0]: {$ref: ...}``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from source_solidafy.errors import ManifestError

KeyPath = tuple[Any, ...]

REF = "$ref"
PARAMETERS = "$parameters"
_KEEP_AS_WRITTEN = frozenset({"config_overrides"})

# field -> the type a component there has when it names none (the CDK's table, for the types we read)
DEFAULT_TYPES: dict[str, str] = {
    "CompositeErrorHandler.error_handlers": "DefaultErrorHandler",
    "CursorPagination.decoder": "JsonDecoder",
    "DatetimeBasedCursor.end_datetime": "MinMaxDatetime",
    "DatetimeBasedCursor.end_time_option": "RequestOption",
    "DatetimeBasedCursor.start_datetime": "MinMaxDatetime",
    "DatetimeBasedCursor.start_time_option": "RequestOption",
    "DeclarativeSource.check": "CheckStream",
    "DeclarativeSource.spec": "Spec",
    "DeclarativeSource.streams": "DeclarativeStream",
    "DeclarativeStream.retriever": "SimpleRetriever",
    "DeclarativeStream.schema_loader": "JsonFileSchemaLoader",
    "DynamicDeclarativeStream.stream_template": "DeclarativeStream",
    "DynamicDeclarativeStream.components_resolver": "ConfigComponentResolver",
    "HttpComponentsResolver.retriever": "SimpleRetriever",
    "HttpComponentsResolver.components_mapping": "ComponentMappingDefinition",
    "ConfigComponentsResolver.stream_config": "StreamConfig",
    "ConfigComponentsResolver.components_mapping": "ComponentMappingDefinition",
    "DefaultErrorHandler.response_filters": "HttpResponseFilter",
    "DefaultPaginator.decoder": "JsonDecoder",
    "DefaultPaginator.page_size_option": "RequestOption",
    "DpathExtractor.decoder": "JsonDecoder",
    "DpathExtractor.record_expander": "RecordExpander",
    "HttpRequester.error_handler": "DefaultErrorHandler",
    "ListPartitionRouter.request_option": "RequestOption",
    "ParentStreamConfig.request_option": "RequestOption",
    "ParentStreamConfig.stream": "DeclarativeStream",
    "RecordExpander.parent_fields": "ParentFieldPath",
    "RecordSelector.extractor": "DpathExtractor",
    "RecordSelector.record_filter": "RecordFilter",
    "SimpleRetriever.paginator": "NoPagination",
    "SimpleRetriever.record_selector": "RecordSelector",
    "SimpleRetriever.requester": "HttpRequester",
    "SubstreamPartitionRouter.parent_stream_configs": "ParentStreamConfig",
    "AddFields.fields": "AddedFieldDefinition",
    "CustomPartitionRouter.parent_stream_configs": "ParentStreamConfig",
    "DynamicSchemaLoader.retriever": "SimpleRetriever",
    "SchemaTypeIdentifier.types_map": "TypesMap",
}

# field -> the custom type a component with ``class_name`` and no ``type`` has there
CUSTOM_TYPES: dict[str, str] = {
    "CompositeErrorHandler.backoff_strategies": "CustomBackoffStrategy",
    "DeclarativeStream.retriever": "CustomRetriever",
    "DeclarativeStream.transformations": "CustomTransformation",
    "DefaultErrorHandler.backoff_strategies": "CustomBackoffStrategy",
    "DefaultPaginator.pagination_strategy": "CustomPaginationStrategy",
    "HttpRequester.authenticator": "CustomAuthenticator",
    "HttpRequester.error_handler": "CustomErrorHandler",
    "RecordSelector.extractor": "CustomRecordExtractor",
    "SimpleRetriever.partition_router": "CustomPartitionRouter",
}


@dataclass
class Resolved:
    """The preprocessed manifest and where each of its mappings came from."""

    tree: dict[str, Any]
    origin: dict[int, KeyPath] = field(default_factory=dict)
    alive: list[Any] = field(default_factory=list, repr=False)

    def where(self, node: Any, fallback: KeyPath = ()) -> KeyPath:
        """The YAML path of a mapping of :attr:`tree` (where its ``type`` was written)."""
        return self.origin.get(id(node), fallback)


class _References:
    """Pass 1: ``#/...`` strings and ``$ref`` keys."""

    def __init__(self, root: dict[str, Any], source_name: str) -> None:
        self.root = root
        self.source_name = source_name
        self.origin: dict[int, KeyPath] = {}
        self.alive: list[Any] = []  # every mapping made stays alive, so no id in ``origin`` is reused
        self.made = 0  # mappings and lists built: references can multiply them like YAML aliases
        from source_solidafy.manifest.yaml_lines import MAX_NODES  # imports yaml: only a load resolves

        self.max_nodes = MAX_NODES

    def _count(self, path: KeyPath) -> None:
        self.made += 1
        if self.made > self.max_nodes:
            raise self.fail(path, f"references expand to more than {self.max_nodes:,} nodes (a reference bomb?)")

    def fail(self, path: KeyPath, message: str) -> ManifestError:
        from source_solidafy.manifest.walk import format_path

        return ManifestError(f"{self.source_name}: {format_path(path) or '(top level)'}: {message}")

    def node(self, value: Any, path: KeyPath, visiting: tuple[str, ...]) -> Any:
        if isinstance(value, (dict, list)):
            self._count(path)
        if isinstance(value, dict):
            out = {
                k: copy.deepcopy(v) if k in _KEEP_AS_WRITTEN else self.node(v, (*path, k), visiting)
                for k, v in value.items()
                if k != REF
            }
            self.origin[id(out)] = path
            self.alive.append(out)
            if REF not in value:
                return out
            target = self.node(value[REF], (*path, REF), visiting)
            if not isinstance(target, dict):
                return target
            merged = target | out
            self.alive.append(merged)
            self.origin[id(merged)] = path if "type" in out else self.origin.get(id(target), path)
            return merged
        if isinstance(value, list):
            return [self.node(v, (*path, i), visiting) for i, v in enumerate(value)]
        if isinstance(value, str) and value.startswith("#/"):
            if value in visiting:
                chain = " -> ".join((*visiting, value))
                raise self.fail(path, f"circular reference {chain}")
            target, target_path = self.lookup(value, path)
            return self.node(target, target_path, (*visiting, value))
        return value

    def lookup(self, ref: str, path: KeyPath) -> tuple[Any, KeyPath]:
        """The CDK's ambiguous walk: the rest of the path as one key first, then one part at a time."""
        rest = ref[2:]
        node: Any = self.root
        where: KeyPath = ()
        while rest:
            try:
                return node[rest], (*where, rest)
            except (KeyError, TypeError, IndexError):
                pass
            head_text, _, rest = rest.partition("/")
            head: Any = int(head_text) if re.fullmatch(r"-?\d+", head_text) else head_text
            try:
                node = node[head]
            except (KeyError, TypeError, IndexError):
                raise self.fail(path, f"undefined reference '{ref}'") from None
            where = (*where, head)
        return node, where


class _Parameters:
    """Pass 2: default types and ``$parameters``."""

    def __init__(self, origin: dict[int, KeyPath], alive: list[Any]) -> None:
        self.origin = origin
        self.alive = alive

    def component(self, field_id: str, node: dict[str, Any], parent: dict[str, Any],
                  use_parent: bool | None = None) -> dict[str, Any]:
        out = self._copy(node)
        if "type" not in out:
            found = CUSTOM_TYPES.get(field_id) if "class_name" in out else DEFAULT_TYPES.get(field_id)
            if found:
                out["type"] = found
        params = dict(copy.deepcopy(parent))
        own = out.pop(PARAMETERS, {}) or {}
        params = {**own, **params} if use_parent else {**params, **own}
        kind = out.get("type")
        if kind == "object" or isinstance(kind, (list, dict)):  # a JSON Schema, not a component
            return out
        if "type" not in out:
            for key, value in list(out.items()):
                if isinstance(value, dict) and value.get("type"):
                    out[key] = self._child(field_id, value, params, use_parent)
            return out
        for key, value in params.items():
            out[key] = out.get(key) or value
        for key, value in list(out.items()):
            child_id = f"{kind}.{key}"
            if isinstance(value, dict):
                inner = {k: v for k, v in params.items() if k != key}
                out[key] = self.component(child_id, value, inner, use_parent)
            elif isinstance(value, list):
                inner = {k: v for k, v in params.items() if k != key}
                out[key] = [self.component(child_id, v, inner, use_parent) if isinstance(v, dict) else v
                            for v in value]
        if params:
            out[PARAMETERS] = params
        return out

    def _copy(self, value: Any) -> Any:
        """A deep copy whose mappings keep their original's path."""
        if isinstance(value, dict):
            out = {k: self._copy(v) for k, v in value.items()}
            self.origin[id(out)] = self.origin.get(id(value), ())
            self.alive.append(out)
            return out
        if isinstance(value, list):
            return [self._copy(v) for v in value]
        return value

    def _child(self, field_id: str, value: dict[str, Any], params: dict[str, Any],
               use_parent: bool | None) -> dict[str, Any]:
        return self.component(field_id, value, params, use_parent)


def resolve(manifest: dict[str, Any], source_name: str = "manifest.yaml") -> Resolved:
    """References resolved, then types and parameters propagated, as airbyte-cdk 7 does."""
    data = dict(manifest)
    data.setdefault("type", "DeclarativeSource")
    refs = _References(data, source_name)
    try:
        tree = refs.node(data, (), ())
    except RecursionError:
        raise ManifestError(f"{source_name}: references nest too deeply (a cycle through $ref?)") from None
    out = _Parameters(refs.origin, refs.alive).component("", tree, {})
    return Resolved(out, refs.origin, refs.alive)
