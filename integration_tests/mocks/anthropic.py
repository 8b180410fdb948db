"""An Anthropic Admin API mock: usage/cost reports, Claude Code usage and object lists (API-NOTES.md section 3).

Enforced like the real API:
- ``x-api-key`` (401 ``authentication_error`` otherwise) and ``anthropic-version`` (400 without);
- reports: ``starting_at`` RFC 3339 required and snapped to the day, buckets oldest first up to
  now (today's bucket included), empty days as ``results: []``, ``limit`` = buckets (1d: default
  7, max 31), ``group_by[]`` dimensions (a plain ``group_by`` is ignored, as unknown parameters
  are), ``page=<next_page>`` until ``has_more: false``/``next_page: null``;
- Claude Code: ``starting_at`` must be one ``YYYY-MM-DD`` day, ``limit`` 1..1000 (default 20);
- lists: ``limit`` 1..1000 (default 20), ``after_id``, ``first_id``/``last_id``/``has_more``;
  archived workspaces only with ``include_archived=true``;
- 429 ``rate_limit_error`` with ``retry-after`` (seconds), armed once.

Dates are relative to the day the mock is made, because the connector walks Claude Code days up to
the real today.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from integration_tests.mocks.common import ArmedFaults
from integration_tests.mocks.server import Request, Response

ADMIN_KEY = "sk-ant-admin01-mockQ8w7e6r5t4y3u2i1o0p-XYZ"
VERSION = "2023-06-01"
MODELS = ["claude-sonnet-4-20250514", "claude-opus-4-1-20250805", "claude-3-5-haiku-20241022"]
MODEL_NAMES = {MODELS[0]: "Claude Sonnet 4", MODELS[1]: "Claude Opus 4.1", MODELS[2]: "Claude Haiku 3.5"}
MSG_DIMS = ["api_key_id", "workspace_id", "model", "service_tier", "context_window", "inference_geo",
            "account_id", "service_account_id"]
COST_DIMS = ["cost_type", "description", "model", "service_tier", "token_type", "context_window",
             "inference_geo", "workspace_id"]

Record = dict[str, Any]


def _hid(prefix: str, seed: str, n: int = 24) -> str:
    return f"{prefix}_{hashlib.sha1(seed.encode()).hexdigest()[:n]}"


WORKSPACES = [_hid("wrkspc", f"w{i}") for i in range(5)]
API_KEYS = [_hid("apikey", f"k{i}") for i in range(7)]


def _iso(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _error(status: int, kind: str, message: str, **headers: str) -> Response:
    return Response.json({"type": "error", "error": {"type": kind, "message": message},
                          "request_id": "req_011CMockRequest"}, status, **headers)


def _usage_rows(day: date) -> list[Record]:
    """The day's message usage before grouping: one row per model used that day."""
    d = day.toordinal()
    if d % 9 == 4:
        return []
    rows = []
    for k, model in enumerate(MODELS[: 1 + d % 3]):
        n = (d % 50 + 1) * (k + 1)
        rows.append({
            "api_key_id": API_KEYS[(d + k) % 2], "workspace_id": [None, WORKSPACES[0], WORKSPACES[1]][(d + k) % 3],
            "model": model, "service_tier": ["standard", "batch"][k % 2], "context_window": "0-200k",
            "inference_geo": "global", "account_id": None, "service_account_id": None,
            "uncached_input_tokens": 1500 * n, "cache_read_input_tokens": 200 * n,
            "cache_creation": {"ephemeral_1h_input_tokens": 100 * n, "ephemeral_5m_input_tokens": 50 * n},
            "output_tokens": 500 * n, "server_tool_use": {"web_search_requests": n % 4},
        })
    return rows


def _cost_rows(day: date) -> list[Record]:
    out = []
    for row in _usage_rows(day):
        for token_type, cents in (("uncached_input_tokens", "0.0003"), ("output_tokens", "0.0015")):
            tokens = row[token_type]
            out.append({
                "amount": Decimal(cents) * tokens, "currency": "USD", "cost_type": "tokens",
                "description": f"{MODEL_NAMES[row['model']]} Usage - "
                               f"{'Input' if token_type.startswith('uncached') else 'Output'} Tokens",
                "model": row["model"], "service_tier": row["service_tier"], "token_type": token_type,
                "context_window": row["context_window"], "inference_geo": row["inference_geo"],
                "workspace_id": row["workspace_id"],
            })
    return out


def _sum_into(target: Record, row: Record, key: str) -> None:
    value = row[key]
    if isinstance(value, dict):
        for k, v in value.items():
            target[key][k] = target[key][k] + v
    else:
        target[key] = target[key] + value


def _group(rows: list[Record], dims: list[str], metrics: list[str], group_by: list[str],
           follows: dict[str, list[str]]) -> list[Record]:
    """Sum metrics over rows sharing the group_by values; ungrouped dimensions are null.

    ``follows`` lists dimensions fully determined by a grouped one (a cost line item's description
    fixes its model and token type), which the API fills in too.
    """
    shown = set(group_by) | {d for g in group_by for d in follows.get(g, [])}
    groups: dict[tuple[Any, ...], Record] = {}
    for row in rows:
        key = tuple(row[g] for g in group_by)
        if key not in groups:
            groups[key] = {**{m: (dict(row[m]) if isinstance(row[m], dict) else row[m]) for m in metrics},
                           **{d: (row[d] if d in shown else None) for d in dims}}
        else:
            for m in metrics:
                _sum_into(groups[key], row, m)
    return list(groups.values())


def _claude_code_records(day: date) -> list[Record]:
    d = day.toordinal()
    count = 230 if d % 4 == 0 else 2 + d % 3
    out = []
    for i in range(count):
        actor = ({"type": "api_actor", "api_key_name": f"ci-key-{i}"} if i % 5 == 4
                 else {"type": "user_actor", "email_address": f"dev{i}@example.com"})
        out.append({
            "date": _iso(day), "actor": actor, "organization_id": "12345678-1234-5678-1234-567812345678",
            "customer_type": "api", "subscription_type": None, "terminal_type": ["vscode", "iTerm.app"][i % 2],
            "is_remote": False,
            "core_metrics": {"num_sessions": 1 + i % 4, "lines_of_code": {"added": 10 * i, "removed": i},
                             "commits_by_claude_code": i % 3, "pull_requests_by_claude_code": i % 2},
            "tool_actions": {"edit_tool": {"accepted": i, "rejected": i % 2}},
            "model_breakdown": [{"model": MODELS[i % 3],
                                 "tokens": {"input": 100 * i, "output": 20 * i, "cache_read": 0, "cache_creation": 0},
                                 "estimated_cost": {"amount": 12 * i, "currency": "USD"}}],
        })
    return out


class AnthropicMock:
    """Deterministic organization data around the current day and a handler serving it like Anthropic."""

    streams_with_data = ["organization", "usage_messages", "usage_messages_by_model", "usage_messages_by_workspace",
                         "usage_messages_by_api_key", "usage_messages_by_service_tier", "usage_messages_detailed",
                         "cost_report", "cost_report_by_workspace", "cost_report_by_line_item", "usage_claude_code",
                         "usage_claude_code_by_user", "workspaces", "users", "api_keys", "invites",
                         "workspace_members"]
    REPORTS: dict[str, tuple[str, list[str]]] = {
        "usage_messages": ("messages", []), "usage_messages_by_model": ("messages", ["model"]),
        "usage_messages_by_workspace": ("messages", ["workspace_id"]),
        "usage_messages_by_api_key": ("messages", ["api_key_id"]),
        "usage_messages_by_service_tier": ("messages", ["service_tier"]),
        "usage_messages_detailed": ("messages", ["model", "workspace_id", "service_tier"]),
        "cost_report": ("cost", []), "cost_report_by_workspace": ("cost", ["workspace_id"]),
        "cost_report_by_line_item": ("cost", ["description"]),
    }

    def __init__(self) -> None:
        self.today = datetime.now(timezone.utc).date()
        self.start = self.today - timedelta(days=100)  # 101 daily buckets up to and including today
        self.lists: dict[str, list[Record]] = {
            "workspaces": [{"id": w, "type": "workspace", "name": f"Workspace {i}",
                            "created_at": f"2024-0{i + 1}-01T00:00:00Z", "display_color": "#6C5BB9",
                            "archived_at": "2025-01-01T00:00:00Z" if i == 4 else None}
                           for i, w in enumerate(WORKSPACES)],
            "users": [{"id": _hid("user", f"u{i}"), "type": "user", "email": f"dev{i}@example.com",
                       "name": f"Dev {i}", "role": "admin" if i == 0 else "developer",
                       "added_at": f"2024-10-30T23:{i % 60:02d}:27.427722Z"} for i in range(210)],
            "api_keys": [{"id": k, "type": "api_key", "name": f"key {i}", "status": "active" if i % 3 else "archived",
                          "created_at": "2025-01-01T00:00:00Z", "created_by": {"id": _hid("user", "u0"), "type": "user"},
                          "partial_key_hint": f"sk-ant-api03-R2D...ig{i:02d}", "workspace_id": WORKSPACES[i % 2],
                          "expires_at": None} for i, k in enumerate(API_KEYS)],
            "invites": [{"id": _hid("invite", f"i{i}"), "type": "invite", "email": f"new{i}@example.com",
                         "role": "user", "invited_at": "2025-02-01T00:00:00Z", "expires_at": "2025-02-22T00:00:00Z",
                         "status": ["pending", "accepted", "expired"][i]} for i in range(3)],
        }
        self.members = {w: [{"type": "workspace_member", "user_id": _hid("user", f"u{j}"), "workspace_id": w,
                             "workspace_role": "workspace_admin" if j == 0 else "workspace_developer"}
                            for j in range(2 + i % 3)] for i, w in enumerate(WORKSPACES)}
        self.faults = ArmedFaults()

    # -- contract shared with the server and acceptance tests -----------------------------------
    def config(self, base_url: str) -> dict[str, Any]:
        return {"admin_api_key": ADMIN_KEY, "start_date": _iso(self.start),
                "start_date_short": (self.today - timedelta(days=4)).isoformat(), "base_url": base_url.rstrip("/")}

    def cursor_field(self, stream: str) -> str | None:
        if stream in self.REPORTS:
            return "starting_at"
        return "date" if stream.startswith("usage_claude_code") else None

    def expected_records(self, stream: str, config_state: Any = None) -> list[Record]:
        since = config_state.get("cursor") if isinstance(config_state, dict) else config_state
        if stream in self.REPORTS:
            first = date.fromisoformat(since[:10]) if since else self.start
            return [rec for day in _days(first, self.today) for rec in self._bucket(stream, day)["results"]]
        if stream.startswith("usage_claude_code"):
            first = date.fromisoformat(since[:10]) if since else self.today - timedelta(days=4)
            return [{**r, "actor_type": r["actor"]["type"],
                     "actor_id": r["actor"].get("email_address") or r["actor"].get("api_key_name")}
                    for day in _days(first, self.today) for r in _claude_code_records(day)]
        if stream == "organization":
            return [self._org()]
        if stream == "workspace_members":
            return [m for w in WORKSPACES for m in self.members[w]]
        return list(self.lists[stream])

    def inject_429(self, path_prefix: str, after: int = 1, retry_after: str = "1") -> None:
        """Answer one request under path_prefix with 429 after `after` matching requests."""
        self.faults.arm(path_prefix, after + 1, retry_after=retry_after)

    # -- data ----------------------------------------------------------------------------------
    @staticmethod
    def _org() -> Record:
        return {"id": "12345678-1234-5678-1234-567812345678", "type": "organization", "name": "Mock Org"}

    def _bucket(self, stream_or_kind: str, day: date, group_by: list[str] | None = None) -> Record:
        kind, groups = self.REPORTS.get(stream_or_kind, (stream_or_kind, group_by or []))
        if kind == "messages":
            metrics = ["uncached_input_tokens", "cache_read_input_tokens", "cache_creation", "output_tokens",
                       "server_tool_use"]
            results = _group(_usage_rows(day), MSG_DIMS, metrics, groups, {})
        else:
            follows = {"description": ["cost_type", "model", "service_tier", "token_type", "context_window",
                                       "inference_geo"]}
            results = _group(_cost_rows(day), COST_DIMS, ["amount", "currency"], groups, follows)
            for r in results:
                r["amount"], r["currency"] = str(r["amount"]), "USD"
        carry = {"starting_at": _iso(day), "ending_at": _iso(day + timedelta(days=1))}
        return {**carry, "results": [{**r, **carry} for r in results]}

    # -- HTTP ----------------------------------------------------------------------------------
    def handler(self, req: Request) -> Response:
        if req.header("x-api-key") != ADMIN_KEY:
            return _error(401, "authentication_error", "invalid x-api-key")
        if not req.header("anthropic-version"):
            return _error(400, "invalid_request_error", "anthropic-version: header is required")
        due = self.faults.take(req.path)
        if due is not None:
            return _error(429, "rate_limit_error", "Number of request tokens has exceeded your "
                          "per-minute rate limit", **{"retry-after": due["retry_after"]})
        return self._route(req)

    def _route(self, req: Request) -> Response:
        base = "/v1/organizations"
        if req.path == f"{base}/me":
            return Response.json(self._org())
        if req.path == f"{base}/usage_report/messages":
            return self._report(req, "messages")
        if req.path == f"{base}/cost_report":
            return self._report(req, "cost")
        if req.path == f"{base}/usage_report/claude_code":
            return self._claude_code(req)
        name = req.path.removeprefix(f"{base}/")
        if name in self.lists:
            rows = self.lists[name]
            if name == "workspaces" and req.arg("include_archived") != "true":
                rows = [w for w in rows if w["archived_at"] is None]
            return self._list(req, rows)
        parts = name.split("/")
        if len(parts) == 3 and parts[0] == "workspaces" and parts[2] == "members" and parts[1] in self.members:
            return self._list(req, self.members[parts[1]], key="user_id")
        return _error(404, "not_found_error", f"Not found: {req.path}")

    def _report(self, req: Request, kind: str) -> Response:
        raw = req.arg("starting_at")
        if not raw:
            return _error(400, "invalid_request_error", "starting_at: Field required")
        try:
            first = datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(timezone.utc).date()
        except ValueError:
            return _error(400, "invalid_request_error", "starting_at: Input should be a valid datetime")
        if req.arg("bucket_width", "1d") != "1d":
            return _error(400, "invalid_request_error", "bucket_width: this mock serves 1d buckets only")
        limit = req.arg("limit", "7") or "7"
        if not limit.isdigit() or not 1 <= int(limit) <= 31:
            return _error(400, "invalid_request_error", "limit: must be between 1 and 31 for 1d buckets")
        group_by = req.query.get("group_by[]", [])
        allowed = MSG_DIMS if kind == "messages" else ["workspace_id", "description"]
        if any(g not in allowed for g in group_by):
            return _error(400, "invalid_request_error", f"group_by[]: must be one of {allowed}")
        if req.arg("page"):
            try:
                first = date.fromisoformat(base64.b64decode(req.arg("page", "")[5:]).decode())
            except ValueError:
                return _error(400, "invalid_request_error", "page: invalid page token")
        days = _days(first, self.today)
        here, rest = days[: int(limit)], days[int(limit):]
        token = "page_" + base64.b64encode(rest[0].isoformat().encode()).decode() if rest else None
        return Response.json({"data": [self._bucket(kind, d, group_by) for d in here],
                              "has_more": bool(rest), "next_page": token})

    def _claude_code(self, req: Request) -> Response:
        raw = req.arg("starting_at") or ""
        try:
            day = date.fromisoformat(raw)
            if len(raw) != 10:
                raise ValueError(raw)
        except ValueError:
            return _error(400, "invalid_request_error", "starting_at: must be a date in YYYY-MM-DD format")
        limit = req.arg("limit", "20") or "20"
        if not limit.isdigit() or not 1 <= int(limit) <= 1000:
            return _error(400, "invalid_request_error", "limit: must be between 1 and 1000")
        rows = _claude_code_records(day) if day <= self.today else []
        offset = int(base64.b64decode(req.arg("page", "")[5:]).decode() or 0) if req.arg("page") else 0
        page, more = rows[offset: offset + int(limit)], offset + int(limit) < len(rows)
        token = "page_" + base64.b64encode(str(offset + int(limit)).encode()).decode() if more else None
        return Response.json({"data": page, "has_more": more, "next_page": token})

    @staticmethod
    def _list(req: Request, rows: list[Record], key: str = "id") -> Response:
        limit = req.arg("limit", "20") or "20"
        if not limit.isdigit() or not 1 <= int(limit) <= 1000:
            return _error(400, "invalid_request_error", "limit: must be between 1 and 1000")
        after = req.arg("after_id")
        if after:
            ids = [r[key] for r in rows]
            if after not in ids:
                return _error(400, "invalid_request_error", f"after_id: unknown id {after}")
            rows = rows[ids.index(after) + 1:]
        page = rows[: int(limit)]
        return Response.json({"data": page, "first_id": page[0][key] if page else None,
                              "last_id": page[-1][key] if page else None, "has_more": len(rows) > int(limit)})


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


MOCK_CLASS = AnthropicMock
