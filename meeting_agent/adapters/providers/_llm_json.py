"""Reading a chat model's JSON answer, and the error for an answer that is not usable.

An unusable answer (not JSON, cut at the token limit, no text at all) is a
`ValueError`: `LlmMinutesGenerator` asks once more with a hint, then gives up with
`LLM_BAD_OUTPUT` so the next provider can try. It is deliberately not a vendor error:
`call_vendor` would resend the identical request, paying again for the same answer.
"""

from __future__ import annotations

import json
import re
from typing import Any

from meeting_agent.ports import LlmOutputError, LlmUsage

__all__ = ["LlmOutputError", "parse_json_object"]

# Models that think aloud in the content (DeepSeek-R1 style) put it first.
_THINKING = re.compile(r"^\s*<think>.*?</think>\s*", re.DOTALL)
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n?```\s*$", re.DOTALL)


def parse_json_object(text: str, usage: LlmUsage) -> dict[str, Any]:
    """The JSON object in a model's text, tolerating a code fence or a thinking preamble.

    Servers that ignore `response_format` (or older ones) wrap JSON in fences; the
    schema check after this catches anything else.
    """
    body = _THINKING.sub("", text, count=1)
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        raise LlmOutputError(
            f"the answer is not JSON ({exc.msg} at {exc.pos})", usage=usage
        ) from None
    if not isinstance(value, dict):
        raise LlmOutputError(
            f"the answer is JSON {type(value).__name__}, not an object", usage=usage
        )
    return value
