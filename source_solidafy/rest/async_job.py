"""Async (bulk export) jobs: create the job, poll it until it completes, download its results.

Salesforce Bulk API 2.0 is the model::

    partition:
      type: async_job
      create: {method: POST, path: /jobs/query, body: '{"query": "..."}', job_id_path: id}
      poll: {path: "/jobs/query/{{ job_id }}", interval_secs: 5, max_attempts: 360,
             status_path: state, completed_value: JobComplete, failed_values: [Failed, Aborted]}
      download:
        path: "/jobs/query/{{ job_id }}/results"
        params: {maxRecords: "50000"}
        locator_header: Sforce-Locator      # the default: next page's ``locator`` param; "null" ends

The results are decoded with the stream's decoder (``download.records_path`` overrides a JSON
decoder's). Every request goes through the connector's one HTTP client (retries, rate limit). The
job is created anew each sync, from ``since`` (the stream cursor); the state is ``{"cursor": ...}``.
A failed job or one still running after ``max_attempts`` polls fails this stream only, clearly.
``ReadContext.tuning.async_poll_interval_secs`` overrides ``interval_secs``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from source_solidafy.errors import StreamError, redact_cut
from source_solidafy.manifest.templates import build_context
from source_solidafy.rest.paths import compile_path
from source_solidafy.rest.records import CursorTracker
from source_solidafy.rest.routers import WholeStream
from source_solidafy.source import Batch

if TYPE_CHECKING:
    from source_solidafy.manifest.models import AsyncJobPartition
    from source_solidafy.rest.reader import StreamReader


class AsyncJobRouter(WholeStream):
    """``partition: {type: async_job, ...}``: the stream is one job, its state the stream state."""

    part: AsyncJobPartition

    def read_whole(self, reader: StreamReader, cursor: Any) -> Iterator[Batch]:
        return read_job(reader, self.part, cursor)


def read_job(reader: StreamReader, part: AsyncJobPartition, cursor: Any) -> Iterator[Batch]:
    """Create, poll, then download the job's results page by page."""
    rt, spec = reader.rt, reader.spec
    if spec.request is not None:
        reader.ctx.log("WARN", f"stream '{spec.name}': 'request' is ignored with an async_job partition")
    auth = rt.auth_info()
    state = {"cursor": cursor} if cursor is not None else {}
    since = reader.since(cursor, build_context(reader.ctx.config, auth=auth, state=state))
    ctx = build_context(reader.ctx.config, auth=auth, state=state, since=since, lookup=reader.lookups)
    job_id = _create(reader, part, ctx)
    ctx = build_context(reader.ctx.config, auth=auth, state=state, since=since, job_id=job_id, lookup=reader.lookups)
    if not _poll(reader, part, ctx, job_id):
        return
    download = part.download
    request = reader.render(download, ctx)
    decoder = None
    if download.records_path and spec.decoder.type == "json":
        decoder = reader.decoder_for(spec.decoder.model_copy(update={"records_path": download.records_path}),
                                     key="partition.download.records_path")
    tracker = CursorTracker(spec.cursor_field, cursor)
    yield from reader.pages(request, tracker, ctx, pagination=download.pagination, decoder=decoder)


def _create(reader: StreamReader, part: AsyncJobPartition, ctx: dict[str, Any]) -> str:
    create = part.create
    request = reader.render(create, ctx)
    resp = reader.rt.client.request(request.method, request.path, params=request.params or None,
                                    headers=request.headers, json_body=request.json_body, data=request.data,
                                    slots=reader.slots, stats=reader.ctx.http_stats)
    job_id = compile_path(create.job_id_path).get(_json(resp, "create"))
    if job_id is None or job_id == "":
        raise StreamError(
            f"stream '{reader.spec.name}': the async job create response ({request.method} {request.path}) "
            f"has no job id at '{create.job_id_path}'"
        )
    reader.ctx.log("INFO", f"stream '{reader.spec.name}': async job {job_id} created")
    return str(job_id)


def _poll(reader: StreamReader, part: AsyncJobPartition, ctx: dict[str, Any], job_id: str) -> bool:
    """Poll until the job completes (True), or the sync is cancelled (False); raise if it fails."""
    poll, name = part.poll, reader.spec.name
    path = poll.path.render(ctx)
    status_path = compile_path(poll.status_path)
    override = reader.ctx.tuning.async_poll_interval_secs
    interval = float(poll.interval_secs if override is None else override)
    failed = {str(v) for v in poll.failed_values}
    status: Any = None
    for attempt in range(1, poll.max_attempts + 1):
        resp = reader.rt.client.request("GET", path, headers=reader.rt.headers, slots=reader.slots,
                                        stats=reader.ctx.http_stats)
        body = _json(resp, "poll")
        status = status_path.get(body)
        if str(status) == str(poll.completed_value):
            reader.ctx.log("INFO", f"stream '{name}': async job {job_id} completed after {attempt} polls")
            return True
        if str(status) in failed:
            detail = _detail(body, reader.rt.client.redact)
            raise StreamError(f"stream '{name}': async job {job_id} ended in state '{status}'{detail}")
        if attempt < poll.max_attempts and reader.ctx.cancel.wait(interval):
            return False
    raise StreamError(
        f"stream '{name}': async job {job_id} did not reach '{poll.completed_value}' after "
        f"{poll.max_attempts} polls (last state '{status}'); raise poll.max_attempts or interval_secs"
    )


def _detail(body: Any, redactor: Callable[[str], str]) -> str:
    if isinstance(body, dict):
        for key in ("errorMessage", "error_message", "error", "message"):
            if body.get(key):
                return f": {redact_cut(str(body[key]), redactor, 300)}"
    return ""


def _json(resp: Any, what: str) -> Any:
    """The job's JSON answer (a non-JSON body is a StreamError naming the URL, from ``json()``)."""
    return resp.json()
