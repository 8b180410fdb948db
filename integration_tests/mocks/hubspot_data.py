"""The HubSpot mock's fixture: object types, their properties (built-in and custom), owners, pipelines
and the generated objects (integration_tests/mocks/hubspot.py serves them)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
CLIENT_ID = "5f3c2a1b-7d6e-4f00-9a8b-0c1d2e3f4a5b"
CLIENT_SECRET = "hs-client-secret-9f8e7d6c5b4a"
REFRESH_TOKEN = "na1-refresh-1a2b-3c4d-5e6f-7a8b9c0d1e2f"
BASE = datetime(2024, 1, 1, tzinfo=timezone.utc)

# object type -> (fixture size, last-modified property, property names requested by the connector)
OBJECTS: dict[str, tuple[int, str, list[str]]] = {
    "contacts": (450, "lastmodifieddate", ["email", "firstname", "lastname", "phone", "company", "website",
                                           "lifecyclestage", "hs_lead_status", "createdate",
                                           "lastmodifieddate", "hs_object_id"]),
    "companies": (430, "hs_lastmodifieddate", ["name", "domain", "industry", "phone", "city", "state", "country",
                                               "numberofemployees", "annualrevenue", "createdate",
                                               "hs_lastmodifieddate", "hs_object_id"]),
    "deals": (410, "hs_lastmodifieddate", ["dealname", "amount", "dealstage", "pipeline", "closedate",
                                           "hubspot_owner_id", "createdate", "hs_lastmodifieddate",
                                           "hs_object_id"]),
    "tickets": (405, "hs_lastmodifieddate", ["subject", "content", "hs_pipeline", "hs_pipeline_stage",
                                             "hs_ticket_priority", "createdate", "hs_lastmodifieddate",
                                             "hs_object_id"]),
    "products": (230, "hs_lastmodifieddate", ["name", "description", "price", "hs_sku", "createdate",
                                              "hs_lastmodifieddate"]),
    "line_items": (120, "hs_lastmodifieddate", ["name", "quantity", "price", "amount", "hs_product_id",
                                                "createdate", "hs_lastmodifieddate"]),
    "quotes": (15, "hs_lastmodifieddate", ["hs_title", "hs_status", "hs_expiration_date", "createdate",
                                           "hs_lastmodifieddate"]),
}
# object type -> the portal's custom properties: (name, HubSpot type, fieldType)
CUSTOM_PROPERTIES: dict[str, list[tuple[str, str, str]]] = {
    "contacts": [("favorite_color", "enumeration", "select"), ("loyalty_points", "number", "number"),
                 ("renewal_date", "date", "date")],
    "companies": [("partner_tier", "enumeration", "select"), ("onboarded_at", "datetime", "date")],
    "deals": [("forecast_category", "enumeration", "radio"), ("discount_pct", "number", "number")],
    "tickets": [("escalation_reason", "string", "textarea")],
    "products": [("warranty_years", "number", "number")],
}
# HubSpot's types of the built-in properties the fixture holds (the rest are strings)
_TYPES = {"createdate": ("datetime", "date"), "lastmodifieddate": ("datetime", "date"),
          "hs_lastmodifieddate": ("datetime", "date"), "closedate": ("datetime", "date"),
          "amount": ("number", "number"), "numberofemployees": ("number", "number"),
          "annualrevenue": ("number", "number"), "hs_object_id": ("number", "number"),
          "lifecyclestage": ("enumeration", "radio"), "hs_lead_status": ("enumeration", "radio"),
          "dealstage": ("enumeration", "radio"), "pipeline": ("enumeration", "select")}
SEARCH_STREAMS = ["contacts", "companies", "deals", "tickets"]
LIST_STREAMS = ["products", "line_items", "quotes"]
SEARCH_CAP = 10_000


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_time(value: str) -> datetime:
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _value(kind: str, prop: str, i: int) -> str:
    """A deterministic, type-looking value for property ``prop`` of object number ``i``."""
    table = {
        "email": f"person{i}@example.com", "firstname": f"First{i}", "lastname": f"Last{i}",
        "phone": f"+1555{i:07d}", "company": f"Company {i % 37}", "website": f"https://site{i}.example",
        "lifecyclestage": ["lead", "customer", "subscriber"][i % 3], "hs_lead_status": ["NEW", "OPEN"][i % 2],
        "name": f"{kind[:-1].title()} {i}", "domain": f"co{i}.example", "industry": "COMPUTER_SOFTWARE",
        "city": "Boston", "state": "MA", "country": "United States", "numberofemployees": str(10 + i),
        "annualrevenue": str(1000 * i), "dealname": f"Deal {i}", "amount": f"{i * 10}.00",
        "dealstage": "appointmentscheduled", "pipeline": "default", "closedate": "2024-06-30T00:00:00Z",
        "hubspot_owner_id": str(900 + i % 5), "subject": f"Ticket {i}", "content": f"Body of ticket {i}",
        "hs_pipeline": "0", "hs_pipeline_stage": "1", "hs_ticket_priority": ["LOW", "HIGH"][i % 2],
        "description": f"Product {i} description", "price": f"{i}.50", "hs_sku": f"SKU-{i:05d}",
        "quantity": str(1 + i % 4), "hs_product_id": str(5000 + i % 30),
        "hs_title": f"Quote {i}", "hs_status": "DRAFT", "hs_expiration_date": "2024-12-31",
    }
    return table[prop]


def _custom_value(kind: str, i: int) -> str:
    return {"enumeration": ["red", "green", "blue"][i % 3], "number": str(i % 50), "date": "2025-01-15",
            "datetime": "2024-05-01T10:00:00.000Z", "string": f"reason {i}"}[kind]


def property_definitions(kind: str, custom: bool = True) -> list[dict[str, Any]]:
    """GET /crm/v3/properties/<kind>: HubSpot's properties of the type, then the portal's custom ones."""
    own = [(p, *_TYPES.get(p, ("string", "text")), True) for p in OBJECTS[kind][2]]
    mine = [(p, t, f, False) for p, t, f in CUSTOM_PROPERTIES.get(kind, [])] if custom else []
    out = []
    for order, (name, ptype, field_type, builtin) in enumerate(own + mine):
        prop: dict[str, Any] = {
            "updatedAt": "2023-09-12T14:21:02.521Z", "createdAt": "2020-06-30T15:57:37.277Z", "name": name,
            "label": name.replace("_", " ").title(), "type": ptype, "fieldType": field_type, "description": "",
            "groupName": f"{kind[:-1]}information" if builtin else "custom_fields",
            "options": [{"label": v.title(), "value": v, "displayOrder": j, "hidden": False}
                        for j, v in enumerate(["red", "green", "blue"])] if ptype == "enumeration" else [],
            "displayOrder": order, "calculated": False, "externalOptions": False, "hasUniqueValue": False,
            "hidden": False, "modificationMetadata": {"archivable": not builtin, "readOnlyDefinition": builtin,
                                                      "readOnlyValue": False},
            "formField": not builtin,
        }
        if builtin:
            prop["hubspotDefined"] = True
        out.append(prop)
    return out


def objects(kind: str, custom: bool = True, size: int | None = None) -> list[dict[str, Any]]:
    """Fixture objects by id; last-modified times are NOT in id order (i * 37 mod n hours)."""
    fixture, modified_prop, props = OBJECTS[kind]
    size = size or fixture
    start = {"contacts": 1000, "companies": 3000, "deals": 5000, "tickets": 7000}.get(kind, 9000)
    out = []
    for i in range(size):
        created = BASE + timedelta(hours=i)
        updated = BASE + timedelta(days=30, hours=(i * 37) % size, seconds=i % 7)
        oid = str(start + i)
        values = {p: _value(kind, p, i) for p in props if p not in ("createdate", modified_prop, "hs_object_id")}
        values.update({"createdate": _iso(created), modified_prop: _iso(updated)})
        if "hs_object_id" in props:
            values["hs_object_id"] = oid
        if custom:
            values.update({name: _custom_value(ptype, i) for name, ptype, _ in CUSTOM_PROPERTIES.get(kind, [])})
        out.append({"id": oid, "properties": values, "createdAt": _iso(created), "updatedAt": _iso(updated),
                    "archived": False})
    return out


OWNERS = [
    {"id": str(900 + i), "email": f"owner{i}@example.com", "firstName": f"Owner{i}", "lastName": "Smith",
     "userId": 7000 + i, "createdAt": "2023-06-01T00:00:00.000Z", "updatedAt": f"2024-02-0{i + 1}T00:00:00.000Z",
     "archived": False, "teams": []}
    for i in range(5)
]
PIPELINES = {
    "deals": [{"id": "default", "label": "Sales Pipeline", "displayOrder": 0, "archived": False,
               "createdAt": "2023-01-01T00:00:00.000Z", "updatedAt": "2023-01-01T00:00:00.000Z",
               "stages": [{"id": "appointmentscheduled", "label": "Appointment Scheduled", "displayOrder": 0,
                           "metadata": {"probability": "0.2"}, "archived": False}]}],
    "tickets": [{"id": "0", "label": "Support Pipeline", "displayOrder": 0, "archived": False,
                 "createdAt": "2023-01-01T00:00:00.000Z", "updatedAt": "2023-01-01T00:00:00.000Z",
                 "stages": [{"id": "1", "label": "New", "displayOrder": 0, "metadata": {"ticketState": "OPEN"},
                             "archived": False}]}],
}
