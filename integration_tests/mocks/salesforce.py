"""A Salesforce mock: OAuth refresh, REST SOQL query/queryAll (per API-NOTES.md §9).

- ``POST /services/oauth2/token`` (form ``grant_type=refresh_token``, ``client_id``, ``client_secret``,
  ``refresh_token``) answers an access token and ``instance_url`` = this server (the data host comes
  from the token response); a wrong refresh token is 400 ``invalid_grant``, a wrong client 400
  ``invalid_client``. No ``expires_in`` (Salesforce sends none). No ``refresh_token`` either, unless
  the connected app rotates them (``rotate_refresh_tokens``): then each refresh answers a new one
  and the one it used is revoked (a later use is ``invalid_grant``).
- Data calls need ``Authorization: Bearer <a live access token>``, else 401
  ``[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]``;
  ``expire_sessions_after(n)`` kills the live tokens after n more data calls (a session timeout).
- ``GET /services/data/v59.0/query`` and ``/queryAll`` with a SOQL ``q``:
  ``SELECT <fields> FROM <Object> [WHERE SystemModstamp >= <datetime literal>] [ORDER BY SystemModstamp ASC]``;
  an unknown field is 400 INVALID_FIELD, a quoted or malformed literal 400 MALFORMED_QUERY; ``query``
  leaves out deleted rows, ``queryAll`` keeps them. Batches of ``batch_size`` (Salesforce sends at
  most 2,000 and may send fewer), ``nextRecordsUrl`` until ``done: true``.
- ``GET /services/data/v59.0/sobjects/<Object>/describe``: ``{"name", "label", "custom", "queryable",
  "fields": [{"name", "label", "type", "custom", "nillable", "length", "soapType",
  "compoundFieldName"}, ...]}`` (API-NOTES.md §9: Airbyte's describe call, Salesforce's field types):
  the standard fields, the org's custom ``__c`` fields (``custom: true``) and the compound
  ``address`` fields whose parts are fields of their own. A SOQL ``SELECT`` may name any of them
  (a compound field answers an object of its parts); the rows carry values for the custom fields.
- ``Sforce-Limit-Info: api-usage=n/100000`` on every answer; the limit answer (``inject_429``) is
  Salesforce's 403 REQUEST_LIMIT_EXCEEDED with no Retry-After.
"""

from __future__ import annotations

import itertools
import re
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from integration_tests.mocks.common import ArmedFaults, stream_cursor
from integration_tests.mocks.server import Request, Response

CLIENT_ID = "3MVG9fTLmJ60pJ5IY8LkMockClientId"
CLIENT_SECRET = "E8C9A1B2C3D4MockClientSecret"
REFRESH_TOKEN = "5Aep861MockRefreshTokenValue"
API = "/services/data/v59.0"
BASE = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

# object -> (id prefix, fixture size, [(field, kind)])
_COMMON = [("OwnerId", "ref"), ("IsDeleted", "boolean"), ("CreatedDate", "datetime"),
           ("LastModifiedDate", "datetime"), ("SystemModstamp", "datetime")]
OBJECTS: dict[str, tuple[str, int, list[tuple[str, str]]]] = {
    "Account": ("001", 250, [("Id", "id"), ("Name", "string"), ("Type", "string"), ("Industry", "string"),
                             ("Phone", "string"), ("Website", "string"), ("BillingCity", "string"),
                             ("BillingState", "string"), ("BillingCountry", "string"), ("AnnualRevenue", "number"),
                             ("NumberOfEmployees", "integer"), *_COMMON]),
    "Contact": ("003", 230, [("Id", "id"), ("FirstName", "string"), ("LastName", "string"), ("Email", "string"),
                             ("Phone", "string"), ("AccountId", "ref"), ("Title", "string"), ("Department", "string"),
                             ("MailingCity", "string"), ("MailingState", "string"), ("MailingCountry", "string"),
                             *_COMMON]),
    "Lead": ("00Q", 210, [("Id", "id"), ("FirstName", "string"), ("LastName", "string"), ("Email", "string"),
                          ("Phone", "string"), ("Company", "string"), ("Title", "string"), ("Status", "string"),
                          ("LeadSource", "string"), ("Industry", "string"), ("IsConverted", "boolean"), *_COMMON]),
    "Opportunity": ("006", 220, [("Id", "id"), ("Name", "string"), ("AccountId", "ref"), ("Amount", "number"),
                                 ("StageName", "string"), ("CloseDate", "date"), ("Probability", "number"),
                                 ("Type", "string"), ("LeadSource", "string"), ("IsClosed", "boolean"),
                                 ("IsWon", "boolean"), *_COMMON]),
    "Case": ("500", 205, [("Id", "id"), ("CaseNumber", "string"), ("Subject", "string"), ("Status", "string"),
                          ("Priority", "string"), ("Origin", "string"), ("Type", "string"), ("AccountId", "ref"),
                          ("ContactId", "ref"), ("IsClosed", "boolean"), ("ClosedDate", "datetime"), *_COMMON]),
    "Task": ("00T", 60, [("Id", "id"), ("Subject", "string"), ("Status", "string"), ("Priority", "string"),
                         ("ActivityDate", "date"), ("WhoId", "ref"), ("WhatId", "ref"), ("IsClosed", "boolean"),
                         *_COMMON]),
    "Event": ("00U", 40, [("Id", "id"), ("Subject", "string"), ("StartDateTime", "datetime"),
                          ("EndDateTime", "datetime"), ("Location", "string"), ("WhoId", "ref"), ("WhatId", "ref"),
                          *_COMMON]),
    "User": ("005", 12, [("Id", "id"), ("Username", "string"), ("Name", "string"), ("Email", "string"),
                         ("IsActive", "boolean"), ("ProfileId", "ref"), ("UserRoleId", "ref"),
                         ("CreatedDate", "datetime"), ("LastModifiedDate", "datetime"),
                         ("SystemModstamp", "datetime")]),
    "Campaign": ("701", 8, [("Id", "id"), ("Name", "string"), ("Type", "string"), ("Status", "string"),
                            ("StartDate", "date"), ("EndDate", "date"), ("IsActive", "boolean"), *_COMMON]),
}
# object -> the org's custom fields [(field, kind)]; kinds as above plus picklist, double, currency, int
CUSTOM_FIELDS: dict[str, list[tuple[str, str]]] = {
    "Account": [("Tier__c", "picklist"), ("Region__c", "string"), ("Health_Score__c", "double")],
    "Contact": [("Loyalty_Level__c", "picklist"), ("Birthday__c", "date")],
    "Lead": [("Lead_Score__c", "int")],
    "Opportunity": [("Forecast_Amount__c", "currency"), ("Is_Strategic__c", "boolean")],
    "Case": [("Escalated_At__c", "datetime")],
}
# compound fields: object -> {compound name: {part key in the value: part field}}
COMPOUND_FIELDS: dict[str, dict[str, dict[str, str]]] = {
    "Account": {"BillingAddress": {"city": "BillingCity", "state": "BillingState", "country": "BillingCountry"}},
    "Contact": {"MailingAddress": {"city": "MailingCity", "state": "MailingState", "country": "MailingCountry"}},
}
# the mock's kinds -> Salesforce's field type (number fields by name where Salesforce says currency/percent)
SF_TYPES = {"id": "id", "ref": "reference", "string": "string", "boolean": "boolean", "datetime": "datetime",
            "date": "date", "number": "double", "integer": "int", "picklist": "picklist", "double": "double",
            "currency": "currency", "int": "int"}
SF_NUMBER_TYPES = {"AnnualRevenue": "currency", "Amount": "currency", "Probability": "percent"}
STREAM_OBJECTS = {"accounts": "Account", "contacts": "Contact", "leads": "Lead", "opportunities": "Opportunity",
                  "cases": "Case", "tasks": "Task", "events": "Event", "users": "User", "campaigns": "Campaign"}

SOQL = re.compile(
    r"^SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<obj>\w+)"
    r"(?:\s+WHERE\s+SystemModstamp\s*>=\s*(?P<since>\S+))?"
    r"(?:\s+ORDER\s+BY\s+SystemModstamp\s+ASC)?\s*$",
    re.IGNORECASE | re.DOTALL,
)
DATETIME_LITERAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$")


def sf_datetime(dt: datetime) -> str:
    """REST spelling: ``2024-01-02T03:04:05.000+0000``."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def parse_datetime(value: str) -> datetime:
    text = value.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    return datetime.fromisoformat(text)


def _value(obj: str, field: str, kind: str, i: int, n: int) -> Any:
    prefix = OBJECTS[obj][0]
    if kind == "id":
        return f"{prefix}D000000{i:08d}"[:18]
    if kind == "ref":
        return None if i % 11 == 0 and field != "OwnerId" else f"005D000000{i % 12:08d}"
    if field == "SystemModstamp" or field == "LastModifiedDate":
        return sf_datetime(BASE + timedelta(days=20, minutes=((i * 37) % n) * 3))
    if kind == "datetime":
        return sf_datetime(BASE + timedelta(hours=i))
    if kind == "date":
        return (BASE + timedelta(days=i % 90)).strftime("%Y-%m-%d")
    if kind == "boolean":
        return field == "IsDeleted" and i % 25 == 7 or field != "IsDeleted" and i % 2 == 0
    if kind == "number":
        return float(1000 * (i + 1)) if field != "Probability" else float(10 * (i % 10))
    if kind in ("integer", "int"):
        return 10 + i
    if kind == "picklist":
        return ["Gold", "Silver", "Bronze"][i % 3]
    if kind in ("double", "currency"):
        return round(i * 1.25, 2)
    return f"{field} {i}"


def fields_of(obj: str) -> list[tuple[str, str]]:
    """The standard fields of ``obj``, then the org's custom ones."""
    return [*OBJECTS[obj][2], *CUSTOM_FIELDS.get(obj, [])]


def build_records(obj: str) -> list[dict[str, Any]]:
    """Fixture rows of ``obj`` in Id order (custom fields included); SystemModstamp is not in Id order."""
    _, n, _ = OBJECTS[obj]
    return [{f: _value(obj, f, kind, i, n) for f, kind in fields_of(obj)} for i in range(n)]


def _describe_field(name: str, sf_type: str, custom: bool, compound: str | None = None) -> dict[str, Any]:
    soap = {"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "datetime": "xsd:dateTime",
            "date": "xsd:date", "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double",
            "int": "xsd:int", "address": "urn:address"}.get(sf_type, "xsd:string")
    return {"name": name, "label": name.removesuffix("__c").replace("_", " "), "type": sf_type, "custom": custom,
            "nillable": sf_type not in ("id", "boolean"), "length": 255 if soap == "xsd:string" else 0,
            "soapType": soap, "compoundFieldName": compound, "updateable": sf_type != "id"}


def describe(obj: str) -> dict[str, Any]:
    """``GET /sobjects/<obj>/describe``: its fields (standard, compound, then custom)."""
    part_of = {part: name for name, parts in COMPOUND_FIELDS.get(obj, {}).items() for part in parts.values()}
    fields = [_describe_field(f, SF_NUMBER_TYPES.get(f) or SF_TYPES[kind], False, part_of.get(f))
              for f, kind in OBJECTS[obj][2]]
    fields += [_describe_field(name, "address", False) for name in COMPOUND_FIELDS.get(obj, {})]
    fields += [_describe_field(f, SF_TYPES[kind], True) for f, kind in CUSTOM_FIELDS.get(obj, [])]
    return {"name": obj, "label": obj, "custom": False, "queryable": True, "retrieveable": True,
            "urls": {"describe": f"{API}/sobjects/{obj}/describe"}, "fields": fields}


def sf_errors(status: int, code: str, message: str, **headers: str) -> Response:
    return Response.json([{"message": message, "errorCode": code}], status, **headers)


class SalesforceMock:
    """An org behind OAuth; see the module docstring for what it enforces."""

    streams_with_data = list(STREAM_OBJECTS)

    def __init__(self, batch_size: int = 100, rotate_refresh_tokens: bool = False) -> None:
        self.batch_size = batch_size
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.refresh_token = REFRESH_TOKEN  # the one refresh token that works now
        self.data = {obj: build_records(obj) for obj in OBJECTS}
        self.tokens_issued: list[str] = []
        self.live_tokens: set[str] = set()
        self.queries: list[str] = []
        self._cursors: dict[str, tuple[str, list[dict[str, Any]], list[str], int]] = {}
        self._ids = itertools.count(1)
        self.faults = ArmedFaults()
        self._expire_after: int | None = None
        self._usage = 10000
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ reusable interface
    def config(self, base_url: str) -> dict[str, Any]:
        """A config whose token_url is this mock; the data host then comes from its instance_url."""
        return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN,
                "token_url": f"{base_url}/services/oauth2/token"}

    def cursor_field(self, stream: str) -> str | None:
        return "SystemModstamp"

    def expected_records(self, stream: str, config_state: Any = None) -> list[dict[str, Any]]:
        """The connector's output: queryAll rows (deleted ones too) by SystemModstamp, no ``attributes``."""
        rows = self.data[STREAM_OBJECTS[stream.removesuffix("_bulk")]]
        cursor = stream_cursor(stream, config_state)
        if cursor is not None:
            floor = parse_datetime(cursor).replace(microsecond=0)  # the literal is sent to the second
            rows = [r for r in rows if parse_datetime(r["SystemModstamp"]) >= floor]
        return sorted(rows, key=lambda r: (r["SystemModstamp"], r["Id"]))

    def inject_429(self, path_prefix: str, nth: int = 2) -> None:
        """Salesforce's rate-limit answer (403 REQUEST_LIMIT_EXCEEDED) for the ``nth`` request under the prefix."""
        self.faults.arm(path_prefix, nth)

    def expire_sessions_after(self, n: int) -> None:
        """After ``n`` more data calls every access token issued so far stops working."""
        self._expire_after = n

    # ------------------------------------------------------------------ HTTP
    def handler(self, req: Request) -> Response:
        if req.path == "/services/oauth2/token":
            return self._token(req)
        auth = (req.header("Authorization") or "").removeprefix("Bearer ")
        with self._lock:
            if self._expire_after is not None:
                self._expire_after -= 1
                if self._expire_after < 0:
                    self.live_tokens.clear()
                    self._expire_after = None
            live = auth in self.live_tokens
            self._usage += 1
        if not live:
            return sf_errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
        fault = self._take_fault(req.path)
        if fault is not None:
            return fault
        resp = self.route(req)
        resp.headers["Sforce-Limit-Info"] = f"api-usage={self._usage}/100000"
        return resp

    def _token(self, req: Request) -> Response:
        form = req.form()
        if form.get("grant_type") != "refresh_token":
            return Response.json({"error": "unsupported_grant_type", "error_description": "grant type not supported"}, 400)
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return Response.json({"error": "invalid_client", "error_description": "invalid client credentials"}, 400)
        with self._lock:
            if form.get("refresh_token") != self.refresh_token:
                return Response.json({"error": "invalid_grant", "error_description": "expired access/refresh token"},
                                     400)
            token = f"00DMOCK0000001gPL!AR8AQ.session{len(self.tokens_issued) + 1}"
            self.tokens_issued.append(token)
            self.live_tokens.add(token)
            rotated = {}
            if self.rotate_refresh_tokens:
                self.refresh_token = rotated["refresh_token"] = f"5Aep861MockRotatedRefresh{len(self.tokens_issued)}"
        host = req.header("Host", "login.salesforce.com")
        return Response.json({
            "access_token": token, "signature": "SSSbLO/gBhmmyNUvN18ODBDFYHzakxOMgqYtu+hDPsc=",
            "scope": "api refresh_token", "instance_url": f"http://{host}",
            "id": f"http://{host}/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS", "token_type": "Bearer",
            "issued_at": "1278448384422", **rotated,
        })

    def _take_fault(self, path: str) -> Response | None:
        if self.faults.take(path) is None:
            return None
        return sf_errors(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.",
                         **{"Sforce-Limit-Info": f"api-usage={self._usage}/100000"})

    def route(self, req: Request) -> Response:
        """Data routes; the Bulk mock adds its own in front of these."""
        if req.path == f"{API}/sobjects":
            return Response.json({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [
                {"name": obj, "label": obj, "queryable": True, "custom": False,
                 "urls": {"sobject": f"{API}/sobjects/{obj}"}} for obj in OBJECTS]})
        described = re.fullmatch(re.escape(API) + r"/sobjects/(\w+)/describe", req.path)
        if described:
            if described[1] not in OBJECTS:
                return sf_errors(404, "NOT_FOUND", f"The requested resource does not exist: {described[1]}")
            return Response.json(describe(described[1]))
        if req.path in (f"{API}/query", f"{API}/queryAll"):
            return self._query(req, include_deleted=req.path.endswith("All"))
        if req.path.startswith(f"{API}/query/") or req.path.startswith(f"{API}/queryAll/"):
            return self._next_batch(req.path.rsplit("/", 1)[1])
        return sf_errors(404, "NOT_FOUND", "The requested resource does not exist")

    def parse_soql(self, soql: str) -> tuple[str, list[str], list[dict[str, Any]]] | Response:
        """``(object, fields, matching rows by SystemModstamp)`` or the error answer for bad SOQL."""
        self.queries.append(soql)
        m = SOQL.match(soql.strip())
        if not m or m["obj"] not in OBJECTS:
            return sf_errors(400, "MALFORMED_QUERY", f"unexpected token in query: {soql[:80]}")
        obj = m["obj"]
        fields = [f.strip() for f in m["fields"].split(",")]
        known = {f for f, _ in fields_of(obj)} | set(COMPOUND_FIELDS.get(obj, {}))
        unknown = [f for f in fields if f not in known]
        if unknown:
            return sf_errors(400, "INVALID_FIELD", f"No such column '{unknown[0]}' on entity '{obj}'.")
        rows = self.data[obj]
        if m["since"]:
            if not DATETIME_LITERAL.match(m["since"]):
                return sf_errors(400, "MALFORMED_QUERY", f"value of filter criterion for field 'SystemModstamp' "
                                 f"must be of type dateTime and should not be enclosed in quotes: {m['since']}")
            floor = parse_datetime(m["since"])
            rows = [r for r in rows if parse_datetime(r["SystemModstamp"]) >= floor]
        rows = sorted(rows, key=lambda r: (r["SystemModstamp"], r["Id"]))
        return obj, fields, rows

    def _query(self, req: Request, include_deleted: bool) -> Response:
        parsed = self.parse_soql(req.arg("q") or "")
        if isinstance(parsed, Response):
            return parsed
        obj, fields, rows = parsed
        if not include_deleted:
            rows = [r for r in rows if not r.get("IsDeleted")]
        locator = f"01gRO{next(self._ids):010d}"
        self._cursors[locator] = (obj, rows, fields, 0)
        return self._batch(locator, req.path)

    def _next_batch(self, ref: str) -> Response:
        locator, _, offset = ref.partition("-")
        if locator not in self._cursors or not offset.isdigit():
            return sf_errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        obj, rows, fields, _ = self._cursors[locator]
        self._cursors[locator] = (obj, rows, fields, int(offset))
        return self._batch(locator, API + "/query")

    def _batch(self, locator: str, path: str) -> Response:
        obj, rows, fields, offset = self._cursors[locator]
        page = rows[offset:offset + self.batch_size]
        records = [{"attributes": {"type": obj, "url": f"{API}/sobjects/{obj}/{r['Id']}"},
                    **{f: _field_value(obj, r, f) for f in fields}} for r in page]
        body: dict[str, Any] = {"totalSize": len(rows), "done": offset + len(page) >= len(rows), "records": records}
        if not body["done"]:
            body["nextRecordsUrl"] = f"{path}/{locator}-{offset + len(page)}"
        return Response.json(body)


def _field_value(obj: str, row: dict[str, Any], field: str) -> Any:
    parts = COMPOUND_FIELDS.get(obj, {}).get(field)
    if parts is None:
        return row[field]
    return {key: row.get(part) for key, part in parts.items()}


MOCK_CLASS = SalesforceMock
