"""A stream's ``filter``: a template condition per record, compiled once into one Python comprehension.

``filter: "{{ record.status != 'deleted' }}"`` keeps the records for which the condition is true.
Rendering a jinja template per record costs ~10 µs; most conditions are one expression of
comparisons, ``and``/``or``/``not``, tests (``is defined``) and plain filters (``| lower``) on
``record`` fields. Such an expression is translated, node by node, into the same Python operators
jinja's own compiler emits, and the page is filtered by one list comprehension built from it: no
function call, no context per record. The translation keeps jinja's meaning where it matters:

- a field is read as jinja reads it (a record's key; an attribute or item of anything else through
  the sandbox's ``getattr``/``getitem``), and a missing one is the environment's Undefined: it
  compares unequal, is false, is not ``defined``, and fails when used in ``<`` or ``.x``;
- tests and filters are the environment's own functions (filters needing a context are not
  translated);
- other names (``config``, ``partition``, ``since``, bare config keys) come from the render context.

Anything else (``{% if %}``, calls, ``*``) is rendered by jinja, per record, as any template is.
A record is kept when the value is true: ``False``, ``None``, ``0`` and the texts ``""``,
``false``, ``False``, ``0``, ``none``, ``None``, ``null``, ``[]``, ``{}`` are false. As when jinja
prints it, a value that is undefined (``{{ record.archived }}`` on a record without ``archived``)
fails the stream: ``record.archived | default(false)`` or ``record.archived is defined`` say
what a missing field means.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from source_solidafy.errors import StreamError, TemplateError
from source_solidafy.manifest.templates import TemplateString

if TYPE_CHECKING:
    from jinja2 import Environment, nodes

PageFilter = Callable[[list[dict[str, Any]], Mapping[str, Any]], list[dict[str, Any]]]

FALSE_TEXTS = frozenset({"", "false", "False", "0", "none", "None", "null", "[]", "{}"})
_COMPARE = {"eq": "==", "ne": "!=", "gt": ">", "gteq": ">=", "lt": "<", "lteq": "<=", "in": "in", "notin": "not in"}
_BINARY = {"Add": "+", "Sub": "-"}  # the sandbox bounds * ** % (jinja_limits): those stay with jinja


def truthy(value: Any) -> bool:
    """Whether a condition's value keeps the record (the same rule for a value and for rendered text)."""
    if value is True or value is False:
        return value
    if value is None:
        return False
    if isinstance(value, (int, float)):
        return value != 0
    return str(value).strip() not in FALSE_TEXTS  # an undefined value fails here, as printing it fails


class _NotTranslated(Exception):
    """The condition uses something the translation does not cover: jinja renders it."""


class _Translator:
    """jinja expression nodes -> Python source; constants and helpers go to ``self.names``."""

    def __init__(self, env: Environment) -> None:
        from jinja2.utils import _PassArg

        self.env, self._pass_arg = env, _PassArg
        self.names: dict[str, Any] = {"_ga": self._getattr, "_gi": self._getitem, "_U": self._undefined}
        self.bool_result = False  # the top node always gives a bool (Compare, Not, Test)

    def _getattr(self, obj: Any, name: str) -> Any:
        if type(obj) is dict and name in obj and not hasattr(dict, name):
            return obj[name]
        return self.env.getattr(obj, name)

    def _getitem(self, obj: Any, key: Any) -> Any:
        if type(obj) is dict:
            try:
                return obj[key]
            except (KeyError, TypeError):
                pass
        return self.env.getitem(obj, key)

    def _undefined(self, name: str) -> Any:
        return self.env.undefined(name=name)

    def _const(self, value: Any) -> str:
        key = f"_k{len(self.names)}"
        self.names[key] = value
        return key

    def top(self, node: nodes.Node) -> str:
        from jinja2 import nodes as n

        self.bool_result = isinstance(node, (n.Compare, n.Not, n.Test))
        return self.expr(node)

    def expr(self, node: nodes.Node) -> str:
        handler = getattr(self, f"_{type(node).__name__}", None)
        if handler is None:
            raise _NotTranslated(type(node).__name__)
        return str(handler(node))

    def _Const(self, node: nodes.Const) -> str:  # noqa: N802 - named after jinja's node classes
        return self._const(node.value)

    def _List(self, node: nodes.List) -> str:  # noqa: N802
        return "[" + "".join(self.expr(item) + ", " for item in node.items) + "]"

    def _Tuple(self, node: nodes.Tuple) -> str:  # noqa: N802
        return "(" + "".join(self.expr(item) + ", " for item in node.items) + ")"

    def _Name(self, node: nodes.Name) -> str:  # noqa: N802
        if node.name == "record":
            return "r"
        key = self._const(node.name)
        return f"(c[{key}] if {key} in c else _U({key}))"

    def _Getattr(self, node: nodes.Getattr) -> str:  # noqa: N802
        from jinja2 import nodes as n

        key = self._const(node.attr)
        if isinstance(node.node, n.Name) and node.node.name == "record" and not hasattr(dict, node.attr):
            return f"(r[{key}] if {key} in r else _ga(r, {key}))"  # records are dicts: the common case inline
        return f"_ga({self.expr(node.node)}, {key})"

    def _Getitem(self, node: nodes.Getitem) -> str:  # noqa: N802
        return f"_gi({self.expr(node.node)}, {self.expr(node.arg)})"

    def _Compare(self, node: nodes.Compare) -> str:  # noqa: N802
        parts = [self.expr(node.expr)]
        for operand in node.ops:
            parts += [_COMPARE[operand.op], self.expr(operand.expr)]
        return "(" + " ".join(parts) + ")"

    def _And(self, node: nodes.And) -> str:  # noqa: N802
        return f"({self.expr(node.left)} and {self.expr(node.right)})"

    def _Or(self, node: nodes.Or) -> str:  # noqa: N802
        return f"({self.expr(node.left)} or {self.expr(node.right)})"

    def _Not(self, node: nodes.Not) -> str:  # noqa: N802
        return f"(not {self.expr(node.node)})"

    def _Neg(self, node: nodes.Neg) -> str:  # noqa: N802
        return f"(-{self.expr(node.node)})"

    def _binary(self, node: nodes.BinExpr) -> str:
        return f"({self.expr(node.left)} {_BINARY[type(node).__name__]} {self.expr(node.right)})"

    _Add = _Sub = _binary

    def _CondExpr(self, node: nodes.CondExpr) -> str:  # noqa: N802
        if node.expr2 is None:
            raise _NotTranslated("CondExpr without else")
        return f"({self.expr(node.expr1)} if {self.expr(node.test)} else {self.expr(node.expr2)})"

    def _call(self, table: Mapping[str, Any], node: nodes.Filter | nodes.Test, subject: str) -> str:
        func = table.get(node.name)
        if func is None or self._pass_arg.from_obj(func) is not None or node.kwargs or node.dyn_args \
                or node.dyn_kwargs:
            raise _NotTranslated(node.name)
        args = "".join(", " + self.expr(arg) for arg in node.args)
        return f"{self._const(func)}({subject}{args})"

    def _Test(self, node: nodes.Test) -> str:  # noqa: N802
        return self._call(self.env.tests, node, self.expr(node.node))

    def _Filter(self, node: nodes.Filter) -> str:  # noqa: N802
        if node.node is None:
            raise _NotTranslated("filter block")
        return self._call(self.env.filters, node, self.expr(node.node))


def _single_expression(env: Environment, source: str) -> nodes.Node | None:
    """The expression of a template that is one ``{{ ... }}`` (whitespace around allowed), else None."""
    from jinja2 import nodes as n

    body = env.parse(source).body
    if len(body) != 1 or not isinstance(body[0], n.Output):
        return None
    parts = [p for p in body[0].nodes if not (isinstance(p, n.TemplateData) and not p.data.strip())]
    return parts[0] if len(parts) == 1 and not isinstance(parts[0], n.TemplateData) else None


def translate(template: TemplateString) -> PageFilter | None:
    """The page filter of a condition jinja need not render, or None (it uses something else)."""
    if template._template is None:
        template.compile()
    assert template._template is not None
    env = template._template.environment
    node = _single_expression(env, template.source)
    if node is None:
        return None
    translator = _Translator(env)
    try:
        test = translator.top(node)
    except _NotTranslated:
        return None
    if not translator.bool_result:
        translator.names["_truthy"] = truthy
        test = f"_truthy({test})"
    code = compile(f"lambda rs, c: [r for r in rs if {test}]", f"<filter {template.where}>", "eval")
    made: PageFilter = eval(code, {"__builtins__": {}, **translator.names})  # noqa: S307 - our own translation
    return made


class RecordFilter:
    """``filter``: keeps a page's records for which the condition holds; counts the others."""

    def __init__(self, condition: TemplateString, stream: str) -> None:
        self.condition, self.stream = condition, stream
        self._fast = None if condition.is_static else translate(condition)

    @property
    def translated(self) -> bool:
        """The condition runs as one Python comprehension (no jinja render per record)."""
        return self._fast is not None

    def apply(self, records: list[dict[str, Any]], ctx: Mapping[str, Any]) -> list[dict[str, Any]]:
        if self.condition.is_static:
            return records if truthy(self.condition.source) else []
        try:
            if self._fast is not None:
                return self._fast(records, ctx)
            render = self.condition.render
            return [r for r in records if truthy(render(ctx, record=r))]
        except TemplateError as exc:
            raise StreamError(f"stream '{self.stream}': filter: {exc}") from None
        except StreamError:  # a lookup the condition reads failed: it says so itself
            raise
        except Exception as exc:  # noqa: BLE001 - the condition failed on a record: name it, not its value
            from source_solidafy.manifest.jinja_env import describe_failure

            raise StreamError(f"stream '{self.stream}': filter: {describe_failure(self.condition, exc)}") from None
