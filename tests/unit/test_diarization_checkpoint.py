"""Diarizing once per task: turns are checkpointed and reused (`service.diarization`)."""

from __future__ import annotations

from pathlib import Path

from meeting_agent.domain.models import SpeakerCount
from meeting_agent.ports import (
    CancellationCheck,
    Checkpoints,
    Diarizer,
    NormalizedAudio,
    ProgressReporter,
    SpeakerTurn,
)
from meeting_agent.service.diarization import (
    CHECKPOINT_NAME,
    decode_turns,
    diarize_once,
    encode_turns,
)
from tests.fakes import MemoryCheckpoints

AUDIO = NormalizedAudio(Path("/nonexistent.f32"), 10.0, ())
TURNS = [SpeakerTurn(0.5, 3.25, "SPEAKER_1"), SpeakerTurn(3.5, 9.0, "SPEAKER_2")]


class FakeDiarizer:
    def __init__(self) -> None:
        self.calls: list[SpeakerCount | None] = []

    def diarize(
        self,
        audio: NormalizedAudio,
        *,
        speaker_count: SpeakerCount | None,
        progress: ProgressReporter,
        check_cancelled: CancellationCheck,
    ) -> list[SpeakerTurn]:
        self.calls.append(speaker_count)
        check_cancelled()
        progress(1.0)
        return list(TURNS)


def run(
    diarizer: Diarizer, checkpoints: Checkpoints, hint: SpeakerCount | None = None
) -> list[SpeakerTurn]:
    return diarize_once(
        diarizer,
        AUDIO,
        speaker_count=hint,
        checkpoints=checkpoints,
        progress=lambda fraction, message="": None,
        check_cancelled=lambda: None,
    )


def test_a_retry_reads_the_checkpoint_instead_of_diarizing_again() -> None:
    diarizer, checkpoints = FakeDiarizer(), MemoryCheckpoints()

    first = run(diarizer, checkpoints)
    second = run(diarizer, checkpoints)

    assert first == second == TURNS
    assert len(diarizer.calls) == 1
    assert CHECKPOINT_NAME in checkpoints.data


def test_a_checkpoint_for_another_hint_is_not_reused() -> None:
    diarizer, checkpoints = FakeDiarizer(), MemoryCheckpoints()

    run(diarizer, checkpoints, SpeakerCount(2, 2))
    run(diarizer, checkpoints, SpeakerCount(3, 3))

    assert diarizer.calls == [SpeakerCount(2, 2), SpeakerCount(3, 3)]


def test_turns_round_trip_and_bad_documents_are_ignored() -> None:
    hint = SpeakerCount(1, 4)

    assert decode_turns(encode_turns(TURNS, hint), hint) == TURNS
    assert decode_turns(b"{not json", hint) is None
    assert decode_turns(b'{"version": 1, "speaker_count": [1, 4], "turns": [[1]]}', hint) is None
    assert decode_turns(encode_turns(TURNS, None), hint) is None
