"""A resolved Airbyte manifest -> our canonical :class:`Manifest` (or every unsupported part, at once).

Each component is checked against components.py first: an unsupported type or option is a problem
naming the type and its path in the YAML, and nothing is translated approximately.
"""

from __future__ import annotations

from typing import Any

from source_solidafy.lowcode import components as c
from source_solidafy.lowcode.auth import AuthParts
from source_solidafy.lowcode.cursor import DatetimeSlices, MinMax
from source_solidafy.lowcode.interpolation import Interpolated, variables
from source_solidafy.lowcode.paging import AirbytePaging, TokenOption
from source_solidafy.lowcode.resolve import PARAMETERS, KeyPath, Resolved
from source_solidafy.lowcode.translate_parts import StreamParts, Unsupported, signature
from source_solidafy.lowcode.values import SliceValue, TemplateTable
from source_solidafy.manifest.walk import format_path

REQUEST_VARS = {"config", "parameters", "stream_slice", "stream_partition", "stream_interval"}
CONFIG_VARS = {"config", "parameters"}


class Translator(StreamParts, AuthParts):
    def __init__(self, resolved: Resolved, where: Any) -> None:
        self.resolved = resolved
        self.where_of = where  # KeyPath -> "manifest.yaml:12: definitions.x"
        self.problems: list[tuple[KeyPath, str]] = []
        self.table = TemplateTable()

    # -- problems ------------------------------------------------------------------------------------

    def path(self, node: Any, key: Any = None) -> KeyPath:
        base = self.resolved.where(node)
        return (*base, key) if key is not None else base

    def fail(self, path: KeyPath, message: str) -> Unsupported:
        self.problems.append((path, message))
        return Unsupported(message)

    def check(self, node: Any, at: KeyPath) -> str:
        """The component's type, after checking it and its options are supported."""
        if not isinstance(node, dict):
            raise self.fail(at, f"expected a component (a mapping), got {type(node).__name__}")
        kind = str(node.get("type") or "")
        here = self.path(node) or at
        if kind not in c.SUPPORTED:
            label = kind or "a component without type"
            raise self.fail(here, f"{label} is not supported ({c.need(kind)})")
        for option, default in c.KNOWN.get(kind, {}).items():
            value = node.get(option)
            if value is not None and value != default and value != (node.get(PARAMETERS) or {}).get(option):
                raise self.fail((*here, option), f"{kind}.{option} is not supported ({c.need(f'{kind}.{option}')})")
        return kind

    def interp(self, node: dict[str, Any], key: str, allowed: set[str], default: Any = None) -> Interpolated:
        value = node.get(key, default)
        text = value if isinstance(value, str) else str(value)
        where = self.where_of((*self.path(node), key))
        item = Interpolated(text, node.get(PARAMETERS) or {}, where)
        if "{" in text:
            try:
                used = variables(text)
            except Exception as exc:  # jinja2.TemplateSyntaxError
                raise self.fail((*self.path(node), key), f"template syntax error: {exc}") from None
            if "next_page_token" in used:
                raise self.fail((*self.path(node), key), f"next_page_token here is not supported ({c.need('next_page_token')})")
            extra = used - allowed - set(self.table.env.globals)
            if extra:
                raise self.fail((*self.path(node), key), f"template reads {sorted(extra)}, which is not available here")
        return item

    # -- the manifest --------------------------------------------------------------------------------

    def streams(self) -> list[dict[str, Any]]:
        tree = self.resolved.tree
        try:
            self.check(tree, ())
        except Unsupported:
            return []
        out = []
        for i, stream in enumerate(tree.get("streams") or []):
            try:
                out.append(self.stream(stream, ("streams", i)))
            except Unsupported:
                continue
        return out

    def stream(self, s: Any, at: KeyPath) -> dict[str, Any]:
        self.check(s, at)
        name = str(s.get("name") or "")
        retriever = s.get("retriever")
        self.check(retriever, self.path(s, "retriever"))
        requester = retriever.get("requester")
        self.check(requester, self.path(retriever, "requester"))
        out: dict[str, Any] = {"name": name, "primary_key": _primary_key(s.get("primary_key"))}
        params: dict[str, Any] = {}
        headers: dict[str, Any] = {}
        body: dict[str, Any] | None = None
        if requester.get("request_body_json"):  # the CDK sends no body for an empty mapping
            body = self._body_json(requester)
        for key, value in (requester.get("request_parameters") or {}).items():
            params[str(key)] = self.table.template(self._value(requester, "request_parameters", key, value),
                                                   self.where_of((*self.path(requester), "request_parameters", key)),
                                                   lenient=True)
        for key, value in (requester.get("request_headers") or {}).items():
            headers[str(key)] = self.table.template(self._value(requester, "request_headers", key, value),
                                                    self.where_of((*self.path(requester), "request_headers", key)))
        injected = _Injected(params, headers, body)
        incremental = s.get("incremental_sync")
        router = retriever.get("partition_router")
        if incremental and router:
            raise self.fail(self.path(s, "incremental_sync"),
                            f"DatetimeBasedCursor with a partition_router is not supported ({c.need('incremental+partition')})")
        if incremental:
            out["partition"] = self.cursor(incremental, injected)
            out["cursor_field"] = out["partition"].cursor_field
        elif router:
            out["partition"] = self.router(router, injected, retriever)
        out["request"] = self.request(requester, injected)
        out["headers"] = injected.headers
        out["decoder"] = self.selector(retriever.get("record_selector"), retriever)
        paginator = retriever.get("paginator")
        if paginator:
            out["pagination"] = self.paginator(paginator, retriever)
        schema = self.schema(s)
        if schema is not None:
            out["schema"] = schema
        out["transform"] = self.transforms(s)
        self.error_handler(requester)
        out["_url_base"] = self.interp(requester, "url_base", CONFIG_VARS, "")
        auth = self.auth(requester)
        if isinstance(out.get("pagination"), AirbytePaging):
            out["pagination"].auth_params = [a["key"] for a in (auth if isinstance(auth, list) else [auth])
                                             if a["type"] == "api_key" and a.get("location") == "query"]
        out["_auth"] = (auth, self.path(requester, "authenticator"), signature(requester.get("authenticator")))
        return out

    def _value(self, node: dict[str, Any], key: str, sub: str, value: Any) -> Interpolated | str:
        holder = {sub: value, PARAMETERS: node.get(PARAMETERS)}
        self.resolved.origin[id(holder)] = (*self.path(node), key)
        return self.interp(holder, sub, REQUEST_VARS) if isinstance(value, str) else str(value)

    def _body_json(self, requester: dict[str, Any]) -> dict[str, Any]:
        value = requester["request_body_json"]
        if not isinstance(value, dict):
            raise self.fail(self.path(requester, "request_body_json"), "a request_body_json string is not supported yet")

        def walk(node: Any, at: KeyPath) -> Any:
            if isinstance(node, str):
                holder = {"v": node, PARAMETERS: requester.get(PARAMETERS)}
                self.resolved.origin[id(holder)] = at[:-1]
                return self.interp(holder, "v", REQUEST_VARS)
            if isinstance(node, dict):
                return {k: walk(v, (*at, k)) for k, v in node.items()}
            if isinstance(node, list):
                return [walk(v, (*at, i)) for i, v in enumerate(node)]
            return node

        return walk(value, (*self.path(requester), "request_body_json"))

    def request(self, requester: dict[str, Any], injected: _Injected) -> dict[str, Any]:
        method = str(requester.get("http_method") or "GET").upper()
        url = self.table.url_template(self.interp(requester, "url_base", CONFIG_VARS, ""),
                                      self.interp(requester, "path", REQUEST_VARS, ""),
                                      self.where_of(self.path(requester, "path")))
        out: dict[str, Any] = {"method": method, "path": url, "params": injected.params}
        if injected.body is not None:
            out["body"] = self.table.body_template(injected.body, self.where_of(self.path(requester, "request_body_json")))
            out["content_type"] = "application/json"
        return out

    def option(self, node: Any, at: KeyPath) -> TokenOption:
        kind = self.check(node, at)
        if kind == "RequestPath":
            return TokenOption("path")
        inject = str(node.get("inject_into") or "")
        if inject not in ("request_parameter", "header", "body_json"):
            raise self.fail(self.path(node, "inject_into"), f"RequestOption.inject_into {inject!r} is not supported yet")
        field_path = [str(p) for p in node.get("field_path") or []]
        if field_path and inject != "body_json":
            raise self.fail(self.path(node, "field_path"), "RequestOption.field_path is only for body_json")
        name = str(node.get("field_name") or "")
        if "{" in name:
            raise self.fail(self.path(node, "field_name"), "a templated RequestOption.field_name is not supported yet")
        return TokenOption(inject, name, field_path)

    def inject(self, option: TokenOption, field: str, injected: _Injected, at: KeyPath) -> None:
        where = self.where_of(at)
        if option.inject_into == "request_parameter":
            injected.params[option.field_name] = self.table.slice_value(field, where)
        elif option.inject_into == "header":
            injected.headers[option.field_name] = self.table.slice_value(field, where)
        elif option.inject_into == "body_json":
            body = injected.body if injected.body is not None else {}
            node = body
            for part in option.field_path[:-1]:
                node = node.setdefault(part, {})
            node[option.field_path[-1] if option.field_path else option.field_name] = SliceValue(field)
            injected.body = body
        else:
            raise self.fail(at, "a RequestPath cannot carry a partition value")


class _Injected:
    """A stream's request parameters, headers and JSON body as options are added to them."""

    def __init__(self, params: dict[str, Any], headers: dict[str, Any], body: dict[str, Any] | None) -> None:
        self.params, self.headers, self.body = params, headers, body


def _primary_key(value: Any) -> list[str]:
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        return [value]
    out = []
    for item in value:
        out.append(".".join(str(p) for p in item) if isinstance(item, list) else str(item))
    return out


__all__ = ["Translator", "Unsupported", "format_path", "DatetimeSlices", "MinMax", "AirbytePaging"]
