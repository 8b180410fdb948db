"""The jinja2 half of templates: environments, undefined handling, rendering, config-key discovery.

Why a separate module: most connectors (and every static value such as ``/customers``) never need
jinja, and importing it costs ~50 ms of start-up. :mod:`source_solidafy.manifest.templates` imports
this module only when a template with ``{{``, ``{%`` or ``{#`` is compiled, rendered or inspected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from source_solidafy.errors import TemplateError
from source_solidafy.manifest.jinja_limits import BoundedSandbox, end_render, start_render
from source_solidafy.manifest.templates import HELPERS, RESERVED_NAMES, Namespace

if TYPE_CHECKING:
    from source_solidafy.manifest.templates import TemplateString

__all__ = [
    "LenientUndefined",
    "SandboxedEnvironment",
    "StrictUndefined",
    "TemplateSyntaxError",
    "config_keys",
    "default_environments",
    "make_environment",
    "make_lenient_environment",
    "render",
]

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _undefined_message(u: jinja2.Undefined) -> str:
    if u._undefined_hint:
        return u._undefined_hint
    name = u._undefined_name
    obj = u._undefined_obj
    if isinstance(obj, Namespace):
        return f"undefined variable '{obj._ns_label}.{name}'"
    if obj is jinja2.utils.missing:
        return f"undefined variable '{name}'"
    return f"undefined variable '{name}' (no such key or attribute on {type(obj).__name__})"


class StrictUndefined(jinja2.Undefined):
    """Fails when printed or iterated, but is falsy in ``{% if %}`` so optional keys can be tested."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:  # type: ignore[override]
        return _undefined_message(self)

    __str__ = jinja2.Undefined._fail_with_undefined_error  # type: ignore[assignment]
    __iter__ = jinja2.Undefined._fail_with_undefined_error  # type: ignore[assignment]
    __len__ = jinja2.Undefined._fail_with_undefined_error  # type: ignore[assignment]


class LenientUndefined(jinja2.ChainableUndefined):
    """Renders as ``""`` at any depth (``config.a.b``): for request params, which are then dropped."""

    __slots__ = ()


def make_environment() -> SandboxedEnvironment:
    """One per manifest: sandboxed (no Python internals, bounded work: jinja_limits.py), no autoescape,
    strict undefined."""
    env = BoundedSandbox(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)
    env.globals.update(HELPERS)
    return env


def make_lenient_environment(strict: SandboxedEnvironment) -> SandboxedEnvironment:
    """Same environment, but undefined names render as ``""`` (request and check params)."""
    return strict.overlay(undefined=LenientUndefined)


_DEFAULT_ENVS: tuple[SandboxedEnvironment, SandboxedEnvironment] | None = None


def default_environments() -> tuple[SandboxedEnvironment, SandboxedEnvironment]:
    """The process-wide (strict, lenient) pair, for templates built outside a manifest load."""
    global _DEFAULT_ENVS
    if _DEFAULT_ENVS is None:
        strict = make_environment()
        _DEFAULT_ENVS = (strict, make_lenient_environment(strict))
    return _DEFAULT_ENVS


def render(template: TemplateString, ctx: Mapping[str, Any], extra: dict[str, Any]) -> str:
    """Render a non-static template, compiling it first if needed; every failure is a TemplateError."""
    if template._template is None:
        try:
            template.compile()
        except TemplateSyntaxError as exc:
            raise TemplateError(f"{template._label()}: template syntax error: {exc.message}") from None
    compiled = template._template
    assert compiled is not None
    token = start_render()
    try:
        return compiled.render(ctx, **extra) if extra else compiled.render(ctx)
    except UndefinedError as exc:
        raise TemplateError(f"{template._label()}: {exc.message}") from None
    except SecurityError as exc:
        raise TemplateError(f"{template._label()}: not allowed in a template: {exc}") from None
    except TemplateError as exc:
        raise TemplateError(f"{template._label()}: {exc.message}") from None
    except RecursionError:
        raise TemplateError(f"{template._label()}: the template calls itself too deeply") from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        # Python's messages quote the offending value, which may be a secret: drop quoted parts.
        detail = _QUOTED.sub("'...'", str(exc))
        raise TemplateError(f"{template._label()}: {type(exc).__name__}: {detail}") from None
    finally:
        end_render(token)


# ------------------------------------------------------------------------------------ config keys


def _const_str(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        return node.value
    return None


def _is_config(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Name) and node.name == "config"


def _config_lookups(ast: nodes.Template) -> set[str]:
    """``config.x``, ``config['x']`` and ``config.get('x')``."""
    found: set[str] = set()
    for node in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Call)):
        if isinstance(node, nodes.Getattr) and _is_config(node.node) and node.attr != "get":
            found.add(node.attr)
        elif isinstance(node, nodes.Getitem) and _is_config(node.node):
            key = _const_str(node.arg)
            if key is not None:
                found.add(key)
        elif (
            isinstance(node, nodes.Call)
            and isinstance(node.node, nodes.Getattr)
            and node.node.attr == "get"
            and _is_config(node.node.node)
            and node.args
        ):
            key = _const_str(node.args[0])
            if key is not None:
                found.add(key)
    return found


def config_keys(source: str, env: jinja2.Environment | None = None) -> set[str]:
    """Config keys a (non-static) template source reads, bare names included."""
    env = env or default_environments()[0]
    ast = env.parse(source)
    bare = meta.find_undeclared_variables(ast) - RESERVED_NAMES - set(env.globals)  # range, dict...
    return _config_lookups(ast) | bare
