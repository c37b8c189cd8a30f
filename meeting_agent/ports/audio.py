"""Decoded audio: the one file a task's recordings are decoded into, and the decoder
that writes it, for every recogniser and diarizer to read. Ports are what the
services need from infrastructure; `meeting_agent.adapters.audio` implements the
decoder with PyAV (FFmpeg).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from meeting_agent.ports.jobs import CancellationCheck, ProgressReporter


@dataclass(frozen=True)
class SourceSpan:
    """Where one of the task's files sits in the concatenated meeting audio."""

    index: int
    offset_seconds: float
    duration_seconds: float


@dataclass(frozen=True)
class NormalizedAudio:
    """A task's audio decoded to 16 kHz mono float32 (little-endian, raw) in one file.

    Kept on disk rather than in memory so that hours of audio cost no more RAM than
    minutes; readers map or stream it.
    """

    path: Path
    duration_seconds: float
    sources: tuple[SourceSpan, ...]
    sample_rate: int = 16_000


class AudioNormalizer(Protocol):
    """Decodes a task's files, in order, into one `NormalizedAudio` file."""

    def __call__(
        self,
        inputs: Sequence[Path],
        out_path: Path,
        *,
        max_seconds: float,
        check_cancelled: CancellationCheck | None = None,
        progress: ProgressReporter | None = None,
    ) -> NormalizedAudio: ...
