"""``partition: {type: "plugin:shards", count: "{{ config.shards }}"}``

One partition per shard, ``{"shard": 0}`` ... ``{"shard": count - 1}``: ``partition.shard`` in the request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict

from source_solidafy.plugins import PluginContext


class Shards:
    kind = "partition_router"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        count: str  # a number or a template rendered against the config

    def __init__(self, options: Options, context: PluginContext) -> None:
        self.count = int(context.render(options.count))

    def partitions(self) -> Iterator[dict[str, Any]]:
        for shard in range(self.count):
            yield {"shard": shard}
