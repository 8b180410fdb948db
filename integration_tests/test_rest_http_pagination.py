"""Paginators + decoders + HttpClient over real sockets, following the mock's own URLs.

The mocks paginate the way API-NOTES.md says the real APIs do (GitHub and Shopify Link headers,
Salesforce nextRecordsUrl, Zendesk links.next, Stripe starting_after, Cloudflare page numbers).
"""

from __future__ import annotations

from typing import Any

from integration_tests.mocks.server import MockServer, Request, Response
from source_solidafy.rest.decoders import CsvDecoder, Decoder, JsonDecoder
from source_solidafy.rest.http import HttpClient
from source_solidafy.rest.pagination import Paginator
from source_solidafy.rest.paginators import (
    CursorPaginator,
    LinkHeaderPaginator,
    NextUrlPaginator,
    PageNumberPaginator,
)
from source_solidafy.rest.stops import FieldEquals, TotalPages


def read_all(client: HttpClient, paginator: Paginator, decoder: Decoder, path: str,
             params: dict[str, Any] | None = None) -> list[Any]:
    """The stream loop the declarative layer runs: request, decode once, ask the paginator."""
    out: list[Any] = []
    req = paginator.first()
    while req is not None:
        target, page_params, headers, body = req.resolve(path, params)
        resp = client.request("GET", target, params=page_params, headers=headers, json_body=body)
        page = decoder.decode(resp)
        out.extend(page.records)
        req = paginator.next(resp, page.body, page.records, req)
    return out


def _host(req: Request) -> str:
    return f"http://{req.header('Host')}"


def github(req: Request) -> Response:
    """GET /orgs/o/repos?per_page=2&page=N: 5 repos; absolute Link URLs; no rel=next on the last page."""
    per_page, page = int(req.arg("per_page", "30") or 30), int(req.arg("page", "1") or 1)
    repos = [{"id": i, "name": f"repo{i}"} for i in range(1, 6)]
    chunk = repos[(page - 1) * per_page: page * per_page]
    last = (len(repos) + per_page - 1) // per_page
    links = []
    if page < last:
        links.append(f'<{_host(req)}{req.path}?per_page={per_page}&page={page + 1}>; rel="next"')
    links.append(f'<{_host(req)}{req.path}?per_page={per_page}&page={last}>; rel="last"')
    return Response.json(chunk, Link=", ".join(links))


def test_rest_http_link_header_follows_github_pages() -> None:
    with MockServer(github) as srv:
        client = HttpClient(srv.url)
        records = read_all(client, LinkHeaderPaginator(), JsonDecoder(), "/orgs/o/repos", {"per_page": 2})
    assert [r["id"] for r in records] == [1, 2, 3, 4, 5]
    assert [r.url for r in srv.requests] == [
        "/orgs/o/repos?per_page=2", "/orgs/o/repos?per_page=2&page=2", "/orgs/o/repos?per_page=2&page=3"]


def shopify(req: Request) -> Response:
    """Shopify REST: page_info may only be combined with limit (anything else is a 400)."""
    items = [{"id": i} for i in range(1, 8)]
    limit = int(req.arg("limit", "50") or 50)
    info = req.arg("page_info")
    if info is not None and set(req.query) - {"page_info", "limit", "fields"}:
        return Response.json({"errors": {"page_info": ["Invalid value."]}}, 400)
    start = int(info[1:]) if info else 0
    headers = {}
    if start + limit < len(items):
        headers["Link"] = (f'<{_host(req)}{req.path}?limit={limit}&page_info=p{start + limit}>; rel="next"')
    return Response.json({"products": items[start:start + limit]}, **headers)


def test_rest_http_link_header_does_not_resend_stream_params_shopify() -> None:
    with MockServer(shopify) as srv:
        client = HttpClient(f"{srv.url}/admin/api/2024-01")
        records = read_all(client, LinkHeaderPaginator(), JsonDecoder("products"), "products.json",
                           {"limit": 3, "updated_at_min": "2024-01-01T00:00:00Z"})
    assert [r["id"] for r in records] == list(range(1, 8))
    assert len(srv.requests) == 3
    assert all("updated_at_min" not in r.query for r in srv.requests[1:])


def salesforce(req: Request) -> Response:
    """REST query: nextRecordsUrl is a path (no host) that replaces the request path; done:true at the end."""
    n = 0 if req.path.endswith("/query") else int(req.path.rsplit("-", 1)[1])
    done = n >= 2
    body: dict[str, Any] = {"totalSize": 3, "done": done, "records": [{"Id": f"001{n}"}]}
    if not done:
        body["nextRecordsUrl"] = f"/services/data/v59.0/query/01gRO0000016PIAYA2-{n + 1}"
    return Response.json(body)


def test_rest_http_next_url_follows_salesforce_relative_paths() -> None:
    with MockServer(salesforce) as srv:
        client = HttpClient(f"{srv.url}/services/data/v59.0")
        records = read_all(client, NextUrlPaginator("nextRecordsUrl"), JsonDecoder("records"), "/query",
                           {"q": "SELECT Id FROM Account"})
    assert [r["Id"] for r in records] == ["0010", "0011", "0012"]
    assert [r.url for r in srv.requests] == [
        "/services/data/v59.0/query?q=SELECT+Id+FROM+Account",
        "/services/data/v59.0/query/01gRO0000016PIAYA2-1",
        "/services/data/v59.0/query/01gRO0000016PIAYA2-2",
    ]


def zendesk(req: Request) -> Response:
    """Cursor lists: links.next absolute with page[size]/page[after]; meta.has_more false at the end."""
    tickets = [{"id": i} for i in range(1, 6)]
    size = int(req.arg("page[size]", "100") or 100)
    after = int(req.arg("page[after]", "0") or 0)
    chunk = tickets[after:after + size]
    more = after + size < len(tickets)
    nxt = f"{_host(req)}/api/v2/tickets.json?page%5Bsize%5D={size}&page%5Bafter%5D={after + size}"
    return Response.json({"tickets": chunk, "meta": {"has_more": more, "after_cursor": str(after + size)},
                          "links": {"next": nxt if more else None}})


def test_rest_http_next_url_zendesk_links_with_has_more_stop() -> None:
    with MockServer(zendesk) as srv:
        client = HttpClient(f"{srv.url}/api/v2")
        paginator = NextUrlPaginator("links.next", stop=FieldEquals("meta.has_more", False))
        records = read_all(client, paginator, JsonDecoder("tickets"), "tickets.json", {"page[size]": 2})
    assert [r["id"] for r in records] == [1, 2, 3, 4, 5]
    assert len(srv.requests) == 3


def stripe(req: Request) -> Response:
    customers = [{"id": f"cus_{i}"} for i in range(1, 6)]
    limit = int(req.arg("limit", "10") or 10)
    after = req.arg("starting_after")
    start = next((i + 1 for i, c in enumerate(customers) if c["id"] == after), 0)
    chunk = customers[start:start + limit]
    return Response.json({"object": "list", "url": "/v1/customers", "has_more": start + limit < len(customers),
                          "data": chunk})


def test_rest_http_cursor_stripe_starting_after() -> None:
    with MockServer(stripe) as srv:
        client = HttpClient(f"{srv.url}/v1")
        paginator = CursorPaginator("starting_after", cursor_path="data[-1].id", stop=FieldEquals("has_more", False))
        records = read_all(client, paginator, JsonDecoder("data"), "/customers", {"limit": 2})
    assert [r["id"] for r in records] == [f"cus_{i}" for i in range(1, 6)]
    assert [r.arg("starting_after") for r in srv.requests] == [None, "cus_2", "cus_4"]


def cloudflare(req: Request) -> Response:
    zones = [{"id": f"z{i}"} for i in range(1, 6)]
    page, per_page = int(req.arg("page", "1") or 1), int(req.arg("per_page", "20") or 20)
    total_pages = (len(zones) + per_page - 1) // per_page
    return Response.json({"success": True, "result": zones[(page - 1) * per_page: page * per_page],
                          "result_info": {"page": page, "per_page": per_page, "total_pages": total_pages,
                                          "count": 0, "total_count": len(zones)}})


def test_rest_http_page_number_cloudflare_total_pages() -> None:
    with MockServer(cloudflare) as srv:
        client = HttpClient(f"{srv.url}/client/v4")
        paginator = PageNumberPaginator("page", 1, "per_page", 2, stop=TotalPages("result_info.total_pages"))
        records = read_all(client, paginator, JsonDecoder("result"), "zones")
    assert [r["id"] for r in records] == ["z1", "z2", "z3", "z4", "z5"]
    assert len(srv.requests) == 3


def bulk_results(req: Request) -> Response:
    """Bulk API 2.0 results: CSV pages, next locator in Sforce-Locator, the string "null" at the end."""
    pages = {None: ('"Id","Name"\n"1","A"\n"2","B, Jr."\n', "MTAw"),
             "MTAw": ('"Id","Name"\n"3","multi\nline"\n', "MjAw"),
             "MjAw": ('"Id","Name"\n"4","D"\n', "null")}
    text, locator = pages[req.arg("locator")]
    return Response(200, text, {"Content-Type": "text/csv", "Sforce-Locator": locator})


def test_rest_http_cursor_header_salesforce_bulk_csv() -> None:
    with MockServer(bulk_results) as srv:
        client = HttpClient(srv.url)
        records = read_all(client, CursorPaginator("locator", cursor_header="Sforce-Locator"), CsvDecoder(),
                           "/jobs/query/750R/results", {"maxRecords": 2})
    assert records == [{"Id": "1", "Name": "A"}, {"Id": "2", "Name": "B, Jr."}, {"Id": "3", "Name": "multi\nline"},
                       {"Id": "4", "Name": "D"}]
    assert [r.arg("locator") for r in srv.requests] == [None, "MTAw", "MjAw"]
    assert all(r.arg("maxRecords") == "2" for r in srv.requests)


def test_rest_http_loop_guard_stops_a_self_referencing_next_link() -> None:
    warnings: list[str] = []

    def stuck(req: Request) -> Response:  # an API bug: "next" always points at page 2
        return Response.json({"items": [{"id": 1}], "next": f"{_host(req)}/items?page=2"})

    with MockServer(stuck) as srv:
        client = HttpClient(srv.url)
        paginator = NextUrlPaginator("next", warn=warnings.append)
        records = read_all(client, paginator, JsonDecoder("items"), "/items")
    assert len(records) == 2 and len(srv.requests) == 2
    assert "repeat" in warnings[0]
