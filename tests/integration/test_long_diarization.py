"""Speakers who leave and come back stay themselves, however the clustering is chunked."""

from __future__ import annotations

import shutil
from collections import defaultdict

import pytest

from bench.long_meeting import LongMeeting, Span, build
from meeting_agent.adapters.audio import normalize_audio
from meeting_agent.adapters.diarization import LocalDiarizer, LocalDiarizerSettings
from meeting_agent.ports import NormalizedAudio, SpeakerTurn

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                reason="needs Debian's espeak-ng")


def nothing(*args: object, **kwargs: object) -> None:
    return None


@pytest.fixture(scope="module")
def returning(tmp_path_factory: pytest.TempPathFactory) -> tuple[LongMeeting, NormalizedAudio]:
    """Three voices, three others for two scripts, then the first three again."""
    work = tmp_path_factory.mktemp("long")
    made = build(work / "returning.wav", 0, sequence=("en-a", "en-b", "en-b", "en-a"))
    audio = normalize_audio([made.audio], work / "returning.f32", max_seconds=600)
    return made, audio


def overlap(span: Span, turn: SpeakerTurn) -> float:
    return max(0.0, min(span.end, turn.end) - max(span.start, turn.start))


def heard_as(spans: tuple[Span, ...], turns: list[SpeakerTurn]
             ) -> dict[str, dict[str, float]]:
    """Seconds of each true speaker's speech under each label found."""
    seconds: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for span in spans:
        for turn in turns:
            seconds[span.speaker][turn.speaker] += overlap(span, turn)
    return seconds


# Chunks of a minute put the first voices and their return in different chunks, as
# ten-minute chunks do to a long meeting.
@pytest.mark.parametrize("chunk_seconds", [600.0, 60.0], ids=["one chunk", "one-minute chunks"])
def test_speakers_returning_after_others_keep_their_label(
        returning: tuple[LongMeeting, NormalizedAudio], chunk_seconds: float) -> None:
    made, audio = returning
    diarizer = LocalDiarizer(LocalDiarizerSettings(cluster_chunk_seconds=chunk_seconds))

    turns = diarizer.diarize(audio, speaker_count=None, progress=nothing,
                             check_cancelled=nothing)

    heard = heard_as(made.spans, turns)
    label_of = {speaker: max(found, key=found.__getitem__) for speaker, found in heard.items()}
    assert len({t.speaker for t in turns}) == len(made.speakers) == 6
    assert len(set(label_of.values())) == 6, label_of
    for speaker, found in heard.items():
        assert found[label_of[speaker]] >= 0.9 * sum(found.values()), (speaker, dict(found))
    # The first voices come back after the others: the same label both times.
    middle = next(s.start for s in made.spans if s.speaker.startswith("en-b"))
    back = max(s.end for s in made.spans if s.speaker.startswith("en-b"))
    for speaker in (s for s in made.speakers if s.startswith("en-a")):
        before = heard_as(tuple(s for s in made.spans
                                if s.speaker == speaker and s.end <= middle), turns)
        after = heard_as(tuple(s for s in made.spans
                               if s.speaker == speaker and s.start >= back), turns)
        assert (max(before[speaker], key=before[speaker].__getitem__)
                == max(after[speaker], key=after[speaker].__getitem__) == label_of[speaker])
