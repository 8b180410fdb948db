"""``type: plugin:<name>`` blocks with stand-in entry points: lookup, kinds, options, the server's switch,
and the engine's adapters. The real thing (a pip-installed package, the CLI, the server) is
integration_tests/test_cli_plugins.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from source_solidafy.errors import ManifestError, StreamError
from source_solidafy.manifest import plugin_models
from source_solidafy.manifest.loader import load_manifest_text
from source_solidafy.plugins import NextPage, Page, PluginContext
from source_solidafy.rest import builders


class Lines:
    kind = "decoder"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        sep: str = "\n"

    def __init__(self, options: Options, context: PluginContext) -> None:
        self.sep = options.sep

    def decode(self, content: bytes, headers: Any) -> Iterator[dict[str, Any]]:
        for part in content.decode().split(self.sep):
            if part:
                yield {"line": part}


class Countdown:
    kind = "paginator"

    class Options(BaseModel):
        start: int

    def __init__(self, options: Options, context: PluginContext) -> None:
        self.start = options.start

    def next_page(self, page: Page) -> NextPage | None:
        left = self.start if page.state is None else page.state
        return NextPage(params={"left": left}, state=left - 1) if left > 0 else None


class Broken:
    kind = "transform"

    def __init__(self, options: None, context: PluginContext) -> None:
        pass

    def transform(self, record: dict[str, Any]) -> dict[str, Any] | None:
        raise KeyError("boom")


class NoKind:
    pass


class _EntryPoint:
    def __init__(self, name: str, target: Any) -> None:
        self.name, self.value, self.target = name, f"tests:{name}", target

    def load(self) -> Any:
        if isinstance(self.target, Exception):
            raise self.target
        return self.target


@pytest.fixture(autouse=True)
def fake_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    found = {name: _EntryPoint(name, target) for name, target in (
        ("lines", Lines), ("countdown", Countdown), ("broken", Broken), ("nokind", NoKind),
        ("missing_dep", ModuleNotFoundError("No module named 'nope'")))}
    monkeypatch.setattr(plugin_models, "installed", lambda: found)


def _load(decoder: str, **kwargs: Any) -> Any:
    text = f"name: t\nbase_url: https://x\nstreams:\n  - name: s\n    request: {{path: /}}\n    decoder: {decoder}\n"
    return load_manifest_text(text, "t.yaml", **kwargs)


def _problem(decoder: str, **kwargs: Any) -> str:
    with pytest.raises(ManifestError) as info:
        _load(decoder, **kwargs)
    return str(info.value)


def test_a_plugin_block_holds_the_class_and_its_validated_options() -> None:
    spec = _load('{type: "plugin:lines", sep: ";"}').streams[0].decoder
    assert spec.plugin is Lines and spec.options.sep == ";" and spec.name == "lines"

    class Resp:
        content, headers, url, method = b"a;b;", {}, "u", "GET"

    assert builders.decoder(spec).decode(Resp()).records == [{"line": "a"}, {"line": "b"}]


@pytest.mark.parametrize(("decoder", "expected"), [
    ('{type: "plugin:lines", sepp: x}', "t.yaml:6: streams[0].decoder.sepp: unknown key; did you mean 'sep'?"),
    ('{type: "plugin:lines", sep: [1]}', "t.yaml:6: streams[0].decoder.sep: expected a string, got a list"),
    ('{type: "plugin:line"}', "t.yaml:6: streams[0].decoder.type: unknown plugin 'line' (installed plugins: "
                              "broken, countdown, lines, missing_dep, nokind); did you mean 'plugin:lines'?"),
    ('{type: "plugin:countdown"}', "t.yaml:6: streams[0].decoder.type: plugin 'countdown' is a paginator plugin; "
                                   "this place takes a decoder plugin"),
    ('{type: "plugin:nokind"}', "t.yaml:6: streams[0].decoder.type: plugin 'nokind' (tests:nokind) declares no "
                                "kind; expected kind = one of auth, paginator, decoder, partition_router, transform"),
    ('{type: "plugin:missing_dep"}', "t.yaml:6: streams[0].decoder.type: plugin 'missing_dep' cannot be loaded "
                                     "(tests:missing_dep): ModuleNotFoundError: No module named 'nope'"),
])
def test_mistakes_are_problems_with_file_and_line(decoder: str, expected: str) -> None:
    assert _problem(decoder) == expected


def test_the_server_switch_refuses_any_plugin_block() -> None:
    assert _problem('{type: "plugin:lines"}', allow_plugins=False) == (
        "t.yaml:6: streams[0].decoder.type: 'plugin:lines': plugins are off in this server (its operator enables "
        "them with solidafy-cdk serve --allow-plugins)")


def test_paginator_plugin_state_travels_between_pages() -> None:
    text = ("name: t\nbase_url: https://x\nstreams:\n  - name: s\n    request: {path: /}\n"
            "    pagination: {type: 'plugin:countdown', start: 2}\n")
    spec = load_manifest_text(text, "t.yaml").streams[0].pagination
    paginator = builders.paginator(spec, builders.PageInputs())

    class Resp:
        url, headers = "https://x/", {}

    first = paginator.first()
    second = paginator.next(Resp(), {}, [{"id": 1}], first)
    assert second is not None and second.params == {"left": 2}
    third = paginator.next(Resp(), {}, [{"id": 2}], second)
    assert third is not None and third.params == {"left": 1}
    assert paginator.next(Resp(), {}, [{"id": 3}], third) is None


def test_a_plugin_that_raises_fails_with_its_name() -> None:
    text = ("name: t\nbase_url: https://x\nstreams:\n  - name: s\n    request: {path: /}\n"
            "    transform: [{type: 'plugin:broken'}]\n")
    step = builders.transformer(load_manifest_text(text, "t.yaml").streams[0].transform)
    with pytest.raises(StreamError, match=r"^plugin 'broken' failed in transform: KeyError: 'boom'$"):
        step.apply([{"id": 1}], {"config": {}})
