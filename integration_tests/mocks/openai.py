"""An OpenAI Admin API mock: organization usage/costs buckets, users and projects (API-NOTES.md section 2).

Enforced like the real API:
- ``Authorization: Bearer <admin key>``, else 401 ``invalid_api_key``;
- ``start_time`` is required (400 otherwise), ``end_time`` exclusive (default: now), ``bucket_width``
  ``1d``; ``limit`` counts buckets (usage max 31, costs max 180, default 7); empty days are buckets
  with ``results: []``; ``page=<next_page>`` continues, the last page has ``has_more: false`` and
  ``next_page: null``;
- ``group_by`` (form style, repeated key) only with the dimensions the endpoint allows; results
  are summed over the other dimensions, which come back as null;
- users/projects lists: ``limit`` 1..100 (default 20), ``after=<id>``, ``has_more``, ``last_id``;
  archived projects only with ``include_archived=true``;
- 429 with ``Retry-After`` (integer seconds) and the error envelope, armed once.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from integration_tests.mocks.common import ArmedFaults
from integration_tests.mocks.server import Request, Response

ADMIN_KEY = "sk-admin-mockF7s9Qw2LxR4tY8uP0aZ3"
DAY = 86_400
T0 = 1_735_689_600  # 2025-01-01T00:00:00Z
NOW = T0 + 100 * DAY  # the mock's "now": 100 daily buckets since T0

Record = dict[str, Any]
PROJECTS = [f"proj_{hashlib.sha1(f'p{i}'.encode()).hexdigest()[:20]}" for i in range(12)]
MODELS = ["gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "o1-2024-12-17"]
_BASE_DIMS = ["project_id", "user_id", "api_key_id", "model"]

# endpoint -> (group-by dimensions it allows, metric names)
ENDPOINTS: dict[str, tuple[list[str], list[str]]] = {
    "completions": ([*_BASE_DIMS, "batch", "service_tier"],
                    ["input_tokens", "output_tokens", "input_cached_tokens", "input_audio_tokens",
                     "output_audio_tokens", "num_model_requests"]),
    "embeddings": (_BASE_DIMS, ["input_tokens", "num_model_requests"]),
    "moderations": (_BASE_DIMS, ["input_tokens", "num_model_requests"]),
    "images": ([*_BASE_DIMS, "size", "source"], ["images", "num_model_requests"]),
    "audio_speeches": (_BASE_DIMS, ["characters", "num_model_requests"]),
    "audio_transcriptions": (_BASE_DIMS, ["seconds", "num_model_requests"]),
    "vector_stores": (["project_id"], ["usage_bytes"]),
    "code_interpreter_sessions": (["project_id"], ["num_sessions"]),
    "costs": (["project_id", "line_item", "api_key_id"], ["amount"]),
}

# stream -> (endpoint, group_by)
STREAMS: dict[str, tuple[str, str | None]] = {
    "usage_completions": ("completions", None),
    "usage_completions_by_model": ("completions", "model"),
    "usage_completions_by_project": ("completions", "project_id"),
    "usage_embeddings": ("embeddings", None),
    "usage_embeddings_by_model": ("embeddings", "model"),
    "usage_images": ("images", None),
    "usage_images_by_model": ("images", "model"),
    "usage_audio_speeches": ("audio_speeches", None),
    "usage_audio_transcriptions": ("audio_transcriptions", None),
    "usage_moderations": ("moderations", None),
    "usage_vector_stores": ("vector_stores", None),
    "usage_code_interpreter": ("code_interpreter_sessions", None),
    "costs": ("costs", None),
    "costs_by_project": ("costs", "project_id"),
    "costs_by_line_item": ("costs", "line_item"),
}


def _error(status: int, message: str, code: str | None = None, param: str | None = None,
           kind: str = "invalid_request_error", **headers: str) -> Response:
    return Response.json({"error": {"message": message, "type": kind, "param": param, "code": code}},
                         status, **headers)


def _raw_rows(endpoint: str, day: int) -> list[Record]:
    """The day's usage before aggregation: one row per (model, project) used that day."""
    if day % 9 == 4:
        return []  # no usage: the bucket is still returned, with results: []
    dims, metrics = ENDPOINTS[endpoint]
    rows = []
    for k, model in enumerate(MODELS[: 1 + day % 3]):
        row: Record = {"project_id": PROJECTS[(day + k) % 2], "user_id": None,
                       "api_key_id": f"key_{(day + k) % 3}", "model": model, "batch": False,
                       "service_tier": "default", "size": "1024x1024", "source": "image.generation",
                       "line_item": f"{model}, {'input' if k % 2 == 0 else 'output'}"}
        row = {d: row[d] for d in dims}
        for m_i, metric in enumerate(metrics):
            amount = (day + 1) * (k + 1) * (m_i + 3)
            row[metric] = {"value": round(amount * 0.01, 2), "currency": "usd"} if metric == "amount" else amount
        rows.append(row)
    return rows


def _aggregate(endpoint: str, rows: list[Record], group_by: list[str]) -> list[Record]:
    dims, metrics = ENDPOINTS[endpoint]
    obj = "organization.costs.result" if endpoint == "costs" else f"organization.usage.{endpoint}.result"
    groups: dict[tuple[Any, ...], Record] = {}
    for row in rows:
        key = tuple(row[g] for g in group_by)
        out = groups.get(key)
        if out is None:
            out = groups[key] = {"object": obj, **{d: (row[d] if d in group_by else None) for d in dims}}
            for metric in metrics:
                out[metric] = {"value": 0.0, "currency": "usd"} if metric == "amount" else 0
        for metric in metrics:
            if metric == "amount":
                out["amount"]["value"] = round(out["amount"]["value"] + row["amount"]["value"], 2)
            else:
                out[metric] += row[metric]
    results = list(groups.values())
    if endpoint == "costs":
        for r in results:
            r.update(quantity=None, quantity_unit=None)
    return results


def _bucket(endpoint: str, start: int, group_by: list[str]) -> Record:
    day = (start - T0) // DAY
    return {"object": "bucket", "start_time": start, "end_time": start + DAY,
            "results": _aggregate(endpoint, _raw_rows(endpoint, day), group_by)}


class OpenAIMock:
    """Deterministic organization usage since 2025-01-01 and a handler that serves it like OpenAI."""

    streams_with_data = [*STREAMS, "users", "projects"]

    def __init__(self) -> None:
        self.users = [{"object": "organization.user", "id": f"user-{hashlib.sha1(f'u{i}'.encode()).hexdigest()[:24]}",
                       "name": f"User {i}", "email": f"user{i}@example.com",
                       "role": "owner" if i == 0 else "reader", "added_at": T0 - (300 - i) * 3600}
                      for i in range(210)]
        self.projects = [{"id": pid, "object": "organization.project", "name": f"Project {i}",
                          "created_at": T0 - (50 - i) * DAY, "archived_at": T0 if i >= 10 else None,
                          "status": "archived" if i >= 10 else "active"} for i, pid in enumerate(PROJECTS)]
        self.now = NOW  # tests move it forward to simulate days passing between syncs
        self.faults = ArmedFaults()

    # -- contract shared with the server and acceptance tests -----------------------------------
    def config(self, base_url: str) -> dict[str, Any]:
        return {"admin_api_key": ADMIN_KEY, "start_time": str(T0), "base_url": f"{base_url.rstrip('/')}/v1"}

    def cursor_field(self, stream: str) -> str | None:
        return "start_time" if stream in STREAMS else None

    def expected_records(self, stream: str, config_state: Any = None, start_time: int = T0) -> list[Record]:
        """Every result of every bucket from start (or the state's bucket) to now, flattened."""
        if stream == "users":
            return list(self.users)
        if stream == "projects":
            return list(self.projects)
        endpoint, group = STREAMS[stream]
        since = _cursor_of(config_state)
        start = _floor_day(max(start_time, int(since)) if since is not None else start_time)
        out = []
        for t in range(start, self.now, DAY):
            bucket = _bucket(endpoint, t, [group] if group else [])
            out += [{**r, "start_time": t, "end_time": t + DAY} for r in bucket["results"]]
        return out

    def inject_429(self, path_prefix: str, after: int = 1, retry_after: str = "1") -> None:
        """Answer one request under path_prefix with 429 after `after` matching requests."""
        self.faults.arm(path_prefix, after + 1, retry_after=retry_after)

    # -- HTTP ----------------------------------------------------------------------------------
    def handler(self, req: Request) -> Response:
        if req.header("Authorization") != f"Bearer {ADMIN_KEY}":
            shown = (req.header("Authorization") or "")[7:15]
            return _error(401, f"Incorrect API key provided: {shown}****. You can find your API key at "
                               "https://platform.openai.com/account/api-keys.", code="invalid_api_key")
        limited = self._take_429(req.path)
        if limited:
            return limited
        if req.path == "/v1/organization/users":
            return self._list(req, self.users)
        if req.path == "/v1/organization/projects":
            rows = self.projects if req.arg("include_archived") == "true" else [
                p for p in self.projects if p["archived_at"] is None]
            return self._list(req, rows)
        if req.path == "/v1/organization/costs":
            return self._buckets(req, "costs", 180)
        prefix = "/v1/organization/usage/"
        if req.path.startswith(prefix) and req.path[len(prefix):] in ENDPOINTS:
            return self._buckets(req, req.path[len(prefix):], 31)
        return _error(404, f"Invalid URL ({req.method} {req.path})")

    def _take_429(self, path: str) -> Response | None:
        due = self.faults.take(path)
        if due is None:
            return None
        return _error(429, "Rate limit reached for requests", code="rate_limit_exceeded",
                      kind="requests", **{"Retry-After": due["retry_after"]})

    def _buckets(self, req: Request, endpoint: str, max_limit: int) -> Response:
        start_raw, end_raw = req.arg("start_time"), req.arg("end_time")
        if start_raw is None:
            return _error(400, "Missing required parameter: 'start_time'.", "missing_required_parameter", "start_time")
        if not start_raw.isdigit() or (end_raw is not None and not end_raw.isdigit()):
            return _error(400, "Invalid type for 'start_time': expected an integer.", "invalid_type", "start_time")
        if req.arg("bucket_width", "1d") != "1d":
            return _error(400, "Invalid value for 'bucket_width': this mock serves 1d only.", None, "bucket_width")
        limit_raw = req.arg("limit", "7") or "7"
        if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= max_limit:
            return _error(400, f"Invalid 'limit': must be between 1 and {max_limit} for 1d buckets.", None, "limit")
        group_by = req.query.get("group_by", [])
        allowed = ENDPOINTS[endpoint][0]
        bad = [g for g in group_by if g not in allowed]
        if bad or any(k.startswith("group_by[") for k in req.query):
            return _error(400, f"Invalid value for 'group_by': must be a subset of {allowed}.", None, "group_by")
        cursor = _floor_day(int(start_raw))
        page = req.arg("page")
        if page:
            try:
                cursor = int(base64.b64decode(page.removeprefix("page_")).decode())
            except (ValueError, UnicodeDecodeError):
                return _error(400, "Invalid page token.", None, "page")
        end = min(int(end_raw), self.now) if end_raw else self.now
        starts = list(range(cursor, end, DAY))
        here, rest = starts[: int(limit_raw)], starts[int(limit_raw):]
        token = "page_" + base64.b64encode(str(rest[0]).encode()).decode() if rest else None
        return Response.json({"object": "page", "data": [_bucket(endpoint, t, group_by) for t in here],
                              "has_more": bool(rest), "next_page": token})

    def _list(self, req: Request, rows: list[Record]) -> Response:
        limit_raw = req.arg("limit", "20") or "20"
        if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= 100:
            return _error(400, "Invalid 'limit': must be between 1 and 100.", None, "limit")
        after = req.arg("after")
        if after:
            ids = [r["id"] for r in rows]
            if after not in ids:
                return _error(400, f"Invalid 'after': no object with id {after}.", None, "after")
            rows = rows[ids.index(after) + 1:]
        page, more = rows[: int(limit_raw)], len(rows) > int(limit_raw)
        return Response.json({"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                              "last_id": page[-1]["id"] if page else None, "has_more": more})


def _floor_day(ts: int) -> int:
    return ts - ts % DAY


def _cursor_of(state: Any) -> Any:
    if isinstance(state, dict):
        return state.get("cursor", state.get("start_time"))
    return state


MOCK_CLASS = OpenAIMock
