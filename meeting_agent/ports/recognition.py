"""Recognition: speech to text (ASR) and who spoke when (diarization), with the requests
and results that cross between the pipeline and the engines. Ports are what the
services need from infrastructure; the local Whisper and diarizer adapters and the
cloud providers in `meeting_agent.adapters` implement these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from meeting_agent.domain.models import CallContext, Hotword, SpeakerCount, TranscriptSegment
from meeting_agent.ports.audio import NormalizedAudio
from meeting_agent.ports.jobs import CancellationCheck, Checkpoints, ProgressReporter


@dataclass(frozen=True)
class AsrRequest:
    language_code: str
    model: str
    hotwords: tuple[Hotword, ...]
    speaker_count: SpeakerCount | None
    diarization: bool
    # For the audit log; None outside a task (benchmarks, tests).
    context: CallContext | None = None


@dataclass
class AsrResult:
    """Segments in meeting time; `speaker_label` is empty when the provider has none."""

    provider: str
    model: str
    language_code: str
    segments: list[TranscriptSegment]
    # Audio the vendor bills for (its own measure where it reports one); None when free.
    billed_audio_seconds: float | None = None
    # The vendor's id for the job, kept in the audit log to reconcile invoices.
    vendor_request_id: str = ""
    # Token-billed recognisers (an LLM listening to audio) bill these instead.
    input_tokens: int = 0
    audio_input_tokens: int = 0
    output_tokens: int = 0
    thinking_tokens: int = 0  # of `output_tokens`
    # How many of the request's distinct hotwords the engine itself was sent, and when
    # not all, why not: the pipeline warns on the task about the rest.
    hotwords_sent: int = 0
    hotwords_note: str = ""


class AsrProvider(Protocol):
    """Speech recognition. Errors the caller can fix raise `FailedPrecondition` or
    `InvalidArgument`; outages raise `Unavailable`."""

    @property
    def name(self) -> str: ...

    def transcribe(
        self,
        audio: NormalizedAudio,
        request: AsrRequest,
        *,
        checkpoints: Checkpoints,
        progress: ProgressReporter,
        check_cancelled: CancellationCheck,
    ) -> AsrResult: ...

    def check_supported(
        self, duration_seconds: float | None, size_estimate: int | None, can_presign: bool
    ) -> None:
        """Raise now what `transcribe` would refuse for audio of this length and size
        (None: not known yet) on a store that can or cannot presign URLs; pure, so task
        creation calls it before any work. Most recognisers take everything."""
        ...


@dataclass(frozen=True)
class SpeakerTurn:
    """One stretch of one voice, in meeting time; `speaker` is the diarizer's label."""

    start: float
    end: float
    speaker: str


class Diarizer(Protocol):
    """Who spoke when, for ASR providers that do not label speakers themselves."""

    def diarize(
        self,
        audio: NormalizedAudio,
        *,
        speaker_count: SpeakerCount | None,
        progress: ProgressReporter,
        check_cancelled: CancellationCheck,
    ) -> list[SpeakerTurn]:
        """Speaker turns sorted by start, disjoint, covering the speech heard.

        `speaker_count` fixes (minimum == maximum) or bounds the number of speakers;
        None lets the diarizer estimate it. Silence yields no turns. Raises
        `TaskCancelled` from `check_cancelled`, and `FailedPrecondition` when its model
        cannot be loaded.
        """
        ...
