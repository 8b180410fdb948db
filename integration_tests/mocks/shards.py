"""A mock API for plans and shards: a parent with children, list partitions, daily windows, latency.

    GET /accounts?limit=&cursor=&updated_since=          accounts, cursor pagination (next_cursor null at the end)
    GET /accounts/<id>/notes?limit=&cursor=&updated_since=  ``notes_per_account`` notes of one account
    GET /regions/<region>/events?limit=&cursor=          ``events_per_region`` events of one region
    GET /daily?start=&end=&limit=&cursor=               one event per hour in [start, end)

Every list is sorted by ``updated_at`` and honours ``updated_since`` (inclusive), as the demo API
does. ``latency=(lo, hi)`` sleeps a uniform time in that range before each answer (a latency-bound
API). ``hold(prefix)`` makes requests under ``prefix`` wait until released; ``arrived`` tells a test
that one is waiting (kill a process there, then ``release()``), without any timing.

Run alone: ``python -m integration_tests.mocks.shards --port 8800 --latency 0.05 0.2``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import threading
import time
from typing import Any

from integration_tests.mocks.server import MockServer, Request, Response

EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
REGIONS = ("eu", "us", "ap", "sa", "af", "me")


def _ts(seconds: int) -> str:
    return (EPOCH + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


class ShardsApi:
    def __init__(self, accounts: int = 60, notes_per_account: int = 5, events_per_region: int = 7,
                 latency: tuple[float, float] = (0.0, 0.0), seed: int = 7) -> None:
        self.accounts = [{"id": f"acc_{i:04d}", "name": f"Account {i}", "updated_at": _ts(i * 60)} for i in range(accounts)]
        self.notes = {a["id"]: [{"id": f"{a['id']}_n{j}", "account_id": a["id"], "body": f"note {j}",
                                 "updated_at": _ts(i * 60 + j)} for j in range(notes_per_account)]
                      for i, a in enumerate(self.accounts)}
        self.events = {r: [{"id": f"{r}_{j:03d}", "region": r, "updated_at": _ts(k * 1000 + j)}
                           for j in range(events_per_region)] for k, r in enumerate(REGIONS)}
        self.latency = latency
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._held: str | None = None
        self._release = threading.Event()
        self.arrived = threading.Event()
        self.server = MockServer(self.handle)

    # -- test controls -----------------------------------------------------------------------------

    def hold(self, prefix: str) -> None:
        self._held, self.arrived = prefix, threading.Event()
        self._release.clear()

    def release(self) -> None:
        self._held = None
        self._release.set()

    def __enter__(self) -> ShardsApi:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    # -- answers -----------------------------------------------------------------------------------

    def _delay(self) -> float:
        lo, hi = self.latency
        if hi <= 0:
            return 0.0
        with self._rng_lock:
            return self._rng.uniform(lo, hi)

    def handle(self, req: Request) -> Response:
        if self._held is not None and req.path.startswith(self._held):
            self.arrived.set()
            self._release.wait(timeout=120)
        if req.header("Authorization") != "Bearer shard-token":
            return Response.json({"error": "unauthorized"}, 401)
        parts = [p for p in req.path.split("/") if p]
        if parts == ["accounts"]:
            rows = self.accounts
        elif len(parts) == 3 and parts[0] == "accounts" and parts[2] == "notes":
            if parts[1] not in self.notes:
                return Response.json({"error": "no such account"}, 404)
            rows = self.notes[parts[1]]
        elif len(parts) == 3 and parts[0] == "regions" and parts[2] == "events":
            rows = self.events.get(parts[1], [])
        elif parts == ["daily"]:
            rows = self._daily(req)
        else:
            return Response.json({"error": "not found"}, 404)
        resp = self._page(req, rows)
        resp.delay = self._delay()
        return resp

    def _daily(self, req: Request) -> list[dict[str, Any]]:
        start, end = _parse(req.arg("start")), _parse(req.arg("end"))
        if start is None or end is None:
            return []
        out, moment = [], start
        while moment < end:
            stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
            out.append({"id": f"ev_{stamp}", "updated_at": stamp})
            moment += dt.timedelta(hours=1)
        return out

    def _page(self, req: Request, rows: list[dict[str, Any]]) -> Response:
        since = req.arg("updated_since")
        if since:
            rows = [r for r in rows if r["updated_at"] >= since]
        limit = int(req.arg("limit") or 10)
        offset = int(req.arg("cursor") or 0)
        page = rows[offset: offset + limit]
        more = offset + limit < len(rows)
        return Response.json({"data": page, "next_cursor": str(offset + limit) if more else None})


CONNECTOR = """
name: shards_mock
base_url: "http://127.0.0.1:1"
auth: {type: bearer, token: "{{ config.api_key }}"}
spec:
  - {name: api_key, type: string, required: true, secret: true}
  - {name: start_date, type: string, required: false}
  - {name: end_date, type: string, required: false}
streams:
  - name: accounts
    request: {path: /accounts, params: {limit: "25"}}
    decoder: {type: json, records_path: data}
    pagination: {type: cursor, cursor_param: cursor, cursor_path: next_cursor}
    primary_key: id
    cursor_field: updated_at
    incremental: {request_param: updated_since}
  - name: account_notes
    request: {path: "/accounts/{{ partition.account_id }}/notes", params: {limit: "2"}}
    partition: {type: parent_stream, stream: accounts, parent_field: id, field: account_id}
    decoder: {type: json, records_path: data}
    pagination: {type: cursor, cursor_param: cursor, cursor_path: next_cursor}
    primary_key: id
    cursor_field: updated_at
    incremental: {request_param: updated_since}
  - name: region_events
    request: {path: "/regions/{{ partition.region }}/events", params: {limit: "3"}}
    partition: {type: list, field: region, values: [REGIONS]}
    decoder: {type: json, records_path: data}
    pagination: {type: cursor, cursor_param: cursor, cursor_path: next_cursor}
    primary_key: id
    cursor_field: updated_at
    incremental: {request_param: updated_since}
  - name: daily_events
    request:
      path: /daily
      params: {start: "{{ partition.start }}", end: "{{ partition.end }}", limit: "10"}
    partition: {type: date_range, start: "{{ config.start_date }}", end: "{{ config.end_date }}", step: P1D}
    decoder: {type: json, records_path: data}
    pagination: {type: cursor, cursor_param: cursor, cursor_path: next_cursor}
    primary_key: id
    cursor_field: updated_at
""".replace("REGIONS", ", ".join(REGIONS))


def config(url: str) -> dict[str, str]:
    return {"api_key": "shard-token", "base_url": url, "start_date": "2024-03-01T00:00:00Z",
            "end_date": "2024-03-08T00:00:00Z"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--accounts", type=int, default=60)
    ap.add_argument("--notes", type=int, default=5)
    ap.add_argument("--latency", type=float, nargs=2, default=(0.0, 0.0), metavar=("LO", "HI"))
    args = ap.parse_args()
    api = ShardsApi(args.accounts, args.notes, latency=tuple(args.latency))
    api.server = MockServer(api.handle, port=args.port)
    with api:
        print(api.url, flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
