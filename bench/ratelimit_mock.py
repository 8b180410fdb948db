"""Serve integration_tests/mocks/ratelimited.py in its own process (bench_ratelimit.py's API).

    python bench/ratelimit_mock.py '{"limit": 100, "window": 0.5, "family": "ietf", "pages": 10, "teams": 100}'

Prints its base URL and serves until terminated; ``GET /_counts`` answers ``{"served": n, "rejected": n}``
(not counted against the budget).
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integration_tests.mocks.ratelimited import LimitedApi, Pool  # noqa: E402
from integration_tests.mocks.server import MockServer, Request, Response  # noqa: E402


def main() -> None:
    spec = json.loads(sys.argv[1])
    api = LimitedApi([Pool("", spec["limit"], spec["window"])], spec["family"], pages=spec["pages"],
                     teams=spec["teams"], decimal_reset=spec.get("decimal", False))

    def handler(req: Request) -> Response:
        if req.path == "/_counts":
            return Response.json({"served": sum(api.served.values()), "rejected": api.rejected})
        return api(req)

    with MockServer(handler) as server:
        print(server.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
