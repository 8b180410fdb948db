"""The validated-manifest cache across processes (manifest/cache.py): when an entry is used, when not."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from source_solidafy.errors import ManifestError
from source_solidafy.manifest import cache
from source_solidafy.manifest.loader import load_manifest

YAML = """\
name: cached
base_url: "https://{{ config.host }}"
streams:
  - name: items
    request: {path: /items, params: {a: "{{ config.a }}"}}
    schema_file: items.json
  - name: jobs
    request: {path: /ignored}
    partition:
      type: async_job
      create: {path: /jobs}
      poll: {path: "/jobs/{{ job_id }}", status_path: status, completed_value: done}
      download: {path: "/jobs/{{ job_id }}/result"}
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache directory; ``loads`` counts the loader's own (uncached) loads."""
    folder = tmp_path / "cache" / "solidafy"
    monkeypatch.setenv("SOLIDAFY_CACHE_DIR", str(folder))
    monkeypatch.delenv("SOLIDAFY_NO_CACHE", raising=False)
    return folder


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = cache._load

    def counting(p: Path, path: Any, data: bytes) -> Any:
        seen.append(p.name)
        return real(p, path, data)

    monkeypatch.setattr(cache, "_load", counting)
    return seen


def settled(path: Path, text: str) -> None:
    """Write ``path`` as a while ago (a file written during a load is not kept: see the last test)."""
    path.write_text(text)
    os.utime(path, (1, 1))


@pytest.fixture
def connector(tmp_path: Path) -> Path:
    settled(tmp_path / "items.json", '{"type": "object"}')
    (tmp_path / "c.yaml").write_text(YAML)
    return tmp_path / "c.yaml"


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*" + cache.SUFFIX))


def test_a_second_load_is_a_hit_equal_to_the_loaders_own(home: Path, loads: list[str], connector: Path) -> None:
    first = cache.load_connector_file(connector)
    second = cache.load_connector_file(connector)
    assert loads == ["c.yaml"] and cache.last_event == "hit for c.yaml"
    assert second == first == load_manifest(connector)
    assert second.warnings == first.warnings and len(second.warnings) == 1  # re-emitted as the load made them
    assert second.source_name == "c.yaml" and second.streams[0].json_schema == {"type": "object"}
    assert second.base_url.where == first.base_url.where == "c.yaml:2: base_url"
    (entry,) = entries(home)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700 and stat.S_IMODE(entry.stat().st_mode) == 0o600


def test_the_key_changes_with_every_file_the_load_read(home: Path, loads: list[str], connector: Path) -> None:
    cache.load_connector_file(connector)
    settled(connector.parent / "items.json", '{"type": "object", "title": "changed"}')
    assert cache.load_connector_file(connector).streams[0].json_schema == {"type": "object", "title": "changed"}
    connector.write_text(YAML.replace("name: items", "name: things"))
    assert cache.load_connector_file(connector).stream_names() == ["things", "jobs"]
    assert cache.load_connector_file(connector).stream_names() == ["things", "jobs"]
    assert loads == ["c.yaml"] * 3
    key = cache.entry_key(connector, connector.read_bytes())
    assert key != cache.entry_key(connector, connector.read_bytes() + b"\n")
    assert key != cache.entry_key(connector.parent / "elsewhere.yaml", connector.read_bytes())


def test_the_key_changes_with_our_own_code(connector: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = cache.entry_key(connector, b"x")
    monkeypatch.setattr(cache, "_code_stamp", b"another checkout")
    assert cache.entry_key(connector, b"x") != key


def test_the_key_changes_when_a_parsing_library_is_upgraded(connector: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    assert [Path(f).parent.name for f in cache._library_files()] == ["yaml", "jinja2", "pydantic", "pydantic_core"]
    library = tmp_path / "__init__.py"
    library.write_text("__version__ = '6.0.1'\n")
    monkeypatch.setattr(cache, "_library_files", lambda: [str(library)])
    monkeypatch.setattr(cache, "_code_stamp", None)
    key = cache.entry_key(connector, b"x")
    library.write_text("__version__ = '6.0.2'\n")
    os.utime(library, ns=(1, 1))
    monkeypatch.setattr(cache, "_code_stamp", None)
    assert cache.entry_key(connector, b"x") != key


def test_foreign_or_group_writable_entries_are_ignored(home: Path, loads: list[str], connector: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cache.load_connector_file(connector)
    (entry,) = entries(home)
    entry.chmod(0o620)  # group-writable: not trusted
    cache.load_connector_file(connector)
    assert loads == ["c.yaml"] * 2
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600  # written again, safely
    home.chmod(0o770)  # a group-writable directory: no entry in it is used, none is written
    cache.load_connector_file(connector)
    assert loads == ["c.yaml"] * 3 and cache.last_event == "off for c.yaml"
    home.chmod(0o700)
    cache.load_connector_file(connector)
    assert loads == ["c.yaml"] * 3
    monkeypatch.setattr(os, "geteuid", lambda: os.getuid() + 1)  # someone else's directory and file
    cache.load_connector_file(connector)
    assert loads == ["c.yaml"] * 4 and cache.last_event == "off for c.yaml"


def test_a_symlinked_entry_is_not_followed(home: Path, loads: list[str], connector: Path, tmp_path: Path) -> None:
    cache.load_connector_file(connector)
    (entry,) = entries(home)
    elsewhere = tmp_path / "elsewhere"
    entry.rename(elsewhere)
    entry.symlink_to(elsewhere)
    cache.load_connector_file(connector)
    assert loads == ["c.yaml"] * 2 and not entry.is_symlink()  # replaced by a real file


@pytest.mark.parametrize("blob", [b"", b"garbage", cache.FORMAT + b"\x80\x05truncated"])
def test_a_corrupt_entry_is_a_miss_and_is_written_again(home: Path, loads: list[str], connector: Path,
                                                       blob: bytes) -> None:
    cache.load_connector_file(connector)
    (entry,) = entries(home)
    entry.write_bytes(blob)
    assert cache.load_connector_file(connector).stream_names() == ["items", "jobs"]
    assert entry.read_bytes().startswith(cache.FORMAT) and len(entry.read_bytes()) > 100
    cache.load_connector_file(connector)
    assert loads == ["c.yaml"] * 2


@pytest.mark.parametrize("env", [{"SOLIDAFY_NO_CACHE": "1"}, {"SOLIDAFY_CACHE_DIR": "", "XDG_CACHE_HOME": "",
                                                              "HOME": "relative"},
                                 {"SOLIDAFY_CACHE_DIR": "", "XDG_CACHE_HOME": "", "HOME": "/nonexistent/home"}])
def test_the_cache_can_be_off(home: Path, loads: list[str], connector: Path, env: dict[str, str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cache.load_connector_file(connector)
    cache.load_connector_file(connector)
    assert loads == ["c.yaml"] * 2 and not home.exists() and cache.last_event == "off for c.yaml"
    assert not Path("/nonexistent").exists()  # an absent home is not made


def test_the_default_place_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SOLIDAFY_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / "solidafy"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / ".cache" / "solidafy"


def read_only_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a read-only mount answers to every write (chmod would not stop root)."""
    real_open = os.open

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError(30, "Read-only file system")

    def open_for_reading(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            refuse()
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_for_reading)
    for name in ("makedirs", "replace", "unlink", "mkdir"):
        monkeypatch.setattr(os, name, refuse)


def test_a_read_only_cache_is_read_but_not_written(home: Path, loads: list[str], connector: Path,
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache.load_connector_file(connector)
    other = tmp_path / "other.yaml"
    other.write_text(YAML)
    read_only_disk(monkeypatch)
    cache.load_connector_file(connector)
    assert loads == ["c.yaml"] and cache.last_event == "hit for c.yaml"
    cache.load_connector_file(other)  # a miss: loaded, nothing written, no error
    cache.load_connector_file(other)
    assert loads == ["c.yaml", "other.yaml", "other.yaml"] and len(entries(home)) == 1


def test_an_absent_cache_on_a_read_only_disk_is_off(home: Path, loads: list[str], connector: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    read_only_disk(monkeypatch)
    cache.load_connector_file(connector)
    assert loads == ["c.yaml"] and cache.last_event == "off for c.yaml" and not home.exists()


def test_the_cache_is_bounded(home: Path, connector: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    for i in range(5):
        connector.write_text(YAML.replace("name: cached", f"name: c{i}"))
        cache.load_connector_file(connector)
        os.utime(entries(home)[0], ns=(i, i)) if i == 0 else None
    assert len(entries(home)) == 3
    assert cache.load_connector_file(connector).name == "c4"
    assert not list(home.glob(".tmp-*"))
    left, recent = home / ".tmp-left-by-a-killed-process", home / ".tmp-being-written"
    left.write_bytes(b"x")
    recent.write_bytes(b"x")
    os.utime(left, (1, 1))
    connector.write_text(YAML.replace("name: cached", "name: c5"))
    cache.load_connector_file(connector)
    assert not left.exists() and recent.exists() and len(entries(home)) == 3


def test_errors_are_the_loaders_and_are_not_kept(home: Path, connector: Path, tmp_path: Path) -> None:
    (tmp_path / "items.json").unlink()
    for _ in range(2):
        with pytest.raises(ManifestError) as cached_error:
            cache.load_connector_file(connector)
        with pytest.raises(ManifestError) as own_error:
            load_manifest(connector)
        assert cached_error.value.problems == own_error.value.problems
    assert not entries(home)
    for bad in (tmp_path / "missing.yaml", tmp_path):
        with pytest.raises(ManifestError) as cached_error:
            cache.load_connector_file(str(bad))
        with pytest.raises(ManifestError) as own_error:
            load_manifest(str(bad))
        assert str(cached_error.value) == str(own_error.value)
    (tmp_path / "latin1.yaml").write_bytes(b"name: \xe9\n")
    with pytest.raises(ManifestError) as cached_error:
        cache.load_connector_file(tmp_path / "latin1.yaml")
    with pytest.raises(ManifestError) as own_error:
        load_manifest(tmp_path / "latin1.yaml")
    assert str(cached_error.value) == str(own_error.value)


def test_crlf_files_load_as_the_loader_reads_them(home: Path, connector: Path) -> None:
    connector.write_bytes(YAML.replace("\n", "\r\n").encode())
    assert cache.load_connector_file(connector) == load_manifest(connector)
    assert cache.load_connector_file(connector).base_url.where == "c.yaml:2: base_url"


def test_yaml_text_never_reaches_the_cache(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The HTTP server's request bodies (YAML text): neither read from nor written to the cache."""
    from source_solidafy import api

    monkeypatch.setattr(cache, "last_event", None)
    text = YAML.replace("    schema_file: items.json\n", "")
    source = api.load_connector(yaml_text=text, allow_paths=False)
    assert source.stream_names() == ["items", "jobs"]
    assert cache.last_event is None and not home.exists()


def test_a_file_written_while_loading_is_not_kept(home: Path, loads: list[str], connector: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Its digest, taken after the load, might be of other bytes than the load read: loaded, not kept."""
    real = cache._load

    def racing(p: Path, path: Any, data: bytes) -> Any:
        loaded = real(p, path, data)
        (connector.parent / "items.json").write_text('{"type": "object", "title": "written meanwhile"}')
        return loaded

    monkeypatch.setattr(cache, "_load", racing)
    assert cache.load_connector_file(connector).streams[0].json_schema == {"type": "object"}
    assert not entries(home)
    monkeypatch.setattr(cache, "_load", real)
    os.utime(connector.parent / "items.json", (1, 1))
    assert cache.load_connector_file(connector).streams[0].json_schema["title"] == "written meanwhile"
    assert len(entries(home)) == 1
