"""Stream slots that also take part models defined elsewhere: ``pagination``, ``partition``, ``decoder``,
``transform`` steps, ``errors`` rules.

Our YAML's types are closed unions (an unknown ``type:`` is a clear error naming the known ones). A
package that translates another format defines its own part models (the Airbyte manifests'
paginator and routers, :mod:`source_solidafy.lowcode`) and registers each with the factory for a
slot (``FACTORY.register(AirbytePaging, AirbytePaginator, slot="pagination")``): a Stream then takes
an instance of that model in that slot as it is, while anything else, YAML included, is validated by
the slot's own union exactly as before.
"""

from __future__ import annotations

from typing import Any

from source_solidafy.manifest.pyd import ValidatorFunctionWrapHandler, WrapValidator

SLOTS: dict[str, list[type]] = {"pagination": [], "partition": [], "transform": [], "errors": [], "decoder": []}


def accept(slot: str, model: type) -> None:
    """Let ``slot`` of a Stream hold instances of ``model`` (built elsewhere, already validated)."""
    if slot not in SLOTS:
        raise ValueError(f"no stream slot '{slot}'; the slots are {', '.join(SLOTS)}")
    if model not in SLOTS[slot]:
        SLOTS[slot].append(model)


def open_slot(slot: str) -> WrapValidator:
    """The validator of ``slot``: a registered model instance passes, the rest goes to the union."""
    registered = SLOTS[slot]

    def check(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if registered and isinstance(value, tuple(registered)):
            return value
        return handler(value)

    return WrapValidator(check)
