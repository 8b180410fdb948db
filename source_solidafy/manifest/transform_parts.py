"""Models of a stream's ``transform`` steps: each list item is one step, ``- <kind>: <options>``.

A step is told apart by ``op`` (its kind); the short forms are normalised on the way in
(``- remove: x``, ``- hash: [a, b]``, ``- flatten: {}``, ``- normalize_keys: snake_case``,
``- cast: {}``). Field lists of ``remove``, ``hash`` and ``mask`` are paths: ``a.b``, ``items[*].x``,
``properties.hs_*`` (``*`` and ``?`` match within one key), see :mod:`source_solidafy.rest.field_paths`.
"""

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from source_solidafy.manifest.fields import Strict, Template, Text, TextList, check_each, new_list
from source_solidafy.manifest.pyd import AfterValidator, BeforeValidator, Field, PydanticCustomError


def _patterns(fields: list[str]) -> list[str]:
    """Each field pattern parses (``a.b``, ``items[*].x``, ``hs_*``), or the load fails here."""
    from source_solidafy.rest.field_paths import FieldPattern

    return check_each(fields, FieldPattern)


FieldList = Annotated[TextList, AfterValidator(_patterns)]
"""Field patterns (``remove``, ``hash``, ``mask``, ``cast``): a string or a list, each checked."""

STEP_KINDS = ("set", "remove", "rename", "flatten", "normalize_keys", "hash", "mask", "cast")
KIND_SPELLINGS = {"normalise_keys": "normalize_keys"}


class SetStep(Strict):
    """``- set: {field: org, value: "{{ config.org }}"}``; ``record`` is in the template context."""

    op: Literal["set"]
    field: Text
    value: Template


class RemoveStep(Strict):
    """``- remove: {field: x}``, ``- remove: [a, b.c, "items[*].secret", "hs_*"]`` or ``- remove: x``:
    stored as ``fields``; a name with ``.``, ``[*]``, ``*`` or ``?`` is a path (absent ones are fine)."""

    op: Literal["remove"]
    fields: FieldList


class RenameStep(Strict):
    """``- rename: {from: a, to: b}``; ``from`` is stored as ``from_field``."""

    op: Literal["rename"]
    from_field: Text = Field(alias="from")
    to: Text


class FlattenStep(Strict):
    """``- flatten: {separator: "_", max_depth: 1, fields: [properties], prefix: true}``: nested objects
    become top-level keys (``owner.email`` -> ``owner_email``); lists stay as they are. ``fields``: only
    these top-level objects (default: every one); ``prefix: false`` drops their own name
    (``properties.email`` -> ``email``); ``max_depth``: levels joined (deeper objects stay objects).
    A joined name that is already a key replaces it."""

    op: Literal["flatten"]
    separator: Text = "_"
    max_depth: int | None = Field(default=None, ge=1)
    fields: TextList = Field(default_factory=new_list)
    prefix: bool = True


class NormalizeKeysStep(Strict):
    """``- normalize_keys: snake_case`` (``firstName``, ``First Name`` -> ``first_name``) or ``lower_case``;
    keys of nested objects too. ``normalise_keys`` is accepted."""

    op: Literal["normalize_keys"]
    case: Literal["snake_case", "lower_case"] = "snake_case"


class HashStep(Strict):
    """``- hash: {fields: [email], salt: "{{ config.hash_salt }}"}``: each value becomes the hex
    HMAC-SHA256 of its text keyed with ``salt`` (SHA-256 when there is no salt); null stays null.
    The salt is a secret: keep it in a secret config field; it is never shown."""

    op: Literal["hash"]
    fields: FieldList
    salt: Template | None = None


class MaskStep(Strict):
    """``- mask: {fields: [phone], keep_last: 4, mask: "****"}``: each value becomes ``mask`` followed
    by its last ``keep_last`` characters (none by default); null stays null."""

    op: Literal["mask"]
    fields: FieldList
    keep_last: int = Field(default=0, ge=0)
    mask: Text = "****"


class CastStep(Strict):
    """``- cast: {}``: values converted to the type the stream's ``schema`` declares for them (as
    transformed by the steps before this one): ``integer``, ``number``, ``boolean``, ``string``
    (nested objects too). ``fields``: only these (default: every typed field). A value that cannot
    be converted is kept as it is, and the stream logs one warning."""

    op: Literal["cast"]
    fields: FieldList = Field(default_factory=new_list)


def _field_list(inner: Any) -> Any:
    """``x`` / ``[a, b]`` / ``{field: x, ...}`` / ``{fields: [...], ...}`` -> a mapping with ``fields``."""
    if isinstance(inner, Mapping):
        if "field" in inner and "fields" not in inner:
            inner = {"fields": inner["field"], **{k: v for k, v in inner.items() if k != "field"}}
        return dict(inner)
    return {"fields": inner}


def _options(kind: str, inner: Any) -> dict[str, Any]:
    """The options of one step kind, from its short forms."""
    if kind in ("remove", "hash", "mask"):
        return _field_list(inner)
    if kind in ("flatten", "cast") and (inner is True or inner is None):
        return {}
    if kind == "normalize_keys" and isinstance(inner, str):
        return {"case": inner}
    if not isinstance(inner, Mapping):
        raise PydanticCustomError("expected", "expected a mapping under '{kind}'", {"kind": kind})
    return dict(inner)


def _unknown_step(value: Mapping[Any, Any], kinds: list[str]) -> PydanticCustomError:
    unknown = [str(k) for k in value if k not in STEP_KINDS and k not in KIND_SPELLINGS]
    if unknown and not kinds:
        import difflib  # only for the hint: not imported at start-up
        close = difflib.get_close_matches(unknown[0], STEP_KINDS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return PydanticCustomError(
            "step_kind", "unknown transform step '{kind}'; expected one of {kinds}{hint}",
            {"kind": unknown[0], "kinds": ", ".join(STEP_KINDS), "hint": hint},
        )
    return PydanticCustomError("step_kind", "a transform step has exactly one key: {kinds}",
                               {"kinds": ", ".join(STEP_KINDS)})


def _step_form(value: Any) -> Any:
    """``{set: {...}}`` -> ``{op: set, ...}``; one clear message for an unknown or ambiguous step."""
    if isinstance(value, str) and KIND_SPELLINGS.get(value, value) in ("flatten", "normalize_keys", "cast"):
        return {"op": KIND_SPELLINGS.get(value, value)}  # ``- flatten``: the defaults
    if not isinstance(value, Mapping) or "op" in value:
        return value
    kinds = [k for k in value if k in STEP_KINDS or k in KIND_SPELLINGS]
    if len(value) != 1 or len(kinds) != 1:
        raise _unknown_step(value, kinds)
    kind = KIND_SPELLINGS.get(kinds[0], kinds[0])
    return {"op": kind, **_options(kind, value[kinds[0]])}


TransformStep = Annotated[
    SetStep | RemoveStep | RenameStep | FlattenStep | NormalizeKeysStep | HashStep | MaskStep | CastStep,
    Field(discriminator="op"), BeforeValidator(_step_form),
]
