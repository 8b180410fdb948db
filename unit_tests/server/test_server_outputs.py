"""Output confinement: cloud URIs pass, local paths only inside --output-root, no escapes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from source_solidafy.server.errors import ApiError
from source_solidafy.server.outputs import resolve_output


@pytest.mark.parametrize("uri", ["s3://bucket/stripe/", "r2://b/p", "gs://b/p", "gcs://b/p", "az://c/p", "azure://c/p"])
def test_cloud_uris_pass_unchanged(uri: str) -> None:
    assert resolve_output(uri, None) == uri


@pytest.mark.parametrize(("uri", "instead"), [("s3a://b/p", "s3"), ("abfs://c@a/p", "az"), ("abfss://c@a/p", "az")])
def test_schemes_the_sinks_cannot_write_are_refused_up_front(uri: str, instead: str) -> None:
    with pytest.raises(ApiError) as info:
        resolve_output(uri, None)
    scheme = uri.split(":")[0]
    assert info.value.status == 400 and info.value.message.startswith(
        f"field 'output' ({uri}): unknown scheme '{scheme}://'; did you mean {instead}://?")


def test_local_refused_without_root(tmp_path: Path) -> None:
    with pytest.raises(ApiError) as info:
        resolve_output(str(tmp_path), None)
    assert info.value.status == 403 and "--output-root" in info.value.message


def test_relative_and_absolute_inside_root(tmp_path: Path) -> None:
    root = str(tmp_path.resolve())
    assert resolve_output("a/b", root) == os.path.join(root, "a", "b")
    assert resolve_output(os.path.join(root, "x"), root) == os.path.join(root, "x")
    assert resolve_output("file://" + os.path.join(root, "y"), root) == os.path.join(root, "y")
    assert resolve_output(".", root) == root


@pytest.mark.parametrize("path", ["../x", "a/../../x", "a\\..\\..\\x", "/etc", "/tmp"])
def test_escapes_refused(tmp_path: Path, path: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(ApiError) as info:
        resolve_output(path, str(root))
    assert info.value.code == "output_not_allowed"


def test_symlink_escape_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(ApiError):
        resolve_output("link/data", str(root))


@pytest.mark.parametrize("uri", ["http://evil/x", "ftp://h/x", "x\x00y"])
def test_bad_schemes_and_nul(uri: str) -> None:
    with pytest.raises(ApiError) as info:
        resolve_output(uri, "/tmp")
    assert info.value.status == 400
