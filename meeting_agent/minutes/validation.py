"""A small JSON Schema validator for the keywords our schemas use.

`MINUTES_SCHEMA` needs only `type`, `properties`, `required`, `additionalProperties`,
`items`, `minimum` and `enum`; checking those by hand avoids a dependency. Unknown
keywords (`description`) are ignored, as JSON Schema says.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["validate"]

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def validate(instance: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Every way `instance` breaks `schema`, as "path: problem" lines; empty when valid."""
    errors: list[str] = []
    expected = schema.get("type")
    if expected is not None:
        names = expected if isinstance(expected, list) else [expected]
        if not any(_is_type(instance, name) for name in names):
            return [f"{path}: expected {' or '.join(names)}, got {_type_name(instance)}"]
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{path}: {instance!r} is not one of {schema['enum']!r}")
    if "minimum" in schema and _is_type(instance, "number") and instance < schema["minimum"]:
        errors.append(f"{path}: {instance} is less than {schema['minimum']}")
    if isinstance(instance, dict):
        properties: dict[str, Any] = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in instance:
                errors.append(f"{path}: missing required property {name!r}")
        for name, value in instance.items():
            if name in properties:
                errors.extend(validate(value, properties[name], f"{path}.{name}"))
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}: unexpected property {name!r}")
    if isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for k, item in enumerate(instance):
            errors.extend(validate(item, schema["items"], f"{path}[{k}]"))
    return errors


def _is_type(value: Any, name: str) -> bool:
    # bool is an int in Python but not a number in JSON; NaN and infinities are not JSON.
    if isinstance(value, bool):
        return name == "boolean"
    if name == "number" and isinstance(value, float):
        return math.isfinite(value)
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(name, ()))


def _type_name(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _is_type(value, name):
            return name
    return type(value).__name__
