"""DatetimeBasedCursor specifics with airbyte-cdk 7.39.1's semantics (source_solidafy/lowcode/cursor.py,
clamping.py): cursors compared after parsing, and clamping. The expected slices and clamps were
computed with the CDK's own ConcurrentCursor and ClampingStrategy classes; whole syncs are compared with
the CDK's in integration_tests/airbyte_manifests/cases/dtcursor.yaml."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import yaml

from source_solidafy.errors import ConfigError, ManifestError
from source_solidafy.lowcode import load_airbyte_text
from source_solidafy.lowcode.clamping import clamp_of
from source_solidafy.lowcode.cursor import SYNC_BOUNDS, DatetimeSlices, cdk_cursor, slices
from source_solidafy.lowcode.fast_strptime import numeric_format
from source_solidafy.lowcode.interpolation import parse_datetime
from source_solidafy.lowcode.partition_cursor import PartitionTrack, PerPartitionCursor
from source_solidafy.rest import builders
from source_solidafy.rest.partition_state import newer
from source_solidafy.rest.records import CursorTracker
from source_solidafy.rest.transforms import END_OF_CHAIN

UTC = dt.timezone.utc


def _manifest(cursor: dict[str, Any]) -> str:
    stream = {"type": "DeclarativeStream", "name": "s", "primary_key": "id",
              "retriever": {"type": "SimpleRetriever",
                            "requester": {"type": "HttpRequester", "url_base": "http://127.0.0.1:9", "path": "/s"},
                            "record_selector": {"type": "RecordSelector",
                                                "extractor": {"type": "DpathExtractor", "field_path": []}}},
              "incremental_sync": {"type": "DatetimeBasedCursor", "cursor_field": "updated_at",
                                   "datetime_format": "%Y-%m-%dT%H:%M:%SZ", **cursor}}
    return yaml.safe_dump({"version": "6.7.0", "type": "DeclarativeSource", "streams": [stream],
                           "check": {"type": "CheckStream", "stream_names": ["s"]},
                           "spec": {"type": "Spec", "connection_specification": {"type": "object"}}})


def _cursor(**cursor: Any) -> DatetimeSlices:
    part = load_airbyte_text(_manifest(cursor)).manifest.streams[0].partition
    assert isinstance(part, DatetimeSlices)
    return part


def _slices(spec: DatetimeSlices, legacy: dict[str, Any] | None = None, config: Any = None) -> list[tuple[str, str]]:
    return [(spec.fmt(a), spec.fmt(b)) for a, b in slices(spec, config or {}, legacy or {})]


@pytest.mark.parametrize(("clamping", "start", "end", "step", "gran", "expected"), [
    ({"target": "DAY"}, "2024-01-01T13:45:10Z", "2024-01-08T10:00:00Z", "PT36H", "PT1S",
     [("2024-01-02T00:00:00Z", "2024-01-03T23:59:59Z"), ("2024-01-04T00:00:00Z", "2024-01-05T23:59:59Z"),
      ("2024-01-06T00:00:00Z", "2024-01-07T23:59:59Z")]),
    ({"target": "WEEK", "target_details": {"weekday": "WEDNESDAY"}}, "2024-01-01T00:00:00Z",
     "2024-02-15T00:00:00Z", "P10D", "P1D",
     [("2024-01-03T00:00:00Z", "2024-01-16T00:00:00Z"), ("2024-01-17T00:00:00Z", "2024-01-30T00:00:00Z"),
      ("2024-01-31T00:00:00Z", "2024-02-13T00:00:00Z")]),
    ({"target": "MONTH"}, "2024-01-10T08:00:00Z", "2024-04-20T08:00:00Z", None, None,
     [("2024-02-01T00:00:00Z", "2024-04-01T00:00:00Z")]),
])
def test_clamped_slices_are_the_cdks(clamping: dict[str, Any], start: str, end: str, step: str | None,
                                     gran: str | None, expected: list[tuple[str, str]]) -> None:
    options = {"step": step, "cursor_granularity": gran} if step else {}
    spec = _cursor(clamping=clamping, start_datetime=start, end_datetime=end, **options)
    assert _slices(spec) == expected


def test_clamping_with_a_state_and_a_lookback_and_the_target_from_the_config() -> None:
    spec = _cursor(clamping={"target": "{{ config['clamp'] }}"}, start_datetime="2024-01-01T00:00:00Z",
                   end_datetime="2024-01-06T12:00:00Z", step="P2D", cursor_granularity="PT1S", lookback_window="PT12H")
    got = _slices(spec, {"updated_at": "2024-01-03T06:00:00Z"}, {"clamp": "DAY"})
    assert got == [("2024-01-03T00:00:00Z", "2024-01-04T23:59:59Z"), ("2024-01-05T00:00:00Z", "2024-01-05T23:59:59Z")]
    with pytest.raises(ValueError, match="Invalid clamping target HOUR, expected DAY, WEEK, MONTH"):
        _slices(spec, {}, {"clamp": "HOUR"})


def test_a_step_and_a_lookback_from_the_config_are_rendered_with_it_as_the_cdk_builds_its_cursor() -> None:
    window = {"start_datetime": "2024-01-01T00:00:00Z", "end_datetime": "2024-01-10T00:00:00Z",
              "cursor_granularity": "PT1S"}
    templated = _cursor(step="P{{ config['days'] }}D", lookback_window="{{ config.get('lookback', '') }}", **window)
    state = {"updated_at": "2024-01-05T00:00:00Z"}
    for days, lookback in ((2, "P1D"), (3, "PT12H"), (4, "")):
        static = _cursor(step=f"P{days}D", **({"lookback_window": lookback} if lookback else {}), **window)
        assert _slices(templated, state, {"days": days, "lookback": lookback}) == _slices(static, state)
    assert _slices(templated, state, {"days": 2, "lookback": "P1D"})[0] == ("2024-01-04T00:00:00Z", "2024-01-05T23:59:59Z")
    # rendering empty: no step (one slice to the end), as the CDK's timedelta.max
    assert len(_slices(_cursor(step="{{ config.get('step', '') }}", **window), {}, {})) == 1
    with pytest.raises(ConfigError, match=r"step: expected an ISO 8601 duration such as P1D or PT1H, got 'PxD' "
                                          r"\(rendered with the config\)"):
        _slices(templated, {}, {"days": "x"})


@pytest.mark.parametrize(("moment", "expected"), [
    ("2024-01-31T05:00:00", ["2024-02-01", "2024-01-31", "2024-02-01", "2024-01-01", "2024-01-31", "2024-01-31"]),
    ("2024-12-15T00:00:00", ["2024-12-15", "2024-12-15", "2025-01-01", "2024-12-01", "2024-12-18", "2024-12-11"]),
    ("2024-03-01T00:00:00", ["2024-03-01", "2024-03-01", "2024-03-01", "2024-03-01", "2024-03-06", "2024-02-28"]),
    ("2024-01-04T01:00:00", ["2024-01-05", "2024-01-04", "2024-02-01", "2024-01-01", "2024-01-10", "2024-01-03"]),
])
def test_clamps_are_the_cdks(moment: str, expected: list[str]) -> None:
    value = dt.datetime.fromisoformat(moment).replace(tzinfo=UTC)
    got = [c.clamp(value, ceiling).date().isoformat()
           for c in (clamp_of("DAY", None), clamp_of("MONTH", None), clamp_of("WEEK", "WEDNESDAY"))
           for ceiling in (True, False)]
    assert got == expected


@pytest.mark.parametrize(("clamping", "words"), [
    ({"target": "WEEK"}, "Given WEEK clamping, weekday needs to be provided as target_details"),
    ({"target": "WEEK", "target_details": {"weekday": "Funday"}}, "Unknown weekday Funday"),
    ({"target": "YEAR"}, "Invalid clamping target YEAR, expected DAY, WEEK, MONTH"),
])
def test_a_clamping_the_cdk_refuses_fails_at_load_time(clamping: dict[str, Any], words: str) -> None:
    with pytest.raises(ManifestError, match=f"incremental_sync.clamping: {words}"):
        _cursor(clamping=clamping, start_datetime="2024-01-01T00:00:00Z")


MIXED = ["2024-03-01T20:00:00-0800", "2024-03-02T01:00:00+0000", "2024-03-02 03:30", "n/a", None]


def test_cursors_are_compared_parsed_and_unreadable_ones_are_no_cursor() -> None:
    spec = _cursor(start_datetime="2024-01-01T00:00:00Z",
                   cursor_datetime_formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M"])
    tracker = CursorTracker("updated_at", None, spec.order)
    kept = tracker.process([{"updated_at": v} for v in MIXED])
    assert len(kept) == 5  # the CDK's cursor filters no record by its state
    assert tracker.max_value == "2024-03-01T20:00:00-0800"  # 2024-03-02T04:00Z; the largest text is "n/a"
    assert tracker.unordered == "n/a" and tracker.seen == 3 and not tracker.ascending
    later = CursorTracker("updated_at", None, spec.order)
    later.process([{"updated_at": "2024-03-02 03:30"}, {"updated_at": "2024-03-02T01:00:00+0000"}])
    assert later.max_value == "2024-03-02 03:30"  # the text would keep the other one
    assert newer(tracker.max_value, later.max_value, spec.order) == "2024-03-01T20:00:00-0800"
    assert newer(tracker.max_value, later.max_value) == "2024-03-02 03:30"  # the text's answer
    entries = [{"partition": {"start_time": "2024-01-01T00:00:00Z", "end_time": "2024-03-05T00:00:00Z"},
                "cursor": tracker.max_value, "done": True}]
    # written as the CDK's DatetimeParser.format writes it: the wall time in the value's own zone
    assert cdk_cursor(spec, {}, {}, entries) == {"updated_at": "2024-03-01T20:00:00Z"}


def test_a_data_feed_drops_records_out_of_bounds_after_the_selector_and_ends_the_chain_on_one() -> None:
    source = load_airbyte_text(_manifest({"start_datetime": "2024-01-01T00:00:00Z", "is_data_feed": True,
                                          "is_client_side_incremental": True}))
    spec = source.manifest.streams[0]
    assert [type(t).__name__ for t in spec.transform] == ["AirbyteRecordFilter"]  # one filter, the data feed's
    step = builders.transformer(spec.transform, stream="s")
    part = {"start_time": "x", "end_time": "y", SYNC_BOUNDS: ["2024-01-01T00:00:00+00:00", "2024-02-01T00:00:00+00:00"]}
    ctx: dict[str, Any] = {"partition": part}
    page = [{"updated_at": "2024-01-20T00:00:00Z"}, {"updated_at": "2024-03-01T00:00:00Z"}, {"id": 1},
            {"updated_at": "2023-12-31T00:00:00Z"}]
    kept = step.apply(page, ctx)
    assert kept == [{"updated_at": "2024-01-20T00:00:00Z"}, {"id": 1}] and ctx[END_OF_CHAIN] is True
    ctx = {"partition": part}
    assert step.apply([{"updated_at": "2023-12-31T00:00:00Z"}, {"updated_at": "2024-01-02T00:00:00Z"}], ctx)
    assert END_OF_CHAIN not in ctx  # the last record is in bounds: the next page is read


def _regional(global_cursor: bool) -> str:
    text = _manifest({"start_datetime": "2024-01-01T00:00:00Z", "end_datetime": "2024-03-01T00:00:00Z",
                      "global_substream_cursor": global_cursor})
    data = yaml.safe_load(text)
    data["streams"][0]["retriever"]["partition_router"] = {"type": "ListPartitionRouter", "cursor_field": "region",
                                                           "values": ["eu", "us"]}
    return yaml.safe_dump(data)


def _track(global_cursor: bool, incoming: dict[str, Any] | None) -> PartitionTrack:
    part = load_airbyte_text(_regional(global_cursor)).manifest.streams[0].partition
    assert isinstance(part, PerPartitionCursor) and part.global_cursor is global_cursor
    return PartitionTrack(part, {}, incoming)


def _engine(track: PartitionTrack) -> dict[str, Any]:
    entries = []
    for region, newest in (("eu", "2024-02-01T00:00:00Z"), ("us", "2024-02-10T00:00:00Z")):
        partition = {"region": region, "start_time": "2024-01-01T00:00:00Z", "end_time": "2024-03-01T00:00:00Z"}
        assert track.begin(partition) == {}
        track.slices[next(reversed(track.slices))] = 1
        entries.append({"partition": partition, "cursor": newest, "done": True})
    return {"partitions": entries}


def test_a_global_substream_cursor_keeps_one_cursor_and_no_partition_states() -> None:
    track = _track(True, None)
    state = track.cdk_state(_engine(track), final=True)
    assert state == {"use_global_cursor": True, "state": {"updated_at": "2024-02-10T00:00:00Z"},
                     "lookback_window": state["lookback_window"]}
    per_partition = _track(False, None)
    assert [s["cursor"] for s in per_partition.cdk_state(_engine(per_partition), final=True)["states"]] == [
        {"updated_at": "2024-02-01T00:00:00Z"}, {"updated_at": "2024-02-10T00:00:00Z"}]
    resumed = _track(True, {**state, "lookback_window": 60})  # each partition from the global cursor less it
    assert resumed.begin({"region": "eu"}) == {"updated_at": "2024-02-09T23:59:00Z"}
    # the incoming state's use_global_cursor wins over the manifest's, as in the CDK
    assert _track(False, {"use_global_cursor": True, "state": {"updated_at": "2024-02-10T00:00:00Z"}}).use_global
    assert not _track(True, {"use_global_cursor": False, "states": []}).use_global


FORMATS = ["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%d %H:%M", "%Y%m%d", "%d-%m-%Y"]
ODD = ["2024-03-01T20:00:00Z", "2024-3-1T5:6:7Z", "2024-03-01t20:00:00z", "2024-02-30T00:00:00Z",
       "2024-13-01T00:00:00Z", "2024-03-01T20:00:60Z", "2024-03-01T20:00:61Z", "2024-03-01T20:00:00Zx",
       " 2024-03-01", "2024-03- 1", "2024-03-01T20:00:00.5Z", "2024-03-01T20:00:00.1234567Z", "", "20240301",
       "2024-03-01 20:00", "2024-03-01  20:00", "01-03-2024", "2024-03-01T24:00:00Z", "0000-01-01"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_fast_numeric_parse_is_strptimes(fmt: str) -> None:
    for value in ODD:
        try:
            expected: Any = dt.datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            expected = ValueError
        try:
            got: Any = parse_datetime(value, fmt)
        except ValueError:
            got = ValueError
        assert got == expected, (value, fmt)
    assert (numeric_format(fmt) is None) == (fmt == "%d-%m-%Y")  # not in %Y %m %d order: strptime itself
