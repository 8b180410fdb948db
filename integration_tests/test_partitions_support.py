"""Mock APIs and connector YAML for the partition tests (no tests here).

``PartitionApi`` serves, on 127.0.0.1 through MockServer:

- ``GET /regions/<region>/events?since=&cursor=``: events of one region, oldest first (``updated_at``),
  3 per page, ``next_cursor`` null on the last page; ``since`` is inclusive (like the demo API).
- ``GET /daily?start=&end=``: events with ``start <= ts < end`` (ISO 8601), one page.
- ``GET /customers?updated_since=``, ``GET /customers/<id>/notes?since=``: a parent and its children.
- A Bulk-2.0-like job API (API-NOTES.md, Salesforce Bulk 2.0): ``POST /jobs`` answers
  ``state: UploadComplete``; each poll ``GET /jobs/<id>`` moves it to InProgress then JobComplete
  (or ``Failed`` with ``errorMessage`` for an object in ``fail_objects``); ``GET /jobs/<id>/results``
  answers CSV pages of ``maxRecords`` rows with ``Sforce-Locator`` (the string ``null`` on the last)
  and 412 before the job is complete.
- ``GET /xml/<name>``, ``GET /text/<name>``: documents set in ``xml`` (XML, CSV).

Faults: ``fail[(path_prefix, page)] = status`` answers that status for that page of that path;
``fail_once`` does it once (with ``Retry-After: 0``).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import itertools
import json
import threading
from pathlib import Path
from typing import Any

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.server import MockServer, Request, Response

EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
REGIONS = ["us", "eu", "ap", "sa", "af"]
PAGE = 3


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


class PartitionApi:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events = {
            r: [{"id": f"{r}-{i}", "region": r, "updated_at": iso(EPOCH + dt.timedelta(hours=i * 5 + k)),
                 "internal": "x", "amount": i}
                for i in range(7)]
            for k, r in enumerate(REGIONS)
        }
        self.daily = [{"id": f"d{i}", "ts": iso(EPOCH + dt.timedelta(hours=7 * i))} for i in range(30)]
        self.customers = [{"id": f"c{i}", "name": f"Customer {i}", "updated_at": iso(EPOCH + dt.timedelta(days=i))}
                          for i in range(6)]
        self.notes = {c["id"]: [{"id": f"{c['id']}-n{k}", "customer_id": c["id"],
                                 "updated_at": iso(EPOCH + dt.timedelta(days=n, hours=k + 1))}
                                for k in range(n % 3 + 1)]
                      for n, c in enumerate(self.customers)}
        self.fail: dict[tuple[str, int], int] = {}
        self.fail_once: dict[tuple[str, int], int] = {}
        self.fail_objects: set[str] = set()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.job_ids = itertools.count(1)
        self.xml: dict[str, str] = {}
        self.csv_rows: list[dict[str, str]] = []

    # -- routing -----------------------------------------------------------------------------------

    def handler(self, req: Request) -> Response:
        parts = [p for p in req.path.split("/") if p]
        page = int(req.arg("cursor") or 0)
        for (prefix, fail_page), status in list(self.fail.items()):
            if req.path.startswith(prefix) and fail_page == page:
                return Response.json({"error": "injected"}, status)
        with self.lock:
            once = next((k for k in self.fail_once if req.path.startswith(k[0]) and k[1] == page), None)
            status = self.fail_once.pop(once) if once else None
        if status:
            return Response.json({"error": "injected once"}, status, **{"Retry-After": "0"})
        if parts[:1] == ["regions"] and len(parts) == 3:
            return self._paged(self.events[parts[1]], req.arg("since"), page, "updated_at")
        if parts == ["daily"]:
            lo, hi = parse(req.arg("start") or ""), parse(req.arg("end") or "")
            return Response.json({"data": [d for d in self.daily if lo <= parse(d["ts"]) < hi]})
        if parts == ["customers"]:
            return self._paged(self.customers, req.arg("updated_since"), page, "updated_at", size=100)
        if parts[:1] == ["customers"] and len(parts) == 3:
            return self._paged(self.notes.get(parts[1], []), req.arg("since"), page, "updated_at", size=100)
        if parts[:1] == ["jobs"]:
            return self._job(req, parts)
        if parts[:1] == ["xml"]:
            return Response(200, self.xml[parts[1]], {"Content-Type": "application/xml"})
        if parts[:1] == ["text"]:
            return Response(200, self.xml[parts[1]].encode(), {"Content-Type": "text/csv"})
        return Response.json({"error": "not found"}, 404)

    def _paged(self, items: list[dict[str, Any]], since: str | None, page: int, field: str,
               size: int = PAGE) -> Response:
        with self.lock:
            rows = [r for r in items if not since or r[field] >= since]
        chunk = rows[page * size:(page + 1) * size]
        more = (page + 1) * size < len(rows)
        return Response.json({"data": chunk, "next_cursor": str(page + 1) if more else None})

    # -- jobs --------------------------------------------------------------------------------------

    def _job(self, req: Request, parts: list[str]) -> Response:
        if parts == ["jobs"] and req.method == "POST":
            body = req.json()
            job_id = f"750J{next(self.job_ids):04d}"
            with self.lock:
                self.jobs[job_id] = {"id": job_id, "object": body["object"], "state": "UploadComplete",
                                     "polls": 0, "since": body.get("since")}
            return Response.json({"id": job_id, "state": "UploadComplete"})
        job = self.jobs.get(parts[1]) if len(parts) > 1 else None
        if job is None:
            return Response.json([{"errorCode": "NOT_FOUND"}], 404)
        if len(parts) == 2:
            with self.lock:
                job["polls"] += 1
                if job["object"] in self.fail_objects and job["polls"] >= 2:
                    job["state"] = "Failed"
                    return Response.json({"id": job["id"], "state": "Failed",
                                          "errorMessage": "INVALID_FIELD: No such column 'Bogus'"})
                job["state"] = ["UploadComplete", "InProgress", "JobComplete"][min(job["polls"], 2)]
            return Response.json({"id": job["id"], "state": job["state"]})
        if job["state"] != "JobComplete":
            return Response.json([{"errorCode": "JOB_NOT_COMPLETE"}], 412)
        return self._results(job, req)

    def _results(self, job: dict[str, Any], req: Request) -> Response:
        size = int(req.arg("maxRecords") or 50000)
        start = int(base64.b64decode(req.arg("locator") or "MA==").decode()) if req.arg("locator") else 0
        rows = [r for r in self.csv_rows if not job["since"] or r["SystemModstamp"] >= job["since"]]
        chunk = rows[start:start + size]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(self.csv_rows[0]), quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writeheader()
        writer.writerows(chunk)
        nxt = start + size
        locator = base64.b64encode(str(nxt).encode()).decode() if nxt < len(rows) else "null"
        return Response(200, buf.getvalue(), {"Content-Type": "text/csv", "Sforce-Locator": locator,
                                              "Sforce-NumberOfRecords": str(len(chunk))})


def serve(api: PartitionApi) -> MockServer:
    return MockServer(api.handler)


HEADER = """
name: partitions_test
base_url: "http://127.0.0.1:1"
http: {max_retries: 0, timeout_secs: 10}
spec:
  - {name: base_url, type: string}
  - {name: start, type: string}
streams:
"""

EVENTS = """
  - name: events
    request:
      path: "/regions/{{ partition.region }}/events"
    partition: {type: list, field: region, values: [us, eu, ap, sa, af]}
    decoder: {type: json, records_path: data}
    pagination: {type: cursor, cursor_param: cursor, cursor_path: next_cursor}
    incremental: {request_param: since}
    primary_key: id
    cursor_field: updated_at
    transform:
      - set: {field: source_region, value: "{{ partition.region }}"}
      - set: {field: api, value: "{{ config.base_url[:7] }}"}
      - set: {field: synced_at, value: "{{ now }}"}
      - set: {field: doubled, value: "{{ record.amount * 2 }}"}
      - remove: internal
      - rename: {from: amount, to: amount_units}
"""

CUSTOMERS = """
  - name: customers
    request:
      path: /customers
    decoder: {type: json, records_path: data}
    pagination: {type: cursor, cursor_param: cursor, cursor_path: next_cursor}
    incremental: {request_param: updated_since}
    primary_key: id
    cursor_field: updated_at
  - name: notes
    request:
      path: "/customers/{{ partition.customer_id }}/notes"
    partition: {type: parent_stream, stream: customers, parent_field: id, field: customer_id}
    decoder: {type: json, records_path: data}
    incremental: {request_param: since}
    primary_key: id
    cursor_field: updated_at
"""


def write_connector(tmp_path: Path, *streams: str, name: str = "conn.yaml", retries: int = 0) -> str:
    path = tmp_path / name
    header = HEADER.replace("max_retries: 0", f"max_retries: {retries}, backoff: constant, backoff_base_secs: 0.01")
    path.write_text(header + "".join(streams))
    return str(path)


def read(connector: str, srv: MockServer, *args: str, **config: Any) -> Result:
    return run_cli("read", "--connector", connector, "--config-json",
                   json.dumps({"base_url": srv.url, **config}), *args, timeout=60)


def final_state(result: Result) -> dict[str, Any]:
    states = [m["state"] for m in result.of_type("STATE") if "streams" in m["state"]]
    assert states, result.stdout[-2000:] + result.stderr[-2000:]
    return states[-1]["streams"]


def calls(srv: MockServer, prefix: str) -> list[Request]:
    return [r for r in srv.requests if r.path.startswith(prefix)]
