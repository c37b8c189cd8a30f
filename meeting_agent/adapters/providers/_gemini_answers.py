"""What Gemini is asked and what it answers: the transcription prompt and schema, the
segments parsed from an answer, the answer's text and its token usage."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from meeting_agent.domain.models import Hotword
from meeting_agent.ports import AsrRequest

__all__ = [
    "MAX_PROMPT_HOTWORDS",
    "SEGMENTS_SCHEMA",
    "BadSegments",
    "GeminiUsage",
    "answer_text",
    "parse_segments",
    "prompt_terms",
    "transcription_prompt",
]

# Enough terms to steer spelling without crowding out the instructions.
MAX_PROMPT_HOTWORDS = 200

SEGMENTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["segments"],
    "properties": {
        "segments": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["speaker", "start", "end", "text"],
                "properties": {
                    "speaker": {"type": "string"},
                    "start": {
                        "type": "number",
                        "description": "Seconds from the start of the recording.",
                    },
                    "end": {
                        "type": "number",
                        "description": "Seconds from the start of the recording.",
                    },
                    "text": {"type": "string"},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class GeminiUsage:
    """Token counts of one generateContent answer (`usageMetadata`)."""

    prompt_tokens: int = 0
    audio_tokens: int = 0
    candidates_tokens: int = 0
    thoughts_tokens: int = 0
    total_tokens: int = 0

    @property
    def text_input_tokens(self) -> int:
        """Input billed at the text price; audio has its own."""
        return max(self.prompt_tokens - self.audio_tokens, 0)

    @property
    def output_tokens(self) -> int:
        """Thinking is billed as output."""
        return self.candidates_tokens + self.thoughts_tokens

    @classmethod
    def of(cls, response: dict[str, Any]) -> GeminiUsage:
        meta = response.get("usageMetadata")
        if not isinstance(meta, dict):
            return cls()
        audio = sum(
            _int(d.get("tokenCount"))
            for d in meta.get("promptTokensDetails") or ()
            if isinstance(d, dict) and d.get("modality") == "AUDIO"
        )
        return cls(
            prompt_tokens=_int(meta.get("promptTokenCount")),
            audio_tokens=audio,
            candidates_tokens=_int(meta.get("candidatesTokenCount")),
            thoughts_tokens=_int(meta.get("thoughtsTokenCount")),
            total_tokens=_int(meta.get("totalTokenCount")),
        )


class BadSegments(Exception):
    """The answer is not the segments asked for. Not a `VendorError`: `call_vendor`
    lets it through untouched, and `GeminiAsr` decides whether to ask again."""


def transcription_prompt(request: AsrRequest) -> str:
    """The instructions sent with the audio."""
    lines = ["Transcribe this meeting recording verbatim."]
    if request.language_code:
        lines.append(
            f"The meeting is in the language {request.language_code} (BCP-47); "
            "write what is said in the language it is said in, without translating."
        )
    lines.append(
        "Split the transcript into segments at every change of speaker and at long "
        "pauses, each at most about 30 seconds long. For each segment give the "
        "speaker, its start and end in seconds from the beginning of the recording, "
        "and the exact words spoken."
    )
    count = request.speaker_count
    if not request.diarization or (count is not None and count.maximum <= 1):
        lines.append('Use the speaker label "Speaker 1" for every segment.')
    else:
        lines.append(
            'Label speakers "Speaker 1", "Speaker 2", and so on, in order of first '
            "appearance, and keep the same label for the same voice throughout."
        )
        if count is not None:
            lines.append(
                f"There are {count.minimum} speakers."
                if count.minimum == count.maximum
                else f"There are between {count.minimum} and {count.maximum} speakers."
            )
    terms = prompt_terms(request.hotwords)
    if terms:
        lines.append(
            "These names and terms may occur; spell them this way: " + "; ".join(terms) + "."
        )
    lines.append(
        "Do not summarise, correct or add anything that was not said. If nobody "
        "speaks, answer with no segments."
    )
    return "\n".join(lines)


def prompt_terms(hotwords: Sequence[Hotword]) -> list[str]:
    ranked = sorted(hotwords, key=lambda h: -h.weight)
    return list(dict.fromkeys(h.phrase.strip() for h in ranked if h.phrase.strip()))[
        :MAX_PROMPT_HOTWORDS
    ]


def parse_segments(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer's segments, checked; raises `BadSegments` when there are none to use."""
    candidates = response.get("candidates")
    if not isinstance(candidates, list) or not candidates or not isinstance(candidates[0], dict):
        raise BadSegments("the answer has no candidate")
    if candidates[0].get("finishReason") == "MAX_TOKENS":
        raise BadSegments("the transcript was cut at maxOutputTokens")
    text = answer_text(response)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadSegments(f"the answer is not JSON ({exc.msg})") from None
    items = value.get("segments") if isinstance(value, dict) else None
    if not isinstance(items, list):
        raise BadSegments("the answer has no segments array")
    segments: list[dict[str, Any]] = []
    for k, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadSegments(f"segment {k} is not an object")
        start, end = _seconds(item.get("start")), _seconds(item.get("end"))
        if start is None or end is None or not isinstance(item.get("text"), str):
            raise BadSegments(f"segment {k} lacks start, end or text")
        segments.append(
            {
                "speaker": str(item.get("speaker") or ""),
                "start": start,
                "end": max(end, start),
                "text": item["text"],
            }
        )
    return segments


_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$")


def _seconds(value: object) -> float | None:
    """Seconds from a number, or from "MM:SS" / "HH:MM:SS" should a model write those."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) and value >= 0 else None
    if isinstance(value, str):
        match = _CLOCK.match(value.strip())
        if match:
            hours, minutes, seconds = match.groups()
            return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    return None


def answer_text(response: dict[str, Any]) -> str:
    """The text of the first candidate, thought summaries left out."""
    content = response["candidates"][0].get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    return "".join(
        str(p.get("text") or "")
        for p in parts or ()
        if isinstance(p, dict) and not p.get("thought")
    )


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0
