"""Serve integration_tests/mocks/manifest_api.py in its own process (bench_airbyte_manifest.py's API).

    python bench/manifest_mock.py API.json     # prints its base URL, serves until terminated

Its own process, so the children's peak RSS (wait4) does not start from a parent holding the records.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integration_tests.mocks.manifest_api import ManifestApi  # noqa: E402
from integration_tests.mocks.server import MockServer  # noqa: E402


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    with MockServer(ManifestApi(spec)) as server:
        print(server.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
