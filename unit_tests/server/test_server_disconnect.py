"""The disconnect watcher: cancels exactly the syncs whose clients went away, then forgets them."""

from __future__ import annotations

import threading

from source_solidafy.server.disconnect import ENVIRON_KEY, DisconnectWatcher


def test_cancels_only_disconnected_requests() -> None:
    watcher = DisconnectWatcher(interval=0.01)
    gone, here = threading.Event(), threading.Event()
    hung_up = threading.Event()
    watcher.watch({ENVIRON_KEY: hung_up.is_set}, gone, "POST /sync")
    key = watcher.watch({ENVIRON_KEY: lambda: False}, here, "POST /sync")
    hung_up.set()
    assert gone.wait(60)  # a hang guard: the watcher polls every 0.01 s
    assert not here.is_set()
    watcher.unwatch(key)


def test_without_waitress_nothing_is_watched() -> None:
    watcher = DisconnectWatcher()
    assert watcher.watch({}, threading.Event(), "POST /sync") is None
    watcher.unwatch(None)
