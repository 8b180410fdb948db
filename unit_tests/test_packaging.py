"""What pyproject.toml ships and declares: every package, and every module we import directly."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_every_package_is_in_the_wheel() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "source_solidafy").rglob("__init__.py")}
    assert found | {"source_solidafy.connectors"} == listed  # a package left out fails only once installed
    assert (REPO / "connectors" / "__init__.py").is_file()


def _imported_distributions() -> set[str]:
    modules: set[str] = set()
    for path in (REPO / "source_solidafy").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {_top(a.name) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(_top(node.module))
    return {m for m in modules if m not in sys.stdlib_module_names and m != "source_solidafy"}


def _top(module: str) -> str:
    """The importable top: ``yaml``; for the namespace packages azure and google, two levels."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] in ("azure", "google") else parts[0]


# import name -> distribution name, where they differ
DISTRIBUTION = {"yaml": "pyyaml", "jwt": "pyjwt", "airflow": "apache-airflow", "airbyte_protocol": "airbyte-protocol-models-pdv2", "pydantic_core": "pydantic-core",
                "duckdb_extensions": "duckdb-extensions", "google.cloud": "google-cloud-storage",
                "google.auth": "google-auth", "google.api_core": "google-api-core", "google.oauth2": "google-auth", "azure.core": "azure-core",
                "azure.storage": "azure-storage-blob", "azure.identity": "azure-identity"}


def test_every_module_imported_directly_is_declared_and_pinned() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    declared = [*PYPROJECT["project"]["dependencies"], *extras["cloud"], *extras["jwt"], *extras["dagster"],
                *extras["airflow"]]
    pins = dict(re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==(\S+)", d).groups() for d in declared)  # type: ignore[union-attr]
    names = {n.lower().replace("_", "-") for n in pins}
    missing = {m for m in _imported_distributions() if DISTRIBUTION.get(m, m).lower().replace("_", "-") not in names}
    assert not missing, f"imported but not declared in pyproject.toml: {sorted(missing)}"
