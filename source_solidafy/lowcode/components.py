"""Which Airbyte components and options we run, and the one message for those we do not.

``SUPPORTED`` maps a component type to the options we translate with the CDK's semantics. Every
other option the CDK knows (``KNOWN``) must be absent or at its default, else the manifest fails at
load time naming the component, the option and its path. Keys the CDK does not know are ignored, as
the CDK ignores them (and ``$parameters`` copies parameters into components as keys).

``NEEDS`` says, for a component type or option we do not run, what engine capability it waits for
(docs/airbyte-manifests.md, "Needs engine features", is written from this table).
"""

from __future__ import annotations

from typing import Any

SUPPORTED: dict[str, frozenset[str]] = {
    "DeclarativeSource": frozenset({"check", "streams", "version", "schemas", "definitions", "spec",
                                    "metadata", "description", "concurrency_level"}),
    "DeclarativeStream": frozenset({"name", "retriever", "incremental_sync", "primary_key", "schema_loader",
                                    "transformations"}),
    "SimpleRetriever": frozenset({"requester", "record_selector", "paginator", "partition_router", "decoder",
                                 "ignore_stream_slicer_parameters_on_paginated_requests"}),
    "HttpRequester": frozenset({"url_base", "path", "http_method", "authenticator", "request_parameters",
                                "request_headers", "request_body_json", "request_body_data", "error_handler",
                                "use_cache"}),
    "RecordSelector": frozenset({"extractor", "record_filter", "transform_before_filtering"}),
    "RecordFilter": frozenset({"condition"}),
    "DpathExtractor": frozenset({"field_path"}),
    "DefaultPaginator": frozenset({"pagination_strategy", "page_size_option", "page_token_option"}),
    "NoPagination": frozenset(),
    "OffsetIncrement": frozenset({"page_size", "inject_on_first_request"}),
    "PageIncrement": frozenset({"page_size", "start_from_page", "inject_on_first_request"}),
    "CursorPagination": frozenset({"cursor_value", "page_size", "stop_condition"}),
    "RequestOption": frozenset({"inject_into", "field_name", "field_path"}),
    "RequestPath": frozenset(),
    "DatetimeBasedCursor": frozenset({"cursor_field", "allow_catalog_defined_cursor_field",
                                      "cursor_datetime_formats", "start_datetime", "start_time_option",
                                      "end_datetime", "end_time_option", "datetime_format", "cursor_granularity",
                                      "is_compare_strictly", "lookback_window", "partition_field_end",
                                      "partition_field_start", "step", "is_client_side_incremental",
                                      "clamping", "is_data_feed", "global_substream_cursor"}),
    "MinMaxDatetime": frozenset({"datetime", "datetime_format", "max_datetime", "min_datetime"}),
    "SubstreamPartitionRouter": frozenset({"parent_stream_configs"}),
    "ParentStreamConfig": frozenset({"stream", "parent_key", "partition_field", "request_option",
                                     "incremental_dependency", "extra_fields"}),
    "ListPartitionRouter": frozenset({"cursor_field", "values", "request_option"}),
    "ApiKeyAuthenticator": frozenset({"api_token", "header", "inject_into"}),
    "BearerAuthenticator": frozenset({"api_token"}),
    "BasicHttpAuthenticator": frozenset({"username", "password"}),
    "NoAuth": frozenset(),
    "OAuthAuthenticator": frozenset({"client_id", "client_secret", "refresh_token", "token_refresh_endpoint",
                                     "grant_type", "refresh_request_body", "refresh_request_headers", "expires_in_name",
                                     "token_expiry_date_format", "scopes", "client_id_name", "client_secret_name",
                                     "refresh_token_name", "access_token_name", "grant_type_name",
                                     "refresh_token_updater", "send_refresh_request_as_query_params",
                                     "access_token_value", "token_expiry_date", "refresh_token_error_status_codes",
                                     "refresh_token_error_key", "refresh_token_error_values", "profile_assertion",
                                     "use_profile_assertion"}),
    "SelectiveAuthenticator": frozenset({"authenticator_selection_path", "authenticators"}),
    "JwtAuthenticator": frozenset({"secret_key", "algorithm", "token_duration", "header_prefix", "jwt_headers",
                                   "jwt_payload", "additional_jwt_headers", "additional_jwt_payload", "passphrase",
                                   "base64_encode_secret_key", "request_option"}),
    "SessionTokenAuthenticator": frozenset({"login_requester", "session_token_path", "expiration_duration",
                                            "request_authentication", "decoder"}),
    "LegacySessionTokenAuthenticator": frozenset({"header", "login_url", "session_token", "session_token_response_key",
                                                  "username", "password", "validate_session_url"}),
    "ApiKey": frozenset({"inject_into", "api_token"}),
    "Bearer": frozenset(),
    "InlineSchemaLoader": frozenset({"schema"}),
    "JsonFileSchemaLoader": frozenset({"file_path"}),
    "AddFields": frozenset({"fields", "condition"}),
    "AddedFieldDefinition": frozenset({"path", "value", "value_type"}),
    "RemoveFields": frozenset({"field_pointers", "condition"}),
    "KeysToLower": frozenset(),
    "KeysToSnakeCase": frozenset(),
    "DpathFlattenFields": frozenset({"field_path", "delete_origin_value", "replace_record", "key_transformation"}),
    "KeyTransformation": frozenset({"prefix", "suffix"}),
    "DefaultErrorHandler": frozenset({"response_filters", "backoff_strategies", "max_retries"}),
    "CompositeErrorHandler": frozenset({"error_handlers"}),
    "HttpResponseFilter": frozenset({"action", "http_codes", "error_message", "failure_type", "predicate",
                                     "error_message_contains"}),
    "WaitTimeFromHeader": frozenset({"header", "regex", "max_waiting_time_in_seconds"}),
    "WaitUntilTimeFromHeader": frozenset({"header", "regex", "min_wait", "max_waiting_time_in_seconds"}),
    "ConstantBackoffStrategy": frozenset({"backoff_time_in_seconds"}),
    "ExponentialBackoffStrategy": frozenset({"factor"}),
    "CheckStream": frozenset({"stream_names"}),
    "Spec": frozenset({"connection_specification", "documentation_url", "advanced_auth"}),
    "JsonDecoder": frozenset(),
    "JsonlDecoder": frozenset(),
    "CsvDecoder": frozenset({"encoding", "delimiter", "set_values_to_none"}),
    "GzipDecoder": frozenset({"decoder"}),
    "ZipfileDecoder": frozenset({"decoder"}),
    "JsonItemsDecoder": frozenset({"items_path", "encoding"}),
    "IterableDecoder": frozenset(),
    "XmlDecoder": frozenset(),
    "FlattenFields": frozenset({"flatten_lists"}),
    "KeysReplace": frozenset({"old", "new"}),
}

# Options the CDK knows besides the supported ones, with their defaults (absent or default = fine).
KNOWN: dict[str, dict[str, Any]] = {
    "DeclarativeStream": {"state_migrations": [], "file_uploader": None},
    "SimpleRetriever": {"pagination_reset": None, "page_size_reduction": None,
                        "request_window_splitting": None},
    "HttpRequester": {"url": None, "fetch_properties_from_endpoint": None, "query_properties": None,
                      "request_body": None, "connect_timeout_in_seconds": None,
                      "read_timeout_in_seconds": None, "use_tcp_keepalive": False},
    "RecordSelector": {"schema_normalization": None},
    "DpathExtractor": {"record_expander": None},
    "ParentStreamConfig": {"lazy_read_pointer": []},
    "CheckStream": {"dynamic_streams_check_configs": None, "config_overrides": None},
    "Spec": {"config_normalization_rules": None},
    "DeclarativeSource": {"dynamic_streams": None, "api_budget": None, "stream_groups": None,
                          "max_concurrent_async_job_count": None},
}

# Options whose value the CDK's schema types as a list, a mapping or text: another kind fails at load time
# with its place (TranslatorCore.check), not somewhere in the translation. (Text in HttpRequester's
# request_parameters and request_headers is a template rendering a mapping: translate.py.)
_L, _D, _S = (list,), (dict,), (str, list)
SHAPES: dict[str, dict[str, tuple[type, ...]]] = {
    "DeclarativeSource": {"streams": _L, "definitions": _D},
    "DeclarativeStream": {"transformations": _L, "primary_key": _S},
    "SimpleRetriever": {"ignore_stream_slicer_parameters_on_paginated_requests": (bool,)},
    "HttpRequester": {"request_parameters": (dict, str), "request_headers": (dict, str)},
    "DpathExtractor": {"field_path": _L},
    "DpathFlattenFields": {"field_path": _L},
    "AddFields": {"fields": _L},
    "AddedFieldDefinition": {"path": _L},
    "RemoveFields": {"field_pointers": _L},
    "DefaultErrorHandler": {"response_filters": _L, "backoff_strategies": _L},
    "CompositeErrorHandler": {"error_handlers": _L},
    "HttpResponseFilter": {"http_codes": _L},
    "SubstreamPartitionRouter": {"parent_stream_configs": _L},
    "ParentStreamConfig": {"extra_fields": _L},
    "ListPartitionRouter": {"values": _S},
    "DatetimeBasedCursor": {"cursor_datetime_formats": _L},
    "SelectiveAuthenticator": {"authenticators": _D},
    "InlineSchemaLoader": {"schema": _D},
    "CheckStream": {"stream_names": _L},
    "Spec": {"connection_specification": _D},
    "CsvDecoder": {"set_values_to_none": _L},
}
_KIND_NAMES: dict[type, str] = {list: "a list", dict: "a mapping", str: "text", bool: "true or false"}


def shape_problem(kind: str, node: dict[str, Any]) -> tuple[str, str] | None:
    """(option, message) for the first option of ``node`` whose value is of a kind its schema does not allow."""
    for option, kinds in SHAPES.get(kind, {}).items():
        value = node.get(option)
        if value is None or isinstance(value, kinds):
            continue
        expected = " or ".join(_KIND_NAMES[k] for k in kinds)
        return option, f"{kind}.{option}: expected {expected}, got {type(value).__name__}"
    return None


NEEDS: dict[str, str] = {
    "RecordSelector.schema_normalization": "schema normalization of record values (TypeTransformer)",
    "DatetimeBasedCursor.is_client_side_incremental": "client-side incremental filtering (records older than "
                                                      "the cursor dropped)",
    "AsyncRetriever": "the CDK's async jobs (AsyncRetriever) mapped onto async_job partitions",
    "DynamicDeclarativeStream": "streams generated at run time (dynamic_streams)",
    "DeclarativeSource.dynamic_streams": "streams generated at run time (dynamic_streams)",
    "StateDelegatingStream": "streams that switch retrievers by state (StateDelegatingStream)",
    "CustomPartitionRouter": "Python", "DynamicSchemaLoader": "schemas loaded from the API at discover time",
    "next_page_token": "next_page_token in the requester's url_base (the requester's request_parameters, "
                       "request_headers, request_body_json, request_body_data and path read it)",
}


def need(key: str) -> str:
    """``needs <capability>`` for a type or ``Type.option``; ``needs Python`` for Custom*."""
    if key.split(".")[0].startswith("Custom"):
        return "needs Python"
    what = NEEDS.get(key)
    return f"needs {what}" if what else "not supported yet"


def option_problem(kind: str, option: str, value: Any) -> str:
    """Why ``kind.option`` set to ``value`` fails the load, naming the components it holds:
    ``DeclarativeStream.state_migrations (CustomStateMigration) is not supported (needs Python)``."""
    items = value if isinstance(value, list) else [value]
    types = sorted({str(i["type"]) for i in items if isinstance(i, dict) and isinstance(i.get("type"), str)})
    custom = next((t for t in types if t.startswith("Custom")), None)
    held = f" ({', '.join(types)})" if types else ""
    return f"{kind}.{option}{held} is not supported ({need(custom or f'{kind}.{option}')})"
