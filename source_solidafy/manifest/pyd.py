"""The pydantic names the model modules use: pydantic's own, or :mod:`.light`'s stand-ins.

Every module that defines manifest models imports these names from here, never from pydantic, so a
process running a cache hit's models (:data:`.light.ACTIVE`, set by :mod:`.cache` before the first
model module is imported) creates the same classes without importing pydantic.
"""

from typing import TYPE_CHECKING

from source_solidafy.manifest import light

__all__ = [
    "AfterValidator", "BaseModel", "BeforeValidator", "ConfigDict", "Discriminator", "Field", "GetCoreSchemaHandler",
    "PositiveInt", "PrivateAttr", "PydanticCustomError", "PydanticUndefined", "Tag", "ValidationError",
    "ValidationInfo", "ValidatorFunctionWrapHandler", "WrapValidator", "core_schema", "field_validator",
    "model_validator",
]

if TYPE_CHECKING or not light.ACTIVE:
    from pydantic import (
        AfterValidator,
        BaseModel,
        BeforeValidator,
        ConfigDict,
        Discriminator,
        Field,
        GetCoreSchemaHandler,
        PositiveInt,
        PrivateAttr,
        Tag,
        ValidationError,
        ValidationInfo,
        ValidatorFunctionWrapHandler,
        WrapValidator,
        field_validator,
        model_validator,
    )
    from pydantic_core import PydanticCustomError, PydanticUndefined, core_schema
else:  # the same names (__all__), from light.py
    globals().update({name: getattr(light, name) for name in __all__})
