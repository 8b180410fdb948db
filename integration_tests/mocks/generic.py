"""A configurable generic REST API for the CLI tests: every auth type, every paginator, faults.

The routes mirror real APIs (API-NOTES.md) so a paginator that passes here would pass there:

- ``/v1/cursor``: ``{"data": [...], "next_cursor": "c2"}``, ``null`` on the last page (demo, Anthropic)
- ``/v1/cursor_header``: a bare array, the next cursor in ``X-Next-Cursor``, absent on the last page
- ``POST /v1/search``: JSON body ``{"limit", "after"}``, ``paging.next.after``, no ``paging`` at the end (HubSpot)
- ``/v1/offset``: ``offset``/``limit``, ``{"items": [...], "meta": {"total": N}}``
- ``/v1/pages``: ``page``/``per_page``, ``result_info.total_pages`` (Cloudflare)
- ``/v1/link``: a bare array and an RFC 8288 ``Link`` header, no ``rel="next"`` at the end (GitHub)
- ``/v1/next``: ``nextRecordsUrl`` relative to the host, ``done: true`` at the end (Salesforce)
- ``/v1/hasmore``: ``starting_after=<last id>``, ``has_more: false`` at the end (Stripe)
- ``/v1/loop``: the same cursor forever; ``/v1/selflink``: ``rel="next"`` to itself; ``/v1/endless``: full pages forever
- ``/v1/sparse``: ``page``/``per_page``, ``{"data": [...], "page": N}``; an empty page leaves ``data`` out
- ``/v1/buckets``: OpenAI-style time buckets, ``{"data": [{"start_time", "results": [...]}]}``, ``per_page`` records a bucket
- ``/v1/xml``: ``page``/``per_page``, ``<response><items><item>...</item></items></response>``; ``<items/>`` when empty
- ``/v1/items/<id>/notes``: two child records of an item (a parent_stream partition)

Every list route honours ``updated_since`` (records with ``updated_at`` at or after it). Wrong
credentials get a 401 with a JSON error, as real APIs answer.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlencode

from integration_tests.mocks.common import multi_form, token_answer
from integration_tests.mocks.server import Faults, Request, Response
from integration_tests.mocks.session_login import login_answer, sent_token

CONNECTORS_DIR = Path(__file__).resolve().parent.parent / "connectors_for_tests"
UNAUTHORIZED = {"error": {"type": "unauthorized", "message": "invalid credentials"}}


def make_items(n: int) -> list[dict[str, Any]]:
    """``n`` records, ``updated_at`` one minute apart and ascending."""
    return [
        {"id": f"it_{i:03d}", "n": i, "name": f"item {i}", "updated_at": f"2024-01-01T{i // 60:02d}:{i % 60:02d}:00Z"}
        for i in range(n)
    ]


class Credentials:
    """What the mock accepts. ``kind``: none, bearer, header, query, basic, oauth, session, jwt (a JWT
    signed with the key of ``public_key``, in ``<header_name>: <header_prefix><jwt>``, by default
    ``Authorization: Bearer <jwt>``, or in the query parameter ``param`` as it is), and oauth with ``public_key`` for the JWT bearer grant."""

    def __init__(self, kind: str = "none", **values: Any) -> None:
        self.kind, self.values = kind, values
        self.issued: list[str] = list(values.get("given", []))  # access tokens handed out (or given), in order
        self.revoked: set[str] = set()
        self.token_requests: list[dict[str, str]] = []
        self.jwts: list[dict[str, Any]] = []  # the claims of every JWT whose signature verified
        self.rejected = 0
        self.single_use = bool(values.get("single_use"))
        self._used: set[str] = set()
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def issue(self) -> str:
        with self._lock:
            token = f"{self.values.get('token_prefix', 'at')}-{next(self._counter)}"
            self.issued.append(token)
            return token

    def accepts(self, req: Request) -> bool:
        ok = self._accepts(req)
        if not ok:
            self.rejected += 1
        return ok

    def _accepts(self, req: Request) -> bool:
        v, kind = self.values, self.kind
        if kind == "none":
            return True
        if kind == "bearer":
            return req.header("Authorization") == f"Bearer {v['token']}"
        if kind == "header":
            return req.header(v["name"]) == v["value"]
        if kind == "query":
            return req.arg(v["name"]) == v["value"]
        if kind == "basic":
            expected = base64.b64encode(f"{v['username']}:{v['password']}".encode()).decode()
            return req.header("Authorization") == f"Basic {expected}"
        if kind == "keys":  # several keys, each with its own quota (``quotas``: key -> requests left)
            return req.header(v["name"]) in v["quotas"]
        if kind == "jwt":
            header, prefix = req.header(v.get("header_name", "Authorization")) or "", v.get("header_prefix", "Bearer ")
            sent = req.arg(v["param"]) if v.get("param") else (header[len(prefix):] if header.startswith(prefix) else "")
            audience = v.get("claims", {}).get("aud")
            return bool(sent) and self.verified_jwt(str(sent), audience) is not None
        token = sent_token(v, req)
        with self._lock:
            if token not in self.issued or token in self.revoked:
                return False
            if self.single_use:
                if token in self._used:
                    return False
                self._used.add(token)
            return True

    def verified_jwt(self, token: str, audience: str | None = None) -> dict[str, Any] | None:
        """The claims of a JWT signed with the private key of ``public_key`` (``algorithm``), with the
        ``claims`` this mock wants and a live ``exp``/``iat`` (GitHub: iat not in the future, exp at most
        10 minutes ahead); None when it is not (the real APIs answer 401)."""
        import jwt  # the jwt extra: the test environment has it

        v = self.values
        try:
            claims = jwt.decode(token, v["public_key"], algorithms=[v["algorithm"]], audience=audience,
                                options={"require": ["iat", "exp"]}, leeway=0)
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return None
        self.jwts.append(claims)
        if v.get("kid") is not None and kid != v["kid"]:
            return None
        now = time.time()
        if claims["iat"] > now or claims["exp"] > now + 600:
            return None
        return claims if all(claims.get(k) == want for k, want in v.get("claims", {}).items()) else None

    def login_response(self, req: Request) -> Response:
        """A session login (see session_login.py): a new token, or a 401."""
        return login_answer(self.values, req, self.issue)

    def token_response(self, req: Request, expires_in: int = 3600) -> Response:
        """An OAuth token endpoint: a refresh_token or client_credentials grant with these credentials.

        With ``form`` (every field and value, a list for a repeated field) the request must carry exactly
        that form and the ``token_headers`` given (the answer is then ``answer``, see :func:`token_answer`);
        with ``form_in: query`` that form is the query string and the body is empty. With ``refuse``
        (``{status, body}``) every token request is answered so.
        """
        form, v = req.form(), self.values
        self.token_requests.append(form)
        if "refuse" in v:
            return Response.json(v["refuse"].get("body"), int(v["refuse"].get("status", 400)))
        if "form" in v:
            return self._exact_token_response(req, expires_in)
        grant = form.get("grant_type")
        good_client = self._client_of(req, form) == (v.get("client_id"), v.get("client_secret"))
        if any(form.get(k) != want for k, want in v.get("token_params", {}).items()):
            good_client = False
        same_scope = form.get("scope", "") == v.get("scope", form.get("scope", ""))  # when the mock wants one
        if grant == "refresh_token":
            good = good_client and form.get("refresh_token") == v.get("refresh_token") and same_scope
        elif grant == "client_credentials":
            good = good_client and same_scope
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":  # RFC 7523: aud is this token URL
            audience = f"http://{req.header('Host')}{req.path}"
            good = self.verified_jwt(form.get("assertion", ""), audience) is not None
        else:
            good = False
        if not good:
            return Response.json({"error": "invalid_grant", "error_description": "bad client or grant"}, 400)
        return Response.json({"access_token": self.issue(), "token_type": "bearer", "expires_in": expires_in})

    def _exact_token_response(self, req: Request, expires_in: int) -> Response:
        v = self.values
        headers_ok = all(req.header(k) == want for k, want in (v.get("token_headers") or {}).items())
        in_query = v.get("form_in") == "query"  # the form is the query string, the body empty
        sent = {k: vs[0] if len(vs) == 1 else vs for k, vs in sorted(req.query.items())} if in_query else multi_form(req.body)
        if sent != v["form"] or not headers_ok or (in_query and req.body):
            return Response.json({"error": "invalid_request", "error_description": "not the expected form or headers"}, 400)
        return Response.json(token_answer(v.get("answer"), self.issue(), expires_in))

    def _client_of(self, req: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
        """The client's (id, secret): from the form, or with ``client_auth="basic"`` only from
        ``Authorization: Basic`` (each part form-encoded, RFC 6749 2.3.1; both places at once is refused)."""
        if self.values.get("client_auth") != "basic":
            return form.get("client_id"), form.get("client_secret")
        header = req.header("Authorization") or ""
        if not header.startswith("Basic ") or "client_secret" in form:
            return None, None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return unquote_plus(user), unquote_plus(password)


class GenericApi:
    """The mock handler: ``MockServer(GenericApi(items, creds=Credentials("bearer", token="t")))``."""

    def __init__(
        self,
        items: list[dict[str, Any]] | None = None,
        creds: Credentials | None = None,
        page_size: int = 5,
        faults: Faults | None = None,
        expires_in: int = 3600,
    ) -> None:
        self.items = make_items(15) if items is None else items
        self.creds = creds or Credentials()
        self.page_size = page_size
        self.faults = faults
        self.expires_in = expires_in
        self.on_list: Callable[[Request], Response | None] | None = None  # per-test hook before listing
        self._routes: dict[str, Callable[[Request, list[dict[str, Any]]], Response]] = {
            "/v1/cursor": self._cursor,
            "/v1/cursor_header": self._cursor_header,
            "/v1/search": self._search,
            "/v1/offset": self._offset,
            "/v1/pages": self._pages,
            "/v1/link": self._link,
            "/v1/hasmore": self._hasmore,
            "/v1/loop": self._loop,
            "/v1/endless": self._endless,
            "/v1/selflink": self._selflink,
            "/v1/sparse": self._sparse,
            "/v1/buckets": self._buckets,
            "/v1/xml": self._xml,
        }

    def __call__(self, req: Request) -> Response:
        if req.path == "/v1/oauth/token":
            return self._token(req)
        if req.path == "/v1/login":
            return self._login(req)
        if self.faults is not None and (fault := self.faults.take(req)) is not None:
            return fault
        if not self.creds.accepts(req):
            return Response.json(UNAUTHORIZED, 401)
        if self.creds.kind == "keys" and (spent := self._quota(req)) is not None:
            return spent
        if self.on_list is not None and (hooked := self.on_list(req)) is not None:
            return hooked
        items = self._filtered(req)
        if req.path.startswith("/v1/next"):
            return self._next(req, items)
        if req.path.startswith("/v1/items/") and req.path.endswith("/notes"):
            return self._notes(req.path.split("/")[3])
        route = self._routes.get(req.path)
        if route is None:
            return Response.json({"error": {"type": "not_found", "message": f"no route {req.path}"}}, 404)
        return route(req, items)

    def _quota(self, req: Request) -> Response | None:
        """A key with no requests left: 429 with ``Retry-After`` (``retry_after``), or with
        ``quota_status: 403`` YouTube's 403 ``quotaExceeded`` body. With ``refill``, a key's quota is
        back to that many requests once its Retry-After has passed (the quota period is over)."""
        v = self.creds.values
        key = req.header(v["name"]) or ""
        with self.creds._lock:
            self.creds.token_requests.append({"key": key})  # the keys sent, in order
            spent = v.setdefault("spent_at", {})
            if v["quotas"][key] == 0 and key in spent and time.monotonic() >= spent[key] + float(v["retry_after"]):
                v["quotas"][key], spent[key] = v.get("refill", 0), None
            if v["quotas"][key] > 0:
                v["quotas"][key] -= 1
                return None
            spent[key] = spent.get(key) or time.monotonic()
        if v.get("quota_status") == 403:
            return Response.json({"error": {"code": 403, "errors": [{"reason": "quotaExceeded", "domain":
                                 "youtube.quota"}], "message": "The request cannot be completed because you have "
                                 "exceeded your quota."}}, 403)
        return Response.json({"error": {"type": "rate_limited", "message": "quota exhausted"}}, 429,
                             **{"Retry-After": str(v.get("retry_after", "3600"))})

    # ---- auth endpoints -------------------------------------------------------------------
    def _token(self, req: Request) -> Response:
        return self.creds.token_response(req, self.expires_in)

    def _login(self, req: Request) -> Response:
        return self.creds.login_response(req)

    # ---- list routes ----------------------------------------------------------------------
    def _filtered(self, req: Request) -> list[dict[str, Any]]:
        since = req.arg("updated_since")
        if since is None and req.method == "POST" and req.body:
            since = (req.json() or {}).get("updated_since")
        return [r for r in self.items if since is None or r["updated_at"] >= since]

    def _limit(self, value: Any) -> int:
        return int(value) if value not in (None, "") else self.page_size

    def _cursor(self, req: Request, items: list[dict[str, Any]]) -> Response:
        start, limit = int(req.arg("cursor") or 0), self._limit(req.arg("limit"))
        page = items[start : start + limit]
        more = start + limit < len(items)
        return Response.json({"data": page, "next_cursor": str(start + limit) if more else None})

    def _cursor_header(self, req: Request, items: list[dict[str, Any]]) -> Response:
        start, limit = int(req.arg("cursor") or 0), self._limit(req.arg("limit"))
        headers = {"X-Next-Cursor": str(start + limit)} if start + limit < len(items) else {}
        return Response.json(items[start : start + limit], **headers)

    def _search(self, req: Request, items: list[dict[str, Any]]) -> Response:
        if req.method != "POST":
            return Response.json({"error": "search is POST only"}, 405)
        body = req.json() or {}
        start, limit = int(body.get("after") or 0), self._limit(body.get("limit"))
        out: dict[str, Any] = {"total": len(items), "results": items[start : start + limit]}
        if start + limit < len(items):
            out["paging"] = {"next": {"after": str(start + limit)}}
        return Response.json(out)

    def _offset(self, req: Request, items: list[dict[str, Any]]) -> Response:
        start, limit = int(req.arg("offset") or 0), self._limit(req.arg("limit"))
        return Response.json({"items": items[start : start + limit], "meta": {"total": len(items)}})

    def _pages(self, req: Request, items: list[dict[str, Any]]) -> Response:
        page, per = int(req.arg("page") or 1), self._limit(req.arg("per_page"))
        total_pages = max(1, -(-len(items) // per))
        info = {"page": page, "per_page": per, "total_pages": total_pages, "total_count": len(items)}
        return Response.json({"success": True, "result": items[(page - 1) * per : page * per], "result_info": info})

    def _link(self, req: Request, items: list[dict[str, Any]]) -> Response:
        page, per = int(req.arg("page") or 1), self._limit(req.arg("per_page"))
        base = f"http://{req.header('Host')}{req.path}"
        links = []
        if page * per < len(items):
            links.append(f'<{base}?{urlencode({"per_page": per, "page": page + 1})}>; rel="next"')
        if page > 1:
            links.append(f'<{base}?{urlencode({"per_page": per, "page": page - 1})}>; rel="prev"')
        headers = {"Link": ", ".join(links)} if links else {}
        return Response.json(items[(page - 1) * per : page * per], **headers)

    def _next(self, req: Request, items: list[dict[str, Any]]) -> Response:
        start = int(req.path.rsplit("/", 1)[1]) if req.path.startswith("/v1/next/") else 0
        page = items[start : start + self.page_size]
        done = start + self.page_size >= len(items)
        out: dict[str, Any] = {"totalSize": len(items), "done": done, "records": page}
        if not done:
            out["nextRecordsUrl"] = f"/v1/next/{start + self.page_size}"
        return Response.json(out)

    def _hasmore(self, req: Request, items: list[dict[str, Any]]) -> Response:
        after, limit = req.arg("starting_after"), self._limit(req.arg("limit"))
        start = next((i + 1 for i, r in enumerate(items) if r["id"] == after), 0) if after else 0
        page = items[start : start + limit]
        return Response.json({"object": "list", "data": page, "has_more": start + limit < len(items)})

    def _loop(self, req: Request, items: list[dict[str, Any]]) -> Response:
        return Response.json({"data": items[:1], "next_cursor": "same-cursor"})

    def _selflink(self, req: Request, items: list[dict[str, Any]]) -> Response:
        url = f"http://{req.header('Host')}{req.url}"
        return Response.json(items[:2], Link=f'<{url}>; rel="next"')

    def _endless(self, req: Request, items: list[dict[str, Any]]) -> Response:
        page = int(req.arg("page") or 1)
        return Response.json({"data": [{"id": f"e_{page}_{i}", "page": page} for i in range(self.page_size)]})


    def _page(self, req: Request, items: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
        page, per = int(req.arg("page") or 1), self._limit(req.arg("per_page"))
        return page, items[(page - 1) * per : page * per]

    def _sparse(self, req: Request, items: list[dict[str, Any]]) -> Response:
        page, rows = self._page(req, items)
        return Response.json({"data": rows, "page": page} if rows else {"page": page})

    def _buckets(self, req: Request, items: list[dict[str, Any]]) -> Response:
        per = self._limit(req.arg("per_page"))
        buckets = [{"object": "bucket", "start_time": i, "results": items[i : i + per]} for i in range(0, len(items), per)]
        return Response.json({"object": "page", "data": buckets, "has_more": False})

    def _xml(self, req: Request, items: list[dict[str, Any]]) -> Response:
        _, rows = self._page(req, items)
        inner = "".join(f'<item id="{r["id"]}"><name>{r["name"]}</name><updated_at>{r["updated_at"]}</updated_at></item>'
                        for r in rows)
        body = f'<?xml version="1.0"?><response><items>{inner}</items></response>' if rows else \
            '<?xml version="1.0"?><response><items/></response>'
        return Response(body=body, headers={"Content-Type": "application/xml"})

    def _notes(self, item_id: str) -> Response:
        if not any(r["id"] == item_id for r in self.items):  # an unknown parent id: a 404 as real APIs answer
            return Response.json({"error": {"type": "not_found", "message": f"no item {item_id}"}}, 404)
        updated = next(r["updated_at"] for r in self.items if r["id"] == item_id)
        return Response.json({"data": [{"id": f"{item_id}-n{i}", "item_id": item_id, "updated_at": updated}
                                       for i in (1, 2)]})


def json_body(obj: Any) -> str:
    """Compact JSON, for config flags."""
    return json.dumps(obj, separators=(",", ":"))


def connector(name: str) -> str:
    """Path of a test connector YAML under integration_tests/connectors_for_tests/."""
    return str(CONNECTORS_DIR / f"{name}.yaml")
