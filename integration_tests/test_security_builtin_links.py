"""The built-in connectors whose paginators follow links (GitHub, Shopify, Salesforce, Zendesk) against
their own mocks, with every next-page link turned to another origin (``localhost`` on another port)
where the same mock answers: the link is refused and no request, so no credential, reaches it."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

import pytest

from integration_tests.connector_checks import Connector, assert_secrets_hidden
from integration_tests.mocks import github, salesforce, shopify, zendesk
from integration_tests.mocks.server import MockServer, Request, Response

NEXT_FIELDS = {"nextRecordsUrl", "after_url", "next_page", "next"}

# connector -> (mock factory, stream that pages by link, the credentials that must stay home)
BUILTINS: dict[str, tuple[Any, str, list[str]]] = {
    "github": (github.GitHubMock, "org_members", [github.TOKEN]),
    "shopify": (shopify.ShopifyMock, "products", [shopify.TOKEN]),
    "salesforce": (salesforce.SalesforceMock, "accounts", [salesforce.CLIENT_SECRET, salesforce.REFRESH_TOKEN]),
    "zendesk": (zendesk.ZendeskMock, "tickets", [
        zendesk.API_TOKEN, base64.b64encode(f"{zendesk.EMAIL}/token:{zendesk.API_TOKEN}".encode()).decode()]),
}


def _elsewhere(url: str, mine: str, other: str) -> str:
    """``url`` (absolute or relative) moved to the ``other`` origin."""
    parts = urlsplit(url)
    if not parts.netloc:
        return other + url
    return url.replace(mine, other, 1)


def _retarget(body: Any, mine: str, other: str) -> Any:
    if isinstance(body, dict):
        return {k: _elsewhere(v, mine, other) if k in NEXT_FIELDS and isinstance(v, str) else _retarget(v, mine, other)
                for k, v in body.items()}
    if isinstance(body, list):
        return [_retarget(v, mine, other) for v in body]
    return body


class LinksElsewhere:
    """The mock, except that every next-page link it gives points to ``other``."""

    def __init__(self, handler: Any, other: str) -> None:
        self.handler, self.other, self.links = handler, other, 0

    def __call__(self, req: Request) -> Response:
        resp = self.handler(req)
        mine = f"http://{req.header('Host')}"
        if "Link" in resp.headers and 'rel="next"' in resp.headers["Link"]:
            resp.headers["Link"] = resp.headers["Link"].replace(mine, self.other)
            self.links += 1
        retargeted = _retarget(resp.body, mine, self.other)
        if retargeted != resp.body:
            resp.body, self.links = retargeted, self.links + 1
        return resp


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_builtin_connector_refuses_next_link_to_another_host(name: str) -> None:
    make, stream, secrets = BUILTINS[name]
    mock = make()
    with MockServer(mock.handler) as other:
        hostile = LinksElsewhere(mock.handler, f"http://localhost:{other.port}")
        with MockServer(hostile) as api:
            result = Connector(name).read(mock.config(api.url), [stream])
    assert hostile.links >= 1, "the mock gave a next-page link"
    assert other.requests == [], [(r.path, r.headers) for r in other.requests]
    assert result.rc == 1, result.stdout[-2000:] + result.stderr
    failed = result.summary["streams"][0]
    assert failed["status"] == "FAILED" and f"localhost:{other.port}" in failed["error"]
    assert "http.allowed_hosts" in failed["error"]
    assert_secrets_hidden(result, *secrets)
