"""StateFileSaver: how often ``--state FILE`` is rewritten while a sync runs (end to end, with a killed
CLI, in integration_tests/test_state_file_kill.py)."""

from __future__ import annotations

import json

import pytest

from source_solidafy.errors import UsageError
from source_solidafy.state import DEFAULT_SAVE_SECS, StateFileSaver, save_interval


def _read(path):
    return json.loads(path.read_text())["streams"]


def test_first_checkpoint_at_once_later_ones_not_before_the_interval_final_always(tmp_path):
    path = tmp_path / "state.json"
    saver = StateFileSaver(str(path), interval=3600)  # an interval no test run reaches
    saver.save_if_due(lambda: {"s": {"cursor": 1}})
    assert not path.exists(), "nothing changed yet: nothing written"
    saver.changed()
    saver.save_if_due(lambda: {"s": {"cursor": 1}})
    assert _read(path) == {"s": {"cursor": 1}}
    saver.changed()
    saver.save_if_due(lambda: {"s": {"cursor": 2}})
    assert _read(path) == {"s": {"cursor": 1}}, "within the interval: not rewritten"
    saver.save({"s": {"cursor": 3}})
    assert _read(path) == {"s": {"cursor": 3}}


def test_interval_zero_writes_every_checkpoint(tmp_path):
    path = tmp_path / "state.json"
    saver = StateFileSaver(str(path), interval=0)
    for cursor in range(3):
        saver.changed()
        saver.save_if_due(lambda c=cursor: {"s": {"cursor": c}})
        assert _read(path) == {"s": {"cursor": cursor}}


def test_no_path_writes_nothing(tmp_path):
    saver = StateFileSaver(None)
    saver.changed()
    saver.save_if_due(lambda: pytest.fail("no state file: the state is never built"))
    saver.save({})


@pytest.mark.parametrize(("raw", "expected"), [("", DEFAULT_SAVE_SECS), ("0", 0.0), ("2.5", 2.5)])
def test_interval_from_the_environment(monkeypatch, raw, expected):
    monkeypatch.setenv("SOLIDAFY_STATE_SAVE_SECS", raw)
    assert save_interval() == expected


@pytest.mark.parametrize("raw", ["-1", "soon", "nan"])
def test_bad_interval_is_a_usage_error(monkeypatch, raw):
    monkeypatch.setenv("SOLIDAFY_STATE_SAVE_SECS", raw)
    with pytest.raises(UsageError, match="SOLIDAFY_STATE_SAVE_SECS"):
        save_interval()
