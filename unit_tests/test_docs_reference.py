"""The generated YAML key reference in docs/ stays true to the models."""

from __future__ import annotations

from pathlib import Path

from source_solidafy.manifest.reference import reference_markdown

DOC = Path(__file__).resolve().parent.parent / "docs" / "connector-yaml-reference.md"


def test_reference_doc_is_current() -> None:
    assert DOC.read_text(encoding="utf-8").strip() == reference_markdown().strip(), (
        "docs/connector-yaml-reference.md is stale: run "
        "`python -m source_solidafy.manifest.reference > docs/connector-yaml-reference.md`"
    )
