"""What every built-in connector must do against its mock, and each connector's specifics as data.

``test_connector_contract.py`` runs the same checks for every entry of :data:`CONTRACTS`: one full
read of its streams (faults armed as the entry says) that succeeds, reads exactly what the mock
holds and prints no secret; the declared schemas; the final cursors; a wrong credential that fails
the stream without printing it; the offline commands (validate, spec, streams); aliases; a missing
config field. What is peculiar to one API stays in its own ``test_connector_<name>.py``, which gets
the same full read from :func:`full_read_of` (one read per connector per test session).
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from integration_tests.connector_checks import Connector, FullRead, record_key
from integration_tests.mocks import (
    anthropic,
    cloudflare,
    github,
    hubspot,
    openai,
    salesforce,
    salesforce_bulk,
    shopify,
    stripe,
    zendesk,
)

Streams = Callable[[Any], list[str]]  # the streams, given the mock


def _with_data(mock: Any) -> list[str]:
    return list(mock.streams_with_data)


def _nothing(mock: Any) -> None:
    return None


@dataclass(frozen=True)
class WrongCredential:
    """Config ``field`` set to ``value`` for a read of ``stream``: the stream fails (its error holding
    ``error``), neither ``value`` nor ``secrets`` is printed, and the credential went out as ``header``
    (name, value template) says."""

    stream: str
    field: str
    value: str
    error: str | None = None
    header: tuple[str, str] | None = None


@dataclass(frozen=True)
class Offline:
    """``spec``: exactly ``required`` required, ``secrets`` masked with their hint, ``properties`` offered;
    ``streams``: exactly ``streams``, or at least ``streams_include`` and ``stream_count`` of them."""

    required: list[str]
    secrets: dict[str, str]
    properties: set[str]
    streams: list[str] | None = None
    streams_include: list[str] = field(default_factory=list)
    stream_count: int | None = None


@dataclass(frozen=True)
class Contract:
    name: str
    mock: Callable[[], Any]
    offline: Offline
    wrong: WrongCredential | None = None  # None: the connector's own file tests it (more to check)
    arm: Callable[[Any], None] = _nothing  # faults armed before the full read
    read: Streams = _with_data  # the streams of the full read
    exact: Streams | None = None  # the streams compared record for record (default: every stream with data)
    secrets: Callable[[Any], tuple[str, ...]] = lambda mock: ()
    ids: str | None = None
    sort_by: Callable[[dict[str, Any]], Any] | None = None
    again_sorted_by: Callable[[dict[str, Any]], Any] | None = None  # a second comparison in another order
    cursors: Streams | None = None  # streams whose final state is the newest cursor
    cursor_options: dict[str, Any] = field(default_factory=dict)  # assert_final_cursors(cursor=, parse=)
    aliases: tuple[str, ...] = ()
    missing: tuple[dict[str, Any], str, str] | None = None  # config, stream, the message's fragment
    connector: Callable[[], Connector] | None = None  # default: Connector(name)

    def built(self) -> Connector:
        return self.connector() if self.connector is not None else Connector(self.name)

    def __str__(self) -> str:
        return self.name


@functools.cache
def _fast_bulk() -> Connector:
    """salesforce-bulk read from a copy of its YAML that polls every 0.05 s (the shipped one waits 5 s)."""
    shipped = Connector("salesforce-bulk")
    text = shipped.yaml_path.read_text()
    assert text.count("interval_secs: 5\n") == 1  # one anchor shared by every stream
    path = Path(tempfile.mkdtemp(prefix="sfbulk-")) / "salesforce-bulk.yaml"
    path.write_text(text.replace("interval_secs: 5\n", "interval_secs: 0.05\n"))
    return Connector(shipped.name, ref=str(path))


def _bulk_cursor(stream_state: dict[str, Any]) -> str:
    """The stream cursor, whether kept flat or per partition (one job per sync)."""
    if "cursor" in stream_state:
        return str(stream_state["cursor"])
    return str(max(p["cursor"] for p in stream_state["partitions"] if p.get("cursor")))


def _arm_github(mock: Any) -> None:
    mock.inject_429(f"/orgs/{github.ORG}/members", after=1, kind="primary")
    mock.inject_429(f"/orgs/{github.ORG}/copilot/billing/seats", after=1, retry_after="1")


CONTRACTS: dict[str, Contract] = {c.name: c for c in (
    Contract(
        "anthropic", anthropic.AnthropicMock,
        arm=lambda m: m.inject_429("/v1/organizations/users", after=1),
        secrets=lambda m: (anthropic.ADMIN_KEY,), sort_by=record_key, again_sorted_by=record_key,
        cursors=lambda m: list(m.REPORTS), aliases=("anthropic-billing",),
        wrong=WrongCredential("workspaces", "admin_api_key", "sk-ant-admin01-wrongwrong", header=("x-api-key", "{}")),
        offline=Offline(["admin_api_key", "start_date"], {"admin_api_key": ""}, {"start_date_short", "base_url"},
                        streams=list(anthropic.AnthropicMock.streams_with_data)),
    ),
    Contract(
        "cloudflare", cloudflare.CloudflareMock,
        arm=lambda m: m.inject_429("/client/v4/accounts", after=2),
        read=lambda m: ["accounts", "account", "billing_profile", "subscriptions"],
        secrets=lambda m: (cloudflare.API_TOKEN,), sort_by=record_key, again_sorted_by=record_key,
        aliases=("cloudflare-billing",),
        wrong=WrongCredential("subscriptions", "api_token", "wrongTokenwrongToken1234",
                              header=("Authorization", "Bearer {}")),
        offline=Offline(["account_id", "api_token"], {"api_token": "Billing"}, {"base_url"},
                        streams=list(cloudflare.CloudflareMock.streams_with_data)),
    ),
    Contract(
        "github", github.GitHubMock,
        arm=_arm_github,
        secrets=lambda m: (github.TOKEN,), sort_by=record_key, again_sorted_by=record_key, aliases=("github-billing",),
        wrong=WrongCredential("org_members", "access_token", "ghp_wrongwrongwrongwrong",
                              header=("Authorization", "Bearer {}")),
        offline=Offline(["access_token", "org"], {"access_token": "admin:org"}, {"base_url"},
                        streams=list(github.GitHubMock.streams_with_data)),
    ),
    Contract(
        "hubspot", hubspot.HubSpotMock, secrets=lambda m: (hubspot.TOKEN,), ids="id",
        cursors=lambda m: list(hubspot.SEARCH_STREAMS),
        wrong=WrongCredential("contacts", "access_token", "pat-na1-wrong-secret-value", error="401",
                              header=("Authorization", "Bearer {}")),
        offline=Offline(
            [],  # nothing required alone: either access_token or the OAuth trio
            {"access_token": "Private Apps", "client_secret": "same page as the client ID",
             "refresh_token": "authorization-code exchange"},
            {"access_token", "client_id", "client_secret", "refresh_token", "token_url", "base_url"},
            streams=list(hubspot.HubSpotMock.streams_with_data)),
    ),
    Contract(
        "openai", openai.OpenAIMock,
        arm=lambda m: m.inject_429("/v1/organization/usage/embeddings", after=2),
        secrets=lambda m: (openai.ADMIN_KEY,), again_sorted_by=record_key, cursors=_with_data,
        aliases=("openai-billing",),
        wrong=WrongCredential("costs", "admin_api_key", "sk-admin-wrongwrongwrong", header=("Authorization", "Bearer {}")),
        offline=Offline(["admin_api_key", "start_time"], {"admin_api_key": "sk-admin-"}, {"base_url"},
                        streams=list(openai.OpenAIMock.streams_with_data)),
    ),
    Contract(
        "salesforce", salesforce.SalesforceMock, ids="Id", cursors=_with_data,
        secrets=lambda m: (salesforce.CLIENT_SECRET, salesforce.REFRESH_TOKEN, *m.tokens_issued),
        missing=({"client_id": "a", "client_secret": "b"}, "accounts", "config field 'refresh_token' is required"),
        offline=Offline(["client_id", "client_secret", "refresh_token"], {"client_secret": "", "refresh_token": ""},
                        {"is_sandbox", "start_date", "api_version", "token_url", "base_url"},
                        streams=list(salesforce.SalesforceMock.streams_with_data)),
    ),
    Contract(
        "salesforce-bulk", salesforce_bulk.SalesforceBulkMock, connector=_fast_bulk, ids="Id",
        secrets=lambda m: (salesforce.CLIENT_SECRET,), cursors=_with_data, cursor_options={"cursor": _bulk_cursor},
        missing=({"client_secret": "b", "refresh_token": "c"}, "accounts_bulk", "config field 'client_id' is required"),
        offline=Offline(["client_id", "client_secret", "refresh_token"], {"client_secret": "", "refresh_token": ""},
                        {"is_sandbox", "token_url", "base_url"},
                        streams=list(salesforce_bulk.SalesforceBulkMock.streams_with_data)),
    ),
    Contract(
        "shopify", shopify.ShopifyMock, secrets=lambda m: (shopify.TOKEN,), ids="id",
        cursors=_with_data, cursor_options={"parse": datetime.fromisoformat},
        wrong=WrongCredential("products", "access_token", "shpat_wrongwrongwrongwrong", error="401"),
        missing=({"access_token": "shpat_x"}, "products", "config field 'shop_domain' is required"),
        offline=Offline(["shop_domain", "access_token"], {"access_token": "shpat_"}, {"start_date", "api_version", "base_url"},
                        streams=list(shopify.ShopifyMock.streams_with_data)),
    ),
    Contract(
        "stripe", stripe.StripeMock,
        arm=lambda m: m.inject_429("/v1/charges", after=1),
        secrets=lambda m: (stripe.API_KEY,), ids="id", again_sorted_by=lambda r: r["id"], cursors=_with_data,
        wrong=WrongCredential("customers", "api_key", "sk_test_wrongwrongwrong9999", header=("Authorization", "Bearer {}")),
        offline=Offline(["api_key"], {"api_key": "sk_live_"}, {"start_date_ts", "base_url"},
                        streams_include=list(stripe.StripeMock.streams_with_data), stream_count=21),
    ),
    Contract(
        "zendesk", zendesk.ZendeskMock, ids="id",
        exact=lambda m: [s for s in m.streams_with_data if s != "tags"],
        cursors=lambda m: ["tickets", "users", "organizations", "ticket_metrics"],
        wrong=WrongCredential("users", "api_token", "zdtok-wrong-wrong-wrong", error="401"),
        missing=({"subdomain": "acme", "api_token": "zdtok-x"}, "tickets", "config field 'email' is required"),
        offline=Offline(
            ["subdomain"],  # email + api_token or access_token: neither way is required alone
            {"api_token": "Add API token", "access_token": "OAuth Clients"},
            {"subdomain", "email", "api_token", "access_token", "start_date", "base_url"},
            streams=list(zendesk.ZendeskMock.streams_with_data)),
    ),
)}


@functools.cache
def full_read_of(name: str) -> FullRead:
    """The one full read of a connector's streams against its mock, faults armed (shared by its tests)."""
    contract = CONTRACTS[name]
    mock = contract.mock()
    contract.arm(mock)
    return contract.built().full_read(mock, contract.read(mock))


def with_field(contracts: Iterable[Contract], attribute: str) -> list[Contract]:
    """The contracts that set ``attribute`` (for parametrising a check only some connectors have)."""
    return [c for c in contracts if getattr(c, attribute)]
