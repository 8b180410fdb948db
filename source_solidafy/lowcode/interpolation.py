"""Airbyte's interpolation, with airbyte-cdk's semantics, for the values of a declarative manifest.

What the CDK does with ``"{{ ... }}"`` and what we do the same way:

- A sandboxed jinja2 environment with the CDK's macros (``now_utc()`` is a datetime, ``today_utc()`` a
  date, ``day_delta(n, format)``, ``format_datetime(value, format, input_format)``, ``duration``,
  ``max``, ``min``, ``timestamp``, ``str_to_datetime``, ``today_with_timezone``, ``sanitize_url``,
  ``camel_case_to_snake_case``, ``generate_uuid``) and filters (``hash``, ``base64encode``,
  ``base64decode``, ``string``, ``regex_search``, ``regex_replace``); ``range`` is removed.
- Undefined attributes render empty, and an attribute of one (``None.a.b``) makes the value its default
  (the CDK catches jinja's UndefinedError: a mapping's value is None, a condition false, an
  InterpolatedString fails); a name the context lacks is an error (the CDK raises too).
- ``stream_interval`` and ``stream_partition`` are aliases of ``stream_slice``.
- The rendered text goes through ``ast.literal_eval``: ``"{{ 5 }}"`` is the number 5, ``"True"`` the
  boolean; an empty result is the default (``None`` unless given).

Our engine renders templates with its own context (``config``, ``partition``, ...). An Airbyte value is
kept in a :class:`TemplateTable` and the engine is given ``{{ _ab(N, config, partition) }}``, a
template of the manifest's environment that evaluates value N here, so there is one implementation of
these rules.
"""

from __future__ import annotations

import ast
import base64
import builtins
import datetime as dt
import functools
import hashlib
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import orjson

from source_solidafy.lowcode.durations import parse_duration
from source_solidafy.lowcode.fast_strptime import numeric_format
from source_solidafy.manifest.safe_regex import regex_problem

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

ALIASES = ("stream_interval", "stream_partition")


class StreamSlice(dict[str, Any]):
    """The CDK's StreamSlice as a template sees it: the partition's values as items, and ``extra_fields``
    (a parent's extra fields: ``stream_slice.extra_fields['owner.login']``; ``{}`` without them) as an
    attribute, which ``stream_slice['extra_fields']`` reaches too (jinja tries the attribute after the item)."""

    __slots__ = ("extra_fields",)

    def __init__(self, values: Mapping[str, Any], extra_fields: Mapping[str, Any]) -> None:
        super().__init__(values)
        self.extra_fields = extra_fields


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def today_utc() -> dt.date:
    return now_utc().date()


def today_with_timezone(timezone: str) -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(tz=ZoneInfo(timezone)).date()


def str_to_datetime(text: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def timestamp(value: Any) -> int | float:
    if isinstance(value, (int, float)):
        return int(value)
    return str_to_datetime(value).timestamp()


def day_delta(num_days: int, format: str = "%Y-%m-%dT%H:%M:%S.%f%z") -> str:  # noqa: A002 - the CDK's name
    return (now_utc() + dt.timedelta(days=num_days)).strftime(format)


def duration(text: str) -> Any:
    return parse_duration(text)


def parse_datetime(value: Any, fmt: str) -> dt.datetime:
    """The CDK's DatetimeParser.parse: ``%s``, ``%s_as_float``, ``%ms``, ``%epoch_microseconds``, ``%_ms``."""
    return datetime_parser(fmt)(value)


@functools.lru_cache(maxsize=256)
def datetime_parser(fmt: str) -> Callable[[Any], dt.datetime]:
    """:func:`parse_datetime` of one format, its choices made once (a cursor parses every record's value)."""
    utc = dt.timezone.utc
    epoch = dt.datetime(1970, 1, 1, tzinfo=utc)
    if fmt == "%s":
        return lambda value: dt.datetime.fromtimestamp(int(value), tz=utc)
    if fmt == "%s_as_float":
        return lambda value: dt.datetime.fromtimestamp(float(value), tz=utc)
    if fmt == "%epoch_microseconds":
        return lambda value: epoch + dt.timedelta(microseconds=int(value))
    if fmt == "%ms":
        return lambda value: epoch + dt.timedelta(milliseconds=int(value))
    fmt = fmt.replace("%_ms", "%f")
    numeric = numeric_format(fmt)
    if numeric is not None:  # strptime's answer, faster (fast_strptime.py)
        return lambda value: numeric(str(value))
    return functools.partial(_strptime_utc, fmt=fmt)


def _strptime_utc(value: Any, fmt: str) -> dt.datetime:
    parsed = dt.datetime.strptime(str(value), fmt)
    if parsed.tzinfo is None or parsed.tzinfo.utcoffset(parsed) is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed


def format_as(moment: dt.datetime, fmt: str) -> str:
    """The CDK's DatetimeParser.format."""
    if fmt == "%s":
        return str(int(moment.timestamp()))
    if fmt == "%s_as_float":
        return str(float(moment.timestamp()))
    if fmt == "%epoch_microseconds":
        return str(int(moment.timestamp() * 1_000_000))
    if fmt == "%ms":
        return str(int(moment.timestamp() * 1000))
    if "%_ms" in fmt:
        text = moment.strftime(fmt.replace("%_ms", "%f"))
        return text.replace(moment.strftime("%f"), f"{int(moment.microsecond / 1000):03d}")
    return moment.strftime(fmt)


def format_datetime(value: Any, format: str, input_format: str | None = None) -> str:  # noqa: A002
    if isinstance(value, dt.datetime):
        return value.strftime(format)
    if isinstance(value, int):
        moment = parse_datetime(value, input_format or "%s")
    else:
        moment = dt.datetime.strptime(value, input_format) if input_format else str_to_datetime(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return format_as(moment, format)


def _hash(value: Any, hash_type: str = "md5", salt: str | None = None) -> str:
    fn = getattr(hashlib, hash_type, None)
    if fn is None:
        raise AttributeError(f"No hashing function named {hash_type}")
    h = fn()
    h.update(str(value).encode("utf-8"))
    if salt:
        h.update(str(salt).encode("utf-8"))
    return h.hexdigest()


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    return f'"""{orjson.dumps(value).decode()}"""'


@functools.lru_cache(maxsize=64)
def checked_regex(regex: str) -> str:
    """A manifest's regex is searched in what the API sends: the rule of every regex a connector file
    gives (manifest/safe_regex.py), checked when first used (it may be a template's value)."""
    if (problem := regex_problem(regex)) is not None:
        raise ValueError(f"regex {regex[:80]!r}: {problem}")
    return regex


def _regex_search(value: str, regex: str) -> str:
    match = re.search(checked_regex(str(regex)), value)
    return match.group(1) if match and len(match.groups()) > 0 else ""


MACROS: dict[str, Any] = {
    "now_utc": now_utc, "today_utc": today_utc, "timestamp": timestamp, "max": builtins.max,
    "min": builtins.min, "day_delta": day_delta, "duration": duration, "format_datetime": format_datetime,
    "today_with_timezone": today_with_timezone, "str_to_datetime": str_to_datetime,
    "sanitize_url": quote_plus, "generate_uuid": lambda: str(uuid.uuid4()),
    "camel_case_to_snake_case": lambda v: re.sub(r"(?<!^)(?=[A-Z])", "_", v).lower(),
}
FILTERS: dict[str, Any] = {
    "hash": _hash,
    "base64encode": lambda v: base64.b64encode(v.encode("utf-8")).decode(),
    "base64decode": lambda v: base64.b64decode(v.encode("utf-8")).decode(),
    "string": _string,
    "regex_search": _regex_search,
    "regex_replace": lambda v, regex, repl: re.sub(checked_regex(str(regex)), repl, v),
}


def make_environment() -> SandboxedEnvironment:
    from jinja2 import Undefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=Undefined)
    env.filters.update(FILTERS)
    env.globals.update(MACROS)
    env.globals.pop("range", None)
    return env


@functools.cache
def _env() -> SandboxedEnvironment:
    """The one environment, made (and jinja imported, ~3% of an Airbyte read's start-up instructions)
    on first need: values that are plain lookups (``{{ config['key'] }}``) never need it."""
    return make_environment()


@functools.cache
def _globals() -> frozenset[str]:
    return frozenset(_env().globals)


def _undefined_error() -> type[Exception]:
    """jinja's UndefinedError (an ``except`` clause evaluates this only when something was raised)."""
    from jinja2 import UndefinedError

    return UndefinedError


# Names a value's lookup may start from without jinja telling which names it reads (a name jinja
# parses otherwise, ``none`` or ``not``, or that a macro shadows, is left to jinja).
_CONTEXT_NAMES = frozenset({"config", "parameters", "response", "headers", "stream_slice", "stream_state",
                            "stream_interval", "stream_partition", "next_page_token", "last_record",
                            "last_page_size", "record", "value", "path", "property", "creation_response"})


_NOT_LITERAL = re.compile(r"[ \t]*(?!True|False|None)[^\W\d][^'\"]*\Z|[ \t]*\d[\w.+-]*[:T][^'\"\[\]{}()]*\Z")


def literal(text: Any, valid_types: tuple[type, ...] | None = None) -> Any:
    """The CDK's ``ast.literal_eval`` step: a Python literal becomes its value, anything else stays;
    with ``valid_types`` (AddFields' ``value_type``) only a literal of one of those types.

    Text that cannot be one is known without parsing: a word (``abc123``, not ``True``/``False``/``None``)
    or a date-time (``2024-01-01T00:00:00Z``) with no quote or bracket in it.
    """
    if isinstance(text, str) and _NOT_LITERAL.match(text):
        return text
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    if valid_types:
        return value if isinstance(value, valid_types) else text
    return text if isinstance(value, complex) else value


@functools.lru_cache(maxsize=4096)
def _names(text: str) -> frozenset[str]:
    fast = _lookup(text)
    if fast is not None and fast[1] in _CONTEXT_NAMES:  # jinja's answer for ``{{ [not] name.a['b'] }}``
        return frozenset((fast[1],))
    from jinja2 import meta

    return frozenset(meta.find_undeclared_variables(_env().parse(text)))


def variables(text: str) -> set[str]:
    """Top-level names a template reads (``config``, ``stream_slice``, ...); parsed once per text."""
    return set(_names(text))


@functools.lru_cache(maxsize=4096)
def _template(text: str) -> Template:
    """A template compiled once per text (a value is evaluated per page, per record or per slice)."""
    return _env().from_string(text)


_LOOKUP = re.compile(r"^\{\{\s*(not\s+)?([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*|\[\s*'[^'\\]*'\s*\]|\[\s*\"[^\"\\]*\"\s*\])+)\s*\}\}$")
_KEY = re.compile(r"\.([A-Za-z_]\w*)|\[\s*'([^'\\]*)'\s*\]|\[\s*\"([^\"\\]*)\"\s*\]")
_GONE = object()


@functools.lru_cache(maxsize=4096)
def _lookup(text: str) -> tuple[bool, str, tuple[str, ...]] | None:
    """``{{ [not] name.a['b'] }}``: (negated, name, keys), read without jinja when every step is a
    dict's item (a dotted name that is also a dict attribute, ``.items``, is jinja's attribute: no)."""
    m = _LOOKUP.match(text)
    if m is None:
        return None
    keys: list[str] = []
    for dotted, single, double in _KEY.findall(m.group(3)):
        if dotted and hasattr(dict, dotted):
            return None
        keys.append(dotted or single or double)
    return bool(m.group(1)), m.group(2), tuple(keys)


def _rendered(text: str, ctx: Mapping[str, Any]) -> str:
    """The template's text as jinja renders it; plain dict lookups without building a jinja context."""
    fast = _lookup(text)
    if fast is not None:
        negated, name, keys = fast
        node = ctx.get(name, _GONE)
        for i, key in enumerate(keys):
            if type(node) is not dict and (type(node) is not StreamSlice or key == "extra_fields"):
                break  # an attribute or item of anything else: jinja's rules
            node = node.get(key, _GONE)
            if node is _GONE:
                if i == len(keys) - 1:  # jinja's Undefined: renders "", is false
                    return "True" if negated else ""
                break  # an attribute of Undefined: jinja raises
        else:
            return str(not node) if negated else str(node)
    return _template(text).render(ctx)


@dataclass
class Interpolated:
    """One manifest value: its text, the ``$parameters`` of its component, and where it is."""

    text: str
    parameters: Mapping[str, Any]
    where: str = ""

    def eval(self, config: Mapping[str, Any], default: Any = None, valid_types: tuple[type, ...] | None = None,
             in_mapping: bool = False, **context: Any) -> Any:
        """The value as the CDK computes it (``default`` when it renders empty; ``valid_types``: see
        :func:`literal`). Reading an attribute of something undefined (``None.a``) gives the default too, as
        the CDK catches jinja's UndefinedError; without one that is an error (an InterpolatedString's default
        is its own text, which fails again) unless the value is a mapping's (``in_mapping``: its default is None)."""
        ctx: dict[str, Any] = {"config": config, "parameters": self.parameters, **context}
        if "stream_slice" in ctx:
            for alias in ALIASES:
                ctx[alias] = ctx["stream_slice"]
        missing = _names(self.text) - ctx.keys()
        if missing:
            missing -= _globals()
        if missing:
            raise ValueError(f"{self.where or self.text}: undefined variables {sorted(missing)}")
        try:
            rendered = _rendered(self.text, ctx) if "{" in self.text else self.text
        except _undefined_error() as exc:  # an attribute of something undefined (of None): the CDK takes the default
            if default is None and not in_mapping:
                raise ValueError(str(exc)) from None
            rendered = ""
        if rendered:
            return literal(rendered, valid_types)
        if default is None:
            return None
        try:
            return literal(_template(str(default)).render(ctx), valid_types)
        except _undefined_error() as exc:  # the CDK fails here
            raise ValueError(str(exc)) from None


def is_static(text: str) -> bool:
    """Renders as itself in both engines (no jinja, and literal_eval leaves the text as it was)."""
    if "{{" in text or "{%" in text or "{#" in text:
        return False
    value = literal(text)
    return isinstance(value, str) or str(value) == text
