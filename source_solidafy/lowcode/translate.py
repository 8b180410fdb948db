"""A resolved Airbyte manifest -> our canonical :class:`Manifest` (or every unsupported part, at once).

Each component is checked against components.py first: an unsupported type or option is a problem
naming the type and its path in the YAML, and nothing is translated approximately.
"""

from __future__ import annotations

from typing import Any

from source_solidafy.lowcode.auth import AuthParts
from source_solidafy.lowcode.cursor import DatetimeSlices, MinMax
from source_solidafy.lowcode.decoders import DecoderParts
from source_solidafy.lowcode.error_handlers import ErrorHandlerParts
from source_solidafy.lowcode.interpolation import Interpolated, variables
from source_solidafy.lowcode.paging import AirbytePaging
from source_solidafy.lowcode.partition_cursor import PerPartitionCursor
from source_solidafy.lowcode.resolve import PARAMETERS, KeyPath
from source_solidafy.lowcode.transforms import AirbyteRecordFilter
from source_solidafy.lowcode.translate_core import Injected, Unsupported
from source_solidafy.lowcode.translate_parts import RECORD_VARS, StreamParts, signature
from source_solidafy.manifest.walk import format_path

RETRY_STATUSES = frozenset([429, *range(500, 600)])  # the connector's http.retry_statuses (loader.py)
REQUEST_VARS = {"config", "parameters", "stream_slice", "stream_partition", "stream_interval"}
CONFIG_VARS = {"config", "parameters"}
IGNORE_SLICER = "ignore_stream_slicer_parameters_on_paginated_requests"


class Translator(StreamParts, DecoderParts, AuthParts, ErrorHandlerParts):
    """The manifest and its streams; the parts are in translate_parts.py and auth.py, the core in translate_core.py."""

    # -- the manifest --------------------------------------------------------------------------------

    def streams(self) -> list[dict[str, Any]]:
        tree = self.resolved.tree
        try:
            self.check(tree, ())
        except Unsupported:  # recorded; the streams' problems are listed with it (all at once)
            if not isinstance(tree, dict) or not isinstance(tree.get("streams") or [], list):
                return []
        out = []
        for i, stream in enumerate(tree.get("streams") or []):
            try:
                out.append(self.stream(stream, ("streams", i)))
            except Unsupported:
                continue
        return out

    def stream(self, s: Any, at: KeyPath) -> dict[str, Any]:
        self.check(s, at)
        name = str(s.get("name") or "")
        retriever = s.get("retriever")
        self.check(retriever, self.path(s, "retriever"))
        requester = retriever.get("requester")
        self.check(requester, self.path(retriever, "requester"))
        out: dict[str, Any] = {"name": name, "primary_key": _primary_key(s.get("primary_key"))}
        injected = self._injected(requester)
        self._partition(out, s, retriever, injected)
        out["request"] = self.request(requester, injected)
        out["headers"] = injected.headers
        out["decoder"], none_values = self.decoder(retriever, self.selector(retriever.get("record_selector"), retriever))
        selector = retriever["record_selector"]
        record_filter = selector.get("record_filter")
        condition = None
        if record_filter is not None:
            self.check(record_filter, self.path(selector, "record_filter"))
            condition = self.table.keep_template(self.interp(record_filter, "condition", RECORD_VARS))
        if retriever.get("paginator") or injected.page:
            out["pagination"] = self._pagination(retriever, injected)
        schema = self.schema(s)
        if schema is not None:
            out["schema"] = schema
        out["transform"] = self.transforms(s)
        self.place_filter(out, condition, selector)
        self.place_none_values(out, none_values, retriever)
        decoder = out["decoder"] if isinstance(out["decoder"], dict) else {}
        streamed = bool(decoder.get("stream")) or decoder.get("type") == "json_stream"
        out.update(self.error_rules(requester, RETRY_STATUSES, streamed))  # errors, and retry if its own
        out["_url_base"] = self.interp(requester, "url_base", CONFIG_VARS, "")
        auth = self.auth(requester)
        if isinstance(out.get("pagination"), AirbytePaging):
            out["pagination"].auth_params = [a["key"] for a in (auth if isinstance(auth, list) else [auth])
                                             if isinstance(a, dict) and a["type"] == "api_key"
                                             and a.get("location") == "query"]
        out["_auth"] = (auth, self.path(requester, "authenticator"), signature(requester.get("authenticator")))
        return out

    def _partition(self, out: dict[str, Any], s: dict[str, Any], retriever: dict[str, Any], injected: Injected) -> None:
        """The stream's partitions (cursor, router or both) and the request options they add."""
        incremental = s.get("incremental_sync")
        router = retriever.get("partition_router")
        options = self._slicer_options(retriever, injected)
        if incremental and router:
            outer = self.router(router, options, retriever)
            out["partition"] = self.per_partition(outer, self.cursor(incremental, options), router,
                                                  incremental.get("global_substream_cursor") is True)
            out["cursor_field"] = out["partition"].cursor.cursor_field
        elif incremental:
            out["partition"] = self.cursor(incremental, options)
            out["cursor_field"] = out["partition"].cursor_field
        elif router:
            out["partition"] = self.router(router, options, retriever)
        if options is not injected:
            if options.body is not None:
                raise self.fail(self.path(retriever, IGNORE_SLICER), f"SimpleRetriever.{IGNORE_SLICER} with a "
                                "body_json request option of the partition router or cursor is not supported yet")
            injected.page.unpaged_params, injected.page.unpaged_headers = options.params, options.headers

    def _slicer_options(self, retriever: dict[str, Any], injected: Injected) -> Injected:
        """Where the partition router's and cursor's request options go: with the requester's own (sent
        on every request), or, with ``ignore_stream_slicer_parameters_on_paginated_requests``, apart:
        airbyte-cdk 7.39.1 (``SimpleRetriever._get_request_options``) sends them only on requests without
        a next_page_token (page_templates.py)."""
        if not retriever.get(IGNORE_SLICER):
            return injected
        options = Injected({}, {}, None)
        options.fields_only = True
        return options

    def _pagination(self, retriever: dict[str, Any], injected: Injected) -> AirbytePaging | None:
        """The paginator, which renders the requester's templates reading next_page_token for each request;
        NoPagination's (strategy ``none``) only renders them, its token always None."""
        paginator = retriever.get("paginator")
        spec = self.paginator(paginator, retriever) if paginator else None
        if injected.page:
            spec = spec or AirbytePaging(strategy="none")
            spec.templates = injected.page
        return spec

    def place_filter(self, out: dict[str, Any], condition: Any, selector: dict[str, Any]) -> None:
        """The record filter where the CDK runs it: before the transformations (our stream ``filter``) or,
        with ``transform_before_filtering`` (the default of ``is_client_side_incremental``), after them.
        A data feed's cursor filter runs last, after the record selector (the CDK's post-pagination filter),
        instead of the client-side one."""
        part = out.get("partition")
        if isinstance(part, PerPartitionCursor):
            part = part.cursor  # each partition's slices carry its own cursor's bounds
        flagged = isinstance(part, DatetimeSlices) and part.client_side
        data_feed = isinstance(part, DatetimeSlices) and part.data_feed
        client_side = flagged and not data_feed
        after = selector.get("transform_before_filtering")
        after = flagged if after is None else bool(after)
        self._place_condition(out, condition, part, client_side, after)
        if data_feed:
            out["transform"].append(AirbyteRecordFilter(cursor=part, data_feed=True))

    def _place_condition(self, out: dict[str, Any], condition: Any, part: Any, client_side: bool, after: bool) -> None:
        if not after:
            if condition is not None:
                out["filter"] = condition
            if client_side:
                out["transform"].insert(0, AirbyteRecordFilter(cursor=part))
            return
        if condition is not None or client_side:
            out["transform"].append(AirbyteRecordFilter(condition=condition, cursor=part if client_side else None))

    def _injected(self, requester: dict[str, Any]) -> Injected:
        """The requester's own parameters, headers and JSON body (request options add to them); those
        reading next_page_token go to the paginator (``Injected.page``)."""
        params: dict[str, Any] = {}
        headers: dict[str, Any] = {}
        body: dict[str, Any] | None = None
        per_page = _reads_token(requester.get("request_body_json"))
        if requester.get("request_body_json"):  # the CDK sends no body for an empty mapping
            body = self._body_json(requester, REQUEST_VARS | ({"next_page_token"} if per_page else set()))
        injected = Injected(params, headers, body)
        injected.body_per_page = per_page
        if requester.get("request_body_data"):
            injected.page.form = self._body_data(requester, body is not None)
        for key, value in self._mapping_of(requester, "request_parameters").items():
            if _reads_token(value):
                injected.page.params[str(key)] = self._page_value(requester, "request_parameters", key, value)
                continue
            params[str(key)] = self.table.template(self._value(requester, "request_parameters", key, value),
                                                   self.where_of((*self.path(requester), "request_parameters", key)),
                                                   lenient=True)
        for key, value in self._mapping_of(requester, "request_headers").items():
            if _reads_token(value):
                injected.page.headers[str(key)] = self._page_value(requester, "request_headers", key, value)
                continue
            headers[str(key)] = self.table.template(self._value(requester, "request_headers", key, value),
                                                    self.where_of((*self.path(requester), "request_headers", key)))
        return injected

    def _mapping_of(self, requester: dict[str, Any], option: str) -> dict[str, Any]:
        """request_parameters / request_headers: a mapping, or text the CDK renders to one. Text reading only
        ``$parameters`` is rendered here, once, as the CDK renders it (its literal, None values left out);
        its values are sent as they are (text and numbers; not templates again, as in the CDK)."""
        value = requester.get(option) or {}
        if isinstance(value, dict):
            return value
        at = self.path(requester, option)
        item = self.interp(requester, option, REQUEST_VARS)
        if variables(item.text) - {"parameters"} - set(self.table.env.globals):
            raise self.fail(at, f"HttpRequester.{option} as a template (text) reading more than $parameters "
                                "is not supported yet (a mapping is)")
        rendered = item.eval({}, default="")
        if not isinstance(rendered, dict):
            raise self.fail(at, f"HttpRequester.{option} renders {type(rendered).__name__}, not a mapping")
        out = {str(k): v for k, v in rendered.items() if v is not None}
        for key, item_value in out.items():
            if isinstance(item_value, (dict, list)) or isinstance(item_value, str) and ("{" in item_value or not item_value):
                raise self.fail((*at, key), f"a value {item_value!r} rendered by HttpRequester.{option} is not supported yet")
        return {key: str(v) for key, v in out.items()}

    def _page_value(self, requester: dict[str, Any], option: str, key: str, value: str) -> Interpolated:
        """A request parameter, header or form field rendered for each request by the paginator, which knows
        the token (``next_page_token``), the partition and the config."""
        holder = {str(key): value, PARAMETERS: requester.get(PARAMETERS)}
        self.resolved.origin[id(holder)] = (*self.path(requester), option)
        return self.interp(holder, str(key), REQUEST_VARS | {"next_page_token"})

    def _body_data(self, requester: dict[str, Any], with_json: bool) -> dict[str, Any] | Interpolated:
        """request_body_data, which the paginator renders (and form-encodes) for each request (page_templates.py)."""
        value = requester["request_body_data"]
        if with_json:
            raise self.fail(self.path(requester, "request_body_data"),
                            "request_body_data with request_body_json (the CDK fails on it too)")
        if not isinstance(value, dict):
            return self.interp(requester, "request_body_data", REQUEST_VARS | {"next_page_token"})
        return {str(k): self._page_value(requester, "request_body_data", k, v) if isinstance(v, str) else v
                for k, v in value.items()}

    def _value(self, node: dict[str, Any], key: str, sub: str, value: Any) -> Interpolated | str:
        holder = {sub: value, PARAMETERS: node.get(PARAMETERS)}
        self.resolved.origin[id(holder)] = (*self.path(node), key)
        return self.interp(holder, sub, REQUEST_VARS) if isinstance(value, str) else str(value)

    def _body_json(self, requester: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
        value = requester["request_body_json"]
        if not isinstance(value, dict):
            raise self.fail(self.path(requester, "request_body_json"), "a request_body_json string is not supported yet")

        def walk(node: Any, at: KeyPath) -> Any:
            if isinstance(node, str):
                holder = {"v": node, PARAMETERS: requester.get(PARAMETERS)}
                self.resolved.origin[id(holder)] = at[:-1]
                return self.interp(holder, "v", allowed)
            if isinstance(node, dict):
                return {k: walk(v, (*at, k)) for k, v in node.items()}
            if isinstance(node, list):
                return [walk(v, (*at, i)) for i, v in enumerate(node)]
            return node

        return walk(value, (*self.path(requester), "request_body_json"))

    def request(self, requester: dict[str, Any], injected: Injected) -> dict[str, Any]:
        """The stream's request; a path or JSON body reading next_page_token goes to the paginator
        (``injected.page``), which renders it for each request (the stream's URL is then the url_base)."""
        method = str(requester.get("http_method") or "GET").upper()
        base = self.interp(requester, "url_base", CONFIG_VARS, "")
        if _reads_token(requester.get("path")):
            injected.page.url = (base, self.interp(requester, "path", REQUEST_VARS | {"next_page_token"}))
            path = Interpolated("", {}, base.where)
        else:
            path = self.interp(requester, "path", REQUEST_VARS, "")
        url = self.table.url_template(base, path, self.where_of(self.path(requester, "path")))
        out: dict[str, Any] = {"method": method, "path": url, "params": injected.params}
        if injected.body_per_page:
            injected.page.body = injected.body
        elif injected.body is not None:
            out["body"] = self.table.body_template(injected.body, self.where_of(self.path(requester, "request_body_json")))
            out["content_type"] = "application/json"
        return out


def _reads_token(value: Any) -> bool:
    """A template (or a string of a nested body) that mentions ``next_page_token``."""
    if isinstance(value, str):
        return "next_page_token" in value
    if isinstance(value, dict):
        return any(_reads_token(v) for v in value.values())
    if isinstance(value, list):
        return any(_reads_token(v) for v in value)
    return False


def _primary_key(value: Any) -> list[str]:
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        return [value]
    out = []
    for item in value:
        out.append(".".join(str(p) for p in item) if isinstance(item, list) else str(item))
    return out


__all__ = ["Translator", "Unsupported", "format_path", "DatetimeSlices", "MinMax", "AirbytePaging"]
