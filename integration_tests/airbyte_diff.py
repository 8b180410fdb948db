"""Differential runs: airbyte-cdk and us read one Airbyte manifest against the same mock API.

A case is a data file, integration_tests/airbyte_manifests/cases/<name>.yaml::

    manifest: corpus:nasa                      # a corpus manifest, or a file in integration_tests/airbyte_manifests/
    rewrite: {"https://api.nasa.gov/": "{mock}/"}   # text replaced in the manifest: its hosts -> the mock
    config: {start_date: "{today-100d}"}       # over the corpus dummy_config.json ("{mock}": the mock's URL)
    streams: [nasa_apod]                       # default: every stream
    resume: true                               # then a second sync from the CDK's final state
    check: true                                # and a check (CheckStream): status and requests
    fails: {orders: "account acme is suspended"}   # streams both engines must fail, with these words
    discover: true                             # and discover: each stream's schema, sync modes, cursor, key
    compare_config: true                       # and the config each hands back last (CONTROL messages)
    parent_paths: [/api/v1/products]           # a parent stream's requests: compared as a set (see _counted)
    api: {...}                                 # the mock (integration_tests/mocks/manifest_api.py)

``{today}``, ``{today-Nd}`` and ``{today+Nd:%d-%m-%Y}`` in any string are dates relative to the UTC day.
Each engine gets its own fresh mock. airbyte-cdk (pinned in airbyte-cdk.txt, its own virtualenv) runs
through airbyte_cdk_launch.py; we run as ``source-solidafy read --config --catalog [--state]`` with the
manifest in ``config.connector``. A :class:`Sync` holds what one engine did: records per stream (a
multiset), requests (a multiset of method, path, query pairs, body), final state per stream, errors.
Known differences the comparison allows, each for a reason outside the manifest's semantics:

- Values of "now" (an end of a datetime slice) differ by the seconds between the runs: request values
  and states that read as a moment inside the run are replaced by ``<now>`` before comparing; so is a
  per-partition state's ``lookback_window``, the duration of the sync in seconds, by ``<duration>``.
- airbyte-cdk 7's message serializer leaves out a record's top-level fields whose value is null
  (nested nulls stay); we keep them. A top-level null is compared as an absent field.
- Requests to ``parent_paths`` and to the mock's OAuth ``token_path`` are compared as a set: the CDK
  serves a parent stream's repeated requests from its HTTP cache (racing its own threads, 1 to n reach
  the API) and refreshes a token per stream instance; we read a parent and refresh a token once per sync.
- A stream that fails (a case's ``fails``): airbyte-cdk still emits the state of a stream without a
  cursor (``__ab_no_cursor_state_message``), a checkpoint that commits the failed stream's records in
  a destination; we emit no state after a stream fails. That one state is not compared.
- ``discover``: a stream whose schema declares no properties (``{}`` from a schema file the corpus
  left out, or ``{type: object}``) is in the CDK's catalog as written; ours infers one from a sample
  of records (``--sample``, default 100; 0 here, so neither reads) and always lists the primary key and
  cursor fields. Such schemas are not compared; every declared one is.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from integration_tests.helpers import run_cli
from integration_tests.mocks.manifest_api import ManifestApi
from integration_tests.mocks.server import MockServer
from integration_tests.tool_venvs import pinned_venv

HERE = Path(__file__).resolve().parent
CASES = HERE / "airbyte_manifests" / "cases"
CDK_REQUIREMENTS = HERE / "airbyte-cdk.txt"
LAUNCH = HERE / "airbyte_cdk_launch.py"
CORPUS = HERE.parents[1] / "shared" / "compat" / "airbyte-manifests"
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/compat/airbyte-manifests")
NO_CURSOR_STATE = {"__ab_no_cursor_state_message": True}
_TODAY = re.compile(r"\{today(?:([+-])(\d+)d)?(?::([^}]*))?\}")


def cdk_python() -> str:
    return str(pinned_venv(CDK_REQUIREMENTS) / "bin" / "python")


def _dates(node: Any, today: dt.date) -> Any:
    if isinstance(node, str):
        def day(m: re.Match[str]) -> str:
            delta = int(m.group(2) or 0) * (-1 if m.group(1) == "-" else 1)
            return (today + dt.timedelta(days=delta)).strftime(m.group(3) or "%Y-%m-%d")
        return _TODAY.sub(day, node)
    if isinstance(node, dict):
        return {k: _dates(v, today) for k, v in node.items()}
    if isinstance(node, list):
        return [_dates(v, today) for v in node]
    return node


@dataclass
class Case:
    name: str
    data: dict[str, Any]

    @classmethod
    def load(cls, name: str) -> Case:
        return cls(name, yaml.safe_load((CASES / f"{name}.yaml").read_text()))

    @property
    def source_dir(self) -> Path:
        ref = str(self.data["manifest"])
        return CORPUS / ref.split(":", 1)[1] if ref.startswith("corpus:") else HERE / "airbyte_manifests"

    @property
    def manifest_file(self) -> Path:
        ref = str(self.data["manifest"])
        return self.source_dir / "manifest.yaml" if ref.startswith("corpus:") else self.source_dir / ref

    def prepare(self, work: Path, mock_url: str, today: dt.date) -> tuple[Path, Path, Path]:
        """(manifest, config, catalog) files in ``work`` for a mock at ``mock_url``.

        The manifest goes into a package directory, ``source_manifest/``, with what Airbyte's packages keep
        beside it (spec.yaml, schemas/), laid out as a connector package is.
        """
        package = work / "source_manifest"
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").touch()
        text = self.manifest_file.read_text()
        for old, new in (self.data.get("rewrite") or {}).items():
            assert old in text, f"{self.name}: rewrite target {old!r} is not in the manifest"
            text = text.replace(old, new.replace("{mock}", mock_url))
        manifest = package / "manifest.yaml"
        manifest.write_text(text)
        for side in ("spec.yaml", "spec.json", "schemas"):
            src = self.source_dir / side
            if src.exists() and not (package / side).exists():
                (package / side).symlink_to(src)
        config: dict[str, Any] = {}
        if str(self.data["manifest"]).startswith("corpus:"):
            config = json.loads((self.source_dir / "dummy_config.json").read_text())
        config.update(json.loads(json.dumps(_dates(self.data.get("config") or {}, today)).replace("{mock}", mock_url)))
        (work / "config.json").write_text(json.dumps(config))
        (work / "catalog.json").write_text(json.dumps(self.catalog(manifest)))
        return manifest, work / "config.json", work / "catalog.json"

    def catalog(self, manifest: Path) -> dict[str, Any]:
        from source_solidafy.lowcode import load_airbyte_manifest

        source = load_airbyte_manifest(manifest)
        wanted = self.data.get("streams") or source.stream_names()
        streams = []
        for stream in source.manifest.streams:
            if stream.name not in wanted:
                continue
            cursor = [stream.cursor_field] if stream.cursor_field else []
            modes = ["full_refresh", "incremental"] if cursor else ["full_refresh"]
            streams.append({"stream": {"name": stream.name, "json_schema": {}, "supported_sync_modes": modes},
                            "sync_mode": modes[-1], "destination_sync_mode": "append", "cursor_field": cursor})
        return {"streams": streams}

    def once_paths(self) -> list[str]:
        """Paths whose requests are compared as a set: parent streams' and the token endpoint."""
        token = self.data["api"].get("token_path")
        return [*(self.data.get("parent_paths") or []), *([token] if token else [])]

    def api(self, today: dt.date) -> dict[str, Any]:
        return _dates(self.data["api"], today)


@dataclass
class Sync:
    """What one engine did in one sync."""

    rc: int
    records: dict[str, Counter[str]] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    states: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    stderr: str = ""
    status: str | None = None  # a check's CONNECTION_STATUS
    catalog: dict[str, Any] = field(default_factory=dict)  # discover's streams, by name, as compared
    raw_states: dict[str, Any] = field(default_factory=dict)  # as emitted (what a resumed sync is given)
    config: dict[str, Any] | None = None  # the last CONTROL message's config (without our ``connector`` key)

    def state_messages(self) -> list[dict[str, Any]]:
        return [{"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": state}}
                for name, state in (self.raw_states or self.states).items()]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _parse(rc: int, stdout: str, stderr: str, log: list[dict[str, Any]], window: tuple[float, float]) -> Sync:
    sync = Sync(rc, stderr=stderr[-3000:])
    for line in stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        kind = msg.get("type")
        if kind == "RECORD":
            rec = msg["record"]
            data = {k: v for k, v in rec["data"].items() if v is not None}
            sync.records.setdefault(rec["stream"], Counter())[_canonical(data)] += 1
        elif kind == "STATE" and msg["state"].get("type") == "STREAM":
            st = msg["state"]["stream"]
            sync.raw_states[st["stream_descriptor"]["name"]] = st.get("stream_state")
            sync.states[st["stream_descriptor"]["name"]] = _duration_free(_now_free(st.get("stream_state"), window))
        elif kind == "CATALOG":
            sync.catalog = {s["name"]: _as_compared(s) for s in msg["catalog"]["streams"]}
        elif kind == "CONTROL" and msg["control"].get("type") == "CONNECTOR_CONFIG":
            config = dict(msg["control"]["connectorConfig"]["config"])
            config.pop("connector", None)
            sync.config = config
        elif kind == "CONNECTION_STATUS":
            sync.status = msg["connectionStatus"]["status"]
        elif kind == "TRACE" and msg["trace"].get("type") == "ERROR":
            sync.errors.append(str(msg["trace"]["error"].get("message")))
    sync.requests = Counter(_canonical(_now_free(entry, window)) for entry in log)
    return sync


def _as_compared(stream: dict[str, Any]) -> dict[str, Any]:
    """A discovered stream's schema, sync modes, cursor and key (an absent flag is false, as in Airbyte)."""
    keys = ("json_schema", "supported_sync_modes", "default_cursor_field", "source_defined_primary_key")
    return {**{k: stream.get(k) for k in keys}, "source_defined_cursor": bool(stream.get("source_defined_cursor"))}


def _moment(value: Any) -> float | None:
    """The epoch seconds a request value or state value names, when it is a full timestamp."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) or (isinstance(value, str) and value.isdigit()):
        number = float(value)
        return number / 1000 if number > 1e11 else number
    if isinstance(value, str) and "T" in value and len(value) >= 19:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)).timestamp()
    return None


def _now_free(node: Any, window: tuple[float, float]) -> Any:
    if isinstance(node, dict):
        return {k: _now_free(v, window) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_now_free(v, window) for v in node]
    moment = _moment(node)
    if moment is not None and window[0] - 2 <= moment <= window[1] + 2:
        return "<now>"
    return node


def _duration_free(state: Any) -> Any:
    """A per-partition state's ``lookback_window`` after a sync that read records is the sync's duration."""
    if isinstance(state, dict) and "use_global_cursor" in state and state.get("lookback_window"):
        return {**state, "lookback_window": "<duration>"}
    return state


def _serve(case: Case, today: dt.date, run: Any) -> Sync:
    api = ManifestApi(case.api(today))
    with MockServer(api) as server:
        start = time.time()
        rc, out, err = run(server.url)
        window = (start, time.time())
    return _parse(rc, out, err, api.log, window)


def run_cdk(case: Case, work: Path, today: dt.date, state: list[dict[str, Any]] | None = None,
            command: str = "read") -> Sync:
    def run(url: str) -> tuple[int, str, str]:
        manifest, config, catalog = case.prepare(work, url, today)
        argv = [cdk_python(), str(LAUNCH), str(manifest), command, "--config", str(config)]
        argv += ["--catalog", str(catalog)] if command == "read" else []
        if state is not None:
            (work / "state.json").write_text(json.dumps(state))
            argv += ["--state", str(work / "state.json")]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=work, stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout, proc.stderr

    return _serve(case, today, run)


def run_ours(case: Case, work: Path, today: dt.date, state: list[dict[str, Any]] | None = None,
             command: str = "read") -> Sync:
    def run(url: str) -> tuple[int, str, str]:
        manifest, config, catalog = case.prepare(work, url, today)
        data = json.loads(config.read_text())
        (work / "config_ours.json").write_text(json.dumps({**data, "connector": str(manifest)}))
        argv = [command, "--config", str(work / "config_ours.json")]
        argv += ["--catalog", str(catalog)] if command == "read" else []
        argv += ["--sample", "0"] if command == "discover" else []  # no schema inference: the CDK's reads nothing
        if state is not None:
            (work / "state.json").write_text(json.dumps(state))
            argv += ["--state", str(work / "state.json")]
        result = run_cli(*argv, script="source-solidafy", timeout=600, cwd=str(work))
        return result.rc, result.stdout, result.stderr

    return _serve(case, today, run)


def _counted(requests: Counter[str], once: list[str]) -> Counter[str]:
    """Requests to the ``once`` paths counted once (see the module's known differences)."""
    return Counter({r: 1 if json.loads(r)["path"] in once else n for r, n in requests.items()})


def _failures(who: str, sync: Sync, fails: dict[str, str] | None) -> list[str]:
    """How ``sync`` failed otherwise than the case says (``fails``: stream -> words its error must hold)."""
    if not fails:
        return [f"{who} failed (rc {sync.rc}): {sync.errors[:3]} {sync.stderr[-800:]}"] if sync.rc or sync.errors else []
    missing = [f"{stream}: {words!r}" for stream, words in fails.items() if not any(words in e for e in sync.errors)]
    if sync.rc == 0 or missing:
        return [f"{who} did not fail as expected (rc {sync.rc}; no error saying {missing}): {sync.errors[:3]}"]
    return []


def differences(cdk: Sync, ours: Sync, once: list[str] | None = None, fails: dict[str, str] | None = None) -> list[str]:
    """Each way ours differs from the CDK's sync, one line each (empty: they match).

    ``once``: paths whose requests are compared as a set (:meth:`Case.once_paths`); ``fails``: the
    streams a case expects to fail, each with words both engines' errors must hold (else any failure is one).
    """
    out = [*_failures("airbyte-cdk", cdk, fails), *_failures("we", ours, fails)]
    cdk_requests, our_requests = _counted(cdk.requests, once or []), _counted(ours.requests, once or [])
    for name in sorted(set(cdk.records) | set(ours.records)):
        a, b = cdk.records.get(name, Counter()), ours.records.get(name, Counter())
        if a != b:
            out.append(f"records of {name}: CDK {sum(a.values())}, ours {sum(b.values())}; only CDK: "
                       f"{list((a - b).elements())[:2]}; only ours: {list((b - a).elements())[:2]}")
    if cdk_requests != our_requests:
        out.append(f"requests: CDK {sum(cdk_requests.values())}, ours {sum(our_requests.values())}; only CDK: "
                   f"{list((cdk_requests - our_requests).elements())[:3]}; only ours: "
                   f"{list((our_requests - cdk_requests).elements())[:3]}")
    cdk_states = {k: v for k, v in cdk.states.items() if not (k in (fails or {}) and v == NO_CURSOR_STATE)}
    if cdk_states != ours.states:
        out.append(f"final states: CDK {_canonical(cdk_states)}; ours {_canonical(ours.states)}")
    if cdk.status != ours.status:
        out.append(f"check status: CDK {cdk.status}; ours {ours.status}")
    for name in sorted(set(cdk.catalog) | set(ours.catalog)):
        a, b = cdk.catalog.get(name), ours.catalog.get(name)
        if a and b and not (a["json_schema"] or {}).get("properties"):  # see the module's known differences
            a, b = {**a, "json_schema": None}, {**b, "json_schema": None}
        if a != b:
            keys = [k for k in (a or b or {}) if (a or {}).get(k) != (b or {}).get(k)]
            out.append(f"discover {name}: {keys if a and b else 'only ' + ('CDK' if a else 'ours')} differ")
    return out


def run_pair(case: Case, work: Path, state: list[dict[str, Any]] | None = None,
             command: str = "read") -> tuple[Sync, Sync]:
    """Both engines at once, the same UTC day (a pair either side of midnight runs again).

    Each side has its own mock, work directory and "now" window, so running them side by side changes
    nothing either sees; the pair takes as long as the slower side (mostly airbyte-cdk's start-up).
    """
    for _ in range(2):
        today = dt.datetime.now(dt.timezone.utc).date()
        with ThreadPoolExecutor(max_workers=1) as pool:
            cdk_side = pool.submit(run_cdk, case, work / "cdk", today, state, command)
            ours = run_ours(case, work / "ours", today, state, command)
            cdk = cdk_side.result()
        if dt.datetime.now(dt.timezone.utc).date() == today:
            break
    return cdk, ours


def case_names() -> list[str]:
    return sorted(p.stem for p in CASES.glob("*.yaml"))
