"""Models of a request, and of lookups: requests made once per sync whose records other parts read.

A lookup answers what a stream's request cannot know in advance: the account's custom fields
(HubSpot's ``/crm/v3/properties/contacts``, Salesforce's ``/sobjects/Account/describe``). Templates
read it as ``lookup.<name>`` (a list: the ``value`` of each record, or the records); a stream's
``schema_fields`` adds a field to the discovered schema for each of its records.
"""

from typing import Annotated, Any, Literal

from source_solidafy.manifest.decoder_parts import Decoder, JsonDecoder
from source_solidafy.manifest.fields import Body, ParamMap, Strict, Template, Text, new_dict
from source_solidafy.manifest.pyd import BeforeValidator, Field
from source_solidafy.manifest.stream_parts import Pagination


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


class Request(Strict):
    """The stream's first request; ``params`` render leniently (an empty value is left out)."""

    method: Annotated[Literal["GET", "POST", "PUT", "PATCH", "DELETE"], BeforeValidator(_upper)] = "GET"
    path: Template
    params: ParamMap = Field(default_factory=new_dict)
    body: Body | None = None
    content_type: Text | None = None


class Lookup(Strict):
    """``lookups: {name: {request, decoder, pagination, filter, value}}``: read once per sync (per
    config), when a template first reads ``lookup.<name>``, with the connector's auth; its templates
    see the config (no partition, no other lookup). ``lookup.<name>`` is the list of each record's
    ``value`` (a path), or of the records without one; ``filter`` keeps some records (``record.*``)."""

    request: Request
    decoder: Decoder = Field(default_factory=JsonDecoder.model_construct)
    pagination: Pagination | None = None
    filter: Template | None = None
    value: Text | None = None


class SchemaFields(Strict):
    """A stream's ``schema_fields``: ``discover`` adds one field per record of ``lookup`` to the
    stream's schema (fields the schema declares stay as declared). ``name``: the path of the field's
    name in each record; ``under``: the object the fields are in (a dotted path of the schema's
    properties; none = top level); ``type``: the path of the API's type name, and ``types`` its JSON
    Schema for each (default ``{type: [null, string]}``)."""

    lookup: Text
    name: Text
    under: Text | None = None
    type: Text | None = None
    types: dict[str, dict[str, Any]] = Field(default_factory=new_dict)
