"""Reading one partition of a stream, page by page: request, decode, transform, track the cursor.

:class:`StreamReader` renders the stream's request for the partition (``incremental.request_param``
carries ``since``), asks the paginator for each next page, and yields a :class:`Batch` per page with
the state it may advance to (only once records arrive in cursor order). It says loudly when it may
not have read everything: a records path that matched nothing, a next-page link to another host, and
what the records say about the YAML (:mod:`~source_solidafy.rest.record_checks`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from source_solidafy.errors import StreamError
from source_solidafy.manifest.models import Stream
from source_solidafy.manifest.templates import build_context
from source_solidafy.rest import builders
from source_solidafy.rest.builders import PageInputs
from source_solidafy.rest.decoders import Decoder
from source_solidafy.rest.http import Response, StreamedResponse
from source_solidafy.rest.pages import PageRequest, page_size_of
from source_solidafy.rest.pagination import Paginator
from source_solidafy.rest.parallel_pages import PageFetcher, fetch_window
from source_solidafy.rest.record_checks import RecordChecks
from source_solidafy.rest.records import BoundaryDedupe, CursorTracker, lower_bound
from source_solidafy.rest.request import RenderedRequest, RequestInputs
from source_solidafy.rest.response_rules import ResponseIgnored
from source_solidafy.rest.runtime import ConnectorRuntime
from source_solidafy.rest.transforms import END_OF_CHAIN
from source_solidafy.source import Batch, ReadContext

if TYPE_CHECKING:  # imported where a manifest uses them (lookups, filter): a plain read never does
    from source_solidafy.rest.lookups import LookupValues
    from source_solidafy.rest.record_filter import RecordFilter

_STREAM = object()  # pages(): the stream's own pagination
_IS_RECORD = dict.__instancecheck__  # isinstance(r, dict), called from C by map()


@dataclass(repr=False, eq=False)
class _Chain:
    """What one request chain's pages share: boundary dedupe, the last state given, a sample record."""

    dedupe: BoundaryDedupe | None
    last_state: dict[str, Any] | None = None
    sample: dict[str, Any] | None = None  # a record, to say which keys records have
    pages: int = 0  # batches given
    first_page: Callable[[Any], None] | None = None  # sees the first page's body first (see read())


class StreamReader:
    """Reads one partition of a stream page by page."""

    def __init__(self, rt: ConnectorRuntime, spec: Stream, ctx: ReadContext, lookups: bool = True) -> None:
        self.rt, self.spec, self.ctx = rt, spec, ctx
        self.lookups: LookupValues | None = None  # ``lookup.*``
        if lookups and rt.manifest.lookups:
            from source_solidafy.rest.lookups import LookupValues

            self.lookups = LookupValues(rt, ctx)
        self.slots = ctx.services.request_slots(ctx.concurrency)  # the sync's cap on requests in flight
        self.decoder = builders.decoder(spec.decoder)
        self.decoder.bind(ctx.config)
        self.filter: RecordFilter | None = None
        if spec.filter is not None:
            from source_solidafy.rest.record_filter import RecordFilter

            self.filter = RecordFilter(spec.filter, spec.name)
        self.transformer = builders.transformer(spec.transform, spec.json_schema, spec.name, ctx.log)
        self.delivered = 0  # over all partitions (read by several threads)
        self._count_lock = threading.Lock()
        self.checks = RecordChecks(spec, self.warn)
        self.rules = builders.response_rules(spec.errors, rt.manifest.errors, rt.config)  # the stream's, then the connector's
        self.retry = rt.client.policy.overridden(spec.retry) if spec.retry is not None else None  # None: the client's

    @staticmethod
    def decoder_for(spec: Any, key: str) -> Decoder:
        """A decoder for another ``decoder:`` model (an async job download's records path)."""
        return builders.decoder(spec, key)

    def warn(self, message: str) -> None:
        """``ReadContext.warn`` with the stream named: the stream may not have read everything."""
        self.ctx.warn(f"stream '{self.spec.name}': {message}")

    def since(self, cursor: Any, ctx: dict[str, Any]) -> str:
        """The incremental lower bound from ``cursor`` (see :func:`~source_solidafy.rest.records.lower_bound`)."""
        return lower_bound(self.spec.incremental, cursor, ctx)

    def read(self, partition: dict[str, Any], cursor: Any, job_id: str | None = None,
             first_page: Callable[[Any], None] | None = None,
             order: Callable[[Any], Any] | None = None) -> Iterator[Batch]:
        """Yield batches of one partition, starting from ``cursor`` (the partition's state).

        ``first_page`` sees the first page's decoded body before any of its records are yielded (and
        may raise: ``date_range``'s ``split_when`` halves a window over the API's cap); ``order`` compares
        cursors (:class:`~source_solidafy.rest.records.CursorTracker`).
        """
        auth_info = self.rt.auth_info()
        base_ctx = build_context(self.ctx.config, partition=partition, auth=auth_info, job_id=job_id,
                                 state={"cursor": cursor} if cursor is not None else {}, lookup=self.lookups)
        since = self.since(cursor, base_ctx)
        ctx = build_context(self.ctx.config, partition=partition, auth=auth_info, job_id=job_id,
                            state={"cursor": cursor} if cursor is not None else {}, since=since, lookup=self.lookups)
        tracker = CursorTracker(self.spec.cursor_field, cursor, order)
        request = self._request(ctx, since)
        self.checks.request(request.params, cursor, request.path)
        yield from self.pages(request, tracker, ctx, first_page=first_page)

    def render(self, spec: Any, ctx: dict[str, Any], headers: dict[str, str] | None = None) -> RenderedRequest:
        """A request model (the stream's, an async job's create or download) rendered against ``ctx``;
        ``headers`` default to the connector's."""
        return builders.request(spec, RequestInputs(ctx, self.rt.headers if headers is None else headers))

    def _request(self, ctx: dict[str, Any], since: str) -> RenderedRequest:
        """The stream's request for one partition; ``since`` replaces ``incremental.request_param``."""
        headers = {**self.rt.headers, **{k: v.render(ctx) for k, v in self.spec.headers.items()}}
        request = self.render(self.spec.request, ctx, headers)
        inc = self.spec.incremental
        if inc is not None and inc.request_param and since:
            request.params.pop(inc.request_param, None)
            request.params[inc.request_param] = since
        return request

    def pages(self, request: RenderedRequest, tracker: CursorTracker, ctx: dict[str, Any],
              pagination: Any = _STREAM, decoder: Decoder | None = None,
              first_page: Callable[[Any], None] | None = None) -> Iterator[Batch]:
        """Pages of one request (the stream's or an async job download), with its state."""
        spec = self.spec.pagination if pagination is _STREAM else pagination
        paginator = builders.paginator(spec, PageInputs(self.warn, page_size_of(request.params, request.json_body),
                                                           self.ctx.config, ctx.get("partition")))
        decoder = decoder or self.decoder
        chain = _Chain(self._dedupe(), first_page=first_page)
        try:
            if decoder.streaming:  # one document read as it arrives: no next page
                if not self.ctx.cancel.is_set():
                    path, call = self._call(request, paginator.first())
                    yield from self._streamed(self.rt.client.stream(request.method, path, **call), decoder, ctx,
                                              tracker, chain)
            else:
                yield from self._chain(request, paginator, decoder, ctx, tracker, chain)
        except ResponseIgnored as exc:  # an errors: rule: the rest is skipped (reported), no final state
            self._skipped(exc, chain.pages, ctx)
            return
        yield from self._finish(request, tracker, chain)

    def _chain(self, request: RenderedRequest, paginator: Paginator, decoder: Decoder, ctx: dict[str, Any],
               tracker: CursorTracker, chain: _Chain) -> Iterator[Batch]:
        """The pages of one request chain, some fetched ahead when the paginator plans them."""
        fetcher = self._fetcher(request, paginator.kind)
        page: PageRequest | None = paginator.first()
        try:
            while page is not None and not self.ctx.cancel.is_set():
                resp = fetcher.get(page)
                try:
                    decoded = decoder.decode(resp)
                except StreamError as exc:  # the decoder names the URL; the stream is named here
                    raise StreamError(f"stream '{self.spec.name}': {exc}") from None
                fetcher.got(len(decoded.records), decoded.body)
                if decoded.missing is not None:
                    self._missing_records(decoded.missing, page.pages == 0, decoder.missing_means_empty,
                                          getattr(resp, "accepted", None))  # see response_rules
                if page.pages == 0 and chain.first_page is not None:
                    chain.first_page(decoded.body)
                if fetcher.window and page.pages == 0:
                    fetcher.plan(paginator.ahead(resp, decoded.body, decoded.records, page))
                yield self._batch(decoded.records, ctx, tracker, chain, resp.url)
                if self.limit_reached():
                    break
                if ctx.pop(END_OF_CHAIN, False):  # a transform step said so (an Airbyte data feed)
                    page = None
                    break
                page = paginator.next(resp, decoded.body, decoded.records, page)
                if page is not None and page.url is not None:
                    self._check_link(page.url)
            if page is None:
                fetcher.ended()
        finally:
            fetcher.close()

    def _call(self, request: RenderedRequest, page: PageRequest) -> tuple[str, dict[str, Any]]:
        """One page's path and the keyword arguments of its ``HttpClient`` call."""
        path, params, headers, body = page.resolve(request.path, request.params, request.headers, request.json_body)
        data = page.data if page.data is not None else request.data
        return path, {"params": params, "headers": headers, "json_body": body,
                      "data": data if body is None else None, "slots": self.slots,
                      "stats": self.ctx.http_stats, "rules": self.rules, "retry": self.retry}

    def _fetcher(self, request: RenderedRequest, kind: str) -> PageFetcher:
        """The request chain's responses, some fetched ahead when its paginator plans pages."""
        def fetch(page: PageRequest) -> Response:
            path, call = self._call(request, page)
            return self.rt.client.request(request.method, path, **call)

        return PageFetcher(fetch, fetch_window(self.ctx.concurrency, self.ctx.max_records), self.warn, kind,
                           lambda: self.rt.set_log(self.ctx.log))

    def _skipped(self, exc: ResponseIgnored, pages: int, ctx: dict[str, Any]) -> None:
        """Say what an ``ignore`` rule skipped (ReadContext.skip: counted, listed, logged; state not held)."""
        part = ctx.get("partition") or {}
        what = "partition " + ", ".join(f"{k}={v}" for k, v in part.items()) if part else "the stream"
        after = f" after {pages} pages" if pages else ""
        self.ctx.skip(f"stream '{self.spec.name}': {what} skipped{after}: {exc}")

    def _streamed(self, resp: StreamedResponse, decoder: Decoder, ctx: dict[str, Any], tracker: CursorTracker,
                  chain: _Chain) -> Iterator[Batch]:
        """The batches of one streamed document; the response is closed however the read ends."""
        with resp:
            batches = decoder.batches(resp)
            while not self.ctx.cancel.is_set():
                try:
                    records = next(batches, None)
                except StreamError as exc:
                    raise StreamError(f"stream '{self.spec.name}': {exc}") from None
                if records is None:
                    return
                yield self._batch(records, ctx, tracker, chain, resp.url)
                if self.limit_reached():
                    return

    def _batch(self, raw: list[Any], ctx: dict[str, Any], tracker: CursorTracker, chain: _Chain,
               url: str) -> Batch:
        """One page's (or streamed batch's) records, with the state they let the stream advance to."""
        records = self._records(raw, ctx, tracker, chain.dedupe, url)
        chain.sample = chain.sample or (records[0] if records else None)
        state = tracker.state() if tracker.ascending and tracker.seen_enough else None
        if state == chain.last_state:
            state = None
        chain.last_state = state or chain.last_state
        chain.pages += 1
        return Batch(self.spec.name, records, state)

    def _finish(self, request: RenderedRequest, tracker: CursorTracker, chain: _Chain) -> Iterator[Batch]:
        """After the last page: what the records said about the YAML, and the final state."""
        if chain.sample is not None and tracker.path is not None and tracker.seen == 0 and tracker.unordered is None:
            self.checks.cursor_missing(chain.sample)
        if tracker.unordered is not None:
            self.checks.cursor_unordered(tracker.unordered, self.ctx.log)
        inc = self.spec.incremental
        if inc is not None and inc.request_param and tracker.oldest_dropped is not None:
            self.checks.older_than_asked(tracker.oldest_dropped, str(request.params.get(inc.request_param) or ""),
                                         request.path)
        dedupe = chain.dedupe
        if dedupe is not None and dedupe.dropped:
            self.ctx.log("INFO", f"{self.spec.name}: {dedupe.dropped} records the API repeated at a page "
                                 "boundary were dropped (dedupe: cursor_boundary)")
        final = tracker.state()
        if final is not None and final != chain.last_state and not self.ctx.cancel.is_set():
            yield Batch(self.spec.name, [], final)

    def _missing_records(self, missing: str, first: bool, means_empty: bool, accepted: str | None) -> None:
        """The records path matched nothing: an error on a first page, else unless the YAML allows it. An
        answer a rule accepts (an Airbyte filter IGNOREs a success) is an empty page, skipped on purpose:
        counted and listed (``responses_ignored``, ``skipped``), never silent."""
        if accepted is not None:
            self.ctx.skip(f"stream '{self.spec.name}': {missing}; read as an empty page ({accepted})")
            return
        if means_empty and not first:
            return
        hint = "" if first else ("; if the API leaves the key out of an empty page, set "
                                 "decoder.missing_means_empty: true")
        raise StreamError(f"stream '{self.spec.name}': {missing}{hint}")

    def _check_link(self, url: str) -> None:
        """A next-page link to an origin that may not get credentials fails the stream.

        Followed without credentials it would most likely answer 401, or worse an empty last page:
        a silent partial read. The API's own link is not trusted to choose where our requests go.
        """
        client = self.rt.client
        if not client.may_send_credentials(url):
            raise StreamError(client.redact(
                f"stream '{self.spec.name}': the next page link {url} points to another host than "
                f"{client.credential_origins()}; not followed (credentials go nowhere else). If the API "
                "really pages through that host, list it in http.allowed_hosts"
            ))

    def _dedupe(self) -> BoundaryDedupe | None:
        """One per request chain: repeats come at its page boundaries (``dedupe: cursor_boundary``)."""
        spec = self.spec
        if spec.dedupe is None or spec.cursor_field is None:
            return None
        return BoundaryDedupe(spec.primary_key, spec.cursor_field, self.ctx.log)

    def _records(self, raw: list[Any], ctx: dict[str, Any], tracker: CursorTracker,
                 dedupe: BoundaryDedupe | None = None, url: str = "") -> list[dict[str, Any]]:
        if all(map(_IS_RECORD, raw)):  # as good as always: a C-level look and a copy, no Python per record
            records = list(raw)
        else:
            records = [r if isinstance(r, dict) else {"value": r} for r in raw]
        if self.filter is not None:
            read = len(records)
            records = self.filter.apply(records, ctx)
            self.ctx.count("records_filtered", read - len(records))
        if self.transformer:
            records = self.transformer.apply(records, ctx)
        self.checks.page(records, url)
        if dedupe is not None:
            records = dedupe.filter(records)
        limit = self.ctx.max_records
        if limit is None:
            return tracker.process(records)
        with self._count_lock:
            records = tracker.process(records, max(0, limit - self.delivered))
            self.delivered += len(records)
        return records

    def limit_reached(self) -> bool:
        return self.ctx.max_records is not None and self.delivered >= self.ctx.max_records
