"""The ceiling: requests + orjson.loads + one orjson RECORD line per record, written to stdout."""

from __future__ import annotations

import sys
import time

import orjson
import requests


def main(base_url: str) -> None:
    session = requests.Session()
    out = sys.stdout.buffer
    cursor = "0"
    while cursor is not None:
        body = orjson.loads(session.get(f"{base_url}/items", params={"cursor": cursor, "limit": 1000}).content)
        now = int(time.time() * 1000)
        out.write(b"".join(
            orjson.dumps({"type": "RECORD", "record": {"stream": "items", "data": r, "emitted_at": now}}) + b"\n"
            for r in body["data"]
        ))
        cursor = body["next_cursor"]
    out.flush()


if __name__ == "__main__":
    main(sys.argv[1])
