"""source_solidafy.airflow.plan_dag run for real with Airflow's dag.test() (a fresh metadata database, the
DAG file in a dags folder, as Airflow 3 wants), against the shards mock API over a real socket: one
mapped read_shard per bundle, records by primary key and the merged state those of one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("airflow", reason="the airflow extra is not installed (pip install '.[airflow]')")

from integration_tests.helpers import BIN_DIR, run_cli  # noqa: E402
from integration_tests.mocks.shards import CONNECTOR, ShardsApi, config  # noqa: E402
from integration_tests.test_scale_shards import STREAMS, file_records  # noqa: E402

DAG_FILE = """
import json, sys
from datetime import datetime
from source_solidafy.airflow import plan_dag

dag = plan_dag("solidafy_shards", {connector!r}, {config!r}, output={output!r}, state={state!r}, shards=3,
               max_units=7, format="json", schedule=None, start_date=datetime(2024, 1, 1))

if __name__ == "__main__":
    run = dag.test()
    tis = [(ti.task_id, ti.map_index, str(ti.state)) for ti in run.get_task_instances()]
    print("RESULT " + json.dumps({{"state": str(run.state), "tasks": tis}}))
"""


def test_plan_dag_maps_one_task_per_bundle(tmp_path: Path) -> None:
    home = tmp_path / "airflow"
    dags = home / "dags"
    dags.mkdir(parents=True)
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}"}
    migrate = subprocess.run([str(BIN_DIR / "airflow"), "db", "migrate"], env=env, capture_output=True, text=True,
                             timeout=600)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    yaml = tmp_path / "shards.yaml"
    yaml.write_text(CONNECTOR)
    out, state = tmp_path / "lake", tmp_path / "lake" / "state.json"
    with ShardsApi() as api:
        single = run_cli("read", "-c", str(yaml), "--config-json", json.dumps(config(api.url)))
        dag_file = dags / "solidafy_shards.py"
        dag_file.write_text(DAG_FILE.format(connector=str(yaml), config=config(api.url), output=str(out),
                                            state=str(state)))
        proc = subprocess.run([sys.executable, str(dag_file)], env=env, capture_output=True, text=True, timeout=900)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, (proc.stdout[-3000:], proc.stderr[-3000:])
    result = json.loads(line[len("RESULT "):])
    assert result["state"] == "success", result
    reads = sorted(m for task_id, m, s in result["tasks"] if task_id == "read_shard" and s == "success")
    assert reads == [0, 1, 2]  # dynamic task mapping: one read_shard per bundle
    assert file_records(out) == {s: {r["id"]: r for r in single.records(s)} for s in STREAMS}
    assert json.loads(state.read_text())["streams"] == single.of_type("STATE")[-1]["state"]["streams"]
