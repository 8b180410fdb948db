"""The generated reference covers every model and every key the loader accepts."""

from __future__ import annotations

from pydantic import BaseModel

from source_solidafy.manifest import models
from source_solidafy.manifest.reference import reference_markdown


def test_every_model_and_key_is_documented() -> None:
    text = reference_markdown()
    for name in models.__all__:
        model = getattr(models, name)
        if isinstance(model, type) and issubclass(model, BaseModel):
            assert f"### {name}\n" in text, name
            for field_name, info in model.model_fields.items():
                assert f"| `{info.alias or field_name}` |" in text
    assert "Also accepted: `partition_field` for `field`." in text
