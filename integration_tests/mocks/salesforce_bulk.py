"""A Salesforce Bulk API 2.0 query mock on top of the Salesforce OAuth/REST mock (API-NOTES.md §9).

- ``POST /services/data/v59.0/jobs/query`` (JSON ``operation`` query|queryAll, ``query``, ``contentType``
  CSV) answers the job info with ``state: UploadComplete``; bad SOQL is the REST mock's 400.
- ``GET .../jobs/query/<id>``: created UploadComplete, each poll moves it on: InProgress, JobComplete;
  a job on an object in ``fail_objects`` ends ``Failed`` with an ``errorMessage`` instead.
- ``GET .../jobs/query/<id>/results?maxRecords=&locator=``: 412 JOB_NOT_COMPLETE before JobComplete;
  CSV with a header row, every value double-quoted, LF endings, rows in Id order (not by cursor);
  pages of ``min(maxRecords, results_page_size)`` rows; ``Sforce-NumberOfRecords`` and
  ``Sforce-Locator`` = the next locator, the string ``null`` on the last page.
- ``GET .../jobs/query`` lists jobs (the connector's check).
"""

from __future__ import annotations

import base64
import csv
import io
import itertools
from typing import Any

from integration_tests.mocks.common import stream_cursor
from integration_tests.mocks.salesforce import (
    API,
    STREAM_OBJECTS,
    SalesforceMock,
    fields_of,
    parse_datetime,
    sf_errors,
)
from integration_tests.mocks.server import Request, Response

BULK_STREAMS = ["accounts_bulk", "contacts_bulk", "leads_bulk", "opportunities_bulk", "cases_bulk", "tasks_bulk"]
STATES = ["UploadComplete", "InProgress", "JobComplete"]


def _bulk_value(value: Any) -> str:
    """Bulk CSV spelling: "" for null, true/false, datetimes with a Z."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return text.replace(".000+0000", ".000Z") if text.endswith(".000+0000") else text


def _locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _offset(locator: str) -> int:
    return int(base64.b64decode(locator + "=" * (-len(locator) % 4)).decode())


class SalesforceBulkMock(SalesforceMock):
    """The REST mock plus Bulk 2.0 query jobs."""

    streams_with_data = list(BULK_STREAMS)

    def __init__(self, results_page_size: int = 100, fail_objects: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.results_page_size = results_page_size
        self.fail_objects = set(fail_objects)
        self.jobs: dict[str, dict[str, Any]] = {}
        self._job_ids = itertools.count(1)

    def expected_records(self, stream: str, config_state: Any = None) -> list[dict[str, Any]]:
        """Rows as the CSV gives them: strings only, in Id order, at/after the cursor when given."""
        obj = STREAM_OBJECTS[stream.removesuffix("_bulk")]
        fields = [f for f, _ in fields_of(obj)]  # the describe's, custom ones included
        rows = self.data[obj]
        cursor = stream_cursor(stream, config_state)
        if cursor is not None:
            floor = parse_datetime(cursor).replace(microsecond=0)
            rows = [r for r in rows if parse_datetime(r["SystemModstamp"]) >= floor]
        return [{f: _bulk_value(r[f]) for f in fields} for r in rows]

    def route(self, req: Request) -> Response:
        prefix = f"{API}/jobs/query"
        if req.path == prefix:
            if req.method == "POST":
                return self._create(req)
            return Response.json({"done": True, "records": list(self.jobs.values()), "nextRecordsUrl": None})
        if req.path.startswith(prefix + "/"):
            job_id, _, rest = req.path[len(prefix) + 1:].partition("/")
            job = self.jobs.get(job_id)
            if job is None:
                return sf_errors(404, "NOT_FOUND", "The requested resource does not exist")
            if rest == "" and req.method == "GET":
                return self._poll(job)
            if rest == "results" and req.method == "GET":
                return self._results(job, req)
        return super().route(req)

    def _create(self, req: Request) -> Response:
        if not (req.header("Content-Type") or "").startswith("application/json"):
            return sf_errors(415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json")
        try:
            body = req.json() or {}
        except ValueError:
            return sf_errors(400, "JSON_PARSER_ERROR", "Unexpected character in the request body")
        if body.get("operation") not in ("query", "queryAll"):
            return sf_errors(400, "INVALIDJOB", "operation must be query or queryAll")
        if body.get("contentType", "CSV") != "CSV":
            return sf_errors(400, "INVALIDJOB", "contentType must be CSV")
        parsed = self.parse_soql(body.get("query") or "")
        if isinstance(parsed, Response):
            return parsed
        obj, fields, _rows = parsed
        rows = sorted(_rows, key=lambda r: r["Id"])  # results come in chunk (Id) order
        if body["operation"] == "query":
            rows = [r for r in rows if not r.get("IsDeleted")]
        job_id = f"750R0000000zlh{next(self._job_ids):04d}"
        info = {"id": job_id, "operation": body["operation"], "object": obj, "createdById": "005R0000000GiwjIAC",
                "createdDate": "2018-12-10T17:50:19.000+0000", "systemModstamp": "2018-12-10T17:50:19.000+0000",
                "state": STATES[0], "concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": 59.0,
                "lineEnding": "LF", "columnDelimiter": "COMMA"}
        self.jobs[job_id] = {**info, "_fields": fields, "_rows": rows, "_polls": 0, "_seen": [STATES[0]]}
        return Response.json(info)

    def _poll(self, job: dict[str, Any]) -> Response:
        """Each poll moves the job one state on: (created UploadComplete) InProgress, JobComplete."""
        job["_polls"] += 1
        if job["object"] in self.fail_objects and job["_polls"] >= 2:
            job["state"] = "Failed"
            job["errorMessage"] = "InvalidBatch : Failed to process query: UNKNOWN_EXCEPTION"
        elif job["state"] != "Failed":
            job["state"] = STATES[min(job["_polls"], 2)]
        job["_seen"].append(job["state"])
        info = {k: v for k, v in job.items() if not k.startswith("_")}
        if job["state"] == "JobComplete":
            info.update({"numberRecordsProcessed": len(job["_rows"]), "retries": 0, "totalProcessingTime": 334})
        return Response.json(info)

    def _results(self, job: dict[str, Any], req: Request) -> Response:
        if job["state"] != "JobComplete":
            return sf_errors(412, "JOB_NOT_COMPLETE", f"Job {job['id']} is not complete")
        max_records = int(req.arg("maxRecords") or 50000)
        size = min(max_records, self.results_page_size)
        offset = _offset(req.arg("locator") or "") if req.arg("locator") else 0
        page = job["_rows"][offset:offset + size]
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(job["_fields"])
        for row in page:
            writer.writerow([_bulk_value(row[f]) for f in job["_fields"]])
        nxt = offset + len(page)
        return Response(200, out.getvalue(), {
            "Content-Type": "text/csv", "Sforce-NumberOfRecords": str(len(page)),
            "Sforce-Locator": _locator(nxt) if nxt < len(job["_rows"]) else "null",
        })


MOCK_CLASS = SalesforceBulkMock
