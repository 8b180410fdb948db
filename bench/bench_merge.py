"""State at 100,000 partitions: plan file, unit manifests, merge, and the merged state file.

A parent_stream child with ``--partitions`` parent keys planned into ``--units`` units (the plan's
real code: rest/plan.py's slices, planning.py's bundles), one manifest per unit with a cursor per
partition, then ``merge_states``. Reported: sizes, and the time to write and read the plan, to merge
(in order, and shuffled with every manifest twice: the same state), to write and parse the merged
state file, and one PartitionStates snapshot (what a single-process read builds) of it.
Usage: python bench/bench_merge.py [--partitions 100000] [--units 64]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from common import HERE

sys.path.insert(0, str(HERE.parent))
from source_solidafy.rest.partition_state import PartitionStates  # noqa: E402
from source_solidafy.scale.manifests import UnitManifest  # noqa: E402
from source_solidafy.scale.merge import merge_states  # noqa: E402
from source_solidafy.scale.planning import Piece, Pieces, _chunks  # noqa: E402
from source_solidafy.scale.units import Estimate, Plan, StreamPlan, Unit, loads_plan, unit_id  # noqa: E402
from source_solidafy.source import ReadContext, Tuning  # noqa: E402
from source_solidafy.state import load_state_file, write_state_file  # noqa: E402


def timed(fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--partitions", type=int, default=100_000)
    ap.add_argument("--units", type=int, default=64)
    args = ap.parse_args()
    n = args.partitions
    pieces = [Piece({"customer_id": f"cus_{i:07d}"}, Estimate(100, 1, "t")) for i in range(n)]
    ps = Pieces("partitions", pieces, StreamPlan("parent_stream", None, {"parent": {"cursor": "2024"}}), bundle=True)
    units = [Unit(unit_id(i), "notes", "partitions", {"partitions": [p.bounds for p in g]}, Estimate(100 * len(g), len(g)),
                  {"partitions": []}) for i, g in enumerate(_chunks(ps.pieces, args.units))]
    plan = Plan("demo", "2025-01-01T00:00:00Z", units, {"notes": ps.stream})
    data, t_dump = timed(plan.dumps)
    _, t_load = timed(loads_plan, data, "plan")
    manifests = [UnitManifest(plan.run_id, u.unit_id, "notes", 1, [], {
        "partitions": [{"partition": p, "cursor": f"2025-01-01T00:{i % 60:02d}:00Z"} for i, p in enumerate(u.bounds["partitions"])],
        "cursor": "2025-01-01T00:59:00Z"}, False, [], 0, "t") for u in units]
    (merged, _), t_merge = timed(merge_states, plan, manifests)
    shuffled = manifests * 2
    random.Random(1).shuffle(shuffled)
    (again, _), t_merge2 = timed(merge_states, plan, shuffled)
    assert again == merged and len(merged["notes"]["partitions"]) == n
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "state.json")
        _, t_write = timed(write_state_file, path, merged)
        size = Path(path).stat().st_size
        state, t_parse = timed(load_state_file, path)
    ctx = ReadContext(config={}, tuning=Tuning(max_partition_states=n))
    states, t_states = timed(PartitionStates, "notes", state["notes"], ctx)
    _, t_snap = timed(states.snapshot)
    print(f"{n:,} partitions in {len(units)} units")
    print(f"plan file {len(data) / 1e6:.1f} MB: write {t_dump * 1000:.0f} ms, read {t_load * 1000:.0f} ms")
    print(f"merge {t_merge * 1000:.0f} ms; shuffled with every manifest twice {t_merge2 * 1000:.0f} ms, same state")
    print(f"merged state file {size / 1e6:.1f} MB: write {t_write * 1000:.0f} ms, read+parse {t_parse * 1000:.0f} ms")
    print(f"single-process read of it: PartitionStates {t_states * 1000:.0f} ms, one snapshot {t_snap * 1000:.0f} ms "
          f"(max_partition_states default 100,000)")


if __name__ == "__main__":
    main()
