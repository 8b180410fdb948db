"""Templates in connector YAML: one sandboxed jinja2 environment, each string compiled once.

Why a wrapper class: most YAML values carry no ``{{`` at all (``/customers``, ``"100"``); those render
as themselves with no jinja call. The rest are compiled when the manifest loads (syntax errors are
load errors, exit 2) and render against a context built once per partition or page::

    ctx = build_context(config, partition={"org_id": 7}, state={"cursor": "2024-01-01"})
    path.render(ctx)                      # "/orgs/7/members"
    value.render(ctx, record=record)      # transforms add the record

Context names: ``config``, ``partition``, ``state``, ``job_id``, ``record``, ``now`` (UTC ISO 8601),
``today`` (YYYY-MM-DD), ``auth`` (OAuth token response fields), ``since`` (incremental lower bound),
``lookup`` (the connector's ``lookups``, read when first used),
and the helpers ``now_utc()``, ``format_datetime(value, fmt)``, ``day_delta(n)``, ``unix(value)``.
Any other top-level name is looked up in ``config`` (``{{ api_key }}`` == ``{{ config.api_key }}``).

An undefined variable raises :class:`~source_solidafy.errors.TemplateError` naming the template
(``where``: file:line: key path) and the variable; ``lenient`` templates (request and check params)
render it as ``""`` instead, and the caller drops the empty parameter.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from types import ModuleType
from typing import TYPE_CHECKING, Any

from source_solidafy.errors import TemplateError

if TYPE_CHECKING:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    from source_solidafy.manifest.jinja_env import Reads

CONTEXT_NAMES = frozenset(
    {"config", "partition", "state", "job_id", "record", "now", "today", "auth", "since", "lookup"}
)
HELPER_NAMES = frozenset({"now_utc", "format_datetime", "day_delta", "unix"})
RESERVED_NAMES = CONTEXT_NAMES | HELPER_NAMES


class Namespace(Mapping):
    """A read-only view that knows its context name, so an undefined ``config.x`` reads ``config.x``.

    Not a dict subclass on purpose: jinja prefers attributes, so a dict's ``label`` or ``copy`` would
    shadow config keys of that name; only the Mapping methods (``get``, ``items``...) remain.
    """

    __slots__ = ("_ns_label", "_ns_data")

    def __init__(self, label: str, data: Mapping[str, Any] | None = None) -> None:
        self._ns_label = label
        self._ns_data = data if data is not None else {}

    def __getitem__(self, key: str) -> Any:
        return self._ns_data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._ns_data)

    def __len__(self) -> int:
        return len(self._ns_data)

    def __repr__(self) -> str:
        return f"{self._ns_label}{dict(self._ns_data)!r}"


# ---------------------------------------------------------------------------------------- helpers


def _to_datetime(value: Any) -> datetime:
    """ISO 8601 string, unix seconds (int, float or digit string) or datetime -> aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, bool):
        raise TemplateError(f"cannot read a date from {value!r}")
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    text = str(value).strip()
    if text.lstrip("-").replace(".", "", 1).isdigit():
        return datetime.fromtimestamp(float(text), tz=timezone.utc)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise TemplateError(f"cannot read a date from {text!r} (expected ISO 8601 or unix seconds)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def iso_utc(dt: datetime) -> str:
    """``2024-01-15T10:30:00Z``: the one timestamp spelling templates produce."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_utc() -> str:
    """The current UTC time as ISO 8601 (``2024-01-15T10:30:00Z``)."""
    return iso_utc(datetime.now(timezone.utc))


def unix(value: Any) -> int:
    """Unix seconds of an ISO string, a datetime or a unix value (``{{ unix(state.cursor) }}``)."""
    return int(_to_datetime(value).timestamp())


def format_datetime(value: Any, fmt: str = "%Y-%m-%dT%H:%M:%SZ") -> str:
    """Format ``value`` with a strftime pattern, or ``unix`` / ``unix_ms`` / ``iso8601``."""
    dt = _to_datetime(value)
    if fmt == "unix":
        return str(int(dt.timestamp()))
    if fmt == "unix_ms":
        return str(int(dt.timestamp() * 1000))
    if fmt == "iso8601":
        return iso_utc(dt)
    return dt.astimezone(timezone.utc).strftime(fmt)


def day_delta(n: int | str = 0) -> str:
    """Today (UTC) plus ``n`` days as ``YYYY-MM-DD``: ``{{ day_delta(-30) }}`` is 30 days ago."""
    return (datetime.now(timezone.utc) + timedelta(days=int(n))).strftime("%Y-%m-%d")


HELPERS: dict[str, Any] = {
    "now_utc": now_utc,
    "format_datetime": format_datetime,
    "day_delta": day_delta,
    "unix": unix,
}


def build_context(
    config: Mapping[str, Any] | None = None,
    *,
    partition: Mapping[str, Any] | None = None,
    state: Mapping[str, Any] | None = None,
    job_id: str | None = None,
    auth: Mapping[str, Any] | None = None,
    since: str | None = None,
    now: datetime | None = None,
    lookup: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The render context; build it once per partition/page, not per template or record.

    Bare config names come first so a reserved name (``state``, ``since``...) always wins.
    """
    moment = now or datetime.now(timezone.utc)
    cfg = Namespace("config", config)
    ctx: dict[str, Any] = {k: v for k, v in cfg.items() if isinstance(k, str) and k not in RESERVED_NAMES}
    ctx.update(HELPERS)
    ctx.update(
        config=cfg,
        partition=Namespace("partition", partition),
        state=Namespace("state", state),
        auth=Namespace("auth", auth),
        now=iso_utc(moment),
        today=moment.astimezone(timezone.utc).strftime("%Y-%m-%d"),
        since="" if since is None else since,
        lookup=Namespace("lookup", lookup),
    )
    if job_id is not None:
        ctx["job_id"] = job_id
    return ctx


# -------------------------------------------------------------------------------------- templates


_JINJA: ModuleType | None = None


def _jinja() -> ModuleType:
    """:mod:`source_solidafy.manifest.jinja_env`, imported on first need (static values never need it)."""
    global _JINJA
    if _JINJA is None:
        from source_solidafy.manifest import jinja_env

        _JINJA = jinja_env
    return _JINJA


def make_environment() -> SandboxedEnvironment:
    """One per manifest: sandboxed (no Python internals), no autoescape, strict undefined."""
    return _jinja().make_environment()


def make_lenient_environment(strict: SandboxedEnvironment) -> SandboxedEnvironment:
    """Same environment, but undefined names render as ``""`` (request and check params)."""
    return _jinja().make_lenient_environment(strict)


def default_environments() -> tuple[SandboxedEnvironment, SandboxedEnvironment]:
    """The process-wide (strict, lenient) pair, for templates built outside a manifest load."""
    return _jinja().default_environments()


def is_template_text(text: str) -> bool:
    """True when ``text`` holds jinja syntax; everything else is rendered as itself."""
    return "{{" in text or "{%" in text or "{#" in text


class TemplateString:
    """A (T) value of a manifest: ``.render(ctx)``, ``.is_static``, ``.where``, ``.source``.

    Created by the models from the YAML string; the loader then calls :meth:`compile` with the
    manifest's environment and the value's location. Rendering an uncompiled template compiles it
    with a default environment (handy in tests and for values built in code).
    """

    __slots__ = ("source", "where", "lenient", "is_static", "_template")

    def __init__(self, source: str, where: str = "", lenient: bool = False) -> None:
        self.source = source
        self.where = where
        self.lenient = lenient
        self.is_static = not is_template_text(source)
        self._template: jinja2.Template | None = None

    def compile(
        self, env: SandboxedEnvironment | None = None, where: str | None = None, lenient: bool | None = None
    ) -> TemplateString:
        """Compile once. Raises ``jinja2.TemplateSyntaxError`` (the loader turns it into a problem)."""
        if where is not None:
            self.where = where
        if lenient is not None:
            self.lenient = lenient
        if self.is_static:
            return self
        if env is None:
            strict, lenient_env = default_environments()
            env = lenient_env if self.lenient else strict
        self._template = _jinja().compile_template(env, self.source)
        return self

    def render(self, ctx: Mapping[str, Any], **extra: Any) -> str:
        """Render against ``ctx`` (see :func:`build_context`); ``extra`` adds names such as ``record``."""
        if self.is_static:
            return self.source
        return _jinja().render(self, ctx, extra)

    def _label(self) -> str:
        return f"template at {self.where}" if self.where else f"template {self.source!r}"

    def __copy__(self) -> TemplateString:
        twin = TemplateString(self.source, self.where, self.lenient)
        twin._template = self._template  # compiled templates are immutable: share them
        return twin

    def __deepcopy__(self, memo: dict[int, Any]) -> TemplateString:
        return self.__copy__()

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the text only; the copy compiles again on first render."""
        return (TemplateString, (self.source, self.where, self.lenient))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TemplateString):
            return self.source == other.source
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.source)

    def __repr__(self) -> str:
        return f"TemplateString({self.source!r})"

    def __str__(self) -> str:
        return self.source


# ------------------------------------------------------------------------------------ config keys


def template_reads(template: TemplateString) -> Reads | None:
    """The names and ``config``/``partition`` keys a template needs (None for a static value)."""
    if template.is_static:
        return None
    return _jinja().unguarded_reads(template.source)


def config_keys_used(template: TemplateString | str, env: jinja2.Environment | None = None) -> set[str]:
    """Config keys a template reads: ``config.x``, ``config['x']``, ``config.get('x')``, bare ``x``."""
    source = template.source if isinstance(template, TemplateString) else template
    if not is_template_text(source):
        return set()
    return _jinja().config_keys(source, env)
