"""``state merge`` with its inputs and outputs: manifests from the output, the state file in and out,
and a full refresh's replacement of the day's earlier files once the run's stream is complete.

The state file is written back only if no one changed it since it was read (a conditional write,
:mod:`source_solidafy.small_files`), and only if each planned stream is still what the plan started from
or what an earlier merge of the same run wrote (the file's ``merged`` map: stream -> run id).
Otherwise nothing is written: a ConflictError says which stream moved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from source_solidafy import jsoncodec
from source_solidafy.errors import SolidafyError, StateError
from source_solidafy.scale.manifests import UnitManifest, read_run
from source_solidafy.scale.merge import StreamMerge, merge_states
from source_solidafy.scale.units import Plan, state_sha256
from source_solidafy.sinks.layout import is_data_file, partition_date, safe_dir_name
from source_solidafy.sinks.storage import Storage, open_storage
from source_solidafy.small_files import ConflictError, read_file, write_file
from source_solidafy.state import StateMap, parse_state


@dataclass
class MergeResult:
    run_id: str
    state: StateMap
    reports: list[StreamMerge]
    written: str | None = None
    removed: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(r.complete for r in self.reports)

    def summary(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "complete": self.complete, "state_file": self.written,
                "streams": [r.as_dict() for r in self.reports], "replaced_files": self.removed}

    def messages(self) -> list[str]:
        out = []
        for r in self.reports:
            if r.held:
                out.append(f"WARN stream '{r.stream}': units {', '.join(r.held)} warned; its cursor is not advanced")
            elif not r.complete:
                shown = ", ".join(r.missing) + (" ..." if r.units - r.done > len(r.missing) else "")
                out.append(f"WARN stream '{r.stream}': {r.units - r.done} of {r.units} units have no manifest "
                           f"({shown}); its cursor is not advanced: run them, then merge again")
        return out


def _current(location: str | None) -> tuple[StateMap, dict[str, str], Any]:
    if not location:
        return {}, {}, None
    data, version = read_file(location)
    if data is None:
        return {}, {}, None
    try:
        raw = jsoncodec.loads(data) if data.strip() else {}
    except jsoncodec.JSONDecodeError as exc:
        raise StateError(f"{location}: not valid JSON ({exc})") from None
    merged = raw.get("merged") if isinstance(raw, dict) else None
    return parse_state(raw, location), dict(merged) if isinstance(merged, dict) else {}, version


def _check_unchanged(plan: Plan, current: StateMap, merged_by: dict[str, str], where: str) -> None:
    for stream, sp in plan.streams.items():
        if merged_by.get(stream) == plan.run_id or state_sha256(current.get(stream)) == sp.state_sha256:
            continue
        raise ConflictError(f"{where}: the state of stream '{stream}' changed since plan {plan.run_id} was made "
                            "(another run merged into it?); nothing merged: make a new plan from the state as it is")


def merge_run(plan: Plan, output: str, state: str | None, state_out: str | None = None) -> MergeResult:
    storage = open_storage(output)
    storage.check()
    manifests = read_run(storage, plan.run_id)
    current, merged_by, version = _current(state)
    if state:
        _check_unchanged(plan, current, merged_by, state)
    merged, reports = merge_states(plan, manifests.values(), current)
    result = MergeResult(plan.run_id, merged, reports)
    target = state_out or state
    if target:
        body = {"streams": merged, "merged": {**merged_by, **{s: plan.run_id for s in plan.streams}}}
        data = jsoncodec.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        if target == state:
            write_file(target, data, expect=version)
        else:
            write_file(target, data)
        result.written = target
    result.removed = _replace_earlier(storage, plan, manifests, reports)
    return result


def _replace_earlier(storage: Storage, plan: Plan, manifests: dict[str, UnitManifest],
                     reports: list[StreamMerge]) -> list[str]:
    """A complete full-refresh stream: the day's data files that are not the run's go (docs/outputs.md)."""
    removed = []
    day = partition_date(datetime.strptime(plan.now, "%Y-%m-%dT%H:%M:%SZ"))
    for report in reports:
        sp = plan.streams.get(report.stream)
        if sp is None or not sp.replace or not report.complete:
            continue
        mine = [m for m in manifests.values() if m.stream == report.stream]
        keep = {f.rsplit("/", 1)[-1] for m in mine for f in m.files}
        exts = {m.ext for m in mine if m.ext}
        dir_key = f"{safe_dir_name(report.stream)}/dt={day}"
        for name in storage.list(dir_key):
            if name not in keep and any(is_data_file(name, ext) for ext in exts):
                try:
                    storage.delete(f"{dir_key}/{name}")
                except (OSError, SolidafyError) as exc:
                    raise SolidafyError(f"{report.stream}: the run's files are complete, but removing the earlier "
                                        f"{dir_key}/{name} failed ({exc}); readers see both") from None
                removed.append(f"{dir_key}/{name}")
    return removed
