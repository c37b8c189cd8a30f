"""JSON Schema → Gemini `responseSchema` (a subset of the OpenAPI 3.0 Schema object).

Gemini's `responseSchema` takes upper-case types, `nullable` instead of a `"null"`
type, and only these fields: type, format, description, nullable, enum, properties,
required, items, minItems, maxItems, propertyOrdering. Validation keywords outside
the subset (`minimum`, `additionalProperties`, …) are dropped: our own validator
still checks the answer against the full JSON Schema afterwards.

Newer models also take a standard JSON Schema as `responseJsonSchema`; `GeminiLlm`
sends that instead when configured so, and then no conversion happens.
"""

from __future__ import annotations

from typing import Any

__all__ = ["to_gemini_schema"]

_TYPES = {
    "string": "STRING",
    "number": "NUMBER",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
    "array": "ARRAY",
    "object": "OBJECT",
}
_KEPT = ("format", "description", "enum", "minItems", "maxItems")
_UNSUPPORTED = ("$ref", "anyOf", "oneOf", "allOf", "not", "if", "patternProperties")


def to_gemini_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The `responseSchema` equivalent of a JSON Schema.

    Raises:
        ValueError: the schema uses a construct the subset cannot express (references,
            combinators, a union of two non-null types); a bug in our schemas, so loud.
    """
    return _convert(schema, "$")


def _convert(schema: dict[str, Any], path: str) -> dict[str, Any]:
    for keyword in _UNSUPPORTED:
        if keyword in schema:
            raise ValueError(f"{path}: {keyword!r} has no responseSchema equivalent")
    out: dict[str, Any] = {}
    nullable = False
    declared = schema.get("type")
    if declared is not None:
        names = list(declared) if isinstance(declared, list) else [declared]
        nullable = "null" in names
        names = [n for n in names if n != "null"]
        if len(names) != 1 or names[0] not in _TYPES:
            raise ValueError(f"{path}: type {declared!r} has no responseSchema equivalent")
        out["type"] = _TYPES[names[0]]
    for keyword in _KEPT:
        if keyword in schema:
            out[keyword] = schema[keyword]
    if nullable or schema.get("nullable") is True:
        out["nullable"] = True
    properties = schema.get("properties")
    if isinstance(properties, dict):
        out["properties"] = {
            name: _convert(sub, f"{path}.{name}") for name, sub in properties.items()
        }
        # The model writes properties in this order; without it, alphabetically.
        out["propertyOrdering"] = list(properties)
        if schema.get("required"):
            out["required"] = list(schema["required"])
    items = schema.get("items")
    if isinstance(items, dict):
        out["items"] = _convert(items, f"{path}[]")
    return out
