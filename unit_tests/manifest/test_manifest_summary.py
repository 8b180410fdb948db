"""``validate`` output, and models built in code (no loader) still render and derive a spec."""

from __future__ import annotations

from source_solidafy.manifest import load_manifest_text, summarize
from source_solidafy.manifest.models import Manifest
from source_solidafy.manifest.templates import build_context

TEXT = """\
name: shop
version: "2.0"
base_url: "https://{{ config.shop }}.example.com"
auth: {type: basic, username: "{{ config.user }}", password: "{{ config.password }}"}
streams:
  - name: orders
    request: {path: /orders}
    pagination: {type: link_header}
    primary_key: id
    cursor_field: updated_at
  - name: lines
    request: {path: "/orders/{{ partition.order_id }}/lines"}
    partition: {type: parent_stream, stream: orders, parent_field: id, field: order_id}
    primary_key: [order_id, line]
"""


def test_summary_lists_every_stream() -> None:
    assert summarize(load_manifest_text(TEXT)).splitlines() == [
        "shop 2.0: valid",
        "  base_url: https://{{ config.shop }}.example.com",
        "  auth: basic",
        "  streams: 2",
        "    stream  pagination   partition      cursor_field  primary_key",
        "    orders  link_header  -              updated_at    id",
        "    lines   -            parent_stream  -             order_id, line",
    ]


def test_model_built_without_the_loader() -> None:
    m = Manifest.model_validate(
        {"name": "x", "base_url": "https://{{ config.host }}", "streams": [{"name": "s", "request": {"path": "/s"}}]}
    )
    assert m.base_url.render(build_context({"host": "h"})) == "https://h"
    fields = {f.name: f for f in m.config_fields()}
    assert fields["host"].required and not fields["base_url"].required
    assert m.missing_config({}) == ["x: config field 'host' is required (used by base_url at <string>)"]


def test_basic_auth_secret_and_required_fields() -> None:
    fields = {f.name: f for f in load_manifest_text(TEXT).config_fields()}
    assert fields["password"].secret and fields["password"].required
    assert fields["user"].required and not fields["user"].secret
    assert fields["shop"].required
