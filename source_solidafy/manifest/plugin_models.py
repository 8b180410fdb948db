"""``type: plugin:<name>`` in a slot of the YAML: the installed plugin found, its options validated.

A slot (``auth``, ``pagination``, ``decoder``, ``partition``, a ``transform`` step) takes a plugin
block before its own union looks at it (:func:`plugin_slot`): the plugin is looked up among the
entry points of the group ``source_solidafy.plugins`` and must be of the slot's kind. Its options
(the block's other keys) are validated by the loader with the plugin's ``Options`` model
(:func:`check_plugins`), so a mistake is ``file:line: streams[0].decoder.delimiter: ...``.

The server passes ``allow_plugins=False`` (unless started with ``--allow-plugins``): a plugin block is
then a problem of its own.
"""

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from source_solidafy.manifest.pyd import (
    BaseModel,
    ConfigDict,
    PydanticCustomError,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

if TYPE_CHECKING:  # plugins.py is imported where a plugin block is met, not by every load
    from source_solidafy.plugins import PluginContext

PREFIX = "plugin:"
SLOT_KINDS = {"auth": "auth", "pagination": "paginator", "decoder": "decoder", "partition": "partition_router",
              "transform": "transform"}


class PluginSpec(BaseModel):
    """A ``type: plugin:<name>`` block: the plugin class and its validated options (set by the loader)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, defer_build=True)  # built within Manifest
    kind: ClassVar[str] = ""

    type: str
    name: str
    plugin: Any  # the class the entry point names
    raw: dict[str, Any]  # the block's other keys, as written
    options: Any = None  # an instance of the plugin's Options (check_plugins)

    def make(self, context: "PluginContext") -> Any:
        """A new plugin object."""
        return self.plugin(self.options, context)


class AuthPluginSpec(PluginSpec):
    kind = "auth"


class PaginatorPluginSpec(PluginSpec):
    kind = "paginator"


class DecoderPluginSpec(PluginSpec):
    kind = "decoder"


class RouterPluginSpec(PluginSpec):
    kind = "partition_router"


class TransformPluginSpec(PluginSpec):
    kind = "transform"


SPECS: dict[str, type[PluginSpec]] = {cls.kind: cls for cls in (
    AuthPluginSpec, PaginatorPluginSpec, DecoderPluginSpec, RouterPluginSpec, TransformPluginSpec)}


@functools.cache
def installed() -> dict[str, Any]:
    """The installed plugins' entry points by name (read once per process)."""
    from importlib.metadata import entry_points

    from source_solidafy.plugins import ENTRY_POINT_GROUP

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _error(code: str, text: str, **ctx: Any) -> PydanticCustomError:
    return PydanticCustomError(code, text, ctx)


def _plugin_class(name: str, kind: str) -> Any:
    """The class of the installed plugin ``name``, checked to be a ``kind`` plugin."""
    found = installed().get(name)
    if found is None:
        names = sorted(installed())
        import difflib  # only for the hint: not imported at start-up
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean 'plugin:{close[0]}'?" if close else ""
        listed = ", ".join(names) or "none"
        raise _error("plugin_unknown", "unknown plugin '{name}' (installed plugins: {listed}){hint}",
                     name=name, listed=listed, hint=hint)
    try:
        cls = found.load()
    except Exception as exc:  # a broken plugin package: one line, never a traceback
        raise _error("plugin_import", "plugin '{name}' cannot be loaded ({value}): {why}",
                     name=name, value=found.value, why=f"{type(exc).__name__}: {exc}") from None
    from source_solidafy.plugins import KINDS

    actual = getattr(cls, "kind", None)
    if actual not in KINDS:
        raise _error("plugin_kind", "plugin '{name}' ({value}) declares no kind; expected kind = one of {kinds}",
                     name=name, value=found.value, kinds=", ".join(KINDS))
    if actual != kind:
        raise _error("plugin_kind", "plugin '{name}' is a {actual} plugin; this place takes a {kind} plugin",
                     name=name, actual=actual, kind=kind)
    return cls


def plugin_slot(slot: str) -> WrapValidator:
    """The validator of a slot that also takes ``type: plugin:<name>`` blocks (the rest goes on to the
    slot's own union)."""
    kind = SLOT_KINDS[slot]

    def check(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        if isinstance(value, PluginSpec):
            return value
        kind_text = value.get("type") if isinstance(value, Mapping) else None
        if not (isinstance(kind_text, str) and kind_text.startswith(PREFIX)):
            return handler(value)
        if not (info.context or {}).get("allow_plugins", True):
            raise _error("plugin_off", "'{type}': plugins are off in this server (its operator enables them "
                         "with solidafy-cdk serve --allow-plugins)", type=kind_text)
        name = kind_text[len(PREFIX):]
        raw = {str(k): v for k, v in value.items() if k != "type"}
        return SPECS[kind](type=kind_text, name=name, plugin=_plugin_class(name, kind), raw=raw)

    return WrapValidator(check)


# ------------------------------------------------------------------------------ options, by the loader


def iter_plugins(obj: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], PluginSpec]]:
    """Every plugin block under ``obj`` with its key path."""
    if isinstance(obj, PluginSpec):
        yield path, obj
        return
    if isinstance(obj, BaseModel):
        for name, info in type(obj).model_fields.items():
            if name != "json_schema":
                yield from iter_plugins(getattr(obj, name), (*path, info.alias or name))
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            yield from iter_plugins(item, (*path, i))


Report = Callable[[tuple[str | int, ...], str], None]


def check_plugins(manifest: Any, report: Report) -> None:
    """Validate each plugin block's options with its ``Options`` model; problems at the options' keys."""
    from source_solidafy.manifest.problems import describe

    for path, spec in iter_plugins(manifest):
        model = getattr(spec.plugin, "Options", None)
        if model is None:
            for key in spec.raw:
                report((*path, key), f"unknown key; plugin '{spec.name}' takes no options")
            continue
        try:
            spec.options = model.model_validate(spec.raw)
        except ValidationError as exc:
            for err in exc.errors():
                loc, message = describe(model, dict(err))
                report((*path, *loc), message)
            continue
        for key in set(spec.raw) - _keys(model):  # an Options model that ignores extra keys: still a typo
            loc, message = describe(model, {"type": "extra_forbidden", "loc": (key,)})
            report((*path, *loc), message)


def _keys(model: type[BaseModel]) -> set[str]:
    from source_solidafy.manifest.fields import accepted_keys

    return accepted_keys(model)
