"""``transform: [{type: "plugin:mask", fields: [email], keep_last: 4}]``

Masks the listed fields (all but the last ``keep_last`` characters); drops records with ``drop_if`` set.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from source_solidafy.plugins import PluginContext


class Mask:
    kind = "transform"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        fields: list[str]
        keep_last: int = Field(default=0, ge=0)
        drop_if: str | None = None  # a field: a record where it is true is dropped

    def __init__(self, options: Options, context: PluginContext) -> None:
        self.options = options

    def transform(self, record: dict[str, Any]) -> dict[str, Any] | None:
        if self.options.drop_if and record.get(self.options.drop_if):
            return None
        keep = self.options.keep_last
        for name in self.options.fields:
            value = record.get(name)
            if isinstance(value, str):
                record[name] = "*" * max(0, len(value) - keep) + (value[-keep:] if keep else "")
        return record
