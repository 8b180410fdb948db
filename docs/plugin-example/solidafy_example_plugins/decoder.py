"""``decoder: {type: "plugin:tsv", columns: [id, name]}``

Tab-separated lines; the first line is the header unless ``columns`` names them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from source_solidafy.plugins import PluginContext


class Tsv:
    kind = "decoder"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        columns: list[str] | None = None

    def __init__(self, options: Options, context: PluginContext) -> None:
        self.columns = options.columns

    def decode(self, content: bytes, headers: Mapping[str, str]) -> Iterator[dict[str, Any]]:
        lines = [line for line in content.decode("utf-8").splitlines() if line.strip()]
        columns = self.columns
        if columns is None and lines:
            columns, lines = lines[0].split("\t"), lines[1:]
        for line in lines:
            yield dict(zip(columns or [], line.split("\t"), strict=False))
