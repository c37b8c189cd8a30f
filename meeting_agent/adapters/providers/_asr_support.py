"""What the cloud ASR adapters share: the audio file they send, checkpoints, segments."""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from meeting_agent.adapters.audio.encode import Format, encode_audio
from meeting_agent.domain.models import TranscriptSegment
from meeting_agent.errors import InvalidArgument, Unavailable
from meeting_agent.ports import AsrRequest, Checkpoints, NormalizedAudio
from meeting_agent.text import tidy_spacing

__all__ = [
    "AUDIO_EXCEEDS_PROVIDER_LIMIT",
    "PROVIDER_REJECTED_REQUEST",
    "SpeakerLabels",
    "TakesAnyAudio",
    "check_model",
    "encoded_audio",
    "finish_segments",
    "load_json_checkpoint",
    "over_limit",
    "save_json_checkpoint",
]

logger = logging.getLogger(__name__)

AUDIO_EXCEEDS_PROVIDER_LIMIT = "AUDIO_EXCEEDS_PROVIDER_LIMIT"
PROVIDER_REJECTED_REQUEST = "PROVIDER_REJECTED_REQUEST"
UNKNOWN_MODEL = "UNKNOWN_MODEL"


class TakesAnyAudio:
    """`AsrProvider.check_supported` of a vendor that itself refuses what it cannot take."""

    def check_supported(
        self, duration_seconds: float | None, size_estimate: int | None, can_presign: bool
    ) -> None:
        return None


@contextmanager
def encoded_audio(audio: NormalizedAudio, fmt: Format, work_dir: Path | None) -> Iterator[Path]:
    """The task's audio as a `fmt` file in a private temporary directory, removed after."""
    with tempfile.TemporaryDirectory(prefix="meeting-agent-asr-", dir=work_dir) as tmp:
        yield encode_audio(audio, Path(tmp) / f"audio.{fmt}", fmt)


def check_model(request: AsrRequest, provider: str, models: tuple[str, ...]) -> str:
    """The model to run: the request's, or the first configured one when it names none."""
    if not request.model:
        return models[0]
    if request.model not in models:
        raise InvalidArgument(
            f"ASR provider {provider!r} has no model {request.model!r}",
            reason=UNKNOWN_MODEL,
            metadata={"provider": provider, "model": request.model},
        )
    return request.model


def over_limit(provider: str, what: str) -> Unavailable:
    """A file this provider cannot take.

    Unavailable rather than FailedPrecondition: the pipeline fails over to the next
    provider on Unavailable only, and another provider may well take the file. When no
    provider can, the task fails with this reason once its attempts are spent.
    """
    return Unavailable(
        f"{provider} cannot take this audio: {what}",
        reason=AUDIO_EXCEEDS_PROVIDER_LIMIT,
        metadata={"provider": provider},
    )


def load_json_checkpoint(checkpoints: Checkpoints, name: str) -> dict[str, Any] | None:
    """A checkpointed JSON object, or None when absent or unreadable (then we call again)."""
    data = checkpoints.load(name)
    if data is None:
        return None
    try:
        value = json.loads(data)
    except ValueError:
        logger.warning("checkpoint %s is not JSON; ignoring it", name)
        return None
    return value if isinstance(value, dict) else None


def save_json_checkpoint(checkpoints: Checkpoints, name: str, value: dict[str, Any]) -> None:
    checkpoints.save(name, json.dumps(value, ensure_ascii=False).encode())


class SpeakerLabels:
    """Vendor speaker ids as `SPEAKER_1`, `SPEAKER_2`, … in order of first appearance.

    The same labels the local diarizer gives, so transcripts look alike whichever
    provider wrote them; vendors' own ids are arbitrary (Azure's are not even ordered).
    """

    def __init__(self) -> None:
        self._names: dict[str, str] = {}

    def __call__(self, vendor_id: object) -> str:
        key = str(vendor_id).strip()
        if vendor_id is None or not key:
            return ""
        return self._names.setdefault(key, f"SPEAKER_{len(self._names) + 1}")


def finish_segments(
    segments: list[TranscriptSegment], audio: NormalizedAudio
) -> list[TranscriptSegment]:
    """Segments sorted by start, clamped to the audio, indexed, with their source file,
    their text spaced the way `meeting_agent.text.normalize` describes."""
    duration = audio.duration_seconds
    kept: list[TranscriptSegment] = []
    for segment in sorted(segments, key=lambda s: (s.start, s.end)):
        segment.start = min(max(segment.start, 0.0), duration)
        segment.end = min(max(segment.end, segment.start), duration)
        # Vendors space mixed text each their own way; transcripts follow one convention.
        segment.text = tidy_spacing(segment.text)
        if not segment.text:
            continue
        segment.source_index = _source_index(audio, segment.start)
        kept.append(segment)
    for index, segment in enumerate(kept):
        segment.index = index
    return kept


def _source_index(audio: NormalizedAudio, at: float) -> int:
    index = 0
    for span in audio.sources:
        if span.offset_seconds <= at:
            index = span.index
    return index
