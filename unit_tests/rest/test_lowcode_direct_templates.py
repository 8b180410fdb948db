"""The engine templates an Airbyte manifest becomes (``{{ _ab(N, config, partition) }}``, ``_ab_url``,
``_ab_body``) rendered by calling the table's helper (lowcode/values.py, TableTemplate) give what jinja
gives, fail with jinja's TemplateError, and keep a read of plain lookups from importing jinja."""

from __future__ import annotations

import pickle
import subprocess
import sys
from typing import Any

import pytest

from source_solidafy.errors import TemplateError
from source_solidafy.lowcode.interpolation import Interpolated
from source_solidafy.lowcode.values import TableTemplate, TemplateTable
from source_solidafy.manifest.templates import TemplateString, build_context


def _templates(table: TemplateTable) -> list[TableTemplate]:
    key = Interpolated("{{ config['api_key'] }}", {}, "m.yaml:1: key")
    shout = Interpolated(  # jinja's own work inside the helper: a filter, a method call, two parts
        "{{ config['api_key'] | upper }}-{{ stream_slice.get('day', 'none') }}", {}, "m.yaml:2: v")
    broken = Interpolated("{{ config['n'] // 0 }}", {}, "m.yaml:3: divided")
    url = (Interpolated("https://api.example.com/v1/", {}, "m.yaml:4: url_base"),
           Interpolated("{{ stream_slice.day }}", {}, "m.yaml:5: path"))
    body = {"q": key, "day": Interpolated("{{ stream_slice['day'] }}", {}, "m.yaml:6: body"), "n": 3}
    made = [table.template(key, "a"), table.template(shout, "b"), table.template(broken, "c"),
            table.url_template(*url, "d"), table.body_template(body, "e")]
    assert all(isinstance(t, TableTemplate) and t._direct is not None for t in made)
    return made  # type: ignore[return-value]


def _render(template: TemplateString, ctx: dict[str, Any], through_jinja: bool) -> str:
    try:
        return TemplateString.render(template, ctx) if through_jinja else template.render(ctx)
    except TemplateError as exc:
        return f"TemplateError: {exc}"


@pytest.mark.parametrize("partition", [{"day": "2024-01-02"}, {}, None])
def test_direct_render_is_jinjas(partition: dict[str, Any] | None) -> None:
    ctx = build_context({"api_key": "k1", "region": "eu", "n": 4}, partition=partition)
    for template in _templates(TemplateTable()):
        assert _render(template, ctx, through_jinja=False) == _render(template, ctx, through_jinja=True)
    assert _render(_templates(TemplateTable())[2], ctx, False).startswith("TemplateError: template at c: ")


def test_a_context_without_config_or_with_the_helpers_name_goes_through_jinja() -> None:
    key = _templates(TemplateTable())[0]
    ctx = build_context({"api_key": "k1"})
    assert key.render({**ctx, "_ab": lambda *a: "shadowed"}) == "shadowed"
    assert key.render(ctx, record={"id": 1}) == "k1"
    no_config = {"partition": ctx["partition"]}  # jinja's undefined config, whatever the helper makes of it
    assert _render(key, no_config, through_jinja=False) == _render(key, no_config, through_jinja=True)


def test_a_table_from_the_cache_renders_lookups_without_jinja(tmp_path: Any) -> None:
    """As after a validated-manifest cache hit: the table unpickled in a fresh process."""
    table = TemplateTable()
    pickled = tmp_path / "t.pickle"
    pickled.write_bytes(pickle.dumps(_templates(table)[0:1] + [_templates(table)[3]]))
    script = tmp_path / "render.py"
    script.write_text(f"""import pickle, sys
from source_solidafy.manifest.templates import build_context
key, url = pickle.loads(open({str(pickled)!r}, "rb").read())
ctx = build_context({{"api_key": "k1"}}, partition={{"day": "d1"}})
print(key.render(ctx), url.render(ctx), "jinja2" in sys.modules)
""")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["k1", "https://api.example.com/v1/d1", "False"]
