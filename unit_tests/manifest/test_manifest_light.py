"""The light stand-ins for pydantic (manifest/light.py): what a cached read's models do without pydantic,
checked against pydantic's own behaviour on the same class definitions."""


import copy
from typing import Annotated, Any, ClassVar

import pydantic
import pytest

from source_solidafy.manifest import light


def define(api: Any) -> tuple[type, type, type]:
    """The same three models over pydantic's names or the light ones (as manifest/pyd.py hands them out)."""

    class Part(api.BaseModel):
        model_config = api.ConfigDict(extra="forbid")
        kinds: ClassVar[tuple[str, ...]] = ("a",)
        type: str = "part"
        size: int = api.Field(3, alias="Size")
        tags: list[str] = api.Field(default_factory=list)
        note: Annotated[str | None, api.Field(None)]
        _seen: int = api.PrivateAttr(default=0)

    class Extra(api.BaseModel):
        when: str | None = None

    class Both(Part, Extra):
        name: str

    return Part, Extra, Both


@pytest.fixture(params=["pydantic", "light"])
def models(request: pytest.FixtureRequest) -> tuple[type, type, type]:
    return define(pydantic if request.param == "pydantic" else light)


def test_fields_defaults_aliases_and_inheritance(models: tuple[type, type, type]) -> None:
    part, _, both = models
    assert list(part.model_fields) == ["type", "size", "tags", "note"]
    assert list(both.model_fields) == ["when", "type", "size", "tags", "note", "name"]
    assert part.model_fields["size"].alias == "Size" and part.model_fields["note"].annotation == str | None
    assert [n for n, f in both.model_fields.items() if f.is_required()] == ["name"]
    made = both.model_construct(name="x", Size=5)
    assert (made.name, made.size, made.tags, made.note, made.when, made._seen) == ("x", 5, [], None, None, 0)
    assert made.model_fields_set == {"name", "size"} and dict(made)["size"] == 5
    assert both.model_construct(name="y").tags is not made.tags  # a fresh default each time
    assert not hasattr(part, "size") and part.kinds == ("a",)  # a field is not a class attribute


def test_copies_equality_and_pickles(models: tuple[type, type, type]) -> None:
    part, _, both = models
    one = both.model_construct(name="x", tags=["a"])
    other = one.model_copy(update={"size": 9})
    assert (other.size, one.size, other.name) == (9, 3, "x") and other.model_fields_set == {"name", "tags", "size"}
    assert one == one.model_copy() and one != other and one != part.model_construct(tags=["a"])
    deep = one.model_copy(deep=True)
    assert deep == one and deep.tags is not one.tags and copy.copy(one).tags is one.tags
    back = type(one).__new__(type(one))  # what unpickling does (pickle itself needs a module-level class)
    back.__setstate__(one.__getstate__())
    assert back == one and back._seen == 0 and back.model_fields_set == one.model_fields_set
    with pytest.raises(TypeError):
        hash(one)


def test_a_light_process_reads_what_pydantic_pickled() -> None:
    """A cache entry is written with pydantic's models and read with light ones: the pickled state shape."""
    full_part, *_ = define(pydantic)
    light_part, *_ = define(light)
    written = full_part.model_construct(tags=["t"], note="n")
    written._seen = 7
    state = written.__getstate__()
    read = light_part.__new__(light_part)
    read.__setstate__(state)
    assert (read.type, read.size, read.tags, read.note, read._seen) == ("part", 3, ["t"], "n", 7)
    assert read.model_fields_set == written.model_fields_set
    assert read.__getstate__() == state


def test_frozen_models_hash_by_their_fields() -> None:
    class Point(light.BaseModel):
        model_config = light.ConfigDict(frozen=True)
        x: int = 0

    assert hash(Point.model_construct(x=1)) == hash(Point.model_construct(x=1)) != hash(Point.model_construct(x=2))
    assert {Point.model_construct(x=1), Point.model_construct(x=1)} == {Point.model_construct(x=1)}


def test_validators_and_markers_are_inert() -> None:
    @light.field_validator("x", mode="before")
    def check(cls: Any, v: Any) -> Any:
        raise AssertionError("never run")

    assert light.BeforeValidator(check).args == (check,) and light.PositiveInt is int
    assert light.core_schema.CoreSchema is Any
    assert str(light.PydanticCustomError("kind", "bad {x}", {"x": 1})) == "bad 1"
