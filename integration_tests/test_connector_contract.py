"""The contract every built-in connector keeps against its mock (integration_tests/connector_contract.py).

Each check runs once per connector; what differs between connectors is data in ``CONTRACTS``. The
full read behind the first four checks is shared with the connector's own test file.
"""

from __future__ import annotations

import pytest

from integration_tests.connector_checks import (
    Connector,
    assert_all_streams_succeeded,
    assert_exact_records,
    assert_final_cursors,
    assert_records_match_declared_schema,
    assert_secrets_hidden,
    assert_stream_failed,
    assert_usage_error,
)
from integration_tests.connector_contract import CONTRACTS, Contract, full_read_of, with_field

ALL = list(CONTRACTS.values())


def _each(contracts: list[Contract]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("contract", contracts, ids=str)


@_each(ALL)
def test_full_read_succeeds_exactly_and_prints_no_secret(contract: Contract) -> None:
    mock, _, result = full_read_of(contract.name)
    assert_all_streams_succeeded(result, list(mock.streams_with_data))
    exact = contract.exact(mock) if contract.exact is not None else list(mock.streams_with_data)
    assert_exact_records(result, mock, exact, ids=contract.ids, sort_by=contract.sort_by)
    assert_secrets_hidden(result, *contract.secrets(mock))


@_each(with_field(ALL, "again_sorted_by"))
def test_exact_records_in_another_order(contract: Contract) -> None:
    mock, _, result = full_read_of(contract.name)
    assert_exact_records(result, mock, list(mock.streams_with_data), sort_by=contract.again_sorted_by)


@_each(ALL)
def test_every_record_matches_declared_schema(contract: Contract) -> None:
    _, _, result = full_read_of(contract.name)
    assert_records_match_declared_schema(result, contract.built())


@_each(with_field(ALL, "cursors"))
def test_final_state_is_the_newest_cursor(contract: Contract) -> None:
    mock, _, result = full_read_of(contract.name)
    assert contract.cursors is not None
    assert_final_cursors(result, mock, contract.cursors(mock), **contract.cursor_options)


@_each(with_field(ALL, "wrong"))
def test_wrong_credential_fails_the_stream_without_printing_it(contract: Contract) -> None:
    wrong = contract.wrong
    assert wrong is not None
    srv, result = contract.built().read_against(contract.mock(), [wrong.stream], overrides={wrong.field: wrong.value})
    assert_stream_failed(result, wrong.value, error=wrong.error)
    if wrong.header is not None:
        name, template = wrong.header
        assert srv.requests[0].header(name) == template.format(wrong.value)


@_each(ALL)
def test_validate_spec_and_streams_work_offline(contract: Contract) -> None:
    connector, offline = Connector(contract.name), contract.offline
    connector.assert_yaml_validates()
    connector.assert_spec(offline.required, offline.secrets, offline.properties)
    names = connector.stream_names()
    if offline.streams is not None:
        assert names == offline.streams
    assert set(offline.streams_include) <= set(names)
    assert offline.stream_count is None or len(names) == offline.stream_count


@_each(with_field(ALL, "aliases"))
def test_aliases_name_the_same_connector(contract: Contract) -> None:
    for alias in contract.aliases:
        assert Connector(alias).streams() == Connector(contract.name).streams()


@_each(with_field(ALL, "missing"))
def test_missing_config_field_is_one_clear_usage_error(contract: Contract) -> None:
    assert contract.missing is not None
    config, stream, fragment = contract.missing
    assert_usage_error(Connector(contract.name).read(config, [stream]), fragment)
