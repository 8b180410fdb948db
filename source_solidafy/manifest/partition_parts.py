"""Models of a stream's partitions: ``list``, ``date_range``, ``parent_stream`` and ``async_job``.

Each ``type:`` is one model in the :data:`Partition` union; the routers that read them are registered
in :mod:`source_solidafy.rest.builders`.
"""

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any, Literal

from source_solidafy.manifest.fields import (
    Body,
    ParamMap,
    Strict,
    Template,
    TemplateMap,
    Text,
    TextList,
    new_dict,
    new_list,
)
from source_solidafy.manifest.pyd import (
    BeforeValidator,
    Field,
    PydanticCustomError,
    field_validator,
    model_validator,
)
from source_solidafy.manifest.stream_parts import CursorPagination, Pagination

# ------------------------------------------------------------------------------------ partitions


class ListPartition(Strict):
    """``partition: {type: list, field: region, values: [us, eu]}`` -> ``partition.region``."""

    type: Literal["list"]
    field: Text
    values: list[Any]


# patterns, compiled by re on first use (and kept in its cache): a load from the cache validates nothing
_SHORT_STEP = r"^(\d+)\s*(s|m|h|d|w|mo|y)$"
_ISO_STEP = r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$"
_SHORT_TO_ISO = {"s": "PT{}S", "m": "PT{}M", "h": "PT{}H", "d": "P{}D", "w": "P{}W", "mo": "P{}M", "y": "P{}Y"}


def _iso_step(value: Any) -> Any:
    """Seed steps (``1d``, ``1h``, ``1w``) become ISO 8601 durations (``P1D``, ``PT1H``, ``P1W``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"PT{value}S"
    if isinstance(value, str):
        m = re.match(_SHORT_STEP, value.strip(), re.IGNORECASE)
        if m:
            return _SHORT_TO_ISO[m.group(2).lower()].format(int(m.group(1)))
        text = value.strip().upper()
        if re.match(_ISO_STEP, text) and text not in ("P", "PT"):
            return text
        raise PydanticCustomError(
            "step", "expected an ISO 8601 duration (P1D, PT1H) or 1d/1h/1w, got '{got}'", {"got": value}
        )
    return value


class SplitWhen(Strict):
    """A window whose first page says it matches more results than one query may return is halved.

    ``total_path`` is where the first page's body says how many results the window's query matches
    (HubSpot's search: ``total``); above ``above`` (HubSpot's cap: 10000) the window is read as two
    halves instead, each split again while still above, down to ``min_window`` (default: the
    smallest step ``format`` can tell, one second for ISO text); a smallest window still above fails
    the stream. The request must filter ``>= partition.start`` and ``< partition.end``.
    """

    total_path: Text
    above: int = Field(ge=1)
    min_window: Annotated[Text, BeforeValidator(_iso_step)] | None = None


def step_parts(step: str) -> tuple[int, timedelta]:
    """``(months, delta)`` of an ISO 8601 step: years and months are calendar steps, the rest a timedelta."""
    m = re.match(_ISO_STEP, step)
    assert m is not None
    y, mo, w, d, h, mi, s = (int(g or 0) for g in m.groups())
    return y * 12 + mo, timedelta(weeks=w, days=d, hours=h, minutes=mi, seconds=s)


class DateRangePartition(Strict):
    """Half-open ``[start, end)`` windows of ``step``; ``partition.start`` / ``partition.end``.

    ``field`` (README form) also exposes the window start as ``partition.<field>``; ``start_field`` /
    ``end_field`` (seed form) expose start and end under those names. ``split_when`` (ours) halves a
    window over an API's cap on results per query (HubSpot's search: 10,000).
    """

    type: Literal["date_range"]
    start: Template
    end: Template | None = None
    step: Annotated[Text, BeforeValidator(_iso_step)] = "P1D"
    format: Text = "%Y-%m-%dT%H:%M:%SZ"
    field: Text | None = None
    start_field: Text | None = None
    end_field: Text | None = None
    split_when: SplitWhen | None = None

    def step_parts(self) -> tuple[int, timedelta]:
        """``(months, delta)``: years and months are calendar steps, the rest a fixed timedelta."""
        return step_parts(self.step)


def _named_paths(value: Any) -> Any:
    """``parent_fields``: a list of parent paths (each its own partition name) or a mapping
    partition name -> parent path."""
    if isinstance(value, list):
        return {str(v): v for v in value}
    return value


class ParentStreamPartition(Strict):
    """One partition per parent record: ``partition.<field>`` = the parent record's ``parent_field``.

    ``parent_fields`` takes several: a mapping partition name -> parent path (``{owner: owner.login,
    repo: name}``), or a list of paths (each its own name). A parent record gives a partition when it
    has every one of them, none null or empty. Canonical: ``parent_fields`` is always set (the single
    form is ``{field: parent_field}``).
    """

    spellings = {"partition_field": "field"}
    type: Literal["parent_stream", "parent"]
    stream: Text
    parent_field: Text | None = None
    field: Text | None = None
    parent_fields: Annotated[dict[str, Text], BeforeValidator(_named_paths)] = Field(default_factory=new_dict)

    @model_validator(mode="before")
    @classmethod
    def _accept_spellings(cls, data: Any) -> Any:
        return cls.normalise_keys(data)

    @field_validator("type")
    @classmethod
    def _canonical_type(cls, v: str) -> str:
        return "parent_stream"

    @model_validator(mode="after")
    def _one_form(self) -> "ParentStreamPartition":
        if self.parent_fields:
            if self.parent_field is not None or self.field is not None:
                raise PydanticCustomError("parent_forms", "give parent_field (with field) or parent_fields, not both")
            return self
        if self.parent_field is None:
            raise PydanticCustomError("missing_key", "missing required key 'parent_field' (or 'parent_fields')")
        if self.field is None:
            self.field = self.parent_field
        self.parent_fields = {self.field: self.parent_field}
        return self


class AsyncCreate(Strict):
    """The request that creates the job; ``job_id_path`` reads its id."""

    method: Annotated[Literal["GET", "POST", "PUT", "PATCH"], BeforeValidator(lambda v: str(v).upper())] = "POST"
    path: Template
    body: Body | None = None
    params: ParamMap = Field(default_factory=new_dict)
    headers: TemplateMap = Field(default_factory=new_dict)
    job_id_path: Text = "id"


class AsyncPoll(Strict):
    """Polled every ``interval_secs`` until ``status_path`` equals ``completed_value``."""

    path: Template
    interval_secs: float = Field(default=5.0, ge=0)
    max_attempts: int = Field(default=120, ge=1)
    status_path: Text
    completed_value: Text
    failed_values: TextList = Field(default_factory=new_list)


def _locator_form(value: Any) -> Any:
    """``locator_header: Sforce-Locator`` (+ ``locator_param``) is a cursor read from that header."""
    if not isinstance(value, Mapping) or "locator_header" not in value:
        return value
    out = dict(value)
    header = out.pop("locator_header")
    param = out.pop("locator_param", "locator")
    out.setdefault("pagination", {"type": "cursor", "cursor_param": param, "cursor_header": header})
    return out


def _sforce_locator() -> CursorPagination:
    return CursorPagination(type="cursor", cursor_param="locator", cursor_header="Sforce-Locator")


class AsyncDownload(Strict):
    """The results request. Without ``pagination`` it follows the ``Sforce-Locator`` header as the
    ``locator`` param (Salesforce Bulk 2.0; the string ``null`` or no header ends), ``pagination: null``
    reads one page; ``locator_header``/``locator_param`` are a shorthand for ``pagination``.
    """

    path: Template
    records_path: Text | None = None
    params: ParamMap = Field(default_factory=new_dict)
    headers: TemplateMap = Field(default_factory=new_dict)
    pagination: Pagination | None = Field(default_factory=_sforce_locator)


class AsyncJobPartition(Strict):
    """create -> poll until ``completed_value`` -> download (with its own pagination); ``job_id``."""

    type: Literal["async_job"]
    create: AsyncCreate
    poll: AsyncPoll
    download: Annotated[AsyncDownload, BeforeValidator(_locator_form)]


Partition = Annotated[
    ListPartition | DateRangePartition | ParentStreamPartition | AsyncJobPartition,
    Field(discriminator="type"),
]
