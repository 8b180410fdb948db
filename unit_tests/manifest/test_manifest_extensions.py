"""A part model of another package (lowcode's) is registered with the factory for a stream slot and
held by a validated Stream as it is: no attaching after validation; YAML still goes through our unions."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import ValidationError

from source_solidafy.manifest import extensions
from source_solidafy.manifest.fields import Strict
from source_solidafy.manifest.models import Manifest, OffsetPagination
from source_solidafy.rest.factory import Factory
from source_solidafy.rest.pagination import Paginator


class EveryOtherPage(Strict):
    type: Literal["every_other"] = "every_other"
    step: int = 2


class EveryOtherPaginator(Paginator):
    def __init__(self, step: int) -> None:
        super().__init__()
        self.step = step


def _manifest(pagination: object) -> Manifest:
    stream = {"name": "s", "request": {"path": "/s"}, "pagination": pagination}
    return Manifest.model_validate({"name": "x", "base_url": "https://a", "streams": [stream]})


def test_a_registered_model_is_held_by_the_stream_and_built_by_its_factory() -> None:
    factory = Factory()
    spec = EveryOtherPage(step=3)
    with pytest.raises(ValidationError):  # not registered: the slot's union refuses it
        _manifest(spec)
    try:
        factory.register(EveryOtherPage, EveryOtherPaginator, slot="pagination")(
            lambda model, inputs: EveryOtherPaginator(model.step))
        held = _manifest(spec).streams[0].pagination
        assert held is spec
        built = factory.build(held, None, Paginator)
        assert isinstance(built, EveryOtherPaginator) and built.step == 3
        # YAML input is validated by the union as before, and its errors are the union's
        assert isinstance(_manifest({"type": "offset", "limit": 5}).streams[0].pagination, OffsetPagination)
        with pytest.raises(ValidationError, match="every_other|offset"):
            _manifest({"type": "every_other"})
    finally:
        extensions.SLOTS["pagination"].remove(EveryOtherPage)


def test_unknown_slot_is_refused() -> None:
    with pytest.raises(ValueError, match="no stream slot 'auth'"):
        extensions.accept("auth", EveryOtherPage)
