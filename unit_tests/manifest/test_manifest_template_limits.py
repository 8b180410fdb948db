"""The template sandbox's bounds: what connector values need works, amplifiers are refused before they run."""

from __future__ import annotations

import pytest

from source_solidafy.errors import TemplateError
from source_solidafy.manifest.jinja_env import make_environment, render
from source_solidafy.manifest.templates import TemplateString


def _render(source: str) -> str:
    template = TemplateString(source)
    template.compile(make_environment(), "t.yaml:1: path")
    return render(template, {}, {})


@pytest.mark.parametrize("source, expected", [
    ("{{ 2**64 }}", "18446744073709551616"), ("{{ 'ab' * 3 }}", "ababab"), ("{{ [1] * 2 }}", "[1, 1]"),
    ("{{ '%05d' % 7 }}", "00007"), ("{{ '%s-%s' % ('a', 'b') }}", "a-b"), ("{{ '{:>4}'.format(7) }}", "   7"),
    ("{{ 'x'|center(5) }}", "  x  "), ("{{ 'a,b'.replace(',', ';') }}", "a;b"), ("{{ ['a', 'b']|join('/') }}", "a/b"),
    ("{% for i in range(3) %}{{ i }}{% endfor %}", "012"), ("{{ 1700000000 * 1000 }}", "1700000000000"),
])
def test_ordinary_templates_work(source: str, expected: str) -> None:
    assert _render(source) == expected


@pytest.mark.parametrize("source, message", [
    ("{{ 9**20000000 }}", "60,000,000-bit number"),
    ("{{ 'x' * 10**10 }}", "repetition would make 10,000,000,000 characters"),
    ("{{ 10**10 * 'x' }}", "repetition"),
    ("{{ [0] * 10**9 }}", "repetition"),
    ("{{ '%0999999999d' % 1 }}", "'%' format width"),
    ("{{ '%*d' % (10, 1) }}", "'%*'"),
    ("{{ '{:>999999999}'.format(1) }}", "format width"),
    ("{{ '{:{w}}'.format(1, w=10**9) }}", "width taken from an argument"),
    ("{{ '%099999999d'|format(1) }}", "'%' format width"),
    ("{{ 'x'.center(10**9) }}", "str.center"),
    ("{{ 'x'.zfill(10**9) }}", "str.zfill"),
    ("{{ 'x'|center(10**9) }}", "center filter"),
    ("{{ ('x' * 100000).replace('', 'y' * 100000) }}", "str.replace"),
    ("{{ ('x' * 1000)|join('y' * 100000) }}", "join filter"),
    ("{{ ('\\n' * 1000)|indent(10**6) }}", "indent filter"),
    ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "1,000,000 loop iterations"),
    ("{% macro m(n) %}{{ m(n) }}{{ m(n) }}{% endmacro %}{{ m(1) }}", "too deeply"),
])
def test_amplifiers_are_refused(source: str, message: str) -> None:
    with pytest.raises(TemplateError, match="t.yaml:1: path") as info:
        _render(source)
    assert message in str(info.value)


def test_huge_constants_are_not_folded_at_compile_time() -> None:
    """Compiling must not evaluate ``9**20000000`` (jinja folds constant expressions): it stays a call
    that the render refuses."""
    code = make_environment().compile("{{ 9**20000000 }}{{ 'x' * 10**10 }}", raw=True)
    assert "call_binop(context, '**', 9, 20000000)" in code and "call_binop(context, '*', 'x'" in code
