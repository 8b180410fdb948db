"""Templates: context names, helpers, config fallback, strict vs lenient, the sandbox, static strings."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from source_solidafy.errors import TemplateError
from source_solidafy.manifest import load_manifest_text
from source_solidafy.manifest.templates import (
    TemplateString,
    build_context,
    config_keys_used,
    day_delta,
    format_datetime,
    unix,
)

MOMENT = datetime(2024, 3, 5, 6, 7, 8, tzinfo=timezone.utc)


def render(source: str, lenient: bool = False, **ctx_args) -> str:
    config = ctx_args.pop("config", {"api_key": "k1", "org": "acme"})
    return TemplateString(source, where="t.yaml:3: x", lenient=lenient).render(
        build_context(config, now=MOMENT, **ctx_args)
    )


def test_context_names() -> None:
    out = render(
        "{{ config.org }}|{{ partition.id }}|{{ state.cursor }}|{{ job_id }}|{{ auth.instance_url }}|{{ since }}",
        partition={"id": 7}, state={"cursor": "c1"}, job_id="J9", auth={"instance_url": "https://i"}, since="s0",
    )
    assert out == "acme|7|c1|J9|https://i|s0"
    assert render("{{ now }} {{ today }}") == "2024-03-05T06:07:08Z 2024-03-05"
    assert render("{{ since }}") == ""


def test_record_is_passed_per_render() -> None:
    t = TemplateString("{{ record.a }}-{{ config.org }}")
    ctx = build_context({"org": "o"})
    assert t.render(ctx, record={"a": 1}) == "1-o"
    assert t.render(ctx, record={"a": 2}) == "2-o"


def test_bare_names_fall_back_to_config_and_reserved_names_win() -> None:
    assert render("{{ api_key }}") == "k1"
    assert render("{{ state.cursor }}", config={"state": "nope"}, state={"cursor": "c"}) == "c"
    assert render("{{ config['org'] }}/{{ config.get('missing', 'd') }}") == "acme/d"


def test_helpers() -> None:
    assert format_datetime("2024-01-02T03:04:05Z", "%Y/%m/%d") == "2024/01/02"
    assert format_datetime(1704067200, "%Y-%m-%d") == "2024-01-01"
    assert format_datetime("1704067200", "unix_ms") == "1704067200000"
    assert format_datetime(MOMENT, "unix") == str(int(MOMENT.timestamp()))
    assert format_datetime("2024-01-02", "iso8601") == "2024-01-02T00:00:00Z"
    assert unix("2024-01-01T00:00:00+00:00") == 1704067200 and unix(1704067200) == 1704067200
    expected = (datetime.now(timezone.utc) + timedelta(days=-30)).strftime("%Y-%m-%d")
    assert day_delta(-30) == expected
    assert render("{{ format_datetime(state.cursor, '%Y') }}|{{ unix(state.cursor) }}",
                  state={"cursor": "2024-01-01T00:00:00Z"}) == "2024|1704067200"
    assert render("{{ now_utc() }}").endswith("Z")
    with pytest.raises(TemplateError, match=r"t.yaml:3: x: cannot read a date from 'soon'"):
        render("{{ unix('soon') }}")


def test_undefined_is_an_error_naming_where_and_variable() -> None:
    with pytest.raises(TemplateError) as info:
        render("/orgs/{{ config.org_id }}")
    assert str(info.value) == "template at t.yaml:3: x: undefined variable 'config.org_id'"
    with pytest.raises(TemplateError, match="undefined variable 'org_id'"):
        render("{{ org_id }}")
    with pytest.raises(TemplateError, match="undefined variable 'partition.id'"):
        render("{{ partition.id }}")


def test_undefined_is_falsy_in_conditions() -> None:
    assert render("{% if config.start %}x{% else %}none{% endif %}") == "none"


def test_lenient_renders_empty() -> None:
    assert render("{{ config.start_date_ts }}", lenient=True) == ""
    assert render("{{ nope.deeper.still }}", lenient=True) == ""


def test_params_are_lenient_and_paths_strict_in_a_loaded_manifest() -> None:
    m = load_manifest_text(
        "name: t\nbase_url: https://x\ncheck: {path: /me, params: {since: '{{ config.since_ts }}'}}\nstreams:\n"
        "  - name: s\n    request:\n      path: '/o/{{ config.org }}'\n"
        "      params: {created: '{{ config.start_ts }}'}\n",
        source_name="t.yaml",
    )
    ctx = build_context({})
    req = m.streams[0].request
    assert req.params["created"].render(ctx) == ""  # type: ignore[union-attr]
    assert m.check.params["since"].render(ctx) == ""  # type: ignore[union-attr]
    with pytest.raises(TemplateError, match=r"t.yaml:7: streams\[0\].request.path: undefined variable 'config.org'"):
        req.path.render(ctx)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ config.__class__.__init__.__globals__ }}",
        "{{ now_utc.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ ().__class__.__bases__[0].__subclasses__() }}",
    ],
)
def test_sandbox_refuses_python_internals(source: str) -> None:
    with pytest.raises(TemplateError, match=r"t.yaml:3: x: not allowed in a template: access to attribute"):
        render(source)


def test_sandbox_refuses_unsafe_format() -> None:
    with pytest.raises(TemplateError):
        render("{{ '{0.__class__}'.format(config) }}")


def test_runtime_errors_do_not_echo_values() -> None:
    with pytest.raises(TemplateError) as info:
        render("{{ config.api_key | int(base=2) + 'x' }}", config={"api_key": "sk_live_secret"})
    assert "sk_live_secret" not in str(info.value)
    with pytest.raises(TemplateError) as info:
        render("{{ '%d' % config.api_key }}", config={"api_key": "sk_live_secret"})
    assert "sk_live_secret" not in str(info.value) and "t.yaml:3: x: TypeError" in str(info.value)


def test_static_strings_never_touch_jinja() -> None:
    t = TemplateString("/customers")
    assert t.is_static and t.render({}) == "/customers" and t._template is None
    assert t.compile() is t and t._template is None
    assert not TemplateString("{{ x }}").is_static
    assert not TemplateString("{% if x %}y{% endif %}").is_static


def test_loaded_templates_are_compiled_once() -> None:
    m = load_manifest_text("name: t\nbase_url: 'https://{{ config.host }}'\nstreams:\n  - {name: s, request: {path: /s}}\n")
    compiled = m.base_url._template
    assert compiled is not None
    assert m.base_url.render(build_context({"host": "h"})) == "https://h"
    assert m.base_url._template is compiled


def test_config_keys_used() -> None:
    assert config_keys_used("{{ config.a }}{{ config['b'] }}{{ config.get('c') }}{{ d }}") == {"a", "b", "c", "d"}
    assert config_keys_used("{% for x in items %}{{ x }}{% endfor %}{{ state.cursor }}{{ now }}") == {"items"}
    assert config_keys_used(TemplateString("/static")) == set()
    assert config_keys_used("{% for i in range(3) %}{{ dict(a=i) }}{% endfor %}") == set()
    assert config_keys_used("{% set y = 1 %}{{ y }}{{ record.id }}{{ format_datetime(since, 'unix') }}") == set()


def test_manifests_copy_and_pickle() -> None:
    import copy
    import pickle

    m = load_manifest_text(
        "name: t\nbase_url: 'https://{{ config.host }}'\nstreams:\n"
        "  - {name: s, request: {path: /s, params: {a: '{{ config.a }}'}}}\n", source_name="t.yaml"
    )
    twin = copy.deepcopy(m)
    assert twin == m and twin.base_url._template is m.base_url._template
    assert twin.base_url.where == "t.yaml:2: base_url"
    thawed = pickle.loads(pickle.dumps(m))
    assert thawed.base_url.render(build_context({"host": "h"})) == "https://h"
    assert thawed.streams[0].request.params["a"].render(build_context({})) == ""  # type: ignore[union-attr]
