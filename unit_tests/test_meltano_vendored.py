"""The Meltano test's fixed parts: the vendored tap-airbyte wrapper is the recorded upstream commit,
unmodified, and docs/airbyte.md shows the meltano.yml the test runs.

integration_tests/vendor/VENDORED.md holds ``git ls-tree -r`` of the upstream commit for the files
kept; every file in integration_tests/vendor/tap-airbyte-wrapper must be listed there with the same
git blob id (sha1 of ``blob <size>\\0<bytes>``), and every listed file must be present.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENDOR = REPO / "integration_tests" / "vendor"
WRAPPER = VENDOR / "tap-airbyte-wrapper"
LISTING = re.compile(r"^100644 blob ([0-9a-f]{40})\t(\S+)$", re.MULTILINE)


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def recorded() -> dict[str, str]:
    return {path: blob for blob, path in LISTING.findall((VENDOR / "VENDORED.md").read_text())}


def test_git_blob_id_is_gits() -> None:
    assert git_blob_id(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # `git hash-object /dev/null`


def test_vendored_files_are_the_recorded_commit() -> None:
    want = recorded()
    assert {"LICENSE", "pyproject.toml", "tap_airbyte/tap.py"} <= set(want)
    present = {
        path.relative_to(WRAPPER).as_posix(): git_blob_id(path.read_bytes())
        for path in WRAPPER.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert present == want


def test_vendored_md_names_the_commit() -> None:
    text = (VENDOR / "VENDORED.md").read_text()
    assert "https://github.com/MeltanoLabs/tap-airbyte-wrapper" in text
    assert "e874473c2b0806bd6cc5b86d0001f041db7699da" in text


def test_docs_show_the_tested_meltano_yml() -> None:
    project = (REPO / "integration_tests" / "meltano" / "meltano.yml").read_text()
    assert f"```yaml\n{project}```" in (REPO / "docs" / "airbyte.md").read_text()
