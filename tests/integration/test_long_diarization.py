"""Speakers who leave and come back stay themselves, in one chunk of clustering or many."""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from bench.long_meeting import LongMeeting, Span, build
from meeting_agent.adapters.audio import normalize_audio
from meeting_agent.adapters.diarization import LocalDiarizer
from meeting_agent.ports import NormalizedAudio, SpeakerTurn

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="needs Debian's espeak-ng"
)


def nothing(*args: object, **kwargs: object) -> None:
    return None


def overlap(span: Span, turn: SpeakerTurn) -> float:
    return max(0.0, min(span.end, turn.end) - max(span.start, turn.start))


def heard_as(spans: list[Span], turns: list[SpeakerTurn]) -> dict[str, dict[str, float]]:
    """Seconds of each true speaker's speech under each label found."""
    seconds: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for span in spans:
        for turn in turns:
            seconds[span.speaker][turn.speaker] += overlap(span, turn)
    return seconds


def label_of(found: dict[str, float]) -> str:
    return max(found, key=found.__getitem__)


def assert_kept_apart(made: LongMeeting, turns: list[SpeakerTurn], *, spare: int = 0) -> None:
    """Every voice has a label of its own holding most of its speech (the telephone
    call alone is diarized with about 10% error); `spare` more
    labels may hold what was split from a voice."""
    heard = heard_as(list(made.spans), turns)
    labels = {speaker: label_of(found) for speaker, found in heard.items()}
    assert len(made.speakers) <= len({t.speaker for t in turns}) <= len(made.speakers) + spare
    assert len(set(labels.values())) == len(made.speakers), labels
    for speaker, found in heard.items():
        assert found[labels[speaker]] >= 0.65 * sum(found.values()), (speaker, dict(found))


def assert_same_label_either_side(
    made: LongMeeting, turns: list[SpeakerTurn], group: str, at: float
) -> None:
    """Each voice of `group` speaks before and after `at`, under one label."""
    spans = [s for s in made.spans if s.speaker.startswith(f"{group}:")]
    for speaker in {s.speaker for s in spans}:
        before = heard_as([s for s in spans if s.speaker == speaker and s.end <= at], turns)
        after = heard_as([s for s in spans if s.speaker == speaker and s.start >= at], turns)
        assert before and after, speaker
        assert label_of(before[speaker]) == label_of(after[speaker]), speaker


def diarize(audio: NormalizedAudio) -> list[SpeakerTurn]:
    return LocalDiarizer().diarize(
        audio, speaker_count=None, progress=nothing, check_cancelled=nothing
    )


def meeting(directory: Path, **how: object) -> tuple[LongMeeting, NormalizedAudio]:
    made = build(directory / "meeting.wav", **how)  # type: ignore[arg-type]
    return made, normalize_audio([made.audio], directory / "meeting.f32", max_seconds=7200)


def test_voices_back_after_three_others_keep_their_labels(tmp_path: Path) -> None:
    made, audio = meeting(tmp_path, seconds=0, sequence=("en-a", "en-b", "en-b", "en-a"))

    turns = diarize(audio)

    assert_kept_apart(made, turns)
    back = max(s.end for s in made.spans if s.speaker.startswith("en-b:"))
    assert_same_label_either_side(made, turns, "en-a", at=back)


def test_voices_back_in_another_chunk_of_clustering_keep_their_labels(tmp_path: Path) -> None:
    # Twenty minutes are clustered as two chunks of ten (English, Mandarin and a
    # telephone call, eleven voices); every group speaks in both.
    chunk = LocalDiarizer().settings.cluster_chunk_seconds
    made, audio = meeting(tmp_path, seconds=2 * chunk)

    turns = diarize(audio)

    assert_kept_apart(made, turns, spare=1)
    for group in ("en-a", "en-b", "zh", "call"):
        assert_same_label_either_side(made, turns, group, at=chunk)
