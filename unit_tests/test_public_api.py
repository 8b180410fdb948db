"""The public Python API: cheap to import, statically typed, one options object behind the keywords."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import source_solidafy as ss
from source_solidafy.options import SyncOptions


def test_import_is_cheap() -> None:
    code = ("import sys, source_solidafy as ss; ss.__version__; "
            "print(sorted(m for m in ('pydantic', 'pyarrow', 'duckdb', 'yaml', 'jinja2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_lazy_names_are_the_api_functions() -> None:
    from source_solidafy import api

    for name in ("list_connectors", "spec", "check", "streams", "discover", "read", "sync", "prepare_sync"):
        assert getattr(ss, name) is getattr(api, name)
    with pytest.raises(AttributeError, match="reed"):
        ss.reed  # type: ignore[attr-defined]  # noqa: B018


def test_keywords_are_the_options_fields() -> None:
    with pytest.raises(TypeError, match="max_record"):
        ss.read("demo", {"api_key": "k"}, max_record=5)  # type: ignore[call-arg]
    run = ss.prepare_sync("demo", {"api_key": "k"}, streams=["customers"], max_records=3, concurrency=2)
    assert run.plan.options == SyncOptions(streams=["customers"], max_records=3, concurrency=2)


def test_a_type_checker_sees_the_keyword_api(tmp_path: Path) -> None:
    user = tmp_path / "user.py"
    user.write_text('import source_solidafy as ss\n\nreveal_type(ss.read)\nss.read("stripe", {}, max_records="5")\n'
                    "ss.sync('stripe', {}, max_held_records=1)\nss.reed\n")
    result = subprocess.run([sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-incremental",
                             "--config-file=", str(user)], capture_output=True, text=True)
    lines = result.stdout.splitlines()
    revealed = next(line for line in lines if "Revealed type" in line)
    assert "max_records: int | None =" in revealed and "concurrency: int =" in revealed
    errors = [line.split(": error: ")[1] for line in lines if ": error: " in line]
    assert errors == ['Argument "max_records" to "read" has incompatible type "str"; expected "int | None"  [arg-type]',
                      'Module has no attribute "reed"  [attr-defined]'], result.stdout
