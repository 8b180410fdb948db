"""Light models (source_solidafy/manifest/light.py): a ``read`` of a cache hit runs the cached models
without importing pydantic. Every connector file the project ships or tests with (our built-ins, the
test connectors, the Airbyte manifests of the differential tests) loads from the cache in a light
process to the same tree, field for field, as the loader's own load with pydantic in another."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted([*(ROOT / "connectors").glob("*.yaml"), *(ROOT / "integration_tests" / "connectors_for_tests").glob("*.yaml"),
                *(ROOT / "integration_tests" / "airbyte_manifests").glob("*_manifest.yaml")])

DUMP = r'''
import json, re, sys
from pathlib import Path
from source_solidafy.manifest import light
light.ALLOWED = sys.argv[1] == "light"
from source_solidafy.manifest import cache

ADDRESS = re.compile(r" at 0x[0-9a-f]+")

def canonical(obj):
    fields = getattr(type(obj), "model_fields", None)
    if isinstance(fields, dict) and hasattr(obj, "__dict__"):
        out = {"class": f"{type(obj).__module__}.{type(obj).__qualname__}", "set": sorted(obj.model_fields_set)}
        for name in [*fields, *getattr(type(obj), "__private_attributes__", {})]:
            out[name] = canonical(getattr(obj, name, "<unset>"))
        return out
    if isinstance(obj, dict):
        return ["dict", [[canonical(k), canonical(v)] for k, v in obj.items()]]
    if isinstance(obj, (list, tuple)):
        return [type(obj).__name__, [canonical(v) for v in obj]]
    return [type(obj).__qualname__, ADDRESS.sub("", repr(obj))]

out, kept = {}, []
for name in sys.argv[2:]:
    try:
        loaded = cache.load_connector_file(name)
    except Exception as exc:  # a test connector made to fail: never kept
        continue
    if not light.ALLOWED and (cache.load_connector_file(name) is None or not cache.last_event.startswith("hit")):
        continue  # not kept (plugins)
    kept.append(name)
    parts = (loaded.manifest, loaded._spec, loaded.check_streams, loaded.table) if hasattr(loaded, "fresh") else (loaded,)
    out[name] = canonical(list(parts))
print(json.dumps({"files": out, "kept": kept, "pydantic": "pydantic" in sys.modules, "light": light.ACTIVE}))
'''


def dump(mode: str, env: dict[str, str], files: list[str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", DUMP, mode, *files], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def dumps(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    env = {"SOLIDAFY_CACHE_DIR": str(tmp_path_factory.mktemp("light") / "cache")}
    full = dump("full", env, [str(f) for f in FILES])  # the loader's own loads, written to the cache
    return full, dump("light", env, full["kept"])


# the modules that may name pydantic itself: validation and error wording (a cache miss, other commands),
# the plugin options, the Airbyte catalog; every model module takes pydantic's names from manifest/pyd.py
PYDANTIC_ALLOWED = {"manifest/pyd.py", "manifest/loader.py", "manifest/problems.py", "manifest/reference.py",
                    "plugins.py", "catalog.py"}


def test_no_other_module_imports_pydantic_itself() -> None:
    import re

    direct = re.compile(r"^\s*(from|import) pydantic(_core)?\b", re.M)
    package = ROOT / "source_solidafy"
    found = {str(f.relative_to(package)) for f in package.rglob("*.py") if direct.search(f.read_text())}
    assert found == PYDANTIC_ALLOWED, f"import these names from source_solidafy.manifest.pyd: {found - PYDANTIC_ALLOWED}"


def test_the_files_are_the_shipped_and_tested_connectors() -> None:
    assert len(FILES) >= 45 and any(f.name == "stripe.yaml" for f in FILES)


def test_a_light_process_imports_no_pydantic(dumps: tuple[dict[str, Any], dict[str, Any]]) -> None:
    full, light = dumps
    assert len(full["kept"]) >= 40 and light["kept"] == full["kept"]
    assert (full["light"], full["pydantic"]) == (False, True)
    assert (light["light"], light["pydantic"]) == (True, False)


@pytest.mark.parametrize("name", [str(f) for f in FILES], ids=[f.name for f in FILES])
def test_light_models_equal_the_loaders_own(dumps: tuple[dict[str, Any], dict[str, Any]], name: str) -> None:
    full, light = dumps
    if name not in full["kept"]:
        pytest.skip("not kept in the cache: it fails to load or uses plugins")
    assert light["files"][name] == full["files"][name]


def test_a_second_file_in_a_light_process_is_refused_clearly(tmp_path: Path) -> None:
    """Light models cannot validate: a load that is not a hit, after a hit, fails with one clear line."""
    other = tmp_path / "other.yaml"
    other.write_text((ROOT / "connectors" / "demo.yaml").read_text() + "\n# changed\n")
    code = ("import sys\nfrom source_solidafy.manifest import light, cache\nlight.ALLOWED = True\n"
            "cache.load_connector_file(sys.argv[1])\n"
            "try:\n    cache.load_connector_file(sys.argv[2])\nexcept Exception as exc:\n    print(type(exc).__name__, exc)\n")
    env = {**os.environ, "SOLIDAFY_CACHE_DIR": str(tmp_path / "cache")}
    demo = str(ROOT / "connectors" / "demo.yaml")
    for files in ([demo, demo], [demo, str(other)]):  # the entry written; then a hit and a miss in one process
        done = subprocess.run([sys.executable, "-c", code, *files], capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (f"ManifestError {other}: cannot load this connector file in a read that already "
                                   "runs one from the validated-manifest cache; run it with SOLIDAFY_NO_CACHE=1")


def test_an_entry_light_models_cannot_read_is_loaded_with_pydantic(tmp_path: Path) -> None:
    """A hit whose models fail to unpickle in a light process: the modules it imported are forgotten and the
    file is loaded (and its entry written again) the usual way, with pydantic."""
    demo = str(ROOT / "connectors" / "demo.yaml")
    env = {**os.environ, "SOLIDAFY_CACHE_DIR": str(tmp_path / "cache")}
    code = ("import sys\nfrom source_solidafy.manifest import light, cache\nlight.ALLOWED = sys.argv[2] == 'light'\n"
            "m = cache.load_connector_file(sys.argv[1])\n"
            "print(cache.last_event, light.ACTIVE, 'pydantic' in sys.modules, m.stream_names()[:1])\n")
    run = [sys.executable, "-c", code, demo]
    subprocess.run([*run, "full"], check=True, capture_output=True, env=env, cwd=ROOT, timeout=120)
    (entry,) = (tmp_path / "cache").glob("*.manifest")
    blob = entry.read_bytes()
    stream = io.BytesIO(blob)
    stream.seek(len(b"solidafy-manifest-cache 3\n"))
    pickle.load(stream)  # the files the load read: kept whole
    reads_end = stream.tell()
    entry.write_bytes(blob[:reads_end] + blob[reads_end:][: (len(blob) - reads_end) // 2])  # the models cut short
    done = subprocess.run([*run, "light"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    said = done.stdout.split()
    assert said[:5] == ["miss", "for", "demo.yaml", "False", "True"], done.stdout  # a miss, loaded with pydantic
    again = subprocess.run([*run, "light"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert again.stdout.split()[:5] == ["hit", "for", "demo.yaml", "True", "False"], again.stdout  # written again
