"""Read every stream of the demo connector from the image with PyAirbyte, twice: the second read is
incremental, from the state PyAirbyte saved in its cache after the first.

    AIRBYTE_OFFLINE_MODE=1 python container/pyairbyte_read.py IMAGE BASE_URL CACHE_DIR

(AIRBYTE_OFFLINE_MODE: no registry lookup; PyAirbyte runs ``docker run --network host IMAGE ...``.)
Prints one JSON line per read: the records it delivered, and the records in the cache per stream.
"""

from __future__ import annotations

import json
import sys

import airbyte as ab


def main(image: str, base_url: str, cache_dir: str) -> None:
    config = {"connector": "demo", "api_key": "demo-secret-token", "base_url": base_url}
    source = ab.get_source("source-solidafy", docker_image=image, use_host_network=True, config=config)
    source.check()
    source.select_all_streams()
    cache = ab.new_local_cache("solidafy_demo", cache_dir=cache_dir)
    for _ in range(2):
        result = source.read(cache=cache)
        cached = {name: len(dataset) for name, dataset in result.streams.items()}
        print(json.dumps({"delivered": result.processed_records, "cached": cached}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
