"""source_solidafy/lowcode/dpath.py and extractor.py against the real ones: airbyte-cdk 7.39.1's
DpathExtractor (over dpath 2.2's ``values`` and ``get``) and dpath's ``delete``, run in the CDK's
test-only virtualenv on the same bodies and paths: handpicked ones (``**`` at depth zero and at the
end, globs inside a key, indexes under patterns) and a few hundred random ones from a fixed seed.
Our answer must be the CDK's: the same records in the same order, a failure where it fails."""

from __future__ import annotations

import copy
import json
import random
import subprocess
from typing import Any

from integration_tests.airbyte_diff import cdk_python
from source_solidafy.lowcode import dpath
from source_solidafy.lowcode.extractor import TooManyMatches, records

# Runs in the CDK's virtualenv: each case's records (or the exception's name) and dpath.delete's result.
_ORACLE = r"""
import copy, json, sys
import dpath, requests
import airbyte_cdk.sources  # sets dpath.options.ALLOW_EMPTY_STRING_KEYS, as in a sync
from airbyte_cdk.sources.declarative.extractors.dpath_extractor import DpathExtractor
out = []
for body, path in json.load(sys.stdin):
    response = requests.Response()
    response._content, response.status_code = json.dumps(body).encode(), 200
    extractor = DpathExtractor(field_path=[str(p) for p in path], config={}, parameters={})
    try:
        got = ["records", list(extractor.extract_records(response))]
    except Exception as exc:
        got = ["error", type(exc).__name__]
    record = copy.deepcopy(body)
    try:
        deleted = ["deleted", dpath.delete(record, path), record]
    except Exception as exc:
        deleted = ["error", type(exc).__name__]
    out.append([got, deleted])
json.dump(out, sys.stdout)
"""

BODY = {"data": {"items": [{"id": 1, "tags": ["a"]}, {"id": 2}], "dxta": [{"id": 3}], "meta": {"id": 4},
                 "": {"id": 5}}, "d1ta": {"items": [{"id": 6}]}, "items": [[{"id": 7}], {"id": 8}]}
HANDPICKED: list[list[Any]] = [
    ["data", "**"], ["**"], ["**", "id"], ["**", "*"], ["data", "**", "id"], ["**", "items", "*"],
    ["**", "items"], ["d?ta", "*"], ["d?ta", "items", "*"], ["d[1x]ta", "*"], ["data", "it*ms"],
    ["data", "it*ms", "*"], ["*", "it*ms", 0], ["data", "*", -1], ["items", "*", "*"], ["**", 0, "id"],
    ["data", "[!i]*", "*"], ["data", ""], ["data", "", "id"], ["data", "**", "tags", "*"], ["d*", "**"],
    ["data", "items", "*", "**"], ["nothing", "**"], ["**", "nothing"], ["**", "meta"], ["items", "1"],
]
_KEYS = ["a", "b", "ab", "data", "d1", "0"]
_STEPS: list[Any] = ["*", "**", "a", "b", "?", "[ab]", "a*", "d?", "*b", "[!a]*", 0, 1, -1, "data", "0"]


def _body(rng: random.Random, depth: int) -> Any:
    if depth == 0 or rng.random() < 0.25:
        return rng.choice([1, "x", None, 0, True, ""])
    if rng.random() < 0.4:
        return [_body(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {key: _body(rng, depth - 1) for key in rng.sample(_KEYS, rng.randint(0, 4))}


def _path(rng: random.Random) -> list[Any]:
    path = [rng.choice(_STEPS) for _ in range(rng.randint(1, 4))]
    while path.count("**") > 1:
        path.remove("**")
    return path


def _cases() -> list[list[Any]]:
    rng = random.Random(18)
    cases = [[BODY, path] for path in HANDPICKED]
    for _ in range(400):
        cases.append([{"data": _body(rng, 4)} if rng.random() < 0.3 else _body(rng, 5), _path(rng)])
    return cases


def _typed(path: list[Any]) -> list[Any]:
    """The steps as the CDK's interpolation types them (``"1"`` is an index)."""
    return [int(p) if isinstance(p, str) and p.lstrip("-").isdecimal() else p for p in path]


def _ours(body: Any, path: list[Any]) -> list[Any]:
    try:
        got: list[Any] = ["records", records(body, _typed(path))[0]]
    except TooManyMatches:
        got = ["error", "ValueError"]
    if not isinstance(body, dict):
        return [got, None]
    record = copy.deepcopy(body)
    deleted = dpath.delete(record, path)
    return [got, ["deleted", deleted, record] if deleted else ["error", "PathNotFound"]]


def test_records_and_deletes_are_dpaths_and_the_cdks() -> None:
    cases = _cases()
    run = subprocess.run([cdk_python(), "-c", _ORACLE], input=json.dumps(cases), capture_output=True, text=True,
                         timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    theirs = json.loads(run.stdout)
    checked = 0
    for (body, path), (their_records, their_delete) in zip(cases, theirs, strict=True):
        ours = _ours(body, path)
        assert ours[0] == their_records, (body, path)
        if ours[1] is not None:
            assert ours[1] == their_delete, (body, path)
            checked += 1
    assert checked > 100  # the random bodies are objects often enough to test delete too
