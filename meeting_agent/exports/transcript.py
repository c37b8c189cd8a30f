"""Transcript exports: SRT, WebVTT, plain text and JSON, all UTF-8 text without a BOM.

Each function returns `str`; callers encode with UTF-8. An empty transcript gives a
valid empty document of each kind (an empty SRT, a bare `WEBVTT` header, an empty
text, JSON with no segments).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from meeting_agent.domain.models import Transcript, TranscriptSegment
from meeting_agent.exports._cues import Cue, layout_cues
from meeting_agent.text import clock_text, join_sentences

__all__ = ["timestamp", "to_json", "to_srt", "to_text", "to_webvtt"]


def timestamp(seconds: float, separator: str = ".") -> str:
    """`HH:MM:SS.mmm` (or `,mmm` for SRT), rounded half up to the millisecond.

    Decimal arithmetic on the float's shortest repr keeps 1.0005 from rounding down
    the way `round(1.0005 * 1000)` does.
    """
    return _format_millis(_millis(seconds), separator)


def _millis(seconds: float) -> int:
    return int(Decimal(repr(max(seconds, 0.0))).scaleb(3).quantize(Decimal(1), ROUND_HALF_UP))


def _format_millis(millis: int, separator: str) -> str:
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def _span(cue: Cue, separator: str) -> str:
    start = _millis(cue.start)
    # A cue must not end before it starts; rounding can only make them equal.
    end = max(_millis(cue.end), start)
    return f"{_format_millis(start, separator)} --> {_format_millis(end, separator)}"


def to_srt(segments: Sequence[TranscriptSegment], speaker_names: Mapping[str, str]) -> str:
    """SubRip subtitles: cues numbered from 1, each first line prefixed "Name: "."""
    blocks: list[str] = []
    for number, cue in enumerate(
        layout_cues(segments, speaker_names, prefix_speaker=True), start=1
    ):
        lines = list(cue.lines)
        if cue.speaker:
            lines[0] = f"{cue.speaker}: {lines[0]}"
        blocks.append(f"{number}\n{_span(cue, ',')}\n" + "\n".join(lines) + "\n")
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_webvtt(segments: Sequence[TranscriptSegment], speaker_names: Mapping[str, str]) -> str:
    """WebVTT subtitles with `<v Name>` voice spans; `&`, `<` and `>` are escaped."""
    blocks = ["WEBVTT\n"]
    for cue in layout_cues(segments, speaker_names):
        lines = [_vtt_escape(line) for line in cue.lines]
        if cue.speaker:
            lines[0] = f"<v {_vtt_escape(cue.speaker)}>{lines[0]}"
        blocks.append(f"{_span(cue, '.')}\n" + "\n".join(lines) + "\n")
    return "\n".join(blocks)


def to_text(segments: Sequence[TranscriptSegment], speaker_names: Mapping[str, str]) -> str:
    """One paragraph per speaker turn: `[HH:MM:SS] Name: what they said`."""
    paragraphs: list[str] = []
    turn_label: str | None = None
    turn_start = 0.0
    turn_texts: list[str] = []

    def flush() -> None:
        if turn_label is None or not turn_texts:
            return
        name = speaker_names.get(turn_label, "") or turn_label
        prefix = f"[{clock_text(turn_start)}] " + (f"{name}: " if name else "")
        paragraphs.append(prefix + join_sentences(turn_texts))

    for segment in sorted(segments, key=lambda s: (s.start, s.index)):
        text = " ".join(segment.text.split())
        if not text:
            continue
        if segment.speaker_label != turn_label:
            flush()
            turn_label, turn_start, turn_texts = segment.speaker_label, segment.start, []
        turn_texts.append(text)
    flush()
    return "\n\n".join(paragraphs) + ("\n" if paragraphs else "")


def to_json(transcript: Transcript, speaker_names: Mapping[str, str]) -> str:
    """The transcript as JSON: metadata, speakers, and segments with their words."""
    segments = sorted(transcript.segments, key=lambda s: (s.start, s.index))
    labels = list(dict.fromkeys(s.speaker_label for s in segments if s.speaker_label))
    document: dict[str, Any] = {
        "task_id": transcript.task_id,
        "language_code": transcript.language_code,
        "duration_seconds": transcript.duration_seconds,
        "asr_provider": transcript.asr_provider,
        "asr_model": transcript.asr_model,
        "speakers": [{"label": label, "name": speaker_names.get(label, "")} for label in labels],
        "segments": [
            {
                "index": s.index,
                "speaker": s.speaker_label,
                "speaker_name": speaker_names.get(s.speaker_label, ""),
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "words": [
                    {"text": w.text, "start": w.start, "end": w.end, "confidence": w.confidence}
                    for w in s.words
                ],
            }
            for s in segments
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
