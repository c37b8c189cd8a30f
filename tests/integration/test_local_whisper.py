"""`LocalWhisperAsr` with the bundled tiny.en model on real audio (jfk.flac, 11 s)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from meeting_agent.adapters.asr import LocalWhisperAsr
from meeting_agent.adapters.asr.chunking import plan_chunks
from meeting_agent.adapters.audio import normalize_audio
from meeting_agent.errors import FailedPrecondition, InvalidArgument
from meeting_agent.ports import AsrRequest, AsrResult, NormalizedAudio, TaskCancelled
from tests.fakes import MemoryCheckpoints

DATA = Path(__file__).resolve().parent.parent / "data"
JFK = DATA / "jfk.flac"
REFERENCE = (
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)
# Small enough to cut jfk.flac into three chunks.
TINY_CHUNK_SECONDS = 4.0


def normalized(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def request(language_code: str = "en", model: str = "") -> AsrRequest:
    return AsrRequest(
        language_code=language_code, model=model, hotwords=(), speaker_count=None, diarization=False
    )


def transcribe(
    asr: LocalWhisperAsr,
    audio: NormalizedAudio,
    *,
    checkpoints: MemoryCheckpoints | None = None,
    progress: list[float] | None = None,
    language_code: str = "en",
) -> AsrResult:
    fractions = progress if progress is not None else []
    return asr.transcribe(
        audio,
        request(language_code),
        checkpoints=checkpoints or MemoryCheckpoints(),
        progress=lambda fraction, message="": fractions.append(fraction),
        check_cancelled=lambda: None,
    )


@pytest.fixture(scope="session")
def jfk(tmp_path_factory: pytest.TempPathFactory) -> NormalizedAudio:
    return normalize_audio([JFK], tmp_path_factory.mktemp("jfk") / "jfk.f32", max_seconds=60)


@pytest.fixture(scope="session")
def asr() -> LocalWhisperAsr:
    # Models are cached per process, so every LocalWhisperAsr below shares this load.
    return LocalWhisperAsr()


@pytest.fixture(scope="session")
def jfk_result(asr: LocalWhisperAsr, jfk: NormalizedAudio) -> tuple[AsrResult, list[float]]:
    progress: list[float] = []
    return transcribe(asr, jfk, progress=progress), progress


def test_transcribes_jfk(jfk_result: tuple[AsrResult, list[float]]) -> None:
    result, _ = jfk_result

    assert normalized(" ".join(s.text for s in result.segments)) == normalized(REFERENCE)
    assert (result.provider, result.model, result.language_code) == ("local", "tiny.en", "en")
    assert [s.index for s in result.segments] == list(range(len(result.segments)))
    assert all(s.speaker_label == "" and s.source_index == 0 for s in result.segments)


def test_word_timestamps_are_monotonic_and_inside_the_audio(
    jfk_result: tuple[AsrResult, list[float]], jfk: NormalizedAudio
) -> None:
    result, _ = jfk_result
    words = [w for s in result.segments for w in s.words]

    assert normalized(" ".join(w.text for w in words)) == normalized(REFERENCE)
    assert all(0.0 <= w.start <= w.end <= jfk.duration_seconds for w in words)
    assert all(a.start <= b.start and a.end <= b.end for a, b in itertools.pairwise(words))
    assert all(0.0 < w.confidence <= 1.0 for w in words)
    for segment in result.segments:
        assert segment.start <= segment.words[0].start
        assert segment.words[-1].end <= segment.end


def test_progress_follows_the_audio_up_to_one(jfk_result: tuple[AsrResult, list[float]]) -> None:
    result, progress = jfk_result

    assert len(progress) >= len(result.segments)  # per segment, not just at the end
    assert all(a < b for a, b in itertools.pairwise(progress))
    assert 0.0 < progress[0] < 1.0
    assert progress[-1] == 1.0


def test_resumes_from_checkpoints_without_the_model(jfk: NormalizedAudio) -> None:
    checkpoints = MemoryCheckpoints()
    first = LocalWhisperAsr(chunk_seconds=TINY_CHUNK_SECONDS)
    chunk_count = len(plan_chunks(jfk, TINY_CHUNK_SECONDS))
    assert chunk_count == 3

    original = transcribe(first, jfk, checkpoints=checkpoints)
    assert first.chunks_transcribed == chunk_count
    assert checkpoints.saved == [f"asr-chunk-{i:05d}" for i in range(chunk_count)]

    # A retry (a new provider, as in a new worker process) with the same checkpoints.
    retry = LocalWhisperAsr(chunk_seconds=TINY_CHUNK_SECONDS)
    progress: list[float] = []
    resumed = transcribe(retry, jfk, checkpoints=checkpoints, progress=progress)
    assert retry.chunks_transcribed == 0
    assert len(checkpoints.saved) == chunk_count  # nothing recomputed, nothing saved
    assert resumed == original
    assert progress[-1] == 1.0

    # Losing one checkpoint costs exactly that chunk.
    del checkpoints.data["asr-chunk-00001"]
    again = LocalWhisperAsr(chunk_seconds=TINY_CHUNK_SECONDS)
    assert transcribe(again, jfk, checkpoints=checkpoints) == original
    assert again.chunks_transcribed == 1


def test_checkpoints_of_other_settings_are_not_reused(jfk: NormalizedAudio) -> None:
    checkpoints = MemoryCheckpoints()
    transcribe(LocalWhisperAsr(chunk_seconds=TINY_CHUNK_SECONDS), jfk, checkpoints=checkpoints)

    # Other chunk bounds: chunk 0 of this plan is not chunk 0 of the last one.
    other = LocalWhisperAsr(chunk_seconds=6.0)
    transcribe(other, jfk, checkpoints=checkpoints)

    assert other.chunks_transcribed == len(plan_chunks(jfk, 6.0))


def test_files_keep_their_index_and_meeting_time(tmp_path: Path, asr: LocalWhisperAsr) -> None:
    audio = normalize_audio([JFK, JFK], tmp_path / "two.f32", max_seconds=60)

    result = transcribe(asr, audio)

    second = [s for s in result.segments if s.source_index == 1]
    assert {s.source_index for s in result.segments} == {0, 1}
    assert all(s.start >= 11.0 for s in second)
    assert normalized(" ".join(s.text for s in second)) == normalized(REFERENCE)


@pytest.mark.parametrize("language_code", ["zh-CN", "zh", "fr-FR", "ja"])
def test_refuses_languages_other_than_english(language_code: str, jfk: NormalizedAudio) -> None:
    asr = LocalWhisperAsr(chunk_seconds=TINY_CHUNK_SECONDS)

    with pytest.raises(FailedPrecondition) as excinfo:
        transcribe(asr, jfk, language_code=language_code)

    assert excinfo.value.reason == "LANGUAGE_UNSUPPORTED"
    assert excinfo.value.metadata["language_code"] == language_code
    assert asr.chunks_transcribed == 0
    assert not asr.supports_language(language_code)


def test_english_and_unspecified_languages_are_accepted() -> None:
    asr = LocalWhisperAsr()

    assert not asr.multilingual  # read from the model's vocabulary
    assert all(asr.supports_language(code) for code in ("", "en", "en-US", "en_GB"))


def test_cancellation_stops_before_any_work(jfk: NormalizedAudio) -> None:
    asr = LocalWhisperAsr(chunk_seconds=TINY_CHUNK_SECONDS)
    checkpoints = MemoryCheckpoints()

    def cancelled() -> None:
        raise TaskCancelled()

    with pytest.raises(TaskCancelled):
        asr.transcribe(
            jfk,
            request(),
            checkpoints=checkpoints,
            progress=lambda fraction, message="": None,
            check_cancelled=cancelled,
        )
    assert asr.chunks_transcribed == 0
    assert checkpoints.saved == []


def test_another_model_name_is_refused(jfk: NormalizedAudio) -> None:
    with pytest.raises(InvalidArgument) as excinfo:
        LocalWhisperAsr().transcribe(
            jfk,
            request(model="large-v3"),
            checkpoints=MemoryCheckpoints(),
            progress=lambda fraction, message="": None,
            check_cancelled=lambda: None,
        )

    assert excinfo.value.reason == "UNKNOWN_MODEL"


def test_a_directory_without_a_model_fails_without_downloading(
    tmp_path: Path, jfk: NormalizedAudio
) -> None:
    asr = LocalWhisperAsr(tmp_path, multilingual=False)

    with pytest.raises(FailedPrecondition) as excinfo:
        transcribe(asr, jfk)

    assert excinfo.value.reason == "ASR_MODEL_UNAVAILABLE"
