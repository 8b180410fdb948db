"""async_job partitions against a Bulk-2.0-like job API, and the CSV/XML decoders, through the CLI."""

from __future__ import annotations

from pathlib import Path

from integration_tests.test_partitions_support import (
    EPOCH,
    PartitionApi,
    calls,
    final_state,
    iso,
    read,
    serve,
    write_connector,
)

JOB = """
  - name: {name}
    partition:
      type: async_job
      create:
        path: /jobs
        body: '{{"object": "{obj}", "since": "{{{{ since }}}}"}}'
        job_id_path: id
      poll:
        path: "/jobs/{{{{ job_id }}}}"
        interval_secs: {interval}
        max_attempts: {attempts}
        status_path: state
        completed_value: JobComplete
        failed_values: [Failed, Aborted]
      download:
        path: "/jobs/{{{{ job_id }}}}/results"
        params: {{maxRecords: "4"}}
        headers: {{Accept: text/csv}}
        locator_header: Sforce-Locator
        locator_param: locator
    decoder: {{type: csv}}
    primary_key: Id
    cursor_field: SystemModstamp
"""

XML = """
  - name: items
    request:
      path: "/xml/{{ config.start }}"
    decoder: {type: xml, records_path: response.items.item}
    primary_key: id
"""


CSV = """
  - name: rows
    request:
      path: "/text/{{ config.start }}"
    decoder: {type: csv, delimiter: ";", has_header: false}
"""


def job(name: str, obj: str, interval: float = 0.01, attempts: int = 10) -> str:
    return JOB.format(name=name, obj=obj, interval=interval, attempts=attempts)


def _rows(api: PartitionApi) -> None:
    api.csv_rows = [{"Id": f"001{i:03d}", "Name": f'Acme "{i}", Inc.', "Notes": f"line one\nline two {i}",
                     "SystemModstamp": iso(EPOCH.replace(day=1 + i))} for i in range(10)]


def test_bulk_job_is_created_polled_and_downloaded_over_three_locator_pages(tmp_path: Path) -> None:
    api = PartitionApi()
    _rows(api)
    conn = write_connector(tmp_path, job("accounts", "Account"))
    state_file = tmp_path / "state.json"
    with serve(api) as srv:
        result = read(conn, srv, "--state", str(state_file))
        results = calls(srv, "/jobs/750J0001/results")
        srv.requests.clear()
        api.csv_rows[-1]["SystemModstamp"] = iso(EPOCH.replace(month=2))
        second = read(conn, srv, "--state", str(state_file))
    assert result.rc == 0, result.stderr[-2000:]
    assert [j["state"] for j in api.jobs.values()][0] == "JobComplete" and api.jobs["750J0001"]["polls"] == 2
    assert [r.arg("locator") for r in results] == [None, "NA==", "OA=="]  # three pages, "null" ends
    assert {r.arg("maxRecords") for r in results} == {"4"}
    assert results[0].header("Accept") == "text/csv"
    assert result.records("accounts") == api.csv_rows[:9] + [{**api.csv_rows[9], "SystemModstamp": iso(EPOCH.replace(day=10))}]
    assert final_state(result)["accounts"] == {"cursor": iso(EPOCH.replace(day=10))}
    # the next sync's job asks only for what changed since the cursor
    assert second.rc == 0, second.stderr[-2000:]
    assert api.jobs["750J0002"]["since"] == iso(EPOCH.replace(day=10))
    assert [r["Id"] for r in second.records("accounts")] == ["001009"]


def test_failed_job_and_poll_timeout_fail_their_stream_only(tmp_path: Path) -> None:
    api = PartitionApi()
    _rows(api)
    api.fail_objects.add("Broken")
    conn = write_connector(tmp_path, job("accounts", "Account"), job("broken", "Broken"),
                           job("slow", "Account", attempts=1))
    with serve(api) as srv:
        result = read(conn, srv)
    assert result.rc == 1
    by_stream = {s["stream"]: s for s in result.summary["streams"]}
    assert by_stream["accounts"]["status"] == "SUCCESS" and by_stream["accounts"]["records_synced"] == 10
    assert by_stream["broken"]["status"] == "FAILED"
    assert "ended in state 'Failed'" in by_stream["broken"]["error"]
    assert "No such column 'Bogus'" in by_stream["broken"]["error"]
    assert by_stream["slow"]["status"] == "FAILED"
    assert "did not reach 'JobComplete' after 1 polls (last state 'InProgress')" in by_stream["slow"]["error"]
    assert "Traceback" not in result.stderr


def test_xml_records_and_hostile_documents(tmp_path: Path) -> None:
    api = PartitionApi()
    api.xml["ok"] = ('<?xml version="1.0"?><response><items><item id="1"><name>A</name></item>'
                     '<item id="2"><name>B</name></item></items></response>')
    api.xml["bomb"] = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                       '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
                       '<response><items><item>&lol2;</item></items></response>')
    api.xml["xxe"] = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                      '<response><items><item>&xxe;</item></items></response>')
    conn = write_connector(tmp_path, XML)
    with serve(api) as srv:
        ok = read(conn, srv, start="ok")
        bad = {name: read(conn, srv, start=name) for name in ("bomb", "xxe")}
    assert ok.rc == 0, ok.stderr[-2000:]
    assert ok.records("items") == [{"@id": "1", "name": "A"}, {"@id": "2", "name": "B"}]
    for name, result in bad.items():
        assert result.rc == 1, name
        error = result.summary["streams"][0]["error"]
        assert "refused" in error and "entities" in error, (name, error)
        assert "root:" not in result.stdout and "Traceback" not in result.stderr
        assert not result.records("items")


def test_csv_delimiter_without_header_and_a_large_body(tmp_path: Path) -> None:
    api = PartitionApi()
    api.xml["small"] = '\ufeffa;"b;c"\n1;"two\nlines"\n\n3;4;extra\n5\n'
    api.xml["large"] = "".join(f"{i};{'x' * 50};\"q;{i}\"\n" for i in range(60_000))  # ~4 MB
    conn = write_connector(tmp_path, CSV)
    with serve(api) as srv:
        small = read(conn, srv, start="small")
        large = read(conn, srv, start="large")
    assert small.rc == 0 and large.rc == 0, small.stderr[-2000:] + large.stderr[-2000:]
    assert small.records("rows") == [{"column_1": "a", "column_2": "b;c"}, {"column_1": "1", "column_2": "two\nlines"},
                                     {"column_1": "3", "column_2": "4", "column_3": "extra"}, {"column_1": "5"}]
    rows = large.records("rows")
    assert len(rows) == 60_000 and rows[-1] == {"column_1": "59999", "column_2": "x" * 50, "column_3": "q;59999"}
