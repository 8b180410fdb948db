"""The config a connector changes while running (a rotated refresh token): kept, heard, written back."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from source_solidafy.config_updates import ConfigChanges, config_path, describe, save_config_file, with_value
from source_solidafy.errors import ConfigError
from source_solidafy.rest.oauth2 import OAuth2RefreshToken
from unit_tests.rest.test_rest_auth import FakeSession, _applied


@pytest.mark.parametrize(("template", "path"), [
    ("{{ config.refresh_token }}", ("refresh_token",)),
    ("{{config.refresh_token}}", ("refresh_token",)),
    ("{{ config.credentials.refresh_token }}", ("credentials", "refresh_token")),
    ("{{ config['credentials'][\"refresh-token\"] }}", ("credentials", "refresh-token")),
    ("{{ config.refresh_token | trim }}", None),
    ("{{ config.a or config.b }}", None),
    ("rt-{{ config.refresh_token }}", None),
    ("plain", None),
])
def test_config_path_only_for_a_template_that_is_one_key(template: str, path: tuple[str, ...] | None) -> None:
    assert config_path(template) == path


def test_with_value_copies_the_mappings_along_the_path() -> None:
    config = {"a": 1, "credentials": {"refresh_token": "old", "client_id": "c"}}
    out = with_value(config, ("credentials", "refresh_token"), "new")
    assert out == {"a": 1, "credentials": {"refresh_token": "new", "client_id": "c"}}
    assert config["credentials"]["refresh_token"] == "old"


def test_listeners_hear_each_change_once_and_late_listeners_the_latest() -> None:
    changes = ConfigChanges({"refresh_token": "rt1", "x": 1})
    heard: list[Any] = []
    stop = changes.listen(lambda config, paths: heard.append((config, paths)))
    changes.update(("refresh_token",), "rt1")  # the same value: no change
    assert heard == [] and changes.latest is None
    changes.update(("refresh_token",), "rt2")
    changes.update(("refresh_token",), "rt3")
    assert heard == [({"refresh_token": "rt2", "x": 1}, [("refresh_token",)]),
                     ({"refresh_token": "rt3", "x": 1}, [("refresh_token",)])]
    late: list[Any] = []
    changes.listen(lambda config, paths: late.append(config))
    assert late == [{"refresh_token": "rt3", "x": 1}]
    stop()
    changes.update(("refresh_token",), "rt4")
    assert len(heard) == 2 and late[-1]["refresh_token"] == "rt4"
    assert describe(changes.paths) == "refresh_token"


def test_the_auth_reports_a_rotated_refresh_token_once() -> None:
    rotated: list[str] = []
    session = FakeSession((200, {"access_token": "at_1", "refresh_token": "rt_1"}),  # the same one back
                          (200, {"access_token": "at_2", "refresh_token": "rt_2"}))
    auth = OAuth2RefreshToken("https://t", "c", "s", "rt_1", session=session,  # type: ignore[arg-type]
                              on_rotate=rotated.append)
    _applied(auth)
    assert rotated == []
    auth.on_unauthorized()
    assert rotated == ["rt_2"] and session.calls[1]["data"]["refresh_token"] == "rt_1"


def test_save_config_file_replaces_only_the_changed_keys(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"refresh_token": "old", "client_id": "c", "nested": {"refresh_token": "o2"}}))
    os.chmod(path, 0o600)
    # someone edited the file meanwhile: their edit stays
    path.write_text(json.dumps({"refresh_token": "old", "client_id": "c2", "nested": {"refresh_token": "o2"}}))
    config = {"refresh_token": "new", "client_id": "c", "nested": {"refresh_token": "n2"}}
    save_config_file(str(path), config, [("refresh_token",), ("nested", "refresh_token")])
    assert json.loads(path.read_text()) == {"refresh_token": "new", "client_id": "c2", "nested": {"refresh_token": "n2"}}
    assert path.stat().st_mode & 0o077 == 0, "a file of secrets stays private"
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"], "no temp or lock file left"


def test_save_config_file_refuses_a_file_that_is_no_longer_an_object(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="no longer a JSON object"):
        save_config_file(str(path), {"refresh_token": "new"}, [("refresh_token",)])


def test_changes_from_many_threads_keep_every_key() -> None:
    changes = ConfigChanges({})
    threads = [threading.Thread(target=changes.update, args=((f"k{i}",), i)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert changes.latest == {f"k{i}": i for i in range(8)}
