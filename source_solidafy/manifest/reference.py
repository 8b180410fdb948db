"""Reference docs generated from the models, so the docs cannot drift from what the loader accepts.

Each type's section also says where its behaviour is: the core class its builder makes
(:mod:`source_solidafy.rest.builders`), or, for the models no builder makes, the modules that read them
(:data:`READ_BY`).

``python -m source_solidafy.manifest.reference > docs/connector-yaml-reference.md``
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from source_solidafy.manifest import models as m
from source_solidafy.manifest.templates import TemplateString

SECTIONS: list[tuple[str, list[type[BaseModel]]]] = [
    ("Top level", [m.Manifest]),
    ("auth", [m.BearerAuth, m.ApiKeyAuth, m.ApiKeysAuth, m.BasicAuth, m.OAuth2RefreshTokenAuth,
              m.OAuth2ClientCredentialsAuth, m.OAuth2JwtBearerAuth, m.JwtAuth, m.SessionTokenAuth, m.NoAuth,
              m.AuthWhen]),
    ("http, check", [m.Http, m.Check]),
    ("errors", [m.ErrorRule]),
    ("spec", [m.SpecField]),
    ("Stream", [m.Stream, m.Request, m.Incremental, m.StreamRetry]),
    ("lookups", [m.Lookup, m.SchemaFields]),
    ("decoder", [m.JsonDecoder, m.JsonlDecoder, m.CsvDecoder, m.LinesDecoder, m.XmlDecoder, m.JsonStreamDecoder, m.NestedRecords,
                 m.Compression]),
    ("pagination", [m.CursorPagination, m.OffsetPagination, m.PageNumberPagination,
                    m.LinkHeaderPagination, m.NextUrlPagination, m.Stop]),
    ("partition", [m.ListPartition, m.DateRangePartition, m.SplitWhen, m.ParentStreamPartition, m.AsyncJobPartition,
                   m.AsyncCreate, m.AsyncPoll, m.AsyncDownload]),
    ("transform", [m.SetStep, m.RemoveStep, m.RenameStep, m.FlattenStep, m.NormalizeKeysStep, m.HashStep,
                   m.MaskStep, m.CastStep]),
]


def _type_name(tp: Any) -> str:
    if tp is m.AuthAlternative:
        return "auth block plus AuthWhen"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " \\| ".join(dict.fromkeys(names))
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin is list:
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"map of {_type_name(args[1])}" if args else "map"
    if tp is TemplateString:
        return "template"
    if tp is Any:
        return "any"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp.__name__
    return getattr(tp, "__name__", str(tp))


def _default(info: Any) -> str:
    if info.is_required():
        return "**required**"
    if info.default_factory is not None:
        value = info.default_factory()
        return "" if value in ({}, []) else f"`{value}`" if not isinstance(value, BaseModel) else ""
    if info.default in (None, PydanticUndefined):
        return ""
    return '`""`' if info.default == "" else f"`{info.default}`"


# ------------------------------------------------------------------ the models no builder makes

# Where their keys are read (the reference names these modules; unit_tests/rest/test_factory_fields.py
# checks each key of the model is read as an attribute in one of them).
READ_BY: dict[type, tuple[str, ...]] = {
    m.Manifest: ("source_solidafy.rest.source", "source_solidafy.rest.runtime", "source_solidafy.rest.lookups",
                 "source_solidafy.rest.reader",
                 "source_solidafy.manifest.auth_choice", "source_solidafy.manifest.spec",
                 "source_solidafy.manifest.summary"),
    m.AuthWhen: ("source_solidafy.manifest.auth_choice",),
    m.SpecField: ("source_solidafy.manifest.models",),
    m.Stream: ("source_solidafy.rest.reader", "source_solidafy.rest.source", "source_solidafy.rest.partitions",
               "source_solidafy.rest.record_checks", "source_solidafy.manifest.loader"),
    m.Incremental: ("source_solidafy.rest.reader", "source_solidafy.rest.records"),
    m.StreamRetry: ("source_solidafy.rest.reader", "source_solidafy.rest.ratelimit"),
    m.AsyncPoll: ("source_solidafy.rest.async_job",),
    m.Lookup: ("source_solidafy.rest.lookups",),
    m.SchemaFields: ("source_solidafy.rest.lookups", "source_solidafy.rest.source"),
    m.SplitWhen: ("source_solidafy.rest.windows",),
}


def implemented_by(model: type) -> tuple[str, str]:
    """``("built into", "source_solidafy.rest.auth.BearerAuth")`` or ``("read by", "<modules>")``: where a YAML
    type's behaviour is (the reference says it per type)."""
    from source_solidafy.rest.builders import FACTORY  # every part registered

    if model in READ_BY:
        return "read by", ", ".join(READ_BY[model])
    return "built into", FACTORY.part(model).where()


def _where(model: type[BaseModel]) -> str:
    """``Built into `source_solidafy.rest.auth.BearerAuth`.`` or ``Read by `source_solidafy.rest.reader`.``"""
    how, where = implemented_by(model)
    code = ", ".join(f"`{w}`" for w in where.replace(" | ", ", ").split(", "))
    return f"{how.capitalize()} {code}."


def model_table(model: type[BaseModel]) -> str:
    """One markdown table: key, type, default; and where the type's behaviour is implemented."""
    doc = (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    lines = [f"### {model.__name__}", ""] + ([doc, ""] if doc else []) + [_where(model), ""]
    lines += ["| key | type | default |", "|---|---|---|"]
    for name, info in model.model_fields.items():
        key = info.alias or name
        lines.append(f"| `{key}` | {_type_name(info.annotation)} | {_default(info)} |")
    spellings = getattr(model, "spellings", {})
    if spellings:
        lines.append("")
        lines.append("Also accepted: " + ", ".join(f"`{k}` for `{v}`" for k, v in spellings.items()) + ".")
    return "\n".join(lines) + "\n"


def reference_markdown() -> str:
    parts = ["# Connector YAML reference (generated from source_solidafy.manifest.models)", "",
             "Every type below says where its behaviour is: the class it is built into (each type's builder, "
             "one registration per model class, is in `source_solidafy/rest/builders.py`, auth types in "
             "`source_solidafy/rest/auth_builders.py`), or the modules that "
             "read its keys.", ""]
    for title, models in SECTIONS:
        parts.append(f"## {title}\n")
        parts.extend(model_table(model) for model in models)
    parts.append(plugin_table())
    return "\n".join(parts)


PROTOCOLS = {"auth": "AuthPlugin.apply(headers, params)", "paginator": "PaginatorPlugin.next_page(page)",
             "decoder": "DecoderPlugin.decode(content, headers)", "partition_router": "PartitionRouterPlugin.partitions()",
             "transform": "TransformPlugin.transform(record)"}


def plugin_table() -> str:
    """The slots that take ``type: plugin:<name>``, the kind each takes and where it is built."""
    from source_solidafy.manifest.plugin_models import SLOT_KINDS, SPECS

    lines = ["## plugin", "", "In each slot below, `type: plugin:<name>` names an installed plugin (entry point "
             "group `source_solidafy.plugins`) of the slot's kind; the block's other keys are the plugin's options, "
             "validated by the `Options` model its class declares. See docs/plugins.md.", "",
             "| slot | kind | the plugin implements (`source_solidafy.plugins`) | built into |", "|---|---|---|---|"]
    for slot, kind in SLOT_KINDS.items():
        where = _where(SPECS[kind]).removeprefix("Built into ").rstrip(".")
        shown = "each `transform` step" if slot == "transform" else f"`{slot}`"
        lines.append(f"| {shown} | `{kind}` | `{PROTOCOLS[kind]}` | {where} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(reference_markdown())
