"""Building blocks of the manifest models: the strict base class and the YAML value types.

Why here and not in models.py: the two model modules share them, and the loader needs
:data:`PATH_FIELDS` and :func:`accepted_keys` without importing every model.
"""

from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar

from source_solidafy.manifest.pyd import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    PydanticCustomError,
    ValidationInfo,
    core_schema,
)
from source_solidafy.manifest.templates import TemplateString


class Strict(BaseModel):
    """Unknown keys are errors; ``spellings`` maps an accepted alternative key to the canonical one.

    Subclasses list the other spellings they accept; the loader uses the same table to point an
    error at the key the user actually wrote. A subclass with ``spellings`` also declares
    ``@model_validator(mode="before")`` calling :meth:`normalise_keys` (one validator on the few
    models that need it, not one on every model: each costs start-up time). ``defer_build``: a
    part model builds its own validator only if used on its own; ``Manifest`` builds the whole tree.
    """

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, arbitrary_types_allowed=True, frozen=False, defer_build=True
    )
    spellings: ClassVar[dict[str, str]] = {}

    @classmethod
    def normalise_keys(cls, data: Any) -> Any:
        """Rename accepted spellings to canonical keys (the first spelling wins if both are given)."""
        if not isinstance(data, Mapping) or not cls.spellings:
            return data
        out = dict(data)
        for other, canonical in cls.spellings.items():
            if other in out:
                value = out.pop(other)
                out.setdefault(canonical, value)
        return out


def new_dict() -> dict[Any, Any]:
    """``Field(default_factory=new_dict)``, not ``dict``: pydantic inspects a factory's signature (does it
    take the validated data?), and for a builtin type that means parsing its text signature; over the
    ~35 such fields and every default made while loading it was ~30 ms of each start-up."""
    return {}


def new_list() -> list[Any]:
    """``Field(default_factory=new_list)``, not ``list`` (see :func:`new_dict`)."""
    return []


def accepted_keys(model: type[BaseModel]) -> set[str]:
    """Every key a model accepts: field names, aliases and extra spellings (for "did you mean")."""
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        keys.add(info.alias or name)
    keys.update(getattr(model, "spellings", {}))
    return keys


def describe_value(value: Any) -> str:
    """How an error message names a wrong value: ``a mapping``, ``a list``, ``null`` or its repr."""
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return repr(value)


def _scalar_text(value: Any, what: str = "a string") -> str:
    """YAML scalars as text: ``limit: 100`` and ``active: true`` mean the strings "100" and "true"."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    raise PydanticCustomError("expected", "expected {what}, got {got}", {"what": what, "got": describe_value(value)})


def _environments(context: dict[str, Any]) -> tuple[Any, Any]:
    """The (strict, lenient) jinja pair: the loader's own (``envs: None`` = make it on first need)."""
    from source_solidafy.manifest import jinja_env

    if "envs" not in context:
        return jinja_env.default_environments()
    if context["envs"] is None:  # one pair per manifest load, made only if a value needs jinja
        strict = jinja_env.make_environment()
        context["envs"] = (strict, jinja_env.make_lenient_environment(strict))
    return context["envs"]


def _compiled(text: str, info: ValidationInfo | None, lenient: bool) -> TemplateString:
    """Compile at validation time, so a syntax error is reported with the value's file:line."""
    template = TemplateString(text, lenient=lenient)
    if template.is_static:
        return template
    from jinja2.exceptions import TemplateSyntaxError  # only templates with {{ }} need jinja

    context = info.context if info is not None and isinstance(info.context, dict) else {}
    strict, soft = _environments(context)
    cache = context.setdefault("compiled", {})  # the same text is compiled once per manifest
    if (lenient, text) in cache:
        template._template = cache[lenient, text]
        return template
    try:
        template.compile(soft if lenient else strict)
        cache[lenient, text] = template._template
        return template
    except TemplateSyntaxError as exc:
        raise PydanticCustomError(
            "template_syntax",
            "template syntax error: {problem} (line {line} of the template)",
            {"problem": (exc.message or "invalid syntax").rstrip("."), "line": exc.lineno},
        ) from None


def _to_template(value: Any, info: ValidationInfo | None = None) -> TemplateString:
    if isinstance(value, TemplateString):
        return value
    return _compiled(_scalar_text(value), info, lenient=False)


def _to_lenient(value: Any, info: ValidationInfo | None = None) -> TemplateString:
    if isinstance(value, TemplateString):
        return value
    return _compiled(_scalar_text(value), info, lenient=True)


def _to_body(value: Any, info: ValidationInfo) -> TemplateString:
    """A request body: a string as written, or a mapping/list sent as JSON (templates inside kept)."""
    if isinstance(value, (Mapping, list)):
        import json

        return _compiled(json.dumps(value, default=str), info, lenient=False)
    return _to_template(value, info)


def _to_param(value: Any, info: ValidationInfo) -> TemplateString | list[TemplateString]:
    """A query parameter: one value, or a list (``group_by[]`` given several times -> repeated).

    Lenient: an undefined variable renders as "" and the caller leaves the parameter out.
    """
    if isinstance(value, list):
        return [_to_lenient(v, info) for v in value]
    return _to_lenient(value, info)


def _to_text(value: Any) -> str:
    return _scalar_text(value)


def _to_text_list(value: Any) -> list[str]:
    """``primary_key: id`` and ``primary_key: [id]`` are the same thing."""
    if value is None:
        return []
    if isinstance(value, list):
        return [_scalar_text(v) for v in value]
    return [_scalar_text(value)]


def _to_host_list(value: Any) -> list[str]:
    """``allowed_hosts``: each entry a host, host:port or scheme://host[:port] (see rest/origins.py)."""
    from source_solidafy.rest.origins import parse_allowed

    return check_each(_to_text_list(value), parse_allowed)


def check_each(values: list[str], check: Callable[[str], Any]) -> list[str]:
    """Each value passes ``check`` (which raises ValueError), else the ValueError's message is the problem."""
    for item in values:
        try:
            check(item)
        except ValueError as exc:
            raise PydanticCustomError("value_error", "{problem}", {"problem": str(exc)}) from None
    return values


def _to_path_globs(value: Any) -> list[str]:
    """``rate_limit_pools`` entries: URL path globs (``/search/*``), starting with ``/`` or ``*``."""
    globs = _to_text_list(value)
    for glob in globs:
        if not glob.startswith(("/", "*")):
            raise PydanticCustomError("value_error", "{problem}", {
                "problem": f"{glob!r} is not a URL path glob: it starts with '/' (or '*'), e.g. '/search/*'"})
    return globs


class _Plain:
    """``Annotated`` marker: ``fn`` alone validates the value.

    Same effect as pydantic's ``PlainValidator``, but says up front whether ``fn`` takes the
    validation info, so building the ~170 fields skips pydantic's signature inspection (start-up).
    """

    __slots__ = ("fn", "with_info")

    def __init__(self, fn: Callable[..., Any], with_info: bool = False) -> None:
        self.fn = fn
        self.with_info = with_info

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        if self.with_info:
            return core_schema.with_info_plain_validator_function(self.fn)
        return core_schema.no_info_plain_validator_function(self.fn)


Template = Annotated[TemplateString, _Plain(_to_template, with_info=True)]
"""A (T) value: any YAML scalar, kept as a :class:`TemplateString`."""

LenientTemplate = Annotated[TemplateString, _Plain(_to_lenient, with_info=True)]
"""A (T) value where an undefined variable renders as "" (``incremental.start``: empty = no bound)."""

Body = Annotated[TemplateString, _Plain(_to_body, with_info=True)]
"""A request body (T): a string, or a mapping/list that is sent as JSON."""

ParamValue = Annotated[Any, _Plain(_to_param, with_info=True)]
"""A request parameter value: a lenient template or a list of them (repeated parameter)."""

Text = Annotated[str, _Plain(_to_text)]
"""A plain string; numbers and booleans are accepted as their text."""

TextList = Annotated[list[str], _Plain(_to_text_list)]
"""A string or a list of strings, always stored as a list."""

HostList = Annotated[list[str], _Plain(_to_host_list)]
"""``allowed_hosts``: a TextList whose entries are checked as origins."""

PathGlobList = Annotated[list[str], _Plain(_to_path_globs)]
"""``rate_limit_pools``' values: a TextList of URL path globs."""

TemplateMap = dict[str, Template]
ParamMap = dict[str, ParamValue]

PATH_FIELDS = frozenset(
    {"records_path", "cursor_path", "next_url_path", "token_path", "status_path", "job_id_path"}
)
"""Field names whose values are paths (``data[-1].id``); checked with rest.paths by the loader."""
