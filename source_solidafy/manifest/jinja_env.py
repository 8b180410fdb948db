"""The jinja2 half of templates: environments, undefined handling, rendering, config-key discovery.

Why a separate module: most connectors (and every static value such as ``/customers``) never need
jinja, and importing it costs ~50 ms of start-up. :mod:`source_solidafy.manifest.templates` imports
this module only when a template with ``{{``, ``{%`` or ``{#`` is compiled, rendered or inspected.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
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
    "Reads",
    "TemplateSyntaxError",
    "compile_template",
    "config_keys",
    "default_environments",
    "describe_failure",
    "make_environment",
    "make_lenient_environment",
    "render",
    "unguarded_reads",
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
    def _undefined_message(self) -> str:
        return _undefined_message(self)

    __str__ = jinja2.Undefined._fail_with_undefined_error
    __iter__ = jinja2.Undefined._fail_with_undefined_error
    __len__ = jinja2.Undefined._fail_with_undefined_error


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


# What a render turns into a TemplateError naming the template (anything else propagates as it is).
RENDER_ERRORS = (UndefinedError, SecurityError, TemplateError, RecursionError, TypeError, ValueError, ArithmeticError,
                 LookupError)


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
    except RENDER_ERRORS as exc:
        raise TemplateError(describe_failure(template, exc)) from None
    finally:
        end_render(token)


def describe_failure(template: TemplateString, exc: BaseException) -> str:
    """``template at f.yaml:3: key: <what went wrong>``: one line, never a value of the context.

    Python's messages quote the offending value, which may be a secret: quoted parts are dropped.
    """
    label = template._label()
    if isinstance(exc, UndefinedError):
        return f"{label}: {exc.message}"
    if isinstance(exc, SecurityError):
        return f"{label}: not allowed in a template: {exc}"
    if isinstance(exc, TemplateError):
        return f"{label}: {exc.message}"
    if isinstance(exc, RecursionError):
        return f"{label}: the template calls itself too deeply"
    detail = _QUOTED.sub("'...'", str(exc))
    return f"{label}: {type(exc).__name__}: {detail}"


# ------------------------------------------------------------------------------ what a template reads


def _const_str(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        return node.value
    return None


def _is_name(node: nodes.Node, name: str) -> bool:
    return isinstance(node, nodes.Name) and node.name == name


def _lookups(ast: nodes.Template, namespace: str) -> Iterator[tuple[nodes.Node, str]]:
    """``ns.x``, ``ns['x']`` and ``ns.get('x')``, each with the node that reads it."""
    for node in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Call)):
        if isinstance(node, nodes.Getattr) and _is_name(node.node, namespace) and node.attr != "get":
            yield node, node.attr
        elif isinstance(node, nodes.Getitem) and _is_name(node.node, namespace):
            key = _const_str(node.arg)
            if key is not None:
                yield node, key
        elif (
            isinstance(node, nodes.Call)
            and isinstance(node.node, nodes.Getattr)
            and node.node.attr == "get"
            and _is_name(node.node.node, namespace)
            and node.args
        ):
            key = _const_str(node.args[0])
            if key is not None:
                yield node, key


def config_keys(source: str, env: jinja2.Environment | None = None) -> set[str]:
    """Config keys a (non-static) template source reads, bare names included."""
    env = env or default_environments()[0]
    ast = env.parse(source)
    bare = meta.find_undeclared_variables(ast) - RESERVED_NAMES - set(env.globals)  # range, dict...
    return {key for _, key in _lookups(ast, "config")} | bare


_GUARD_FILTERS = frozenset({"default", "d"})
_GUARD_TESTS = frozenset({"defined", "undefined", "none"})


def _guarded(ast: nodes.Template) -> set[int]:
    """Nodes read under a guard: ``x | default(..)``, ``x is defined``, ``{% if x %}``, ``a if x else b``."""
    out: set[int] = set()
    for f in ast.find_all(nodes.Filter):
        if f.name in _GUARD_FILTERS and f.node is not None:
            out.add(id(f.node))
    for t in ast.find_all(nodes.Test):
        if t.name in _GUARD_TESTS:
            out.add(id(t.node))
    for c in ast.find_all((nodes.If, nodes.CondExpr)):
        assert isinstance(c, (nodes.If, nodes.CondExpr))
        out.add(id(c.test))
    return out


@dataclass(frozen=True)
class Reads:
    """What a template reads that must exist: free top-level names and keys of ``config``/``partition``.

    A name or key that the template also reads under a guard anywhere (``| default``, ``is defined``,
    an ``if`` test) is left out: the template copes with its absence.
    """

    names: frozenset[str]
    keys: dict[str, frozenset[str]]
    bare: frozenset[str]  # names read from config (``{{ api_key }}``): not a context name or helper


_READS: OrderedDict[str, Reads] = OrderedDict()  # by source, most recent last; bounded
_READS_MAX = 4096
_READS_LOCK = threading.Lock()


def _remember(source: str, reads: Reads) -> Reads:
    with _READS_LOCK:
        _READS[source] = reads
        _READS.move_to_end(source)
        if len(_READS) > _READS_MAX:
            _READS.popitem(last=False)
    return reads


def compile_template(env: SandboxedEnvironment, source: str) -> jinja2.Template:
    """Parse once: the syntax tree gives the compiled template and, for the load checks, its Reads."""
    ast = env.parse(source)
    _remember(source, _reads_of(ast, env))
    return env.from_string(ast)


def unguarded_reads(source: str) -> Reads:
    """:class:`Reads` of a (non-static) template source (already known when it was compiled)."""
    with _READS_LOCK:
        found = _READS.get(source)
    if found is not None:
        return found
    env = default_environments()[0]
    return _remember(source, _reads_of(env.parse(source), env))


def _reads_of(ast: nodes.Template, env: jinja2.Environment) -> Reads:
    guarded = _guarded(ast)
    free = meta.find_undeclared_variables(ast)
    safe_names = {n.name for n in ast.find_all(nodes.Name) if id(n) in guarded}
    keys: dict[str, frozenset[str]] = {}
    for namespace in ("config", "partition", "lookup"):
        found = list(_lookups(ast, namespace)) if namespace in free else []
        safe = {key for node, key in found if id(node) in guarded}
        keys[namespace] = frozenset(key for _, key in found if key not in safe)
    names = frozenset(free - safe_names)
    return Reads(names, keys, frozenset(names - RESERVED_NAMES - set(env.globals)))
