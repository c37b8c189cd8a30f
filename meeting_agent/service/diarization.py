"""Running a `Diarizer` once per task: its turns are checkpointed as soon as they exist.

A retried job (a worker died while the transcript was being stored, say) reads the
turns back instead of diarizing again. The checkpoint records the speaker-count hint it
was computed for; a checkpoint for another hint is ignored.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from meeting_agent.domain.models import SpeakerCount
from meeting_agent.ports import (
    CancellationCheck,
    Checkpoints,
    Diarizer,
    NormalizedAudio,
    ProgressReporter,
    SpeakerTurn,
)

__all__ = ["CHECKPOINT_NAME", "decode_turns", "diarize_once", "encode_turns"]

_LOGGER = logging.getLogger(__name__)

CHECKPOINT_NAME = "turns.json"
_VERSION = 1


def _hint(speaker_count: SpeakerCount | None) -> list[int] | None:
    return None if speaker_count is None else [speaker_count.minimum, speaker_count.maximum]


def encode_turns(turns: list[SpeakerTurn], speaker_count: SpeakerCount | None) -> bytes:
    """The checkpoint document of `turns`, computed for `speaker_count`."""
    return json.dumps(
        {
            "version": _VERSION,
            "speaker_count": _hint(speaker_count),
            "turns": [[round(t.start, 3), round(t.end, 3), t.speaker] for t in turns],
        },
        separators=(",", ":"),
    ).encode()


def decode_turns(data: bytes, speaker_count: SpeakerCount | None) -> list[SpeakerTurn] | None:
    """The turns of a checkpoint, or None when it is unreadable or for another hint."""
    try:
        document: Any = json.loads(data)
        if document.get("version") != _VERSION or document.get("speaker_count") != _hint(
            speaker_count
        ):
            return None
        turns = [
            SpeakerTurn(float(start), float(end), str(speaker))
            for start, end, speaker in document["turns"]
        ]
    except (ValueError, TypeError, KeyError, AttributeError):
        _LOGGER.warning("ignoring an unreadable diarization checkpoint")
        return None
    if any(not (math.isfinite(t.start) and math.isfinite(t.end)) for t in turns):
        return None
    return turns


def diarize_once(
    diarizer: Diarizer,
    audio: NormalizedAudio,
    *,
    speaker_count: SpeakerCount | None,
    checkpoints: Checkpoints,
    progress: ProgressReporter,
    check_cancelled: CancellationCheck,
) -> list[SpeakerTurn]:
    """The task's speaker turns: from its checkpoint, else from `diarizer` (then saved).

    Raises:
        TaskCancelled: from `check_cancelled`.
        MeetingAgentError: what the diarizer or the checkpoint store raises.
    """
    stored = checkpoints.load(CHECKPOINT_NAME)
    if stored is not None:
        turns = decode_turns(stored, speaker_count)
        if turns is not None:
            progress(1.0, "speakers already identified")
            return turns
    turns = diarizer.diarize(
        audio, speaker_count=speaker_count, progress=progress, check_cancelled=check_cancelled
    )
    checkpoints.save(CHECKPOINT_NAME, encode_turns(turns, speaker_count))
    return turns
