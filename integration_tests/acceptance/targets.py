"""What the acceptance suite runs against: the demo API named by acceptance-test-config.yml, and
each built-in REST connector's mock API (``integration_tests/mocks/<name>.py`` exporting
``MOCK_CLASS``).

A :class:`Target` starts its API behind a :class:`~integration_tests.acceptance.gate.Gate` on
127.0.0.1 and gives the config that points the connector at it. A target that cannot run (no mock
yet, demo API missing) carries ``skip`` with the reason instead.

Built-in YAMLs pace themselves for the real APIs (Shopify's 2 requests/s, Salesforce's 5 s job
polls); against a local mock that only costs minutes, so a connector runs from a copy of its
shipped YAML with only ``rate_limit_rps``, ``interval_secs`` and ``backoff_base_secs`` lowered
(``config.connector`` = the copy's path, which the Airbyte entrypoint accepts like a name).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from integration_tests.acceptance.gate import Gate, forward_to
from integration_tests.mocks.server import MockServer

REPO = Path(__file__).resolve().parents[2]
ACCEPTANCE_CONFIG = REPO / "acceptance-test-config.yml"
DATABASE_CONNECTORS = {"postgres", "mysql", "sqlite"}
# The built-in REST connectors of BUILTINS.md, used when the registry cannot be asked.
KNOWN_REST = [
    "stripe", "openai", "anthropic", "cloudflare", "github",
    "hubspot", "shopify", "zendesk", "salesforce", "salesforce-bulk",
]  # fmt: skip


@dataclass
class Target:
    name: str
    connector: str
    upstream: Callable[[], tuple[Callable[..., Any], Callable[[], None]]] | None = None
    make_config: Callable[[str], dict[str, Any]] | None = None
    files: dict[str, Path] = field(default_factory=dict)  # acceptance files (demo target only)
    skip: str | None = None
    broken: str | None = None  # the mock exists but cannot be loaded: its tests fail with this
    mock: Any = None  # the connector mock (has expected_records(stream)), None for the demo
    gate: Gate | None = None
    server: MockServer | None = None
    _stop_upstream: Callable[[], None] | None = None

    def start(self) -> None:
        assert self.upstream and self.make_config
        handler, self._stop_upstream = self.upstream()
        self.gate = Gate(handler)
        self.server = MockServer(self.gate).start()

    def stop(self) -> None:
        if self.server:
            self.server.stop()
        if self._stop_upstream:
            self._stop_upstream()

    @property
    def config(self) -> dict[str, Any]:
        assert self.server and self.make_config
        return self.make_config(self.server.url)


def load_acceptance_config() -> dict[str, Any]:
    return yaml.safe_load(ACCEPTANCE_CONFIG.read_text())


def _demo_upstream() -> tuple[Callable[..., Any], Callable[[], None]]:
    from source_solidafy.demo_api import DemoApi

    api = DemoApi()
    parts = urlsplit(api.start(port=0))
    return forward_to(f"{parts.scheme}://{parts.netloc}"), api.stop


def demo_target() -> Target:
    """The connector and files acceptance-test-config.yml names, served by the lead's DemoApi."""
    cat = load_acceptance_config()["acceptance_tests"]
    files = {
        "config": REPO / cat["connection"]["tests"][0]["config_path"],
        "invalid_config": REPO / cat["connection"]["tests"][1]["config_path"],
        "catalog": REPO / cat["basic_read"]["tests"][0]["configured_catalog_path"],
        # Not named in acceptance-test-config.yml: airbyte-cdk's standard tests refuse `expect_records`
        # (a key of the retired acceptance tests); the offline suite still compares against it.
        "expected_records": REPO / "integration_tests" / "expected_records.jsonl",
        "future_state": REPO / cat["incremental"]["tests"][0]["future_state"]["future_state_path"],
        "sample_state": REPO / "integration_tests" / "sample_state.json",
    }
    sample = json.loads(files["config"].read_text())

    def make_config(base_url: str) -> dict[str, Any]:
        # Keep the sample's path (/v1), point its host at the gate in front of the local API.
        path = urlsplit(sample["base_url"]).path
        return {**sample, "base_url": base_url + path}

    target = Target("demo", sample["connector"], _demo_upstream, make_config, files)
    try:
        importlib.import_module("source_solidafy.demo_api").DemoApi  # noqa: B018
    except (ImportError, AttributeError) as exc:
        target.skip = f"source_solidafy.demo_api.DemoApi is not available yet ({exc})"
    return target


def _rest_connectors() -> list[str]:
    try:
        from source_solidafy import api

        names = [c["name"] for c in api.list_connectors(detail=False)]
    except Exception:  # the registry is not there (or broken) yet: fall back to BUILTINS.md
        return KNOWN_REST
    return [n for n in names if n not in DATABASE_CONNECTORS and n != "demo"]


def _mock_module(connector: str) -> Any:
    import integration_tests.mocks as mocks

    wanted = {connector, connector.replace("-", "_")}
    for info in pkgutil.iter_modules(mocks.__path__):
        if info.name in wanted:
            return importlib.import_module(f"integration_tests.mocks.{info.name}")
    return None


def fast_yaml(connector: str) -> str:
    """A copy of the built-in YAML without its real-API pacing; the name itself when nothing to lower."""
    from source_solidafy.registry import connectors_dir  # the package's, or the checkout's connectors/

    shipped = connectors_dir() / f"{connector}.yaml"
    if not shipped.is_file():
        return connector
    text = shipped.read_text()
    fast = re.sub(r"^[ \t]*rate_limit_rps:.*\n", "", text, flags=re.M)
    fast = re.sub(r"(interval_secs:[ \t]*)[\d.]+", r"\g<1>0.05", fast)
    fast = re.sub(r"(backoff_base_secs:[ \t]*)[\d.]+", r"\g<1>0.01", fast)
    if fast == text:
        return connector
    copy = Path(tempfile.mkdtemp(prefix="solidafy-fast-")) / shipped.name
    copy.write_text(fast)
    return str(copy)


def mock_target(connector: str) -> Target:
    """One built-in connector against its mock (skipped, with the reason, when there is none)."""
    try:
        module = _mock_module(connector)
        if module is None or not hasattr(module, "MOCK_CLASS"):
            return Target(connector, connector, skip=f"no integration_tests/mocks/{connector}.py with MOCK_CLASS yet")
        mock = module.MOCK_CLASS()
    except Exception as exc:  # a broken mock fails its own tests, not the collection of the others
        return Target(connector, connector, broken=f"mock for {connector} fails to load: {exc!r}")

    def upstream() -> tuple[Callable[..., Any], Callable[[], None]]:
        return mock.handler, lambda: None

    runnable = fast_yaml(connector)

    def make_config(base_url: str) -> dict[str, Any]:
        return {**mock.config(base_url), "connector": runnable}

    return Target(connector, runnable, upstream, make_config, mock=mock)


def all_targets() -> list[Target]:
    return [demo_target(), *(mock_target(name) for name in _rest_connectors())]
