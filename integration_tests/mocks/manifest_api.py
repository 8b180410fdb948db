"""One mock API for any Airbyte declarative manifest, configured by a small data file.

The data describes the API a manifest was written for (not the manifest): its routes, where each
puts its records, how it pages, which auth it takes and which requests it answers with an error.
The differential tests (integration_tests/airbyte_diff/*.yaml, key ``api``) run airbyte-cdk and us
against the same one and compare what each asked (``log``) and got.

    api:
      auth: {type: bearer, token: dummy}       # generic.Credentials: none, bearer, header, query, basic, oauth
      token_path: /oauth/token                 # the OAuth token endpoint (type oauth)
      login_path: /auth/login                  # the session login (type session: username, password)
      routes:
        - path: /api/3/campaigns/{parent}/x    # {name} matches one segment; its value feeds the records
          method: GET
          records: {count: 45, fields: {id: "{parent}-{i}"}, ints: [n]}   # i counts from 1
          cursor: {field: cdate, start: "2024-01-01T00:00:00Z", every: PT6H, format: "%Y-%m-%dT%H:%M:%SZ"}
                                               # format a list, zones [-05:00, ...]: cycled per record;
                                               # every -P1D: newest first
          filter: {from: since, to: until, formats: ["%Y-%m-%d"]}        # records with cursor in [from, to]
          paging: {type: offset, offset: offset, limit: limit, size: 20}
          body: {campaigns: $records, meta: {total: $total}}
          headers: {X-Next-Cursor: $next}
      faults:
        - {path: /api/3/campaigns, nth: 2, status: 429, headers: {Retry-After: "1"}}
        - {path: /api/3/campaigns, nth: 5, status: 200, body: {error: busy}, headers: {X-Reset: $epoch+2}}

Paging reads its parameters from the query, then the JSON body (``a.b`` nests), then a form body, then
the path's ``{name}`` values; a name ``header:X-Name`` reads that request header:
``none``; ``offset`` (``offset``, ``limit``, ``size``); ``page`` (``page``, ``limit``, ``size``,
``first``: 1); ``cursor`` (``cursor``, ``limit``, ``size``; opaque tokens ``c<n>``); ``after``
(``after``, ``limit``, ``size``, ``key``: id; the records after the one whose key is given). ``max_size``
caps a requested size, as real APIs do. Placeholders in ``body`` and ``headers``: ``$records``,
``$record`` (the first, for single-object answers), ``$total``, ``$next`` (the next token, offset or
page; null at the end), ``$next_url`` (this URL with the next token), ``$link`` (an RFC 8288 Link
header with ``rel="next"``), ``$has_more``, ``$page``, and ``{"$chunks": N, "each": {...}}`` (the
page's records N at a time, each group rendered with ``each``, where ``$record`` is the group's first:
records wrapped in objects or nested lists, for wildcard selectors).
A route's ``format`` answers its records as a file instead of ``body``: ``csv`` (a header row,
``delimiter``), ``jsonl``, ``lines`` (each record's values joined by ``delimiter``, one line each,
ended by ``newline``), ``xml`` (``body`` written as xmltodict.unparse would, under a root element
``xml_root``: ``@name`` keys are attributes, ``#text`` the text, lists repeat the element), or ``zip``
(the csv in ``members`` files of one archive, those named in ``gzip_members`` gzipped), text in
``encoding`` (default utf-8; ``charset`` adds it to the Content-Type); ``gzip: body`` gzips it (or the
JSON body) (Content-Type application/gzip), ``gzip: twice`` gzips that again, ``gzip: transport``
sends it with Content-Encoding: gzip.
``log_headers`` (a list of request header names, beside ``routes``) adds those the request has to
each logged request (``headers``), so the differential tests compare them too.
A header whose value is null is left out; a body key whose value is ``{"$if_more": {...}}`` is there
only while more pages follow. Wrong credentials get a 401, an unknown path a 404.
A fault answers the ``nth`` request under its path (counted over every request there, retries included)
with its ``status`` (any, 200 included), ``body`` and ``headers``; a header ``$epoch+N`` is the epoch
seconds when it answers plus N (a rate limit's reset time).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from integration_tests.mocks.common import ArmedFaults, multi_form
from integration_tests.mocks.generic import Credentials
from integration_tests.mocks.manifest_files import file_response
from integration_tests.mocks.server import Request, Response

UTC = dt.timezone.utc
_EPOCH = re.compile(r"^\$epoch([+-]\d+)?$")
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def duration(text: str) -> dt.timedelta:
    """``P1D``, ``PT6H``, ``P2DT30M`` (days, hours, minutes, seconds)."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"unsupported duration {text!r}")
    d, h, mi, s = m.groups()
    return dt.timedelta(days=int(d or 0), hours=int(h or 0), minutes=int(mi or 0), seconds=float(s or 0))


def parse_moment(value: Any, formats: list[str]) -> dt.datetime:
    """A parameter or start value: epoch formats ``%s``/``%ms``, strftime formats, else ISO 8601."""
    for fmt in formats:
        try:
            if fmt == "%ms":
                return dt.datetime.fromtimestamp(int(value) / 1000, UTC)
            if fmt == "%s":
                return dt.datetime.fromtimestamp(int(value), UTC)
            parsed = dt.datetime.strptime(str(value), fmt)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except (ValueError, TypeError, OverflowError):
            continue
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_moment(moment: dt.datetime, fmt: str) -> Any:
    if fmt == "%ms":
        return int(moment.timestamp() * 1000)
    if fmt == "%s":
        return int(moment.timestamp())
    return moment.strftime(fmt)


def logged(req: Request, hidden: str | None = None, headers: list[str] | None = None) -> dict[str, Any]:
    """What the differential tests compare: method, path, query pairs (sorted; the value of the query
    parameter ``hidden``, a JWT signed anew by each engine, as ``<jwt>``), the parsed body (a form's
    ``assertion``, such a JWT too: ``<jwt>``); the request headers named in ``headers`` (those it has)."""
    body: Any = None
    if req.body:
        kind = (req.header("Content-Type") or "").split(";")[0].strip()
        if kind == "application/json":
            body = json.loads(req.body)
        elif kind == "application/x-www-form-urlencoded":
            body = multi_form(req.body)  # a field sent twice (the CDK's scopes) is a list
            body = {k: "<jwt>" if k == "assertion" else v for k, v in body.items()}  # signed anew by each engine
        else:
            body = req.body.decode("utf-8", "replace")
    query = sorted((k, "<jwt>" if k == hidden else v) for k, values in req.query.items() for v in values)
    out = {"method": req.method, "path": req.path, "query": query, "body": body}
    if headers:
        out["headers"] = {name: req.header(name) for name in headers if req.header(name) is not None}
    return out


class Route:
    """One path of the API: its records, filter, paging and answer shape."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.method = str(spec.get("method") or "GET").upper()
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(str(spec["path"])))
        self.regex = re.compile(f"^{pattern}$")
        self.paging = dict(spec.get("paging") or {"type": "none"})

    def records(self, params: dict[str, str]) -> list[dict[str, Any]]:
        spec = self.spec.get("records") or {}
        ints = set(spec.get("ints") or [])
        cursor = self.spec.get("cursor")
        out = []
        for i in range(1, int(spec.get("count", 0)) + 1):
            record = _fill(spec.get("fields") or {"id": "{i}"}, {"i": i, **params}, ints)
            if cursor:
                record[cursor["field"]] = _cursor_value(cursor, i)
            out.append(record)
        return out

    def filtered(self, records: list[dict[str, Any]], arg: Any) -> list[dict[str, Any]]:
        flt, cursor = self.spec.get("filter"), self.spec.get("cursor")
        if not flt or not cursor:
            return records
        formats = list(flt.get("formats") or [])
        lo, hi = arg(flt.get("from")), arg(flt.get("to"))
        low = parse_moment(lo, formats) if lo not in (None, "") else None
        high = parse_moment(hi, formats) if hi not in (None, "") else None
        fmt = [f for f in _formats(cursor) if "%" in f]
        kept = []
        for record in records:
            try:
                moment = parse_moment(record[cursor["field"]], fmt)
            except ValueError:  # a value that is no date: kept, as an API keeps it
                kept.append(record)
                continue
            if (low is None or moment >= low) and (high is None or moment <= high):
                kept.append(record)
        return kept


def _formats(cursor: dict[str, Any]) -> list[str]:
    fmt = cursor.get("format") or "%Y-%m-%dT%H:%M:%SZ"
    return [str(f) for f in fmt] if isinstance(fmt, list) else [str(fmt)]


def _cursor_value(cursor: dict[str, Any], i: int) -> Any:
    """Record ``i``'s cursor: ``start`` + (i - 1) × ``every``, in the i-th of ``format`` (a list cycles) and
    of ``zones`` (UTC offsets such as ``-05:00``, cycled; default UTC)."""
    every = str(cursor.get("every") or "P1D")
    step = -duration(every[1:]) if every.startswith("-") else duration(every)  # -P1D: newest first
    moment = parse_moment(cursor["start"], []) + step * (i - 1)
    zones = [str(z) for z in cursor.get("zones") or []]
    if zones:
        moment = moment.astimezone(dt.datetime.strptime(zones[(i - 1) % len(zones)], "%z").tzinfo)
    formats = _formats(cursor)
    return format_moment(moment, formats[(i - 1) % len(formats)])


def _fill(template: Any, values: dict[str, Any], ints: set[str], key: str = "") -> Any:
    if isinstance(template, str):
        text = template.format(**values)
        return int(text) if key in ints else text
    if isinstance(template, dict):
        return {k: _fill(v, values, ints, k) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values, ints) for v in template]
    return template


class ManifestApi:
    """The handler: ``MockServer(ManifestApi(data["api"]))``; ``log`` lists every request it was sent."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        auth = dict(spec.get("auth") or {"type": "none"})
        self.creds = Credentials(str(auth.pop("type")), **auth)
        self.routes = [Route(r) for r in spec.get("routes") or []]
        self.faults = ArmedFaults()
        for fault in spec.get("faults") or []:
            details = {k: v for k, v in fault.items() if k not in ("path", "nth")}
            self.faults.arm(str(fault["path"]), int(fault.get("nth", 1)), **details)
        self.log: list[dict[str, Any]] = []
        self._made: dict[Any, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def __call__(self, req: Request) -> Response:
        with self._lock:
            self.log.append(logged(req, self.creds.values.get("param") if self.creds.kind == "jwt" else None,
                                   self.spec.get("log_headers")))
        if self.spec.get("login_path") and req.path == self.spec["login_path"]:
            return self.creds.login_response(req)
        if self.spec.get("token_path") and req.path == self.spec["token_path"]:
            return self.creds.token_response(req, int(self.spec.get("expires_in", 3600)))
        fault = self.faults.take(req.path)
        if fault is not None:
            return Response.json(fault.get("body") or {"error": "fault"}, int(fault.get("status", 500)),
                                 **{str(k): _header(v) for k, v in (fault.get("headers") or {}).items()})
        if not self.creds.accepts(req):
            return Response.json({"error": "unauthorized"}, 401)
        for route in self.routes:
            match = route.regex.match(req.path)
            if match:
                if route.method != req.method:
                    return Response.json({"error": f"{req.method} not allowed"}, 405)
                return self._answer(route, req, match.groupdict())
        return Response.json({"error": f"no route {req.path}"}, 404)

    def _records(self, route: Route, params: dict[str, str]) -> list[dict[str, Any]]:
        """A route's records for these path values (made once: the same on every request)."""
        key = (id(route), tuple(sorted(params.items())))
        with self._lock:
            if key not in self._made:
                self._made[key] = route.records(params)
            return self._made[key]

    def _answer(self, route: Route, req: Request, params: dict[str, str]) -> Response:
        arg = _reader(req, params)
        records = route.filtered(self._records(route, params), arg)
        start, size, token = _window(route.paging, arg, records)
        page = records[start:start + size]
        more = start + size < len(records)
        nxt = _next_token(route.paging, start + size, token, page) if more else None
        next_url = _url_with(req, route.paging, nxt) if more else None
        values = {
            "$records": page, "$record": page[0] if page else {}, "$total": len(records), "$next": nxt,
            "$next_url": next_url, "$link": f'<{next_url}>; rel="next"' if next_url else None,
            "$has_more": more, "$page": token,
        }
        headers = {str(k): _render(v, values, more) for k, v in (route.spec.get("headers") or {}).items()}
        body = _render(route.spec.get("body", "$records"), values, more)
        if route.spec.get("format") or route.spec.get("gzip"):
            return file_response(route.spec, page, body, {k: str(v) for k, v in headers.items() if v is not None})
        return Response.json(body, **{k: str(v) for k, v in headers.items() if v is not None})


def _header(value: Any) -> str:
    """A fault's header value; ``$epoch+N`` is the epoch seconds at the answer plus N (a reset time)."""
    m = _EPOCH.match(str(value))
    return str(int(time.time()) + int(m.group(1) or 0)) if m else str(value)


def _reader(req: Request, path_values: dict[str, str]) -> Any:
    """Parameter lookup: query, then JSON body (``a.b`` nests), then form body, then the path's values;
    ``header:X-Name`` is a request header."""
    body: Any = None
    if req.body:
        try:
            body = json.loads(req.body)
        except ValueError:
            body = dict(parse_qsl(req.body.decode("utf-8", "replace")))

    def arg(name: Any) -> Any:
        if not name:
            return None
        if str(name).startswith("header:"):
            return req.header(str(name)[7:])
        if req.arg(str(name)) is not None:
            return req.arg(str(name))
        node = body
        for part in str(name).split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node if node is not None else path_values.get(str(name))

    return arg


def _window(paging: dict[str, Any], arg: Any, records: list[dict[str, Any]]) -> tuple[int, int, Any]:
    """(first record index, page size, this page's token) from the request."""
    kind = paging.get("type", "none")
    if kind == "none":
        return 0, max(len(records), 1), None
    size = int(arg(paging.get("limit")) or paging.get("size") or 10)
    size = min(size, int(paging.get("max_size") or size))
    if kind == "offset":
        offset = int(arg(paging.get("offset", "offset")) or 0)
        return offset, size, offset
    if kind == "page":
        first = int(paging.get("first", 1))
        page = int(arg(paging.get("page", "page")) or first)
        return (page - first) * size, size, page
    if kind == "cursor":
        token = arg(paging.get("cursor", "cursor"))
        return (int(str(token)[1:]) if token else 0), size, token
    if kind == "after":
        token, key = arg(paging.get("after", "after")), paging.get("key", "id")
        start = next((i + 1 for i, r in enumerate(records) if str(r.get(key)) == str(token)), 0) if token else 0
        return start, size, token
    raise ValueError(f"unknown paging type {kind!r}")


def _next_token(paging: dict[str, Any], next_start: int, token: Any, page: list[dict[str, Any]]) -> Any:
    kind = paging.get("type")
    if kind == "offset":
        return next_start
    if kind == "page":
        return int(token) + 1
    if kind == "after":
        return page[-1].get(paging.get("key", "id")) if page else None
    return f"c{next_start}"


def _url_with(req: Request, paging: dict[str, Any], token: Any) -> str:
    """This request's URL with the next token in its query parameter (for next URLs and Link headers)."""
    name = {"offset": paging.get("offset", "offset"), "page": paging.get("page", "page"),
            "cursor": paging.get("cursor", "cursor"), "after": paging.get("after", "after")}.get(paging.get("type", ""), "page")
    pairs = [(k, v) for k, values in req.query.items() for v in values if k != name]
    return f"http://{req.header('Host')}{req.path}?{urlencode([*pairs, (name, token)])}"


def _render(template: Any, values: dict[str, Any], more: bool) -> Any:
    if isinstance(template, str):
        return values.get(template, template) if template.startswith("$") else template
    if isinstance(template, dict):
        if "$chunks" in template:
            n, page = int(template["$chunks"]), values["$records"]
            return [_render(template["each"], {**values, "$records": page[i:i + n], "$record": page[i]}, more)
                    for i in range(0, len(page), n)]
        out = {}
        for key, value in template.items():
            if isinstance(value, dict) and "$if_more" in value:
                if not more:
                    continue
                value = value["$if_more"]
            out[key] = _render(value, values, more)
        return out
    if isinstance(template, list):
        return [_render(v, values, more) for v in template]
    return template
