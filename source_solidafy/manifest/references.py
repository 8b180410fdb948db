"""What a manifest refers to, checked when it loads: parent streams, template variables, config keys.

Each of these would otherwise fail only while syncing, or never fail but read the wrong data:

- ``partition: {type: parent_stream, stream: X}`` where no stream is named X (or X is the stream
  itself);
- a template variable that can never be defined where the template is rendered: ``partition.X``
  where the stream's partition provides no X (or the stream has no partition, or the template is
  rendered outside one: connector-level values, the partition block itself), ``job_id`` outside
  an async_job stream's poll, download and transforms, ``record`` outside ``transform`` and ``filter``;
- with an explicit ``spec:``, a ``config.X`` (or bare ``X``) that the spec does not declare.

A problem is ``file:line: key.path: message`` (exit 2). In a lenient template (request, check and
job ``params``, ``incremental.start``) an undefined value renders empty and the parameter is left
out, so a variable that can never be defined there is a load warning instead: that parameter is
never sent. A read under a guard (``| default(...)``, ``is defined``, an ``if`` test) is accepted.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from source_solidafy.manifest.partition_parts import (
    AsyncJobPartition,
    DateRangePartition,
    ListPartition,
    ParentStreamPartition,
)
from source_solidafy.manifest.plugin_models import PluginSpec
from source_solidafy.manifest.templates import TemplateString, template_reads
from source_solidafy.manifest.walk import KeyPath

if TYPE_CHECKING:
    from source_solidafy.manifest.jinja_env import Reads
    from source_solidafy.manifest.models import Manifest

AddFn = Callable[[KeyPath, str], None]


def _close(name: str, candidates: list[str]) -> str | None:
    found = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return found[0] if found else None


def check_parents(manifest: Manifest, add: AddFn) -> None:
    """A parent_stream partition names another stream of this file."""
    names = manifest.stream_names()
    for i, stream in enumerate(manifest.streams):
        part = stream.partition
        if not isinstance(part, ParentStreamPartition):
            continue
        loc = ("streams", i, "partition", "stream")
        others = [n for n in names if n != stream.name]
        if part.stream == stream.name:
            add(loc, f"stream '{stream.name}' cannot be its own parent")
        elif part.stream not in names:
            close = _close(part.stream, others)
            hint = f"; did you mean '{close}'?" if close else ""
            known = f"streams: {', '.join(others)}" if others else "this file defines no other stream"
            add(loc, f"no stream named '{part.stream}'{hint} ({known})")


# ------------------------------------------------------------------------------ template scopes


@dataclass(frozen=True)
class Scope:
    """What is defined where a template is rendered."""

    partition: frozenset[str] | None  # the partition.* keys; None: no partition values at all
    partition_kind: str  # "list", "date_range"... or, with no values, why there are none
    job_id: bool
    record: bool
    lookups: frozenset[str] | str = frozenset()  # the lookup names, or why there is no ``lookup`` here
    any_partition_key: bool = False  # a plugin router: its partitions' keys are known only when read


def _partition_keys(part: Any) -> frozenset[str]:
    if isinstance(part, ListPartition):
        return frozenset({part.field})
    if isinstance(part, ParentStreamPartition):
        return frozenset(part.parent_fields)
    assert isinstance(part, DateRangePartition)
    return frozenset(k for k in ("start", "end", part.field, part.start_field, part.end_field) if k)


def scope_of(manifest: Manifest, path: KeyPath) -> Scope:
    """The variables defined at ``path`` (a key path from :func:`iter_templates`)."""
    names: frozenset[str] | str = frozenset(manifest.lookups)
    if path[0] == "lookups":
        return Scope(None, "a lookup is rendered without a partition", False, len(path) > 2 and path[2] == "filter",
                     "a lookup cannot read 'lookup' (lookups are read before any stream, each on its own)")
    if path[0] != "streams" or len(path) < 3:
        return Scope(None, "connector-level values are rendered without a partition", False, False,
                     "'lookup' is only defined in a stream's templates, not in connector-level values")
    stream = manifest.streams[path[1]]  # type: ignore[index]
    section, part = path[2], stream.partition
    is_job = isinstance(part, AsyncJobPartition)
    job_id = is_job and section != "incremental" and path[2:4] != ("partition", "create")
    record = section in ("transform", "filter")
    if part is None:
        return Scope(None, f"stream '{stream.name}' has no partition", job_id, record, names)
    if section == "partition":
        why = "'lookup' is not defined in a partition's own values"  # an async job's requests have it
        return Scope(None, f"the {part.type} partition's own values are rendered before any partition exists",
                     job_id, record, names if is_job else why)
    if is_job:
        return Scope(None, "an async_job stream has no partition values (its job is 'job_id')", job_id, record,
                     names)
    if isinstance(part, PluginSpec):
        return Scope(frozenset(), part.type, job_id, record, names, any_partition_key=True)
    return Scope(_partition_keys(part), part.type, job_id, record, names)


def _scope_problems(scope: Scope, reads: Reads) -> list[str]:
    out = []
    if "record" in reads.names and not scope.record:
        out.append("'record' is only defined in transform steps (set: {field, value}) and filter")
    if "job_id" in reads.names and not scope.job_id:
        out.append("'job_id' is only defined in an async_job stream after its job is created "
                   "(poll, download, transform)")
    out += _lookup_problems(scope, reads)
    for key in sorted(reads.keys["partition"]):
        if scope.any_partition_key:
            break
        if scope.partition is None:
            out.append(f"'partition.{key}' is never defined here: {scope.partition_kind}")
        elif key not in scope.partition:
            provided = sorted(scope.partition)
            close = _close(key, provided)
            hint = f"; did you mean 'partition.{close}'?" if close else ""
            shown = ", ".join(f"partition.{k}" for k in provided)
            out.append(f"'partition.{key}' is never defined here{hint} (the {scope.partition_kind} partition "
                       f"provides {shown})")
    return out


def _lookup_problems(scope: Scope, reads: Reads) -> list[str]:
    """``lookup.X``: X is one of the file's ``lookups`` (and a lookup reads no lookup)."""
    if "lookup" not in reads.names:
        return []
    if isinstance(scope.lookups, str):
        return [scope.lookups]
    out = []
    for key in sorted(reads.keys["lookup"]):
        if key not in scope.lookups:
            close = _close(key, sorted(scope.lookups))
            hint = f"; did you mean 'lookup.{close}'?" if close else ""
            known = f"lookups: {', '.join(sorted(scope.lookups))}" if scope.lookups else "this file has no lookups"
            out.append(f"'lookup.{key}' is not defined{hint} ({known})")
    return out


def check_lookups(manifest: Manifest, add: AddFn) -> None:
    """A stream's ``schema_fields.lookup`` names one of the file's ``lookups``."""
    names = sorted(manifest.lookups)
    for i, stream in enumerate(manifest.streams):
        wanted = stream.schema_fields.lookup if stream.schema_fields is not None else None
        if wanted is not None and wanted not in manifest.lookups:
            close = _close(wanted, names)
            hint = f"; did you mean '{close}'?" if close else ""
            known = f"lookups: {', '.join(names)}" if names else "this file has no lookups"
            add(("streams", i, "schema_fields", "lookup"), f"no lookup named '{wanted}'{hint} ({known})")


def _spec_problems(declared: list[str], reads: Reads) -> list[str]:
    out = []
    config_keys = reads.keys["config"]
    for key in sorted(config_keys | reads.bare):
        if key in declared:
            continue
        close = _close(key, declared)
        hint = f"; did you mean '{close}'?" if close else ""
        spelled = f"config.{key}" if key in config_keys else f"'{key}' (config.{key})"
        out.append(f"{spelled} is not declared in spec{hint} (spec fields: {', '.join(declared)})")
    return out


def check_templates(manifest: Manifest, templates: list[tuple[KeyPath, TemplateString]], add: AddFn,
                    warn: AddFn) -> None:
    """Every template's variables against its scope, and its config keys against an explicit spec.

    ``templates`` is :func:`~source_solidafy.manifest.walk.iter_templates` of the manifest.
    """
    declared = [f.name for f in manifest.config_fields()] if manifest.spec is not None else None
    for path, template in templates:
        reads = template_reads(template)
        if reads is None:
            continue
        problems = _scope_problems(scope_of(manifest, path), reads)
        if declared is not None:
            problems += _spec_problems(declared, reads)
        for message in problems:
            if template.lenient:  # renders empty: a parameter is left out, a start is none
                warn(path, f"{message}; {'this parameter is never sent' if 'params' in path else 'it renders empty'}")
            else:
                add(path, message)
