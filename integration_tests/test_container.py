"""The built image itself (container/build.sh: the Dockerfile unchanged, podman, host network).

Every command, output and database connector runs inside the image, against the demo API, the real
PostgreSQL and MariaDB on 127.0.0.1, a mounted SQLite file, and the storage emulators; config and
catalog are mounted read-only. ``make container-test`` runs this module alone.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import tomllib
import yaml

from integration_tests.container import REPO, Image, built_image, docker, writable_dir
from integration_tests.emulators import azurite, create_bucket, free_port, gcs_emulator, moto_s3  # noqa: F401
from integration_tests.helpers import Result
from integration_tests.test_db_support import mysql, psql, unique
from source_solidafy.demo_api import DEMO_TOKEN, DemoApi

pytestmark = [pytest.mark.container, pytest.mark.timeout(1500)]
CATALOG = REPO / "integration_tests" / "configured_catalog.json"
DEMO_COUNTS = {"customers": 1000, "orders": 2500, "products": 200}


@pytest.fixture(scope="module")
def image() -> Image:
    return built_image()


@pytest.fixture(scope="module")
def demo() -> Iterator[str]:
    with DemoApi() as api:
        yield api.url


@pytest.fixture(scope="module")
def data_dir(demo: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """config.json (demo API on the host network) and catalog.json, mounted read-only as /data."""
    folder = tmp_path_factory.mktemp("container-data")
    (folder / "config.json").write_text(json.dumps({"connector": "demo", "api_key": DEMO_TOKEN, "base_url": demo}))
    (folder / "catalog.json").write_text(CATALOG.read_text())
    folder.chmod(0o755)
    return folder


def ok(result: Result) -> Result:
    assert result.rc == 0, f"rc={result.rc}\n{result.stderr[-3000:]}"
    return result


def test_spec_answers_quickly_with_no_network(image: Image, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    proc = docker("run", "--rm", "--network", "none", image.name, "spec")
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    (message,) = [json.loads(line) for line in proc.stdout.splitlines()]
    assert message["type"] == "SPEC" and "connector" in message["spec"]["connectionSpecification"]["properties"]
    with capsys.disabled():  # measured, reported, never asserted
        print(f"\n[measure] docker run IMAGE spec: {elapsed:.2f} s from launch to exit")


def test_check_discover_read_with_read_only_mounts(image: Image, data_dir: Path) -> None:
    mount = [(data_dir, "/data:ro")]
    check = ok(image.run("check", "--config", "/data/config.json", volumes=mount))
    assert check.of_type("CONNECTION_STATUS")[0]["connectionStatus"]["status"] == "SUCCEEDED"
    discover = ok(image.run("discover", "--config", "/data/config.json", volumes=mount))
    names = {s["name"] for s in discover.of_type("CATALOG")[0]["catalog"]["streams"]}
    assert set(DEMO_COUNTS) <= names
    read = ok(image.run("read", "--config", "/data/config.json", "--catalog", "/data/catalog.json", volumes=mount))
    counts = {name: len(read.records(name)) for name in DEMO_COUNTS}
    assert counts == DEMO_COUNTS
    assert {s["state"]["stream"]["stream_descriptor"]["name"] for s in read.of_type("STATE")} == set(DEMO_COUNTS)
    assert DEMO_TOKEN not in read.stdout + read.stderr + check.stdout + discover.stdout


def test_check_bad_key_is_failed_status(image: Image, data_dir: Path, tmp_path: Path) -> None:
    bad = json.loads((data_dir / "config.json").read_text()) | {"api_key": "not-the-demo-token"}
    (tmp_path / "config.json").write_text(json.dumps(bad))
    tmp_path.chmod(0o755)
    check = ok(image.run("check", "--config", "/cfg/config.json", volumes=[(tmp_path, "/cfg:ro")]))
    assert check.of_type("CONNECTION_STATUS")[0]["connectionStatus"]["status"] == "FAILED"
    assert "not-the-demo-token" not in check.stdout + check.stderr


def test_parquet_and_ndjson_into_a_mounted_volume(image: Image, data_dir: Path, tmp_path: Path) -> None:
    out = writable_dir(tmp_path / "lake")
    for fmt in ("parquet", "json"):
        ok(image.run("read", "-c", "demo", "-C", "/data/config.json", "-f", fmt, "-o", f"/out/{fmt}",
                     volumes=[(data_dir, "/data:ro"), (out, "/out")], entrypoint="solidafy-cdk"))  # fmt: skip
    con = duckdb.connect()
    for stream, count in DEMO_COUNTS.items():
        parquet = f"{out}/parquet/{stream}/dt=*/*.parquet"
        assert con.execute(f"SELECT count(*), count(DISTINCT id) FROM read_parquet('{parquet}')").fetchone() == (count, count)
        ndjson = f"{out}/json/{stream}/dt=*/*.jsonl"
        assert con.execute(f"SELECT count(*) FROM read_json_auto('{ndjson}')").fetchone() == (count,)
    assert con.execute(f"SELECT sum(quantity) FROM read_parquet('{out}/parquet/orders/dt=*/*.parquet')").fetchone() == (7500,)


@pytest.mark.parametrize(("scheme", "fixture"), [("s3", "moto_s3"), ("r2", "moto_s3"), ("gs", "gcs_emulator"),
                                                 ("az", "azurite")])  # fmt: skip
def test_parquet_to_each_cloud_scheme(image: Image, data_dir: Path, request: pytest.FixtureRequest,
                                      scheme: str, fixture: str, tmp_path: Path) -> None:  # fmt: skip
    emulator = request.getfixturevalue(fixture)
    bucket = f"box-{scheme}"
    read_object = create_bucket(emulator, bucket)
    env = dict(emulator.env)
    if scheme == "r2":
        env["R2_ENDPOINT_URL"] = env.pop("AWS_ENDPOINT_URL")
    result = ok(image.run("read", "-c", "demo", "-C", "/data/config.json", "--streams", "products", "-f", "parquet",
                          "-o", f"{scheme}://{bucket}/raw", volumes=[(data_dir, "/data:ro")], env=env,
                          entrypoint="solidafy-cdk"))  # fmt: skip
    uri = result.summary["streams"][0]["output_file"]
    assert uri.startswith(f"{scheme}://{bucket}/raw/products/dt=")
    blob = read_object(uri.removeprefix(f"{scheme}://{bucket}/"))
    (tmp_path / "products.parquet").write_bytes(blob)
    got = duckdb.connect().execute(f"SELECT count(*), min(id), max(id) FROM read_parquet('{tmp_path}/products.parquet')")
    assert got.fetchone() == (200, "prod_0000", "prod_0199")
    for secret in ("AWS_SECRET_ACCESS_KEY", "AZURE_STORAGE_CONNECTION_STRING"):
        if secret in env:
            assert env[secret] not in result.stdout + result.stderr


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict]]:
    """The same table in PostgreSQL, MariaDB (127.0.0.1) and a SQLite file mounted read-only."""
    name = unique("solidafy_img")
    rows = ", ".join(f"({i}, 'item {i}', {i * 10})" for i in range(1, 301))
    psql(f'DROP DATABASE IF EXISTS "{name}"; CREATE DATABASE "{name}";')
    mysql(f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name};")
    lite_dir = tmp_path_factory.mktemp("sqlite")
    try:
        table = "CREATE TABLE items (id integer PRIMARY KEY, label varchar(40), amount integer);"
        psql(f"{table} INSERT INTO items VALUES {rows};", database=name)
        mysql(f"{table} INSERT INTO items VALUES {rows};", database=name)
        with sqlite3.connect(lite_dir / "shop.db") as db:
            db.executescript(f"{table} INSERT INTO items VALUES {rows};")
        lite_dir.chmod(0o755)
        yield {
            "postgres": {"connection_string": f"postgresql://postgres@127.0.0.1:5432/{name}"},
            "mysql": {"connection_string": f"mysql://root@127.0.0.1:3306/{name}"},
            "sqlite": {"connection_string": "sqlite:////db/shop.db", "_mount": str(lite_dir)},
        }
    finally:
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE);')
        mysql(f"DROP DATABASE IF EXISTS {name};")


@pytest.mark.parametrize("connector", ["postgres", "mysql", "sqlite"])
def test_database_connectors(image: Image, databases: dict[str, dict], connector: str, tmp_path: Path) -> None:
    config = dict(databases[connector])
    mounts = [(config.pop("_mount"), "/db:ro")] if "_mount" in config else []
    (tmp_path / "config.json").write_text(json.dumps({"connector": connector, **config}))
    tmp_path.chmod(0o755)
    mounts.append((tmp_path, "/cfg:ro"))
    check = ok(image.run("check", "--config", "/cfg/config.json", volumes=mounts))
    assert check.of_type("CONNECTION_STATUS")[0]["connectionStatus"]["status"] == "SUCCEEDED", check.stdout
    catalog = ok(image.run("discover", "--config", "/cfg/config.json", volumes=mounts)).of_type("CATALOG")[0]["catalog"]
    (stream,) = [s for s in catalog["streams"] if s["name"].endswith("items")]
    configured = {"streams": [{"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]}
    (tmp_path / "catalog.json").write_text(json.dumps(configured))
    read = ok(image.run("read", "--config", "/cfg/config.json", "--catalog", "/cfg/catalog.json", volumes=mounts))
    records = read.records(stream["name"])
    assert sorted(r["id"] for r in records) == list(range(1, 301))
    assert sum(r["amount"] for r in records) == 10 * sum(range(1, 301))


def test_serve_answers_health_on_a_published_port(image: Image) -> None:
    """``docker run -p HOST:8080 IMAGE serve --host 0.0.0.0``: on every interface (so a token is required)."""
    port, token = free_port(), "container-test-token"
    with image.detached("serve", "--host", "0.0.0.0", "--port", "8080", env={"SOLIDAFY_API_TOKEN": token},
                        publish=[f"127.0.0.1:{port}:8080"]):  # fmt: skip
        body = _poll(f"http://127.0.0.1:{port}/health")
        assert body["status"] == "ok" and body["version"] == _pyproject_version()
        spec = _poll(f"http://127.0.0.1:{port}/connectors/demo/spec", token=token)
        assert "connectionSpecification" in json.dumps(spec)
        with pytest.raises(urllib.error.HTTPError) as refused:
            _poll(f"http://127.0.0.1:{port}/connectors/demo/spec")
        assert refused.value.code == 401


def _poll(url: str, token: str | None = None) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError:
            raise
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _pyproject_version() -> str:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def test_labels_entrypoint_and_version_agree(image: Image) -> None:
    config = image.inspect()["Config"]
    labels, env = config["Labels"], dict(e.split("=", 1) for e in config["Env"])
    metadata = yaml.safe_load((REPO / "metadata.yaml").read_text())["data"]
    assert labels["io.airbyte.name"] == metadata["dockerRepository"]
    assert labels["io.airbyte.version"] == metadata["dockerImageTag"] == _pyproject_version()
    assert labels["org.opencontainers.image.version"] == _pyproject_version()
    assert env["AIRBYTE_ENTRYPOINT"] == " ".join(config["Entrypoint"]) == "source-solidafy"
    installed = ok(image.run("--version", entrypoint="solidafy-cdk")).stdout.split()
    assert _pyproject_version() in installed


def test_non_root_and_no_build_tools(image: Image) -> None:
    assert image.inspect()["Config"]["User"] not in ("", "root", "0")
    probe = ("id -u; for t in pip pip3 gcc cc c++ make ld strip as apt-get-never; do command -v $t; done; "
             "python -c 'import pip' 2>/dev/null && echo has-pip; python -c 'import setuptools' 2>/dev/null "
             "&& echo has-setuptools; true")  # fmt: skip
    lines = ok(image.run("-c", probe, entrypoint="sh")).stdout.split()
    assert lines[0] != "0"
    assert lines[1:] == [], f"build tools in the final image: {lines[1:]}"


def test_installed_as_one_pip_install(image: Image) -> None:
    """The build stage installs the dependencies in a layer of their own, then the package: the result is
    what one ``pip install .`` makes (only source-solidafy REQUESTED, every RECORD true to its files)."""
    probe = ("cd /opt/solidafy/lib/python3.11/site-packages && ls -d *.dist-info/REQUESTED; "
             "grep -l REQUESTED *.dist-info/RECORD; true")  # fmt: skip
    lines = ok(image.run("-c", probe, entrypoint="sh")).stdout.split()
    package = f"source_solidafy-{_pyproject_version()}.dist-info"
    assert lines == [f"{package}/REQUESTED", f"{package}/RECORD"], lines


def test_image_size(image: Image, capsys: pytest.CaptureFixture[str]) -> None:
    size = image.inspect()["Size"]
    with capsys.disabled():
        print(f"\n[measure] image {image.name}: {size / 1e6:.1f} MB ({size / 2**20:.1f} MiB) uncompressed")
    assert size <= 400 * 10**6, f"{size / 1e6:.1f} MB"
