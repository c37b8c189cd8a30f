"""The JSON a chunk's recognised segments are checkpointed as.

The document names the model and the chunk's bounds; a checkpoint whose model or
bounds differ (the configuration changed between attempts) is not reused.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Any

from meeting_agent.adapters.asr.chunking import Chunk
from meeting_agent.domain.models import TranscriptSegment, Word

__all__ = ["ChunkResult", "checkpoint_name", "decode_chunk", "encode_chunk"]

logger = logging.getLogger(__name__)

_VERSION = 1
# Bounds are stored in milliseconds; a float round trip must still match.
_TOLERANCE_SECONDS = 0.002


@dataclass
class ChunkResult:
    """What one chunk produced: segments in meeting time and the language spoken."""

    language: str
    segments: list[TranscriptSegment]


def checkpoint_name(chunk: Chunk) -> str:
    return f"asr-chunk-{chunk.index:05d}"


def encode_chunk(chunk: Chunk, model: str, result: ChunkResult) -> bytes:
    document = {
        "version": _VERSION,
        "model": model,
        "source_index": chunk.source_index,
        "start": _ms(chunk.start),
        "end": _ms(chunk.end),
        "language": result.language,
        "segments": [
            {
                "start": _ms(s.start),
                "end": _ms(s.end),
                "text": s.text,
                "words": [
                    [w.text, _ms(w.start), _ms(w.end), round(w.confidence, 4)] for w in s.words
                ],
            }
            for s in result.segments
        ],
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def decode_chunk(data: bytes, chunk: Chunk, model: str) -> ChunkResult | None:
    """The stored result, or None when it is unreadable or belongs to other settings."""
    try:
        document = json.loads(data)
        if (
            document["version"] != _VERSION
            or document["model"] != model
            or not math.isclose(document["start"], chunk.start, abs_tol=_TOLERANCE_SECONDS)
            or not math.isclose(document["end"], chunk.end, abs_tol=_TOLERANCE_SECONDS)
        ):
            logger.info("checkpoint %s is for other settings; recomputing", checkpoint_name(chunk))
            return None
        segments = [_segment(s, chunk.source_index) for s in document["segments"]]
        return ChunkResult(language=str(document["language"]), segments=segments)
    except (ValueError, KeyError, TypeError, IndexError):
        logger.warning("checkpoint %s is unreadable; recomputing", checkpoint_name(chunk))
        return None


def _segment(item: dict[str, Any], source_index: int) -> TranscriptSegment:
    return TranscriptSegment(
        index=0,
        speaker_label="",
        start=float(item["start"]),
        end=float(item["end"]),
        text=str(item["text"]),
        words=[Word(str(t), float(s), float(e), float(p)) for t, s, e, p in item["words"]],
        source_index=source_index,
    )


def _ms(seconds: float) -> float:
    return round(seconds, 3)
