"""The local diarizer on real audio: VAD, Resemblyzer vectors in NumPy, clustering."""

from __future__ import annotations

import itertools
import wave
from pathlib import Path

import numpy as np
import pytest
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

from meeting_agent.adapters.audio import normalize_audio
from meeting_agent.adapters.diarization import LocalDiarizer
from meeting_agent.domain.models import SpeakerCount
from meeting_agent.ports import NormalizedAudio, SpeakerTurn, TaskCancelled

DATA = Path(__file__).resolve().parents[1] / "data"


def nothing(*args: object, **kwargs: object) -> None:
    return None


@pytest.fixture(scope="module")
def diarizer() -> LocalDiarizer:
    return LocalDiarizer()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> NormalizedAudio:
    return normalize_audio(
        [DATA / "sample.wav"], tmp_path_factory.mktemp("d") / "s.f32", max_seconds=600
    )


def reference() -> Annotation:
    annotation = Annotation()
    for line in (DATA / "sample.rttm").read_text().splitlines():
        fields = line.split()
        start, duration = float(fields[3]), float(fields[4])
        annotation[Segment(start, start + duration)] = fields[7]
    return annotation


def der(turns: list[SpeakerTurn], duration: float) -> float:
    hypothesis = Annotation()
    for turn in turns:
        hypothesis[Segment(turn.start, turn.end)] = turn.speaker
    metric = DiarizationErrorRate(collar=0.25)
    return float(metric(reference(), hypothesis, uem=Timeline([Segment(0, duration)])))


def test_two_speakers_with_a_hint_of_two(diarizer: LocalDiarizer, sample: NormalizedAudio) -> None:
    progress: list[float] = []

    turns = diarizer.diarize(
        sample,
        speaker_count=SpeakerCount(2, 2),
        progress=lambda f, message="": progress.append(f),
        check_cancelled=nothing,
    )

    assert {t.speaker for t in turns} == {"SPEAKER_1", "SPEAKER_2"}
    assert turns[0].speaker == "SPEAKER_1"
    assert all(a.end <= b.start for a, b in itertools.pairwise(turns))
    assert der(turns, sample.duration_seconds) <= 0.12
    assert progress == sorted(progress) and progress[-1] == 1.0


def test_the_count_is_estimated_without_a_hint(
    diarizer: LocalDiarizer, sample: NormalizedAudio
) -> None:
    turns = diarizer.diarize(sample, speaker_count=None, progress=nothing, check_cancelled=nothing)

    assert len({t.speaker for t in turns}) == 2
    assert der(turns, sample.duration_seconds) <= 0.12


def test_same_speaker_windows_embed_closer_than_different_speakers(
    diarizer: LocalDiarizer, sample: NormalizedAudio
) -> None:
    # Windows inside single-speaker stretches of the reference.
    spans = {"speaker90": [(10.6, 14.4), (18.6, 21.4)], "speaker91": [(14.5, 17.9), (21.8, 27.8)]}
    starts, labels = [], []
    for speaker, ranges in spans.items():
        for begin, end in ranges:
            for start in np.arange(begin, end - 1.6, 0.5):
                starts.append(float(start))
                labels.append(speaker)
    mels = np.stack([diarizer._window_mel(sample, s, 160) for s in starts])
    vectors = diarizer.encoder.embed(mels)
    similarity = vectors @ vectors.T
    same = np.equal.outer(labels, labels) & ~np.eye(len(labels), dtype=bool)
    different = ~np.equal.outer(labels, labels)

    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (vectors >= 0).all()  # ReLU before normalisation
    assert similarity[same].mean() > similarity[different].mean() + 0.08


def test_windows_sharing_a_spectrogram_get_their_own_mel_frames(
    diarizer: LocalDiarizer, sample: NormalizedAudio
) -> None:
    # Overlapping windows on one 10 ms grid, one off the grid, one before the audio.
    starts = np.array([-0.3, 7.5, 8.0, 8.5, 9.0, 9.37, 12.0, 12.5])

    shared = diarizer._batch_mels(sample, starts, 160)
    single = np.stack([diarizer._window_mel(sample, float(s), 160) for s in starts])

    np.testing.assert_allclose(shared, single, rtol=1e-4, atol=1e-6 * float(single.max()))


def test_one_voice_is_one_speaker(diarizer: LocalDiarizer, tmp_path: Path) -> None:
    audio = normalize_audio([DATA / "jfk.flac"], tmp_path / "jfk.f32", max_seconds=600)

    turns = diarizer.diarize(audio, speaker_count=None, progress=nothing, check_cancelled=nothing)

    assert turns and {t.speaker for t in turns} == {"SPEAKER_1"}


def test_silence_has_no_turns(diarizer: LocalDiarizer, tmp_path: Path) -> None:
    path = tmp_path / "quiet.wav"
    rng = np.random.default_rng(0)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        # A faint hiss (decoding refuses digital silence).
        out.writeframes((rng.normal(0, 40, 16_000 * 3)).astype("<i2").tobytes())
    audio = normalize_audio([path], tmp_path / "quiet.f32", max_seconds=60)

    assert (
        diarizer.diarize(audio, speaker_count=None, progress=nothing, check_cancelled=nothing) == []
    )


def test_cancellation_stops_the_work(diarizer: LocalDiarizer, sample: NormalizedAudio) -> None:
    def cancelled() -> None:
        raise TaskCancelled("t")

    with pytest.raises(TaskCancelled):
        diarizer.diarize(sample, speaker_count=None, progress=nothing, check_cancelled=cancelled)
