"""Bounds for the template sandbox: no expression may make a huge number or string, no render loops forever.

jinja2's sandbox stops access to Python internals, not work: ``{{ 9**20000000 }}`` was folded into a
constant when the template compiled (holding the GIL: the whole server stopped for 129 s), and
``'x' * 10**10``, ``'%0999999999d' % 1``, ``'x'.center(10**10)`` or nested loops could take any
memory or time. :class:`BoundedSandbox` keeps templates to what connector values need:

- ``*``, ``**`` and ``%`` are intercepted (so never folded at compile time) and refused when the
  result would exceed :data:`MAX_INT_BITS` bits or :data:`MAX_TEXT` characters;
- string methods and filters that pad, join, replace or format are checked the same way before
  they run (``center``, ``ljust``, ``zfill``, ``format``, ``join``, ``replace``, ``indent``, ...);
- a render may take :data:`MAX_STEPS` loop iterations and calls in all.

A refusal is a ``SecurityError``: the render fails with "not allowed in a template: ...".
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import string
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

MAX_INT_BITS = 4096  # ~1,200 digits: timestamps, page numbers and ids need far fewer
MAX_TEXT = 1_000_000  # characters one repetition, padding, join or format may produce
MAX_STEPS = 1_000_000  # loop iterations and calls one render may make
_BUDGET_FILTER = "solidafy_counted"
_STEPS: contextvars.ContextVar[list[int]] = contextvars.ContextVar("solidafy_template_steps")
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?")
_NUMBERS = re.compile(r"\d+")


def _refuse(what: str) -> SecurityError:
    return SecurityError(what)


def _check_text(size: int, what: str) -> None:
    if size > MAX_TEXT:
        raise _refuse(f"{what} would make {size:,} characters (the limit is {MAX_TEXT:,})")


def _check_bits(bits: int, what: str) -> None:
    if bits > MAX_INT_BITS:
        raise _refuse(f"{what} would make a {bits:,}-bit number (the limit is {MAX_INT_BITS:,} bits)")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_spec(spec: str, what: str) -> None:
    """A ``format()`` spec (``>999999999``, ``.5f``): every width and precision within bounds."""
    if "{" in spec:
        raise _refuse(f"{what}: a width taken from an argument is not allowed")
    for number in _NUMBERS.findall(spec):
        _check_text(int(number), what)


def check_format_string(fmt: str) -> None:
    """``str.format`` fields (``{:>999999999}``) and ``%`` specs (``%0999999999d``, ``%*d``)."""
    with contextlib.suppress(ValueError):  # a malformed format fails by itself when used
        for _, _, spec, _ in string.Formatter().parse(fmt):
            if spec:
                _check_spec(spec, "a format width")
    for match in _PERCENT_SPEC.finditer(fmt):
        for part in match.groups():
            if part == "*":
                raise _refuse("'%*' (a width taken from an argument) is not allowed")
            if part:
                _check_text(int(part), "a '%' format width")


def check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "**" and _is_int(left) and _is_int(right) and right > 0:
        _check_bits(max(abs(left).bit_length() - 1, 0) * right, f"{left} ** {right}")
    elif operator == "*":
        if _is_int(left) and _is_int(right):
            _check_bits(abs(left).bit_length() + abs(right).bit_length(), "this multiplication")
        elif isinstance(left, (str, list, tuple)) and _is_int(right):
            _check_text(len(left) * right, "this repetition")
        elif isinstance(right, (str, list, tuple)) and _is_int(left):
            _check_text(len(right) * left, "this repetition")
    elif operator == "%" and isinstance(left, str):
        check_format_string(left)


def _number(value: Any) -> int:
    return value if _is_int(value) else 0


def _check_method(text: str, name: str, args: tuple[Any, ...]) -> None:
    """str methods that can make more text than they were given."""
    if name in ("ljust", "rjust", "center", "zfill") and args:
        _check_text(_number(args[0]), f"str.{name}")
    elif name == "expandtabs":
        _check_text(len(text) * _number(args[0] if args else 8), "str.expandtabs")
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        count = len(text) + 1 if args[0] == "" else text.count(args[0])
        if len(args) > 2 and _is_int(args[2]) and args[2] >= 0:
            count = min(count, args[2])
        _check_text(len(text) + count * max(len(args[1]) - len(args[0]), 0), "str.replace")
    elif name == "join" and args:
        _check_joined(text, args[0], "str.join")


def _check_joined(separator: str, items: Any, what: str) -> None:
    if isinstance(items, (str, list, tuple, dict)):
        _check_text(len(separator) * max(len(items) - 1, 0), what)


def _steps() -> list[int] | None:
    return _STEPS.get(None)


def take_step() -> None:
    """One loop iteration or call of the current render; refused past :data:`MAX_STEPS`."""
    budget = _steps()
    if budget is not None:
        budget[0] -= 1
        if budget[0] < 0:
            raise _refuse(f"this template made more than {MAX_STEPS:,} loop iterations and calls")


def start_render() -> contextvars.Token[list[int]] | None:
    """A fresh step budget for one render (a nested render shares the outer one); pass the result
    to :func:`end_render`. Plain calls, not a context manager: this runs for every rendered value."""
    return None if _STEPS.get(None) is not None else _STEPS.set([MAX_STEPS])


def end_render(token: contextvars.Token[list[int]] | None) -> None:
    if token is not None:
        _STEPS.reset(token)


def _counted(items: Iterable[Any]) -> Iterator[Any]:
    for item in items:
        take_step()
        yield item


def _bounded_filters(filters: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    center, indent, fmt = filters["center"], filters["indent"], filters["format"]
    join, replace = filters["join"], filters["replace"]

    def bounded_center(value: Any, width: int = 80) -> str:
        _check_text(_number(width), "the center filter")
        return center(value, width)

    def bounded_indent(value: Any, width: Any = 4, *args: Any, **kwargs: Any) -> str:
        pad = len(width) if isinstance(width, str) else _number(width)
        _check_text(pad * (str(value).count("\n") + 1), "the indent filter")
        return indent(value, width, *args, **kwargs)

    def bounded_format(value: Any, *args: Any, **kwargs: Any) -> str:
        check_format_string(str(value))
        return fmt(value, *args, **kwargs)

    def bounded_replace(eval_ctx: Any, value: Any, old: Any, new: Any, count: Any = None) -> Any:
        _check_method(str(value), "replace", (str(old), str(new)) + ((count,) if count is not None else ()))
        return replace(eval_ctx, value, old, new, count)

    def bounded_join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
        _check_joined(str(d), value, "the join filter")
        return join(eval_ctx, value, d, attribute)

    bounded_replace.jinja_pass_arg = replace.jinja_pass_arg  # type: ignore[attr-defined]
    bounded_join.jinja_pass_arg = join.jinja_pass_arg  # type: ignore[attr-defined]
    return {"center": bounded_center, "indent": bounded_indent, "format": bounded_format,
            "replace": bounded_replace, "join": bounded_join, _BUDGET_FILTER: _counted}


class BoundedSandbox(SandboxedEnvironment):
    """The sandbox with the bounds above; otherwise a plain :class:`SandboxedEnvironment`."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters.update(_bounded_filters(self.filters))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        check_binop(operator, left, right)
        return self.binop_table[operator](left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - jinja's signature
        take_step()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            _check_method(owner, getattr(__obj, "__name__", ""), args)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            check_format_string(value.__self__)
        return wrapped

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Every ``{% for %}`` counts its iterations against the render's step budget."""
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, _BUDGET_FILTER, [], [], None, None, lineno=loop.lineno)
        return tree
