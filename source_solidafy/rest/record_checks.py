"""What a stream's records and requests say about its YAML: suspicions that warn once per stream.

Each check ends in ``StreamReader.warn`` (``ReadContext.warn``: the summary's ``warnings``, a LOG
WARN line, the stream's state held, a failure under ``--strict``). Each is cheap: it looks at the
first record, the first page of a request chain, or values the cursor filter compared anyway.

- ``cursor_field`` that no record read has: the cursor cannot advance (a value the cursor cannot read,
  with an Airbyte cursor's formats, is only logged: the CDK goes on);
- ``primary_key`` that the first records do not have (a wrong name, a transform that removed it, a
  CSV without a header read with one): consumers that dedupe on the key would merge records;
- the first page of 3 or more records on which most share one primary-key value: the key is not unique;
- a request parameter reading ``state`` or ``since`` that rendered empty although the stream has a
  state: the incremental filter was left out and every sync reads everything again;
- records older than the bound ``incremental.request_param`` sent: the API ignores that parameter.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from source_solidafy.manifest.models import Stream
from source_solidafy.manifest.templates import TemplateString, template_reads
from source_solidafy.rest.paths import compile_path
from source_solidafy.rest.records import to_datetime

WarnFn = Callable[[str], None]


def _reads_state(template: TemplateString | list[TemplateString]) -> bool:
    for t in template if isinstance(template, list) else [template]:
        reads = template_reads(t)
        if reads is not None and reads.names & {"state", "since"}:
            return True
    return False


class RecordChecks:
    """The checks of one stream, shared by its partitions (threads); each warns at most once."""

    def __init__(self, spec: Stream, warn: WarnFn) -> None:
        self.spec, self.warn = spec, warn
        self.keys = [(k, compile_path(k)) for k in spec.primary_key]
        params = spec.request.params if spec.request is not None else {}
        self.state_params = [k for k, t in params.items() if _reads_state(t)]
        self._done: set[str] = set()
        self._settled = False  # a page of 3 or more records was checked: the key checks are done
        self._lock = threading.Lock()

    def _once(self, check: str) -> bool:
        with self._lock:
            if check in self._done:
                return False
            self._done.add(check)
            return True

    def request(self, params: Mapping[str, Any], cursor: Any, url: str) -> None:
        """A parameter that reads the state rendered empty (and was left out) while there is a state."""
        dropped = [k for k in self.state_params if k not in params]
        if cursor is None or not dropped or not self._once("state_params"):
            return
        self.warn(f"request.params.{dropped[0]} reads the state but rendered empty, so it was not sent to {url} "
                  f"although the stream has a state (cursor {cursor!r}; templates have state.cursor and since): "
                  "the API was not asked to filter and every sync reads everything again")

    def page(self, records: list[dict[str, Any]], url: str) -> None:
        """A page's records as emitted, until one of 3 or more was seen: its first record has the key, the
        key is unique enough."""
        if self._settled or not records or not self.keys:
            return
        first = records[0]
        for name, path in self.keys:
            why = path.missing(first, root="the first record")
            if why is not None:
                self._settled = True
                if self._once("primary_key"):
                    self.warn(f"primary_key '{name}' is not in the records of {url}: {why}; consumers that dedupe "
                              "on the key would merge different records")
                return
        if len(records) < 3:
            return
        self._settled = True
        values = [tuple(_hashable(p.get(r)) for _, p in self.keys) for r in records]
        distinct = len(set(values))
        if distinct * 2 < len(records) and self._once("unique"):
            key = ", ".join(n for n, _ in self.keys)
            shown = values[0][0] if len(values[0]) == 1 else values[0]
            self.warn(f"primary_key '{key}' is not unique: the {len(records)} records of {url} have {distinct} "
                      f"distinct values (e.g. {shown!r}); consumers that dedupe on the key would keep one of each")

    def cursor_missing(self, sample: dict[str, Any]) -> None:
        """No record read has a value at ``cursor_field``: the state cannot advance."""
        if not self._once("cursor_field"):
            return
        field = self.spec.cursor_field or ""
        why = compile_path(field).missing(sample, root="the first record")
        found = f"is in no record read: {why}" if why else "is null in every record read"
        self.warn(f"cursor_field '{field}' {found}; the stream's cursor cannot advance")

    def cursor_unordered(self, value: Any, log: Callable[[str, str], None]) -> None:
        """A cursor value the stream's cursor cannot read (an Airbyte DatetimeBasedCursor's formats): as
        the CDK, such a record does not move the cursor and the state goes on (logged once, no warning)."""
        if self._once("cursor_unordered"):
            log("WARN", f"stream '{self.spec.name}': cursor_field '{self.spec.cursor_field}' value {value!r} "
                        "matches none of its formats; such records do not move the cursor")

    def older_than_asked(self, oldest: Any, since: str, url: str) -> None:
        """The API returned a record older than the bound ``incremental.request_param`` sent."""
        inc = self.spec.incremental
        if oldest is None or inc is None or not inc.request_param or not since:
            return
        bound, found = to_datetime(since), to_datetime(oldest)
        if bound is None or found is None or found >= bound or not self._once("filter"):
            return
        self.warn(f"the API returned records older than incremental.request_param {inc.request_param}={since} "
                  f"({self.spec.cursor_field} {oldest!r} from {url}): does the API read '{inc.request_param}'? "
                  "They were dropped here, but every sync reads everything again")


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value
