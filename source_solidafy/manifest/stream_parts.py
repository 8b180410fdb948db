"""Models of how a stream pages its records: stop conditions, paginators.

The decoders are in :mod:`source_solidafy.manifest.decoder_parts`, the ``transform`` steps in
:mod:`source_solidafy.manifest.transform_parts`.

Each ``type:`` is one model in a discriminated union; other spellings are normalised on the way in
(see the module docstring of :mod:`source_solidafy.manifest.models` for the canonical names).
"""

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from source_solidafy.manifest.fields import (
    Strict,
    Text,
)
from source_solidafy.manifest.pyd import BeforeValidator, Field, PydanticCustomError, model_validator

# ----------------------------------------------------------------------------------------- stop

STOP_TYPES = ("empty_page", "total_count", "total_pages", "field")


def _stop_form(value: Any) -> Any:
    """``stop: empty_page`` / ``{type: total_count, path}`` / ``{total_count: {path}}`` -> canonical."""
    if isinstance(value, str):
        return {"type": value}
    if isinstance(value, Mapping) and "type" not in value and len(value) == 1:
        (kind, inner), = value.items()
        if kind in STOP_TYPES:
            if isinstance(inner, Mapping):
                return {"type": kind, **inner}
            if kind == "empty_page" and inner is True:
                return {"type": kind}
    return value


class Stop(Strict):
    """When a paginator stops besides its own rule: ``stop: {type: field, path: has_more, value: false}``."""

    type: Literal["empty_page", "total_count", "total_pages", "field"]
    path: Text | None = None
    value: Any = None

    @model_validator(mode="after")
    def _needs_path(self) -> "Stop":
        if self.type != "empty_page" and not self.path:
            raise PydanticCustomError(
                "missing_key", "missing required key 'path' (stop type {kind})", {"kind": self.type}
            )
        return self


StopSpec = Annotated[Stop, BeforeValidator(_stop_form)]

# ------------------------------------------------------------------------------------ pagination


class _Paging(Strict):
    stop: StopSpec | None = None
    max_pages: int | None = Field(default=None, ge=1)
    max_empty_pages: int = Field(default=10, ge=1)


class CursorPagination(_Paging):
    """Next cursor from ``cursor_path`` (body) or ``cursor_header``, sent as ``cursor_param``."""

    type: Literal["cursor"]
    cursor_param: Text
    cursor_path: Text | None = None
    cursor_header: Text | None = None
    location: Literal["query", "header", "body"] = "query"

    @model_validator(mode="after")
    def _one_source(self) -> "CursorPagination":
        if bool(self.cursor_path) == bool(self.cursor_header):
            raise PydanticCustomError(
                "cursor_source", "give exactly one of 'cursor_path' (body) or 'cursor_header' (header)"
            )
        return self


class OffsetPagination(_Paging):
    """``offset_param`` grows by ``limit``; stops on a short page or ``stop``.

    With a ``stop`` of type ``total_count`` or ``total_pages``, the pages after a full first page are
    fetched at once (up to ``--concurrency``) and emitted in page order; ``parallel: false`` reads
    them one at a time.
    """

    type: Literal["offset"]
    offset_param: Text = "offset"
    limit_param: Text = "limit"
    limit: int = Field(default=100, ge=1)
    parallel: bool = True


class PageNumberPagination(_Paging):
    """``page_param`` counts from ``start_page``; stops on an empty or short page, or ``stop``.

    When the first page says how many there are (a ``stop`` of type ``total_count`` or
    ``total_pages``, or a ``Link`` header whose ``rel="last"`` URL carries ``page_param``), the pages
    after a full first page are fetched at once (up to ``--concurrency``) and emitted in page order;
    ``parallel: false`` reads them one at a time.
    """

    type: Literal["page_number"]
    page_param: Text = "page"
    start_page: int = 1
    page_size_param: Text | None = None
    page_size: int | None = Field(default=None, ge=1)
    parallel: bool = True


class LinkHeaderPagination(_Paging):
    """Follows the RFC 8288 ``Link`` header entry with ``rel``.

    ``parallel: true`` (opt-in): when the first page's ``rel="last"`` link differs from its next link
    in one integer query value only (GitHub's ``page``), the pages between are fetched at once (up to
    ``--concurrency``) and emitted in page order.
    """

    type: Literal["link_header"]
    rel: Text = "next"
    parallel: bool = False


class NextUrlPagination(_Paging):
    """Follows the URL (absolute or relative) found at ``next_url_path``."""

    type: Literal["next_url"]
    next_url_path: Text


Pagination = Annotated[
    CursorPagination | OffsetPagination | PageNumberPagination | LinkHeaderPagination | NextUrlPagination,
    Field(discriminator="type"),
]
