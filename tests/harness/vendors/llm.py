"""What the fake language models answer with, and what they bill for it."""

from __future__ import annotations

from typing import Any


def estimate_tokens(text: str) -> int:
    """About four characters a token: what the fakes bill, so tests know exact numbers."""
    return (len(text) + 3) // 4


def instance_of(schema: dict[str, Any]) -> Any:
    """A value matching a responseSchema or a JSON Schema: what a model would answer."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    kind = str(kind or "object").upper()
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "OBJECT":
        return {name: instance_of(sub) for name, sub in schema.get("properties", {}).items()}
    if kind == "ARRAY":
        return [instance_of(schema.get("items", {"type": "STRING"}))]
    return {"STRING": "text", "NUMBER": 1.5, "INTEGER": 1, "BOOLEAN": True}.get(kind, "text")
