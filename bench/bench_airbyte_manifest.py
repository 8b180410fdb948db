"""One Airbyte corpus manifest read by airbyte-cdk 7.39.1 and by us: the same mock API, the same records.

The manifest is Ashby's (../shared/compat/airbyte-manifests/ashby): its ``candidates`` stream, POST
requests with the cursor and page size in the JSON body (CursorPagination, 100 records a page), Basic
auth. The mock (integration_tests/mocks/manifest_api.py, in its own process: manifest_mock.py) serves
``--records`` candidates of 12 fields. Both sides run as Airbyte sources writing to /dev/null:
airbyte-cdk from its own virtualenv (integration_tests/airbyte-cdk.txt) through
integration_tests/airbyte_cdk_launch.py, as a manifest-only image runs; we as ``source-solidafy read --config --catalog`` with the manifest in
``config.connector``. A first run of each checks both deliver the same records; then ``--runs``
interleaved pairs, the least CPU of each side kept (common.best). The same again with ``--small``
records gives the CPU per record (the difference over the difference) and the start-up's share.
``spec``: the least wall time of 5.

Both sides read bytecode from a private cache (as after ``pip install``; see bench_rest.py).
``--before PATH`` adds our read by another checkout's code (through ``PYTHONPATH``), interleaved.
Usage: python bench/bench_airbyte_manifest.py [--records 50000] [--small 1000] [--runs 3] [--before PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from common import BIN, Api, best, bytecode_env, measure

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from integration_tests.airbyte_diff import CORPUS, LAUNCH, Case, cdk_python  # noqa: E402

FIELDS = {"id": "cand-{i}", "name": "Candidate {i}", "primaryEmailAddress": {"value": "c{i}@example.com",
          "type": "Work", "isPrimary": True}, "phoneNumbers": [], "socialLinks": [], "tags": [],
          "position": "Engineer", "company": "ACME", "school": "MIT", "applicationIds": ["app-{i}"],
          "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-02-01T00:00:00.000Z"}


def bench_case(records: int) -> Case:
    return Case("bench-ashby", {
        "manifest": "corpus:ashby", "rewrite": {"https://api.ashbyhq.com": "{mock}"}, "streams": ["candidates"],
        "api": {"auth": {"type": "basic", "username": "dummy", "password": "dummy"}, "routes": [{
            "path": "/candidate.list", "method": "POST", "records": {"count": records, "fields": FIELDS},
            "paging": {"type": "cursor", "cursor": "cursor", "limit": "per_page", "size": 100},
            "body": {"success": True, "results": "$records", "moreDataAvailable": "$has_more",
                     "nextCursor": {"$if_more": "$next"}}}]},
    })


def commands(case: Case, work: Path, url: str) -> dict[str, list[str]]:
    manifest, config, catalog = case.prepare(work, url, dt.date.today())
    ours_config = work / "config_ours.json"
    ours_config.write_text(json.dumps({**json.loads(config.read_text()), "connector": str(manifest)}))
    cdk = [cdk_python(), str(LAUNCH), str(manifest)]
    ours = [str(BIN / "source-solidafy")]
    return {
        "cdk read": [*cdk, "read", "--config", str(config), "--catalog", str(catalog)],
        "ours read": [*ours, "read", "--config", str(ours_config), "--catalog", str(catalog)],
        "cdk spec": [*cdk, "spec"],
        "ours spec": [*ours, "spec", "--connector", str(manifest)],
    }


def record_count(cmd: list[str], env: dict[str, str]) -> Counter[str]:
    """Message types and record ids a read writes, read line by line (a parent holding the whole output
    would pass its peak RSS on to the measured children: Linux keeps it across fork and exec)."""
    kinds: Counter[str] = Counter()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                          env={**os.environ, **env}) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("{"):
                msg = json.loads(line)
                kinds[msg["type"]] += 1
                if msg["type"] == "RECORD":
                    kinds[msg["record"]["data"]["id"]] += 1
    return kinds


def measure_side(records: int, runs: int, env: dict[str, str], tmp: Path, before: str | None = None) -> dict[str, Any]:
    """Both sides' reads of ``records`` (the same records checked first) and their spec times."""
    case = bench_case(records)
    (tmp / f"api-{records}.json").write_text(json.dumps(case.api(dt.date.today())))
    with Api(str(tmp / f"api-{records}.json"), script="manifest_mock.py") as server:
        cmds = commands(case, tmp / f"work-{records}", server.url)
        cdk_out, our_out = record_count(cmds["cdk read"], env), record_count(cmds["ours read"], env)  # warm-up too
        assert cdk_out["RECORD"] == records, f"airbyte-cdk delivered {cdk_out['RECORD']} records, not {records}"
        assert {k: v for k, v in cdk_out.items() if k.startswith("cand-")} == \
               {k: v for k, v in our_out.items() if k.startswith("cand-")}, "the two delivered different records"
        sides = {"cdk": (cmds["cdk read"], env), "ours": (cmds["ours read"], env)}
        if before:  # the same read by another checkout's code, interleaved
            sides["before"] = (cmds["ours read"], {**env, "PYTHONPATH": before})
        rounds = [{side: measure(cmd, env=side_env) for side, (cmd, side_env) in sides.items()} for _ in range(runs)]
        spec = {side: min(measure(cmds[f"{side} spec"], env=env).wall for _ in range(5)) for side in ("cdk", "ours")}
    return {**{side: best([r[side] for r in rounds]) for side in sides}, "spec": spec}


def run(records: int, small: int, runs: int, before: str | None = None) -> None:
    if not (CORPUS / "ashby").is_dir():
        sys.exit(f"the Airbyte manifest corpus is not at {CORPUS}")
    with tempfile.TemporaryDirectory() as tmp:
        env = bytecode_env(str(Path(tmp) / "pyc"))
        big = measure_side(records, runs, env, Path(tmp), before)
        little = measure_side(small, runs, env, Path(tmp), before)
    cdk, ours, spec = big["cdk"], big["ours"], big["spec"]
    per = {side: (big[side].cpu - little[side].cpu) / (records - small) * 1e6 for side in ("cdk", "ours")}
    print(f"manifest       : ashby, stream candidates, {records:,} records of 12 fields, 100 a page (POST, cursor in body)")
    print(f"airbyte-cdk    : {cdk}  -> {records / cdk.cpu:,.0f} records/CPU-s")
    print(f"source-solidafy: {ours}  -> {records / ours.cpu:,.0f} records/CPU-s")
    print(f"CPU ratio cdk/ours: {cdk.cpu / ours.cpu:.1f}x (aim >= 8x); wall ratio {cdk.wall / ours.wall:.1f}x")
    print(f"CPU per record (between {small:,} and {records:,} records): airbyte-cdk {per['cdk']:.1f} us, "
          f"source-solidafy {per['ours']:.1f} us ({per['cdk'] / per['ours']:.1f}x)")
    print(f"CPU of a {small:,}-record sync (start-up mostly): airbyte-cdk {little['cdk'].cpu:.2f}s, "
          f"source-solidafy {little['ours'].cpu:.2f}s ({little['cdk'].cpu / little['ours'].cpu:.1f}x)")
    if before:
        b = big["before"]
        print(f"before         : {b}  -> CPU ratio cdk/before {cdk.cpu / b.cpu:.1f}x; ours/before {ours.cpu / b.cpu:.3f}x; "
              f"a {small:,}-record sync {little['before'].cpu:.2f}s")
    print(f"spec wall      : airbyte-cdk {spec['cdk']:.2f}s, source-solidafy {spec['ours']:.2f}s "
          f"({spec['cdk'] / spec['ours']:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--small", type=int, default=1_000, help="the short sync that gives CPU per record")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", help="a checkout whose source_solidafy reads too, as 'before' (PYTHONPATH)")
    args = parser.parse_args()
    run(args.records, args.small, args.runs, args.before)


if __name__ == "__main__":
    main()
