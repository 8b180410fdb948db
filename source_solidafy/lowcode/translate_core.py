"""The core of the manifest translation: where a node is, the problems found, checked templates and options.

:class:`TranslatorCore` is the base of the translation's parts (``translate_parts.StreamParts``,
``auth.AuthParts``) and of :class:`~source_solidafy.lowcode.translate.Translator`, which joins them.
"""

from __future__ import annotations

from typing import Any

from source_solidafy.lowcode import components as c
from source_solidafy.lowcode.interpolation import Interpolated, variables
from source_solidafy.lowcode.page_templates import PageTemplates
from source_solidafy.lowcode.paging import TokenOption
from source_solidafy.lowcode.resolve import PARAMETERS, KeyPath, Resolved
from source_solidafy.lowcode.values import SliceValue, TemplateTable


class Unsupported(Exception):
    """Stops translating one stream; the problem is already recorded."""


class Injected:
    """A stream's request parameters, headers and JSON body as options are added to them."""

    def __init__(self, params: dict[str, Any], headers: dict[str, Any], body: dict[str, Any] | None) -> None:
        self.params, self.headers, self.body = params, headers, body
        self.page = PageTemplates()  # the templates reading next_page_token (the paginator renders them)
        self.body_per_page = False  # request_body_json reads next_page_token: the paginator renders all of it
        self.fields_only = False  # options hold the partition's field names (PageTemplates.unpaged_*)


class TranslatorCore:
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
                raise self.fail((*here, option), c.option_problem(kind, option, value))
        wrong = c.shape_problem(kind, node)
        if wrong is not None:
            raise self.fail((*here, wrong[0]), wrong[1])
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
            if "next_page_token" in used and "next_page_token" not in allowed:
                raise self.fail((*self.path(node), key), f"next_page_token here is not supported ({c.need('next_page_token')})")
            extra = used - allowed - set(self.table.env.globals)
            if extra:
                raise self.fail((*self.path(node), key), f"template reads {sorted(extra)}, which is not available here")
        return item

    def option(self, node: Any, at: KeyPath) -> TokenOption:
        kind = self.check(node, at)
        if kind == "RequestPath":
            return TokenOption(inject_into="path")
        inject = str(node.get("inject_into") or "")
        if inject not in ("request_parameter", "header", "body_json"):
            raise self.fail(self.path(node, "inject_into"), f"RequestOption.inject_into {inject!r} is not supported yet")
        field_path = [str(p) for p in node.get("field_path") or []]
        if field_path and inject != "body_json":
            raise self.fail(self.path(node, "field_path"), "RequestOption.field_path is only for body_json")
        name = str(node.get("field_name") or "")
        if "{" in name:
            raise self.fail(self.path(node, "field_name"), "a templated RequestOption.field_name is not supported yet")
        return TokenOption(inject_into=inject, field_name=name, field_path=field_path)

    def inject(self, option: TokenOption, field: str, injected: Injected, at: KeyPath) -> None:
        value = field if injected.fields_only else self.table.slice_value(field, self.where_of(at))
        if option.inject_into == "request_parameter":
            injected.params[option.field_name] = value
        elif option.inject_into == "header":
            injected.headers[option.field_name] = value
        elif option.inject_into == "body_json":
            body = injected.body if injected.body is not None else {}
            node = body
            for part in option.field_path[:-1]:
                node = node.setdefault(part, {})
            node[option.field_path[-1] if option.field_path else option.field_name] = SliceValue(field)
            injected.body = body
        else:
            raise self.fail(at, "a RequestPath cannot carry a partition value")
