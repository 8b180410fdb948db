"""The live progress display on a real terminal: it keeps redrawing while pages are slow to come.

``read`` draws one line per stream on stderr when stderr is a TTY. The CLI runs with a
pseudo-terminal as stderr; the mock API holds every stream's second page until the test has seen
the display go on redrawing (the elapsed time growing) while no data arrived at all, then lets the
sync finish. Before the fix the display was only redrawn when output was produced, so it froze.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import threading
import time
from pathlib import Path

import pytest

from integration_tests.helpers import cli_path
from integration_tests.mocks.server import MockServer, Request, Response

STREAMS = ["alpha", "beta", "gamma", "delta"]
PAGE = [{"id": i, "updated_at": f"2024-01-01T00:00:{i:02d}Z"} for i in range(3)]
ROW = re.compile(r"(\.\.\.\.|done|FAIL) (\w+)\s+([\d,]+) rec\s+(\d+) pages\s+[\d,]+ rec/s\s+([\d.]+)s")
DEADLINE_SECS = 60  # generous: a frozen display never gets there; a live one does in about a second


class HeldApi:
    """Page 1 of each stream at once; page 2 (the last) only after ``release`` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.waiting: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, req: Request) -> Response:
        stream = req.path.strip("/")
        if req.arg("cursor") is None:
            return Response.json({"data": PAGE, "next_cursor": "2"})
        with self.lock:
            self.waiting.add(stream)
        self.release.wait(DEADLINE_SECS)
        return Response.json({"data": PAGE, "next_cursor": None})


def _connector(tmp_path: Path) -> str:
    streams = "".join(
        f"  - name: {name}\n    request: {{path: /{name}}}\n    decoder: {{type: json, records_path: data}}\n"
        "    pagination: {type: cursor, cursor_param: cursor, cursor_path: next_cursor}\n"
        "    primary_key: id\n"
        for name in STREAMS
    )
    path = tmp_path / "slow.yaml"
    path.write_text(f"name: slow\nbase_url: http://127.0.0.1:9\nhttp: {{timeout_secs: 120}}\nstreams:\n{streams}")
    return str(path)


def _frames(text: str) -> list[dict[str, tuple[int, float]]]:
    """Each redraw of the block: stream -> (records, elapsed seconds)."""
    frames, current = [], {}
    for row in ROW.finditer(text):
        _, name, records, _, elapsed = row.groups()
        if name in current:
            frames.append(current)
            current = {}
        current[name] = (int(records.replace(",", "")), float(elapsed))
    if current:
        frames.append(current)
    return [f for f in frames if len(f) == len(STREAMS)]


def _read_until(master: int, text: str, done: callable, deadline: float) -> str:  # type: ignore[valid-type]
    while not done(text) and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                text += os.read(master, 65536).decode("utf-8", "replace")
            except OSError:  # the child closed the terminal
                break
    return text


def _held_frames(text: str) -> list[dict[str, tuple[int, float]]]:
    """Frames drawn after every stream showed its first page (while page 2 was held)."""
    frames = _frames(text)
    first = next((i for i, f in enumerate(frames) if all(rec == len(PAGE) for rec, _ in f.values())), None)
    return [] if first is None else frames[first:]


@pytest.mark.parametrize("to_files", [True, False], ids=["to_files", "to_stdout"])
def test_progress_redraws_while_streams_wait_for_pages(tmp_path: Path, to_files: bool) -> None:
    api = HeldApi()
    output = ["--output", str(tmp_path / "out"), "--format", "json"] if to_files else []
    master, slave = os.openpty()
    with MockServer(api) as srv:
        proc = subprocess.Popen(
            [cli_path(), "read", "-c", _connector(tmp_path), "--config-json", json.dumps({"base_url": srv.url}),
             "--concurrency", str(len(STREAMS)), *output],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
        )
        os.close(slave)
        try:
            deadline = time.monotonic() + DEADLINE_SECS
            # wait until every stream's second page is held and the display then redrew 4 more times
            text = _read_until(master, "", lambda t: api.waiting == set(STREAMS) and len(_held_frames(t)) >= 5,
                               deadline)
            held = _held_frames(text)
            api.release.set()
            stdout, _ = proc.communicate(timeout=DEADLINE_SECS)
            # the CLI has exited: read what it drew until the terminal reports its end (EIO)
            text = _read_until(master, text, lambda t: False, time.monotonic() + DEADLINE_SECS)
        finally:
            api.release.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(master)
    assert api.waiting == set(STREAMS), api.waiting
    assert len(held) >= 5, f"the display froze: {len(held)} redraws while pages were held\n{text[-1500:]!r}"
    for name in STREAMS:
        elapsed = [frame[name][1] for frame in held]
        assert elapsed == sorted(elapsed) and elapsed[-1] > elapsed[0], (name, elapsed)
    assert proc.returncode == 0, text[-1500:]
    summary = json.loads(stdout.decode().splitlines()[-1])["summary"]
    assert summary["status"] == "SUCCEEDED" and summary["total_records"] == 2 * len(PAGE) * len(STREAMS)
    final = _frames(text)[-1]
    assert all(rec == 2 * len(PAGE) for rec, _ in final.values()), final
    assert "done alpha" in text
