"""Python plugins: an auth, paginator, decoder, partition router or transform as a small class.

A plugin is a class in any installed package, registered under the entry point group
``source_solidafy.plugins`` and used in a connector YAML as ``type: plugin:<name>``; the other keys
of that block are its options, validated by the pydantic model the class declares as ``Options``
(mistakes are ``file:line: key: ...`` problems like any other YAML error)::

    # my_plugins/signed.py
    from pydantic import BaseModel, ConfigDict
    from source_solidafy.plugins import PluginContext

    class Signed:
        kind = "auth"

        class Options(BaseModel):
            model_config = ConfigDict(extra="forbid")
            key_id: str
            secret: str                      # may be a template: rendered with context.render

        def __init__(self, options: Options, context: PluginContext) -> None:
            self.key_id, self.secret = options.key_id, context.render(options.secret)

        def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
            headers["X-Key"] = self.key_id
            headers["X-Signature"] = sign(self.secret, ...)

        def secrets(self) -> list[str]:      # optional: values never shown in any message
            return [self.secret]

    # pyproject.toml of the plugin's package
    [project.entry-points."source_solidafy.plugins"]
    signed = "my_plugins.signed:Signed"

    # connector.yaml
    auth: {type: "plugin:signed", key_id: k1, secret: "{{ config.api_secret }}"}

Each kind is one small protocol, in the manner of httpx's ``Auth.auth_flow``: one method the engine
calls (below). The engine keeps what it does around it (retries, redaction, credentials only for
base_url's origin, loop and empty-page checks, state): a plugin only does its one thing. An
exception from a plugin fails its stream with the plugin's name and the message.

The server runs no plugin unless its operator starts it with ``solidafy-cdk serve --allow-plugins``.
This module imports nothing heavy: plugins import it freely.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

ENTRY_POINT_GROUP = "source_solidafy.plugins"
KINDS = ("auth", "paginator", "decoder", "partition_router", "transform")


def _no_templates(text: str) -> str:
    return text


@dataclass(frozen=True)
class PluginContext:
    """What a plugin gets besides its options.

    ``config`` is the connector's config (for ``auth``, ``partition_router`` and ``transform``
    plugins; empty for decoders and paginators, which shape responses). ``render`` renders a
    template (``"{{ config.api_secret }}"``) against it, in the same sandbox as the YAML's.
    """

    config: Mapping[str, Any] = field(default_factory=dict)
    render: Callable[[str], str] = _no_templates


class AuthPlugin(Protocol):
    """``kind = "auth"``: add credentials to each request (only requests to base_url's origin and
    ``http.allowed_hosts`` get them). Optional: ``secrets() -> list[str]``, values to redact."""

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Page:
    """One response, as a paginator plugin sees it. ``state`` is what the previous ``NextPage``
    carried (None on the first page); ``number`` counts pages from 1."""

    url: str
    headers: Mapping[str, str]
    body: Any  # the decoded body (None for a decoder that has none: jsonl, csv)
    records: list[Any]
    number: int
    state: Any = None


@dataclass
class NextPage:
    """The next request: ``params``/``headers``/``body`` (JSON body fields) override the stream's;
    ``url`` (absolute, or a path) replaces its URL; ``state`` is handed back in the next ``Page``."""

    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    url: str | None = None
    state: Any = None


class PaginatorPlugin(Protocol):
    """``kind = "paginator"``: the next page's request, or None when done. The engine stops a chain
    that repeats a request, reads pages with the same records twice or too many empty pages, and
    honours ``max_pages`` (the plugin's options may declare it)."""

    def next_page(self, page: Page) -> NextPage | None: ...


class DecoderPlugin(Protocol):
    """``kind = "decoder"``: the records of one response body (the body as the server sent it,
    Content-Encoding undone; at most ``http.max_response_mb``)."""

    def decode(self, content: bytes, headers: Mapping[str, str]) -> Iterable[Any]: ...


class PartitionRouterPlugin(Protocol):
    """``kind = "partition_router"``: the stream's partitions, each a mapping whose keys templates read
    as ``partition.<key>`` (its state is kept per partition, as with ``type: list``)."""

    def partitions(self) -> Iterable[Mapping[str, Any]]: ...


class TransformPlugin(Protocol):
    """``kind = "transform"`` (a step of ``transform:``): the record changed, or None to drop it."""

    def transform(self, record: dict[str, Any]) -> dict[str, Any] | None: ...
