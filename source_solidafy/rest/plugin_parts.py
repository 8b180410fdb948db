"""The engine's side of a plugin (source_solidafy/plugins.py): each kind seen as the part it stands for.

``PluginAuth`` is an :class:`~source_solidafy.rest.auth.Auth`, ``PluginPaginator`` a
:class:`~source_solidafy.rest.pagination.Paginator` (so the loop, repeat and empty-page checks hold for
plugins too), ``PluginDecoder`` a :class:`~source_solidafy.rest.decoders.Decoder`, ``PluginRouter`` a
:class:`~source_solidafy.rest.routers.Router`, ``PluginTransform`` a transform step. Each is built by
rest/builders.py from the plugin block (``manifest/plugin_models.py``) and makes its plugin object
once. Whatever a plugin raises fails its stream with one line naming the plugin, never a traceback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from source_solidafy.errors import SolidafyError, StreamError
from source_solidafy.manifest.plugin_models import PluginSpec
from source_solidafy.rest.auth import Auth
from source_solidafy.rest.decoders import DecodableResponse, DecodedPage, Decoder
from source_solidafy.rest.pages import PageRequest, PageResponse
from source_solidafy.rest.pagination import Paginator
from source_solidafy.rest.routers import Router, RouterInputs
from source_solidafy.rest.transforms import TransformStep

if TYPE_CHECKING:  # plugins.py is imported when a plugin is used (plugin_context), not by every read
    from source_solidafy.plugins import PluginContext

T = TypeVar("T")


def plugin_context(config: Mapping[str, Any] | None = None, render: Callable[[str], str] | None = None) -> PluginContext:
    """The PluginContext a plugin gets: ``config`` and templates rendered against it (by ``render``, else in
    the YAML's sandbox); without a config, an empty one (decoders and paginators)."""
    from source_solidafy.plugins import PluginContext

    if config is None:
        return PluginContext()
    return PluginContext(config, render or _renderer(dict(config)))


def call(spec: PluginSpec, what: str, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``; an exception from the plugin becomes one StreamError line naming it."""
    try:
        return fn(*args)
    except SolidafyError:
        raise
    except Exception as exc:  # the plugin's own code: anything may come out
        raise StreamError(f"plugin '{spec.name}' failed in {what}: {type(exc).__name__}: {exc}") from None


class Plugged:
    """A part's plugin object, made on first use (once, whichever thread asks first), so a broken
    plugin fails the stream that uses it, with its name."""

    def __init__(self, spec: PluginSpec, context: PluginContext | None = None) -> None:
        self.spec, self.context = spec, context
        self._plugin: Any = None
        self._lock = threading.Lock()

    def plugin(self, context: PluginContext | None = None) -> Any:
        if self._plugin is None:
            with self._lock:
                if self._plugin is None:
                    made = context or self.context or plugin_context()
                    self._plugin = call(self.spec, "its constructor", self.spec.make, made)
        return self._plugin


class PluginAuth(Auth):
    def __init__(self, spec: PluginSpec, context: PluginContext) -> None:
        self.made = Plugged(spec, context)

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        call(self.made.spec, "apply", self.made.plugin().apply, headers, params)

    def secrets(self) -> list[str]:
        own = getattr(self.made.plugin(), "secrets", None)
        return [str(s) for s in call(self.made.spec, "secrets", own) if s] if own is not None else []


class PluginPaginator(Paginator):
    def __init__(self, spec: PluginSpec, context: PluginContext, **common: Any) -> None:
        max_pages = getattr(spec.options, "max_pages", None)
        super().__init__(max_pages=max_pages if isinstance(max_pages, int) else None, **common)
        self.made, self.kind = Plugged(spec, context), f"plugin '{spec.name}'"

    def _next(self, response: PageResponse, body: Any, records: list[Any], previous: PageRequest) -> PageRequest | None:
        from source_solidafy.plugins import NextPage, Page

        page = Page(response.url, dict(response.headers), body, records, previous.pages + 1, previous.token)
        nxt = call(self.made.spec, "next_page", self.made.plugin().next_page, page)
        if nxt is None:
            return None
        if not isinstance(nxt, NextPage):
            raise StreamError(f"plugin '{self.made.spec.name}': next_page returned {type(nxt).__name__}, expected "
                              "a NextPage or None")
        return PageRequest(params=dict(nxt.params), headers=dict(nxt.headers), body=dict(nxt.body), url=nxt.url,
                           token=nxt.state)


class PluginDecoder(Decoder):
    def __init__(self, spec: PluginSpec, context: PluginContext) -> None:
        self.made = Plugged(spec, context)

    def decode(self, response: DecodableResponse) -> DecodedPage:
        headers: Mapping[str, str] = getattr(response, "headers", None) or {}
        plugin = self.made.plugin()
        records = call(self.made.spec, "decode", lambda: list(plugin.decode(response.content, headers)))
        return DecodedPage(None, records)


class PluginRouter(Router):
    """One partition per mapping the plugin yields; its state kept per partition (as ``list``'s)."""

    def __init__(self, part: PluginSpec, inputs: RouterInputs) -> None:
        super().__init__(part, inputs)
        config = dict(inputs.ctx.config)
        self.made = Plugged(part, plugin_context(config))

    def partitions(self) -> Iterator[dict[str, Any]]:
        spec, plugin = self.made.spec, self.made.plugin()
        for partition in call(spec, "partitions", lambda: list(plugin.partitions())):
            if not isinstance(partition, Mapping):
                raise StreamError(f"stream '{self.stream}': plugin '{spec.name}' yielded a "
                                  f"{type(partition).__name__}, expected a mapping (partition.<key>)")
            yield dict(partition)


class PluginTransform(TransformStep):
    """Each record through ``transform``; the plugin made on first use with the config of the read."""

    def __init__(self, spec: PluginSpec) -> None:
        self.made = Plugged(spec)

    def apply(self, records: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
        config = dict(ctx.get("config") or {})
        plugin = self.made.plugin(plugin_context(config))
        out = []
        for record in records:
            changed = call(self.made.spec, "transform", plugin.transform, record)
            if changed is not None:
                out.append(changed)
        records[:] = out


def _renderer(config: dict[str, Any]) -> Callable[[str], str]:
    """Templates rendered against ``config`` in the YAML's sandbox."""
    from source_solidafy.manifest.templates import TemplateString, build_context

    ctx = build_context(config)
    return lambda text: TemplateString(text).render(ctx)
