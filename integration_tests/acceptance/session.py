"""One target's acceptance runs, each made once and shared by the tests that check it.

The checklist has twenty points but needs only a dozen invocations per API; running each once keeps
the whole parametrised suite within the time budget. Every run goes through
:func:`~integration_tests.acceptance.runner.airbyte`, so every line of every command is validated.
"""

from __future__ import annotations

import copy
import json
from functools import cached_property
from typing import Any

from integration_tests.acceptance import checks
from integration_tests.acceptance.gate import rules_for
from integration_tests.acceptance.runner import AirbyteRun, airbyte
from integration_tests.acceptance.targets import Target

UNKNOWN_KEYS = {"generation_id": 7, "minimum_generation_id": 0, "sync_id": 12345}


def configured_stream(stream: dict[str, Any], mode: str | None = None, meltano: bool = False) -> dict[str, Any]:
    """A ConfiguredAirbyteStream; ``meltano`` leaves out cursor_field and primary_key like tap-airbyte."""
    modes = stream.get("supported_sync_modes") or ["full_refresh"]
    sync_mode = mode or ("incremental" if "incremental" in modes else "full_refresh")
    entry: dict[str, Any] = {"stream": stream, "sync_mode": sync_mode, "destination_sync_mode": "append"}
    if not meltano:
        if sync_mode == "incremental" and stream.get("default_cursor_field"):
            entry["cursor_field"] = stream["default_cursor_field"]
        if stream.get("source_defined_primary_key"):
            entry["primary_key"] = stream["source_defined_primary_key"]
    return entry


def one(run: AirbyteRun, kind: str) -> dict[str, Any]:
    """The single message of ``kind`` a command must print; a clear failure when it did not."""
    found = run.of_type(kind)
    assert len(found) == 1, f"expected exactly one {kind}, got {len(found)}\n{run.describe()}"
    return found[0]


class Session:
    """Lazily made runs against one started target."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.config = target.config
        self.runs: list[AirbyteRun] = []

    # Runs that may go at the same time (each group needs only the groups before it); the subset
    # and fault runs go alone because they watch, or rewire, the API's requests.
    # Each step: (cheap values derived from earlier runs, runs that may go together).
    PREFETCH = (
        ((), ("spec_run", "check_run", "discover_run")),
        (("bad_config", "catalog", "streams", "configured_catalog", "subset_stream"),
         ("bad_check_run", "read1", "unknown_stream_run")),
        (("future_state",), ("read2", "future_run")),
        ((), ("subset_run",)),
        ((), ("fault_run",)),
    )  # fmt: skip

    def prefetch(self, workers: int = 2) -> None:
        """Make every run up front, two at a time (the machine has two cores; a run mostly waits).

        Each property's function is called directly and its value stored where ``cached_property``
        looks first: Python 3.11's cached_property holds one lock per class while computing, which
        would serialise the runs. A run that fails here is left for its test to redo and report.
        """
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            for cheap, group in self.PREFETCH:
                self._fill(cheap)
                futures = {name: pool.submit(self._compute, name) for name in group if name not in self.__dict__}
                for name, future in futures.items():
                    value = future.result()
                    if value is not None:
                        self.__dict__[name] = value

    def _fill(self, names: tuple[str, ...]) -> None:
        for name in names:
            try:
                getattr(self, name)
            except Exception:  # left for the test that needs it to raise with its message
                return

    def _compute(self, name: str) -> Any:
        try:
            return type(self).__dict__[name].func(self)
        except Exception:
            return None

    def run(self, command: str, **kwargs: Any) -> AirbyteRun:
        kwargs.setdefault("config", self.config)
        result = airbyte(command, **kwargs)
        self.runs.append(result)
        return result

    # --- spec, check, discover -------------------------------------------------------------
    @cached_property
    def spec_run(self) -> AirbyteRun:
        return self.run("spec", config=None, env={"SOLIDAFY_CONNECTOR": self.target.connector})

    @cached_property
    def check_run(self) -> AirbyteRun:
        return self.run("check")

    @cached_property
    def bad_config(self) -> dict[str, Any]:
        """The invalid-credentials config: the acceptance file, or every secret field replaced."""
        if "invalid_config" in self.target.files:
            bad = json.loads(self.target.files["invalid_config"].read_text())
            return {**bad, "base_url": self.config["base_url"]}
        spec = one(self.spec_run, "SPEC")["spec"]
        secrets = checks.secret_fields(spec) & set(self.config)
        return {**self.config, **{name: "wrong-credential-0000" for name in secrets}}

    @cached_property
    def bad_check_run(self) -> AirbyteRun:
        return self.run("check", config=self.bad_config)

    @cached_property
    def discover_run(self) -> AirbyteRun:
        return self.run("discover")

    @cached_property
    def catalog(self) -> dict[str, Any]:
        return one(self.discover_run, "CATALOG")["catalog"]

    @cached_property
    def streams(self) -> dict[str, dict[str, Any]]:
        return {s["name"]: s for s in self.catalog["streams"]}

    def incremental_streams(self) -> list[str]:
        return [n for n, s in self.streams.items() if "incremental" in s.get("supported_sync_modes", [])]

    # --- catalogs ----------------------------------------------------------------------------
    @cached_property
    def configured_catalog(self) -> dict[str, Any]:
        """The acceptance file's catalog (demo), else every discovered stream."""
        if "catalog" in self.target.files:
            return json.loads(self.target.files["catalog"].read_text())
        return {"streams": [configured_stream(s) for s in self.catalog["streams"]]}

    def catalog_of(self, names: list[str], mode: str | None = None, meltano: bool = False) -> dict[str, Any]:
        return {"streams": [configured_stream(self.streams[n], mode, meltano) for n in names]}

    def configured_names(self) -> list[str]:
        return [s["stream"]["name"] for s in self.configured_catalog["streams"]]

    def few(self, first: str, n: int = 3) -> dict[str, Any]:
        """``first`` plus the last ``n - 1`` configured streams, for checks that need several streams
        but not all twenty of a big connector (the last ones are the least likely to share
        ``first``'s endpoint, as report variants of one endpoint sit side by side)."""
        entries = self.configured_catalog["streams"]
        rest = [e for e in entries if e["stream"]["name"] != first][-(n - 1):] if n > 1 else []
        chosen = [e for e in entries if e["stream"]["name"] == first] + rest
        return {"streams": copy.deepcopy(chosen)}

    def cursor_of(self, stream: str) -> list[str]:
        for s in self.configured_catalog["streams"]:
            if s["stream"]["name"] == stream and s.get("sync_mode") == "incremental":
                return s.get("cursor_field") or s["stream"].get("default_cursor_field") or []
        return []

    # --- reads --------------------------------------------------------------------------------
    @cached_property
    def read1(self) -> AirbyteRun:
        """Configured catalog, no state: everything, and the state to continue from."""
        return self.run("read", catalog=self.configured_catalog)

    @cached_property
    def read2(self) -> AirbyteRun:
        """Configured catalog from read1's final STATE array."""
        return self.run("read", catalog=self.configured_catalog, state=self.read1.final_state_array())

    @cached_property
    def future_state(self) -> list[dict[str, Any]]:
        if "future_state" in self.target.files:
            return json.loads(self.target.files["future_state"].read_text())
        states = copy.deepcopy(self.read1.final_state_array())
        for state in states:
            name = state["stream"]["stream_descriptor"]["name"]
            blob = state["stream"].get("stream_state") or {}
            state["stream"]["stream_state"] = checks.futurize(blob, self.cursor_of(name))
        return states

    @cached_property
    def future_run(self) -> AirbyteRun:
        """Incremental streams from a far-future state that also carries no sourceStats, and unknown
        keys in config, catalog, streams and state (points 12 and 13 in one run: the zero records
        prove the lenient state was understood, not skipped)."""
        states = copy.deepcopy(self.future_state)
        for state in states:
            state.pop("sourceStats", None)
            state.update({"id": 1, "destinationStats": {"recordCount": 1.0}})
        catalog = self.incremental_catalog()
        catalog["some_future_field"] = True
        for entry in catalog["streams"]:
            entry.update(UNKNOWN_KEYS)
        config = {**self.config, "an_unknown_setting": "ignored"}
        return self.run("read", config=config, catalog=catalog, state=states)

    def incremental_catalog(self) -> dict[str, Any]:
        names = [n for n in self.configured_names() if self.cursor_of(n)]
        entries = [s for s in self.configured_catalog["streams"] if s["stream"]["name"] in names]
        return {"streams": copy.deepcopy(entries)}

    @cached_property
    def subset_stream(self) -> str:
        """The configured stream read alone (also the one failed on purpose in fault_run)."""
        return self.configured_names()[0]

    @cached_property
    def subset_run(self) -> AirbyteRun:
        """One stream as full refresh, after read1 (so its emitted_at must not be older: point 14);
        the requests it makes are the ones fault_run fails."""
        assert self.target.server
        _ = self.read1
        before = len(self.target.server.requests)
        run = self.run("read", catalog=self.catalog_of([self.subset_stream], "full_refresh"))
        self.subset_requests = list(self.target.server.requests[before:])
        return run

    @cached_property
    def unknown_stream_run(self) -> AirbyteRun:
        fake = {"name": "no_such_stream_xyz", "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh"]}
        catalog = self.few(self.subset_stream, n=1)
        catalog["streams"].append({"stream": fake, "sync_mode": "full_refresh", "destination_sync_mode": "append"})
        return self.run("read", catalog=catalog)

    @cached_property
    def fault_run(self) -> AirbyteRun:
        """The subset stream's requests fail (HTTP 503, every retry) after its first page."""
        assert self.target.gate
        _ = self.subset_run
        rules = rules_for(self.subset_requests, {str(v) for v in self.config.values()})
        matching = [r for r in self.subset_requests if any(rule.matches(r) for rule in rules)]
        allow = 1 if len(matching) > 1 else 0  # let page 1 through when there is a page 2
        self.fault_allowed = allow
        self.target.gate.fail(rules, allow=allow)
        try:
            catalog = self.few(self.subset_stream)
            # The same requests as subset_run made (a full refresh), so the rules recognise them.
            catalog["streams"][0] = configured_stream(self.streams[self.subset_stream], "full_refresh")
            self.fault_names = [e["stream"]["name"] for e in catalog["streams"]]
            return self.run("read", catalog=catalog)
        finally:
            self.target.gate.clear()
