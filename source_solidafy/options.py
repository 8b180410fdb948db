"""How to sync: the keyword arguments of ``ss.read``, ``ss.sync`` and ``prepare_sync``, defined once.

:class:`SyncOptions` is the one definition (name, type, default, meaning). The Python API's keyword
functions are typed from it (:func:`keyword_options`), so ``ss.read("stripe", cfg, max_records=5)``
is checked by a type checker against these fields, and an unknown keyword is a ``TypeError``.
``ss.sync``'s one more (``max_held_records``) is in :mod:`source_solidafy.sync_result`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from source_solidafy.protocol import SOLIDAFY
from source_solidafy.source import Tuning

if TYPE_CHECKING:
    from source_solidafy.scale.units import Unit
    from source_solidafy.sinks.layout import RunFiles
    from source_solidafy.source import Source

P = ParamSpec("P")
O = TypeVar("O", bound="SyncOptions")  # noqa: E741 - the options type
R = TypeVar("R")


VERSION_NOW = object()  # SyncOptions.state_version not given: the state file's version when the sync is prepared


@dataclass(frozen=True, kw_only=True)
class SyncOptions:
    """What to sync and how; every field is optional (README "Python API" lists them with examples)."""

    streams: list[str] | None = None  # None: every stream (or the catalog's)
    state: dict[str, Any] | list[Any] | None = None  # a state file's content, or Airbyte STATE messages
    format: str = "json"  # json | pretty | parquet
    output: str | None = None  # directory or s3:// r2:// gs:// az:// URI (uris.py); None: records in the chunks
    max_records: int | None = None  # per stream; a sync that stops early never replaces earlier files
    cursor_fields: dict[str, str] | None = None  # databases: stream -> cursor column
    concurrency: int = 4  # streams read at once, and the cap on HTTP requests in flight for the sync
    state_per_page: bool = False  # a STATE after every page (the Airbyte flavour always does)
    catalog: dict[str, Any] | None = None  # a configured catalog: streams, sync modes, cursors
    flavour: str = SOLIDAFY  # the message protocol flavour: solidafy | airbyte (flavours.py)
    compression: str = "zstd"  # Parquet compression
    state_file: str | None = None  # path or URI, rewritten at every checkpoint while the sync runs
    state_version: Any = VERSION_NOW  # the state file's version when the state was read from it (small_files.py)
    verbose: bool = False  # DEBUG lines (and the Airbyte flavour's INFO lines)
    raw_records: bool = False  # records as protocol.RecordLines (writers that serialise them fast)
    cancel: threading.Event | None = None  # set it to stop the sync
    strict: bool = False  # a warning (a stream that may not have read everything) fails its stream
    tuning: Tuning = field(default_factory=Tuning)  # knobs no user needs (tests, benches)
    unit: Unit | None = None  # read --plan: the plan unit to read (only that part of its stream)
    run_files: RunFiles | None = None  # read --plan: files named after the run and the unit


def keyword_options(
    options_type: Callable[P, O],
) -> Callable[[Callable[[str | Source, dict[str, Any], O], R]], Callable[Concatenate[str | Source, dict[str, Any], P], R]]:
    """Turn ``f(connector, config, options)`` into ``f(connector, config, **fields of options_type)``.

    The keyword signature is the options class's own, so a type checker sees every field, its type
    and its default, and nothing is written twice.
    """

    def decorate(func: Callable[[str | Source, dict[str, Any], O], R]) -> Callable[Concatenate[str | Source, dict[str, Any], P], R]:
        @functools.wraps(func)
        def with_keywords(connector: str | Source, config: dict[str, Any], /, *args: P.args, **kwargs: P.kwargs) -> R:
            return func(connector, config, options_type(*args, **kwargs))

        return with_keywords

    return decorate
