"""The Python API: every front door (CLI, Airbyte entrypoint, HTTP server) is a thin layer over this.

    import source_solidafy as ss
    for chunk in ss.read("stripe", {"api_key": "sk_test_..."}, streams=["customers"]):
        for message in chunk:
            ...
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from source_solidafy import protocol as p
from source_solidafy import registry
from source_solidafy.catalog import read_catalog
from source_solidafy.config import fields_to_json_schema
from source_solidafy.config_updates import ConfigListener
from source_solidafy.errors import (
    AuthError,
    ConfigError,
    SolidafyError,
    UnknownStreamError,
    UsageError,
)
from source_solidafy.options import VERSION_NOW, SyncOptions, keyword_options
from source_solidafy.runner import Chunk, SyncPlan, SyncRun
from source_solidafy.source import ConfigField, Source
from source_solidafy.state import check_state_path, parse_state

if TYPE_CHECKING:  # confinement.py: only the server confines a run, the CLI's does not import it
    from source_solidafy.confinement import Confinement
    from source_solidafy.sinks.layout import RunFiles
    from source_solidafy.sync_result import SyncResultOptions as SyncResultOptions
    from source_solidafy.sync_result import sync as sync

FORMATS = ("json", "pretty", "parquet")


class TooManyRecords(SolidafyError):
    """A sync would hold more records in one response than allowed."""

    exit_code = 2
    failure_type = "config_error"


def load_connector(
    connector: str | Source | None = None,
    *,
    yaml_text: str | None = None,
    allow_paths: bool = True,
    confinement: Confinement | None = None,
    allow_plugins: bool = True,
) -> Source:
    """A built-in name or alias, a YAML path (when ``allow_paths``), or YAML text.

    Without ``allow_paths`` the YAML text may not read files either (``schema_file``). ``confinement``
    limits the files and networks the connector may reach (see ``confinement.py``): the server's way.
    ``allow_plugins=False``: YAML text may not use installed plugins (``type: plugin:<name>``).
    """
    if isinstance(connector, Source):
        return connector
    if yaml_text is not None:
        source = registry.source_from_yaml_text(yaml_text, allow_files=allow_paths, allow_plugins=allow_plugins)
    elif not connector:
        raise UsageError("no connector given: use --connector NAME|FILE, config.connector or SOLIDAFY_CONNECTOR")
    else:
        source = registry.load_source(connector, allow_paths=allow_paths)
    source.confinement = confinement
    return source


def list_connectors(detail: bool = True) -> list[dict[str, Any]]:
    """Every built-in connector; with ``detail`` also its config form and streams (loads each one)."""
    out = []
    for info in registry.builtin_connectors():
        item: dict[str, Any] = {
            "name": info.name,
            "description": info.description,
            "category": info.category,
            "aliases": list(info.aliases),
        }
        if info.kind == "database":
            item.update(
                streams=None,
                streams_dynamic=True,
                streams_hint="Call POST /streams with connection config to discover tables",
            )
        else:
            item.update(streams=list(info.stream_names), streams_dynamic=False)
        if detail:
            item["config_schema"] = [f.as_dict() for f in config_fields(info.name)]
        out.append(item)
    return out


def spec(connector: str | Source | None = None) -> dict[str, Any]:
    """The SPEC message; with no connector, the generic spec (a connector choice plus every field)."""
    if connector is None:
        from source_solidafy.generic_spec import generic_spec

        return p.spec(generic_spec())
    name, fields, doc_url = _quick_spec(connector)
    manifest_spec = _airbyte_spec(connector) if fields is None else None
    if fields is not None:
        schema = fields_to_json_schema(fields, title=name)
    elif manifest_spec is not None:
        name, schema, doc_url = manifest_spec
        schema = dict(schema)
    else:
        source = load_connector(connector)
        name, schema, doc_url = source.name, source.spec(), getattr(source, "documentation_url", None)
    schema["properties"] = {
        "connector": {
            "type": "string",
            "title": "connector",
            "description": "Which connector to run (a built-in name or a path to a connector YAML file)",
            "default": name,
            "order": -1,
        },
        **schema["properties"],
    }
    return p.spec(schema, doc_url)


def builtin_rest(connector: str | Source | None) -> registry.ConnectorInfo | None:
    """The registry entry of a built-in REST connector name or alias (None for paths, databases)."""
    if not isinstance(connector, str) or registry.looks_like_path(connector):
        return None
    info = registry.find(connector)
    return info if info is not None and info.kind == "rest" else None


def _quick_spec(connector: str | Source) -> tuple[str, list[ConfigField] | None, str | None]:
    """Built-in REST connectors with an explicit ``spec:`` answer without loading the manifest."""
    info = builtin_rest(connector)
    if info is None:
        return "", None, None
    return info.name, info.quick_fields(), info.documentation_url


def _airbyte_spec(connector: str | Source) -> tuple[str, dict[str, Any], str | None] | None:
    """An Airbyte manifest file's spec, read without loading the manifest (docs/airbyte-manifests.md)."""
    if not isinstance(connector, str) or not registry.looks_like_path(connector):
        return None
    from pathlib import Path

    from source_solidafy.lowcode.shape import quick_spec

    return quick_spec(Path(connector).expanduser())


def config_fields(connector: str | Source) -> list[ConfigField]:
    """The config form of a connector (fast for built-ins: no manifest load)."""
    _, fields, _ = _quick_spec(connector)
    return fields if fields is not None else load_connector(connector).config_fields()


def _validated(source: Source, config: dict[str, Any]) -> dict[str, Any]:
    return source.validate_config(config)


def check(connector: str | Source, config: dict[str, Any], on_config: ConfigListener | None = None) -> dict[str, Any]:
    """CONNECTION_STATUS: FAILED (not an exception) for bad credentials or an invalid config.

    ``on_config(config, paths)`` hears of a config the check changed (a rotated refresh token: save it).
    """
    source = load_connector(connector)
    try:
        config = _validated(source, config)
        with config_listener(source, config, on_config):
            result = source.check(config)
    except (AuthError, ConfigError) as exc:
        return p.connection_status(False, str(exc))
    finally:
        source.close()
    return p.connection_status(result.ok, result.message)


@contextlib.contextmanager
def config_listener(source: Source, config: dict[str, Any], on_config: ConfigListener | None) -> Iterator[None]:
    """``on_config`` hears every change of ``config`` made inside the block."""
    changes = source.config_changes(config) if on_config is not None else None
    stop = changes.listen(on_config) if changes is not None and on_config is not None else None
    try:
        yield
    finally:
        if stop is not None:
            stop()


def streams(connector: str | Source, config: dict[str, Any] | None = None) -> list[str]:
    info = builtin_rest(connector)
    if info is not None:
        return list(info.stream_names)
    source = load_connector(connector)
    if source.streams_dynamic:
        if config is None:
            raise ConfigError(f"{source.name}: streams are the database's tables; give a config to list them")
        config = _validated(source, config)
    return source.stream_names(config)


def discover(connector: str | Source, config: dict[str, Any], sample: int = 0,
             on_config: ConfigListener | None = None) -> dict[str, Any]:
    """The CATALOG; ``on_config`` as for :func:`check` (a sample read may refresh a token)."""
    source = load_connector(connector)
    try:
        config = _validated(source, config)
        with config_listener(source, config, on_config):
            infos = source.discover(config, sample=sample)
    finally:
        source.close()
    return p.catalog([i.as_airbyte() for i in infos])


def _select(source: Source, config: dict[str, Any], wanted: list[str] | None) -> list[str]:
    available = source.stream_names(config)
    if not wanted:
        return available
    known = set(available)
    for name in wanted:
        if name not in known:
            import difflib  # only for the hint: not imported at start-up
            close = difflib.get_close_matches(name, available, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            shown = ", ".join(available[:30]) + (" ..." if len(available) > 30 else "")
            raise UnknownStreamError(f"{source.name}: unknown stream '{name}'{hint} (available: {shown})")
    return list(dict.fromkeys(wanted))


def _make_sink(fmt: str, output: str | None, compression: str, confinement: Confinement | None,
               run_files: RunFiles | None = None) -> Any:
    if fmt not in FORMATS:
        raise UsageError(f"unknown format '{fmt}'; expected one of {', '.join(FORMATS)}")
    if fmt != "parquet" and not output:
        return None
    from source_solidafy.sinks import make_sink

    return make_sink("json" if fmt == "pretty" else fmt, output, compression=compression, confinement=confinement,
                     run_files=run_files)


def plan_sync(connector: str | Source, config: dict[str, Any], options: SyncOptions) -> SyncRun:
    """Validate everything up front (user errors raise here, before any output) and plan the sync.

    ``options.strict``: a warning (a stream that may not have read everything: see the summary's
    ``warnings``) fails its stream instead. ``options.unit`` (a plan unit) reads only that part of its
    stream, and ``options.run_files`` names the files after the run and the unit (``read --plan``).
    ``options.state_file`` (a path or object-store URI) is written at checkpoints only while it is
    still at ``options.state_version`` (its version when the state was read from it; default: its
    version now), then at the version each write made: another writer's change is never silently
    overwritten (small_files.py).
    """
    source = load_connector(connector)
    config = _validated(source, config)
    incoming = parse_state(options.state)
    streams, modes, cursors = _requested_streams(source, options)
    selected = _select(source, config, streams)
    _check_limits(options)
    sink = _make_sink(options.format, options.output, options.compression, source.confinement, options.run_files)
    state_version = _state_version(options)
    plan = SyncPlan(
        connector=source.name,
        streams=selected,
        config=config,
        options=options,
        state=incoming,
        sink=sink,
        sync_modes=modes,
        cursor_fields=cursors,
        schemas=_schemas(source, selected) if sink is not None else {},
        secrets=source.secrets(config),
        cancel=options.cancel or threading.Event(),
        units={options.unit.stream: options.unit} if options.unit is not None else {},
        state_version=state_version,
    )
    return SyncRun(source, plan)


@keyword_options(SyncOptions)
def prepare_sync(connector: str | Source, config: dict[str, Any], options: SyncOptions) -> SyncRun:
    """:func:`plan_sync` with the options as keywords (``SyncOptions``' fields)."""
    return plan_sync(connector, config, options)


def _requested_streams(source: Source, options: SyncOptions) -> tuple[list[str] | None, dict[str, str], dict[str, str]]:
    """The streams asked for, their sync modes and cursor overrides (from the options or the catalog)."""
    streams, cursors = options.streams, dict(options.cursor_fields or {})
    modes: dict[str, str] = {}
    if options.catalog is not None:
        streams, modes, catalog_cursors = read_catalog(options.catalog)
        if source.streams_dynamic:
            cursors = {**catalog_cursors, **cursors}
    return streams, modes, cursors


def _check_limits(options: SyncOptions) -> None:
    if options.max_records is not None and options.max_records < 1:
        raise UsageError("--max-records must be a positive integer")
    if options.concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, got {options.concurrency}")
    if options.state_file:
        from source_solidafy.small_files import is_remote

        if not is_remote(options.state_file):
            check_state_path(options.state_file)


def _state_version(options: SyncOptions) -> str | None:
    """The version the state file's writes expect: as read by the caller, else the file's now."""
    if not options.state_file:
        return None
    if options.state_version is not VERSION_NOW:
        return options.state_version
    from source_solidafy.small_files import version_of

    return version_of(options.state_file)


def _schemas(source: Source, streams: list[str]) -> dict[str, dict[str, Any]]:
    declared = getattr(source, "declared_schema", None)
    if declared is None:
        return {}
    return {s: schema for s in streams if (schema := declared(s)) is not None}


@keyword_options(SyncOptions)
def read(connector: str | Source, config: dict[str, Any], options: SyncOptions) -> Iterator[Chunk]:
    """Chunks of protocol messages as they are produced (the keywords are ``SyncOptions``' fields).

    Closing the iterator (or setting ``cancel``) stops the sync and releases its resources.
    """
    return iter(plan_sync(connector, config, options))


def __getattr__(name: str) -> Any:
    """``sync`` and ``SyncResultOptions`` live in sync_result.py, imported on first use (a read needs neither)."""
    if name in ("sync", "SyncResultOptions"):
        from source_solidafy import sync_result

        return getattr(sync_result, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
