"""The one Source interface every connector implements (REST manifests and databases alike).

The sync runner (``runner.py``) drives a Source stream by stream; a Source yields :class:`Batch` objects
(one per page or per database batch) carrying records and the stream state that holds once those
records are delivered. Front doors (CLI, Airbyte entrypoint, HTTP server, Python API) never talk to a
Source directly: they go through ``api.py``.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar

from source_solidafy.queues import FairSlots
from source_solidafy.request_stats import RequestStats

if TYPE_CHECKING:
    import pyarrow as pa

    from source_solidafy.config_updates import ConfigChanges
    from source_solidafy.confinement import Confinement
    from source_solidafy.rest.concurrency import SharedReads
    from source_solidafy.scale.units import Unit

DEFAULT_MAX_PARTITION_STATES = 100_000  # bench/bench_merge.py: 100k entries are ~14 MB, read+parse ~1 s


@dataclass(frozen=True)
class ConfigField:
    """One field of a connector's config form (``spec``, ``GET /connectors`` ``config_schema``)."""

    name: str
    type: str = "string"  # string | integer | number | boolean | object | array
    required: bool = False
    secret: bool = False
    description: str = ""
    default: Any = None
    examples: tuple[Any, ...] = ()
    enum: tuple[Any, ...] = ()
    pattern: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The README's ``config_schema`` entry shape."""
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "secret": self.secret,
            "description": self.description,
        }
        if self.default is not None:
            out["default"] = self.default
        if self.examples:
            out["examples"] = list(self.examples)
        return out


@dataclass(repr=False, eq=False)
class StreamInfo:
    """What ``discover`` says about a stream (an Airbyte ``AirbyteStream`` once serialised)."""

    name: str
    json_schema: dict[str, Any]
    primary_key: list[list[str]] = field(default_factory=list)
    cursor_field: list[str] | None = None
    description: str = ""

    def as_airbyte(self) -> dict[str, Any]:
        modes = ["full_refresh", "incremental"] if self.cursor_field else ["full_refresh"]
        out: dict[str, Any] = {
            "name": self.name,
            "json_schema": self.json_schema,
            "supported_sync_modes": modes,
            "source_defined_cursor": bool(self.cursor_field),
        }
        if self.cursor_field:
            out["default_cursor_field"] = list(self.cursor_field)
        if self.primary_key:
            out["source_defined_primary_key"] = [list(p) for p in self.primary_key]
        return out


@dataclass(repr=False, eq=False)
class Batch:
    """A page of records of one stream and the stream state that holds once they are delivered.

    ``records`` is a list of dicts (REST) or a ``pyarrow.RecordBatch`` (databases, so Parquet can be
    written with no per-row Python objects). ``state`` is None when the batch does not move the state.
    """

    stream: str
    records: list[dict[str, Any]] | pa.RecordBatch
    state: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.records) if isinstance(self.records, list) else self.records.num_rows


LogFn = Callable[[str, str], None]  # (level, message); level in DEBUG INFO WARN ERROR
WarnFn = Callable[[str], None]  # a suspicion (see ReadContext.warn)
CountFn = Callable[[str, int], None]  # (summary key, how many more): see ReadContext.count


def _no_log(level: str, message: str) -> None:  # pragma: no cover - trivial
    return None


def _no_warning(message: str) -> None:  # pragma: no cover - trivial
    return None


def _no_count(key: str, n: int) -> None:  # pragma: no cover - trivial
    return None


@dataclass(frozen=True)
class Tuning:
    """Knobs of a read that no YAML sets: the defaults are the product's; tests and benches turn them."""

    batch_size: int | None = None  # databases: rows per Arrow batch (else the config's batch_size)
    max_partition_states: int = DEFAULT_MAX_PARTITION_STATES  # per-partition cursors kept in a state
    async_poll_interval_secs: float | None = None  # overrides an async job's poll.interval_secs
    partitions_per_request: int = 4  # partitions read at once per request slot (see ReadContext.partition_readers)


class SyncServices:
    """What the streams of one sync share across threads; one per sync (the runner makes it).

    ``selected_streams`` is what the front door syncs (None: unknown, e.g. a source read directly),
    so a parent nobody follows is not spooled. The shared reads and the two semaphores are made on
    first use, under a lock, so every thread of the sync gets the same one.
    """

    def __init__(self, selected_streams: list[str] | None = None) -> None:
        self.selected_streams = None if selected_streams is None else tuple(selected_streams)
        self._lock = threading.Lock()
        self._shared_reads: SharedReads | None = None
        self._partition_slots: threading.Semaphore | None = None
        self._request_slots: threading.Semaphore | None = None

    def selects(self, stream: str) -> bool:
        """``stream`` is synced too (True when the selection is unknown)."""
        return self.selected_streams is None or stream in self.selected_streams

    def shared_reads(self) -> SharedReads:
        """The sync's spools of parent streams (rest/concurrency.py)."""
        with self._lock:
            if self._shared_reads is None:
                from source_solidafy.rest.concurrency import SharedReads

                self._shared_reads = SharedReads()
            return self._shared_reads

    def partition_slots(self, concurrency: int) -> threading.Semaphore:
        """Caps the partitions being read across all streams (the first caller sizes it, with
        ``ReadContext.partition_readers()``)."""
        with self._lock:
            if self._partition_slots is None:
                self._partition_slots = threading.BoundedSemaphore(max(1, concurrency))
            return self._partition_slots

    def request_slots(self, concurrency: int) -> threading.Semaphore:
        """``--concurrency`` caps HTTP requests in flight, whoever makes them.

        Streams, partitions, parent reads, async job polls and token requests all take a slot while
        on the wire (``HttpClient.request(slots=...)``), so at ``--concurrency 2`` the API never sees
        more than two requests of this sync at once.
        """
        with self._lock:
            if self._request_slots is None:
                self._request_slots = FairSlots(max(1, concurrency))
            return self._request_slots


@dataclass(repr=False, eq=False)
class ReadContext:
    """Everything a Source needs to read one stream: config, incoming state, limits, a logger."""

    config: dict[str, Any]
    state: dict[str, Any] | None = None  # this stream's incoming state (e.g. {"cursor": ...})
    sync_mode: str = "incremental"  # "full_refresh" ignores incoming state
    cursor_field: str | None = None  # override (databases: --cursor-field / cursor_fields)
    max_records: int | None = None
    state_per_page: bool = False
    concurrency: int = 4
    log: LogFn = _no_log
    cancel: threading.Event = field(default_factory=threading.Event)
    services: SyncServices = field(default_factory=SyncServices)  # shared by the sync's streams
    tuning: Tuning = field(default_factory=Tuning)
    strict: bool = False  # a warning fails the stream (--strict)
    on_warning: WarnFn = _no_warning  # the runner records warnings here (see warn)
    on_count: CountFn = _no_count  # the runner adds counts to the stream's summary entry (see count)
    on_skip: WarnFn = _no_warning  # the runner lists what was skipped on purpose here (see skip)
    unit: Unit | None = None  # read --plan: read only this plan unit's part of the stream (scale/units.py)
    http_stats: RequestStats = field(default_factory=RequestStats)  # the stream's requests, retries, waits

    OWN: ClassVar[tuple[str, ...]] = ("state", "sync_mode", "cursor_field", "max_records", "state_per_page",
                                      "unit", "http_stats")
    """The fields that belong to this stream's own read; :meth:`derive` leaves them at their defaults."""

    def derive(self, **own: Any) -> ReadContext:
        """The context of another read made for this stream (its parent, a lookup): the sync's settings and
        every callback carried over (``warn``, ``count``, ``skip``: what that read does is reported in this
        stream's summary entry, as the runner reports this stream's), none of this stream's own fields
        (:attr:`OWN`) except those given. A field added later is carried over unless it is listed in OWN."""
        unknown = set(own) - set(self.OWN)
        if unknown:
            raise TypeError(f"derive() sets only a read's own fields ({', '.join(self.OWN)}), not {sorted(unknown)}")
        shared = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in self.OWN}
        return ReadContext(**shared, **own)

    def partition_readers(self) -> int:
        """How many partitions of a stream are read at once: ``tuning.partitions_per_request`` per
        request slot, one at ``--concurrency 1``.

        A partition reader spends part of each page decoding and handing records over, so readers as
        many as the request slots would leave slots idle; the slots (handed over in turn,
        :class:`~source_solidafy.queues.FairSlots`) still cap the requests the API sees.
        """
        if self.concurrency <= 1:
            return 1
        return self.concurrency * max(1, self.tuning.partitions_per_request)

    def warn(self, message: str) -> None:
        """Say that this stream may not have read everything (a suspicion, not a failure).

        The one path for every such case (a paginator that stopped early, a cursor field no record
        has, ...). The runner records ``message`` in the stream's summary ``warnings``, logs it as a
        WARN line and holds the stream's state: no STATE of this stream goes out after it, so the
        next sync reads again what this one may have missed. ``message`` names the stream, the YAML
        key and the URL. Under ``strict`` it then raises :class:`SuspectReadError`, failing the stream.
        """
        self.on_warning(message)
        if self.strict:
            from source_solidafy.errors import SuspectReadError

            raise SuspectReadError(f"{message} (strict: a warning fails the stream)")

    def skip(self, message: str) -> None:
        """Say that part of this stream was skipped on purpose: an ``errors:`` rule ignored a response.

        Not a suspicion (the YAML asked for it), so the state is not held and ``strict`` does not fail
        the stream; but never silent: the runner counts it (``responses_ignored`` in the stream's
        summary entry), lists it (``skipped``), logs it as a WARN line, and the Airbyte flavour's
        STREAM_STATUS carries the list. ``message`` names the stream, what was skipped and why.
        """
        self.on_skip(message)

    def count(self, key: str, n: int) -> None:
        """Add ``n`` to the stream's ``key`` in the summary (``records_filtered``: read, not delivered on
        purpose). A count says what the read did; it holds no state (unlike :meth:`warn`)."""
        if n:
            self.on_count(key, n)


@dataclass(repr=False, eq=False)
class CheckResult:
    ok: bool
    message: str


class Source(ABC):
    """A connector: spec, check, streams, discover, read. Implementations: DeclarativeSource, DatabaseSource."""

    name: str
    description: str = ""
    category: str = ""
    aliases: tuple[str, ...] = ()
    streams_dynamic: bool = False  # databases: streams are known only with a config
    planner: str = "stream"  # which planner splits its streams into units (scale/planning.py PLANNERS)
    rate_limit_rps: float | None = None  # a budget for this process over the connector's own (read --plan)
    confinement: Confinement | None = None  # set for untrusted callers (the server); None: unconfined

    @abstractmethod
    def config_fields(self) -> list[ConfigField]:
        """The config form; also the basis of :meth:`spec`."""

    def spec(self) -> dict[str, Any]:
        """``connectionSpecification``: JSON Schema draft 7 built from :meth:`config_fields`."""
        from source_solidafy.config import fields_to_json_schema

        return fields_to_json_schema(self.config_fields(), title=self.name)

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """Check ``config`` against the fields; return it with defaults applied. Raises ConfigError."""
        from source_solidafy.config import validate_config

        return validate_config(self.name, self.config_fields(), config)

    def secrets(self, config: dict[str, Any]) -> list[str]:
        """Values to redact from every output (secret fields' values, tokens obtained at run time)."""
        secret_names = {f.name for f in self.config_fields() if f.secret}
        found = [v for k, v in config.items() if k in secret_names and v]
        return [str(item) for v in found for item in (v if isinstance(v, list) else [v]) if item]  # a list of keys

    @abstractmethod
    def check(self, config: dict[str, Any]) -> CheckResult:
        """Try the credentials. Bad credentials are ``CheckResult(False, ...)``, not an exception."""

    @abstractmethod
    def stream_names(self, config: dict[str, Any] | None = None) -> list[str]:
        """Stream names; REST sources need no config, database sources do."""

    @abstractmethod
    def discover(self, config: dict[str, Any], sample: int = 0) -> list[StreamInfo]:
        """Streams with JSON schemas. ``sample`` > 0 lets a source infer schemas from records."""

    @abstractmethod
    def read_stream(self, stream: str, ctx: ReadContext) -> Iterator[Batch]:
        """Yield batches of ``stream``. An exception fails this stream only."""

    def config_changes(self, config: dict[str, Any]) -> ConfigChanges | None:
        """What the connector changes in ``config`` while it runs (a rotated refresh token); None: never."""
        return None

    def drift_schema(self, stream: str) -> dict[str, Any] | None:
        """The schema ``stream``'s records are compared with for the summary's ``schema_drift``
        (drift.py); None: not compared (database streams: the table is the schema)."""
        return None

    def declared_rate_limit(self) -> float | None:
        """Requests per second the connector allows itself (REST ``http.rate_limit_rps``); None: no limit."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release sessions and connections."""
