"""Differential tests: airbyte-cdk 7.39.1 and us read the same Airbyte manifest against the same mock API.

Each case (integration_tests/airbyte_manifests/cases/*.yaml, see integration_tests/airbyte_diff.py) is
a corpus manifest or one of ours, a config, and the API the mock plays. airbyte-cdk runs from its own
virtualenv (integration_tests/airbyte-cdk.txt, made on first use and cached by its pins); we run as
``source-solidafy read --config --catalog``. Records (multisets per stream), requests (method, path,
query, body) and the final state of every stream must match; a case with ``resume`` then syncs again
from the CDK's final state, so each engine continues from the other's state; one with ``check`` runs
``check`` (the manifest's CheckStream) on both: the same status and requests; one with ``discover``
compares each stream's schema, sync modes, cursor and primary key.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from integration_tests.airbyte_diff import CORPUS, Case, Sync, case_names, differences, run_pair


def _summary(sync: Sync) -> str:
    records = sum(sum(c.values()) for c in sync.records.values())
    return f"{len(sync.states)} streams, {records} records, {sum(sync.requests.values())} requests"


@pytest.mark.parametrize("name", case_names())
def test_same_records_requests_and_state_as_airbyte_cdk(name: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    case = Case.load(name)
    if str(case.data["manifest"]).startswith("corpus:") and not CORPUS.is_dir():
        pytest.skip(f"the Airbyte manifest corpus is not at {CORPUS}")
    parents = case.once_paths()
    with ThreadPoolExecutor(max_workers=1) as pool:  # check and discover need no sync before: beside the reads
        check = pool.submit(run_pair, case, tmp_path / "check", command="check") if case.data.get("check") else None
        discover = (pool.submit(run_pair, case, tmp_path / "discover", command="discover")
                    if case.data.get("discover") else None)
        cdk, ours = run_pair(case, tmp_path / "first")
        # a case reads records, or fails (``fails``: differences() then wants the CDK's own errors to hold its words)
        assert any(cdk.records.values()) or case.data.get("fails"), \
            f"{name}: the CDK read no record, so the case proves nothing: {cdk.errors}"
        assert differences(cdk, ours, parents, case.data.get("fails")) == []
        line = f"{name}: {_summary(cdk)} match" + (f" (failing {', '.join(case.data['fails'])} alike)"
                                                    if case.data.get("fails") else "")
        if case.data.get("resume"):
            cdk2, ours2 = run_pair(case, tmp_path / "resumed", cdk.state_messages())
            assert differences(cdk2, ours2, parents) == []
            line += f"; resumed from the CDK's state: {_summary(cdk2)} match"
    if check:
        cdk3, ours3 = check.result()
        assert cdk3.status == "SUCCEEDED", cdk3.stderr
        assert differences(cdk3, ours3, parents) == []
        line += f"; check: {cdk3.status}, {sum(cdk3.requests.values())} requests match"
    if discover:
        cdk4, ours4 = discover.result()
        assert cdk4.catalog, cdk4.stderr
        assert differences(cdk4, ours4, parents) == []
        line += f"; discover: {len(cdk4.catalog)} streams match"
    with capsys.disabled():
        print(f"\n{line}")


def test_differences_names_each_mismatch() -> None:
    request = '{"body":null,"method":"GET","path":"/v1/items","query":[["page","2"]]}'
    cdk = Sync(0, {"items": Counter({'{"id":1}': 1})}, Counter({request: 2}), {"items": {"updated_at": "2024-01-02"}})
    same = Sync(0, {"items": Counter({'{"id":1}': 1})}, Counter({request: 2}), {"items": {"updated_at": "2024-01-02"}})
    assert differences(cdk, same) == []
    other = Sync(1, {"items": Counter({'{"id":1}': 2})}, Counter({request: 1}), {"items": {"updated_at": "2024-01-01"}},
                 ["boom"])
    found = differences(cdk, other)
    assert [line.split(" ")[0] for line in found] == ["we", "records", "requests:", "final"]
    assert differences(cdk, Sync(0, cdk.records, Counter({request: 1}), cdk.states), ["/v1/items"]) == []


def test_the_mock_token_endpoint_answers_only_exactly_its_form_and_headers() -> None:
    from integration_tests.mocks.generic import Credentials
    from integration_tests.mocks.server import Request

    creds = Credentials("oauth", form={"grant_type": "refresh_token", "scopes": ["a", "b"]},
                        token_headers={"Authorization": "Basic x"}, answer={"data": {"tok": "$access_token"}})

    def ask(body: bytes, headers: dict[str, str]) -> int:
        return creds.token_response(Request("POST", "/t", {}, headers, body)).status

    good = {"Authorization": "Basic x"}
    assert ask(b"grant_type=refresh_token&scopes=a&scopes=b", good) == 200
    assert ask(b"grant_type=refresh_token&scopes=a+b", good) == 400, "one scope field is not the list"
    assert ask(b"grant_type=refresh_token&scopes=a&scopes=b&client_id=c", good) == 400, "an extra field"
    assert ask(b"grant_type=refresh_token&scopes=a&scopes=b", {}) == 400, "the header is missing"


def test_the_mock_token_endpoint_can_want_its_form_in_the_query_string_or_refuse_all() -> None:
    from integration_tests.mocks.generic import Credentials
    from integration_tests.mocks.server import Request

    creds = Credentials("oauth", form_in="query", form={"grant_type": "refresh_token", "scopes": ["a", "b"]})
    query = {"grant_type": ["refresh_token"], "scopes": ["a", "b"]}
    assert creds.token_response(Request("POST", "/t", query, {}, b"")).status == 200
    assert creds.token_response(Request("POST", "/t", query, {}, b"x=1")).status == 400, "a body besides"
    assert creds.token_response(Request("POST", "/t", {}, {}, b"grant_type=refresh_token&scopes=a&scopes=b")).status == 400
    refusing = Credentials("oauth", refuse={"status": 401, "body": {"error": "revoked"}})
    assert refusing.token_response(Request("POST", "/t", {}, {}, b"grant_type=refresh_token")).status == 401
