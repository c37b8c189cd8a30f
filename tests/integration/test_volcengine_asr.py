"""`VolcengineAsr` over real HTTP against the fake Volcano Engine API, with jfk.flac.

The fake (tests/harness/vendors/volcengine.py) is written from the vendor's docs; the
audio is really decoded, encoded to WAV and sent (inline for flash, by URL through a
local file server for standard).
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meeting_agent.adapters.audio import normalize_audio
from meeting_agent.adapters.providers.calls import KeyPool, RetryPolicy
from meeting_agent.adapters.providers.volcengine import (
    AUDIO_CHECKPOINT,
    REQUEST_CHECKPOINT,
    RESULT_CHECKPOINT,
    VolcengineAsr,
)
from meeting_agent.domain.models import Hotword, Word
from meeting_agent.errors import FailedPrecondition, InvalidArgument, Unavailable
from meeting_agent.ports import AsrRequest, AsrResult, NormalizedAudio, TaskCancelled
from tests.fakes import MemoryCheckpoints, Progress
from tests.harness.vendors.files import SIGNATURE, LocalAudioPublisher
from tests.harness.vendors.http_fake import Fault
from tests.harness.vendors.script import MIXED, MIXED_TIDY
from tests.harness.vendors.volcengine import FLASH, QUERY, SUBMIT, VolcengineFake

JFK = Path(__file__).resolve().parent.parent / "data" / "jfk.flac"
POLICY = RetryPolicy(
    max_attempts=4,
    initial_backoff_seconds=0.01,
    max_backoff_seconds=0.05,
    max_total_seconds=20,
    max_quota_wait_seconds=5,
)
KEY_1 = "app-1:access-1"
KEY_2 = "app-2:access-2"


def asr_request(
    *,
    language_code: str = "",
    hotwords: tuple[Hotword, ...] = (),
    diarization: bool = True,
    model: str = "",
) -> AsrRequest:
    return AsrRequest(
        language_code=language_code,
        model=model,
        hotwords=hotwords,
        speaker_count=None,
        diarization=diarization,
    )


def transcribe(
    asr: VolcengineAsr,
    audio: NormalizedAudio,
    request: AsrRequest | None = None,
    *,
    checkpoints: MemoryCheckpoints | None = None,
    progress: Progress | None = None,
    check_cancelled: Any = None,
) -> AsrResult:
    return asr.transcribe(
        audio,
        request or asr_request(),
        checkpoints=checkpoints if checkpoints is not None else MemoryCheckpoints(),
        progress=progress or Progress(),
        check_cancelled=check_cancelled or (lambda: None),
    )


@pytest.fixture(scope="module")
def meeting(tmp_path_factory: pytest.TempPathFactory) -> NormalizedAudio:
    return normalize_audio([JFK], tmp_path_factory.mktemp("volc") / "jfk.f32", max_seconds=60)


@pytest.fixture()
def publisher(tmp_path: Path) -> Iterator[LocalAudioPublisher]:
    with LocalAudioPublisher(tmp_path) as files:
        yield files


@pytest.fixture()
def make_asr() -> Iterator[Any]:
    made: list[VolcengineAsr] = []

    def make(fake: VolcengineFake, keys: list[str] | None = None, **options: Any) -> VolcengineAsr:
        options.setdefault("policy", POLICY)
        options.setdefault("poll_interval_seconds", 0.01)
        options.setdefault("timeout_seconds", 5)
        options.setdefault("flash_timeout_seconds", 5)
        pool = KeyPool(options.get("name", "volcengine"), keys or [KEY_1])
        asr = VolcengineAsr(pool=pool, base_url=fake.base_url, **options)
        made.append(asr)
        return asr

    yield make
    for asr in made:
        asr.close()


EXPECTED = [
    ("SPEAKER_1", 0.32, 4.2, "And so, my fellow Americans,"),
    ("SPEAKER_2", 4.7, 8.1, "ask not what your country can do for you,"),
    ("SPEAKER_1", 8.3, 10.9, "这是一条测试音频。"),
]


def summary(result: AsrResult) -> list[tuple[str, float, float, str]]:
    return [(s.speaker_label, s.start, s.end, s.text) for s in result.segments]


# ---------------------------------------------------------------------- happy paths


def test_flash_returns_speaker_labelled_segments_with_words(make_asr, meeting) -> None:
    with VolcengineFake() as fake:
        result = transcribe(make_asr(fake), meeting)

        (sent,) = fake.requests_to(FLASH)
    assert summary(result) == EXPECTED
    assert [s.index for s in result.segments] == [0, 1, 2]
    assert result.segments[0].words == [
        Word("And", 0.32, 0.56),
        Word("so", 0.6, 0.9),
        Word("my", 1.2, 1.4),
        Word("fellow", 1.45, 1.9),
        Word("Americans", 1.95, 4.1),
    ]
    assert (result.provider, result.model) == ("volcengine", "volc.bigasr.auc_turbo")
    assert result.vendor_request_id == sent.headers["x-api-request-id"]
    assert result.billed_audio_seconds == pytest.approx(meeting.duration_seconds, abs=0.01)
    assert sent.headers["x-api-app-key"] == "app-1"
    assert sent.headers["x-api-access-key"] == "access-1"
    body = sent.json()
    assert base64.b64decode(body["audio"]["data"])[:4] == b"RIFF"
    assert body["audio"]["format"] == "wav" and body["audio"]["language"] == ""
    assert body["request"]["show_utterances"] is True
    assert body["request"]["enable_speaker_info"] is True
    assert "corpus" not in body["request"]


def test_standard_submits_a_url_and_polls_through_queued_and_processing(
    make_asr, meeting, publisher
) -> None:
    progress = Progress()
    checkpoints = MemoryCheckpoints()
    with VolcengineFake(pending_polls=4) as fake:
        asr = make_asr(fake, mode="standard", publisher=publisher)
        result = transcribe(asr, meeting, checkpoints=checkpoints, progress=progress)

        (submit,) = fake.requests_to(SUBMIT)
        queries = fake.requests_to(QUERY)
        assert fake.downloaded == [submit.json()["audio"]["url"]]
    request_id = submit.headers["x-api-request-id"]
    assert len(queries) == 5
    assert {q.headers["x-api-request-id"] for q in queries} == {request_id}
    assert all(q.json() == {} for q in queries)
    assert result.vendor_request_id == request_id
    assert (result.model, summary(result)) == ("volc.bigasr.auc", EXPECTED)
    assert publisher.published == ["volcengine.wav"] and publisher.downloads == 1
    # Whose audio was published is saved first, and emptied once it is withdrawn.
    assert checkpoints.saved == [
        AUDIO_CHECKPOINT,
        REQUEST_CHECKPOINT,
        RESULT_CHECKPOINT,
        AUDIO_CHECKPOINT,
    ]
    assert publisher.live() == [] and len(publisher.withdrawn) == 1
    assert json.loads(checkpoints.data[REQUEST_CHECKPOINT])["request_id"] == request_id
    messages = [m for _, m in progress.events]
    assert messages[0] == "submitted" and messages[-1] == "done"
    assert {"queued", "processing"} <= set(messages)
    fractions = [f for f, _ in progress.events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_auto_mode_uses_flash_when_the_audio_fits(make_asr, meeting, publisher) -> None:
    with VolcengineFake() as fake:
        transcribe(make_asr(fake, publisher=publisher), meeting)

        assert len(fake.requests_to(FLASH)) == 1 and not fake.requests_to(SUBMIT)


def test_hotwords_and_language_are_sent_as_documented(make_asr, meeting) -> None:
    hotwords = (Hotword("火山引擎"), Hotword(" Kubernetes "), Hotword("火山引擎"), Hotword(" "))
    with VolcengineFake() as fake:
        result = transcribe(
            make_asr(fake), meeting, asr_request(language_code="en", hotwords=hotwords)
        )

        body = fake.requests_to(FLASH)[0].json()
    context = body["request"]["corpus"]["context"]
    assert isinstance(context, str)
    assert json.loads(context) == {"hotwords": [{"word": "火山引擎"}, {"word": "Kubernetes"}]}
    assert body["audio"]["language"] == "en-US"
    assert "ssd_version" not in body["request"]
    assert result.language_code == "en"


def test_the_single_api_key_form(make_asr, meeting) -> None:
    with VolcengineFake(api_keys=["0f9e8d7c-api-key"]) as fake:
        result = transcribe(make_asr(fake, keys=["0f9e8d7c-api-key"]), meeting)

        headers = fake.requests_to(FLASH)[0].headers
    assert headers["x-api-key"] == "0f9e8d7c-api-key"
    assert "x-api-app-key" not in headers and "x-api-access-key" not in headers
    assert summary(result) == EXPECTED


def test_a_top_level_speaker_is_read_too(make_asr, meeting) -> None:
    with VolcengineFake(speaker_field="speaker") as fake:
        result = transcribe(make_asr(fake), meeting)

    assert [s.speaker_label for s in result.segments] == ["SPEAKER_1", "SPEAKER_2", "SPEAKER_1"]


def test_without_diarization_no_speakers_are_asked_for(make_asr, meeting) -> None:
    with VolcengineFake() as fake:
        result = transcribe(make_asr(fake), meeting, asr_request(diarization=False))

        options = fake.requests_to(FLASH)[0].json()["request"]
    assert options["enable_speaker_info"] is False and "ssd_version" not in options
    assert [s.speaker_label for s in result.segments] == ["", "", ""]


def test_silent_audio_is_an_empty_transcript(make_asr, meeting) -> None:
    checkpoints = MemoryCheckpoints()
    with VolcengineFake(outcome="silent") as fake:
        result = transcribe(make_asr(fake), meeting, checkpoints=checkpoints)

    assert result.segments == []
    assert checkpoints.saved == [RESULT_CHECKPOINT]


# ---------------------------------------------------------------------- robustness


def test_429_waits_for_retry_after_then_succeeds(make_asr, meeting, publisher) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    with VolcengineFake(pending_polls=1) as fake:
        fake.inject("query", Fault.http(429, Retry_After="1"))
        asr = make_asr(fake, mode="standard", publisher=publisher, sleep=sleep)
        result = transcribe(asr, meeting)

        assert len(fake.requests_to(SUBMIT)) == 1
        assert len(fake.requests_to(QUERY)) == 3
    assert summary(result) == EXPECTED
    assert any(0.9 <= s <= 1.0 for s in slept)  # Retry-After: 1, as the key's rest allows


def test_5xx_backs_off_then_succeeds(make_asr, meeting) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    with VolcengineFake() as fake:
        fake.inject("flash", Fault.http(500), Fault.http(503), Fault.vendor_code("55000031"))
        result = transcribe(make_asr(fake, sleep=sleep), meeting)

        attempts = fake.requests_to(FLASH)
    assert summary(result) == EXPECTED
    assert len(attempts) == 4
    # A fresh request id per attempt: the vendor refuses one it has seen.
    assert len({a.headers["x-api-request-id"] for a in attempts}) == 4
    assert len(slept) == 3 and all(0 <= s <= POLICY.max_backoff_seconds for s in slept)


def test_every_key_out_of_daily_quota_is_unavailable(make_asr, meeting) -> None:
    with VolcengineFake() as fake:
        fake.exhaust("app-1")
        fake.exhaust("app-2")
        with pytest.raises(Unavailable) as caught:
            transcribe(make_asr(fake, keys=[KEY_1, KEY_2]), meeting)

        used = [r.headers["x-api-app-key"] for r in fake.requests_to(FLASH)]
    assert caught.value.reason == "PROVIDER_QUOTA_EXHAUSTED"
    assert sorted(used) == ["app-1", "app-2"]


@pytest.mark.parametrize("first", ["app-1:wrong-access", "app-1:access-1"])
def test_rotates_to_the_second_key(make_asr, meeting, first: str) -> None:
    with VolcengineFake() as fake:
        fake.exhaust("app-1")  # only matters for the right credential
        result = transcribe(make_asr(fake, keys=[first, KEY_2]), meeting)

        used = [r.headers["x-api-app-key"] for r in fake.requests_to(FLASH)]
    assert used == ["app-1", "app-2"]
    assert summary(result) == EXPECTED


def test_standard_polls_with_the_key_that_submitted(make_asr, meeting, publisher) -> None:
    with VolcengineFake(pending_polls=2) as fake:
        fake.inject("submit", Fault.http(401))
        asr = make_asr(fake, keys=[KEY_1, KEY_2], mode="standard", publisher=publisher)
        transcribe(asr, meeting)

        submits = [r.headers["x-api-app-key"] for r in fake.requests_to(SUBMIT)]
        queries = {r.headers["x-api-app-key"] for r in fake.requests_to(QUERY)}
    assert submits == ["app-1", "app-2"]
    assert queries == {"app-2"}


def test_timeouts_are_bounded_and_retried(make_asr, meeting) -> None:
    with VolcengineFake() as fake:
        fake.inject("flash", Fault.delay(3))
        asr = make_asr(fake, flash_timeout_seconds=0.5)
        started = time.monotonic()
        result = transcribe(asr, meeting)
        elapsed = time.monotonic() - started

        assert len(fake.requests_to(FLASH)) == 2
    assert summary(result) == EXPECTED
    assert elapsed < 2.5


def test_a_vendor_that_never_answers_in_time_is_unavailable(make_asr, meeting) -> None:
    policy = RetryPolicy(
        max_attempts=2, initial_backoff_seconds=0.01, max_backoff_seconds=0.02, max_total_seconds=10
    )
    with VolcengineFake() as fake:
        fake.inject("flash", Fault.delay(3), Fault.delay(3))
        asr = make_asr(fake, flash_timeout_seconds=0.3, policy=policy)
        started = time.monotonic()
        with pytest.raises(Unavailable) as caught:
            transcribe(asr, meeting)

    assert caught.value.reason == "PROVIDER_UNAVAILABLE"
    assert time.monotonic() - started < 2.0


def test_a_malformed_result_is_retried(make_asr, meeting, publisher) -> None:
    with VolcengineFake() as fake:
        fake.inject("query", Fault.malformed())
        result = transcribe(make_asr(fake, mode="standard", publisher=publisher), meeting)

        assert len(fake.requests_to(QUERY)) == 2
    assert summary(result) == EXPECTED


def test_malformed_answers_end_unavailable(make_asr, meeting) -> None:
    with VolcengineFake() as fake:
        fake.inject("flash", *[Fault.malformed()] * POLICY.max_attempts)
        checkpoints = MemoryCheckpoints()
        with pytest.raises(Unavailable) as caught:
            transcribe(make_asr(fake), meeting, checkpoints=checkpoints)

        assert len(fake.requests_to(FLASH)) == POLICY.max_attempts
    assert caught.value.reason == "PROVIDER_UNAVAILABLE"
    assert checkpoints.saved == []  # nothing garbled is kept


def test_a_malformed_submit_answer_is_transient(make_asr, meeting, publisher) -> None:
    with VolcengineFake() as fake:
        fake.inject("submit", Fault.malformed())
        result = transcribe(make_asr(fake, mode="standard", publisher=publisher), meeting)

        assert len(fake.requests_to(SUBMIT)) == 2
    assert summary(result) == EXPECTED


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("45000002", "AUDIO_EMPTY"),
        ("45000151", "AUDIO_UNDECODABLE"),
        ("45000001", "PROVIDER_REJECTED_REQUEST"),
    ],
)
def test_bad_audio_fails_with_the_vendors_reason_without_retrying(
    make_asr, meeting, code: str, reason: str
) -> None:
    with VolcengineFake() as fake:
        fake.inject("flash", Fault.vendor_code(code))
        with pytest.raises(InvalidArgument) as caught:
            transcribe(make_asr(fake), meeting)

        assert len(fake.requests_to(FLASH)) == 1
    assert caught.value.reason == reason
    assert caught.value.metadata == {
        "provider": "volcengine",
        "http_status": "200",
        "vendor_code": code,
    }


def test_bad_audio_found_while_polling_is_not_retried(make_asr, meeting, publisher) -> None:
    with VolcengineFake(pending_polls=1) as fake:
        fake.inject("query", Fault.vendor_code("20000002"), Fault.vendor_code("45000151"))
        with pytest.raises(InvalidArgument) as caught:
            transcribe(make_asr(fake, mode="standard", publisher=publisher), meeting)

        assert len(fake.requests_to(QUERY)) == 2
    assert caught.value.reason == "AUDIO_UNDECODABLE"


# ---------------------------------------------------------------------- resume


def test_a_retried_job_polls_the_saved_request_and_then_reuses_the_result(
    make_asr, meeting, publisher
) -> None:
    checkpoints = MemoryCheckpoints()
    with VolcengineFake(pending_polls=3) as fake:
        asr = make_asr(fake, mode="standard", publisher=publisher)
        polls = 0

        def cancel_before_the_second_query() -> None:
            nonlocal polls
            polls += 1  # once before the submit, then once before each query
            if polls == 3:
                raise TaskCancelled()

        with pytest.raises(TaskCancelled):
            transcribe(
                asr,
                meeting,
                checkpoints=checkpoints,
                check_cancelled=cancel_before_the_second_query,
            )
        (submit,) = fake.requests_to(SUBMIT)
        assert len(fake.requests_to(QUERY)) == 1
        assert checkpoints.saved == [AUDIO_CHECKPOINT, REQUEST_CHECKPOINT]
        assert len(publisher.live()) == 1  # the job may still fetch it

        resumed = transcribe(
            make_asr(fake, mode="standard", publisher=publisher), meeting, checkpoints=checkpoints
        )
        assert len(fake.requests_to(SUBMIT)) == 1
        queries = fake.requests_to(QUERY)
        assert len(queries) == 4
        assert {q.headers["x-api-request-id"] for q in queries} == {
            submit.headers["x-api-request-id"]
        }

        seen = len(fake.requests)
        again = transcribe(
            make_asr(fake, mode="standard", publisher=publisher), meeting, checkpoints=checkpoints
        )
        assert len(fake.requests) == seen
    assert summary(resumed) == summary(again) == EXPECTED
    assert (
        resumed.vendor_request_id == again.vendor_request_id == (submit.headers["x-api-request-id"])
    )
    assert publisher.published == ["volcengine.wav"]


def test_a_saved_flash_result_is_reused(make_asr, meeting) -> None:
    checkpoints = MemoryCheckpoints()
    with VolcengineFake() as fake:
        first = transcribe(make_asr(fake), meeting, checkpoints=checkpoints)
        second = transcribe(make_asr(fake), meeting, checkpoints=checkpoints)

        assert len(fake.requests_to(FLASH)) == 1
    assert summary(second) == summary(first)
    assert second.vendor_request_id == first.vendor_request_id
    saved = json.loads(checkpoints.data[RESULT_CHECKPOINT])
    assert json.loads(saved["body"])["result"]["utterances"][0]["additions"] == {"speaker": "1"}


def test_waiting_is_bounded_and_keeps_the_request(make_asr, meeting, publisher) -> None:
    checkpoints = MemoryCheckpoints()
    with VolcengineFake(pending_polls=10_000) as fake:
        asr = make_asr(
            fake,
            mode="standard",
            publisher=publisher,
            poll_interval_seconds=0.05,
            max_wait_seconds=0.3,
        )
        with pytest.raises(Unavailable) as caught:
            transcribe(asr, meeting, checkpoints=checkpoints)

        assert 2 <= len(fake.requests_to(QUERY)) <= 8
    assert caught.value.reason == "PROVIDER_TIMEOUT"
    assert checkpoints.saved == [AUDIO_CHECKPOINT, REQUEST_CHECKPOINT]


# ---------------------------------------------------------------------- modes


def test_no_presigned_url_and_too_long_for_flash_fails_before_any_call(make_asr, meeting) -> None:
    long_meeting = NormalizedAudio(meeting.path, 3 * 3600, meeting.sources)
    with VolcengineFake() as fake:
        asr = make_asr(fake)
        with pytest.raises(FailedPrecondition) as caught:
            transcribe(asr, long_meeting)

        assert fake.requests == []
    assert caught.value.reason == "PRESIGN_UNSUPPORTED"


def test_check_supported() -> None:
    auto = VolcengineAsr(pool=KeyPool("volcengine", [KEY_1]))
    flash = VolcengineAsr(pool=KeyPool("volcengine", [KEY_1]), mode="flash")
    try:
        # 30 min of 16 kHz 16-bit WAV is 58 MB: flash takes it, no URL needed.
        auto.check_supported(1800, None, can_presign=False)
        with pytest.raises(FailedPrecondition) as caught:
            auto.check_supported(3 * 3600, None, can_presign=True)  # no publisher
        assert caught.value.reason == "PRESIGN_UNSUPPORTED"
        with pytest.raises(FailedPrecondition):
            auto.check_supported(None, 200_000_000, can_presign=False)
        with pytest.raises(Unavailable) as too_long:
            flash.check_supported(3 * 3600, None, can_presign=True)
        assert too_long.value.reason == "AUDIO_EXCEEDS_PROVIDER_LIMIT"
        with pytest.raises(ValueError):
            VolcengineAsr(pool=KeyPool("volcengine", [KEY_1]), mode="standard")
    finally:
        auto.close()
        flash.close()


def test_a_turbo_model_picks_flash_and_an_unknown_model_is_refused(
    make_asr, meeting, publisher
) -> None:
    with VolcengineFake() as fake:
        asr = make_asr(fake, mode="standard", publisher=publisher)
        result = transcribe(asr, meeting, asr_request(model="volc.bigasr.auc_turbo"))
        assert len(fake.requests_to(FLASH)) == 1 and result.model == "volc.bigasr.auc_turbo"
        transcribe(asr, meeting, asr_request(model="bigmodel"))  # the configured choice
        assert len(fake.requests_to(SUBMIT)) == 1
        with pytest.raises(InvalidArgument) as caught:
            transcribe(asr, meeting, asr_request(model="whisper-1"))
    assert caught.value.reason == "UNKNOWN_MODEL"


# ---------------------------------------------------------------------- secrets


def test_secrets_never_reach_logs_or_errors(make_asr, meeting, publisher, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    with VolcengineFake(pending_polls=1) as fake:
        fake.inject("query", Fault.http(503))
        transcribe(make_asr(fake, mode="standard", publisher=publisher), meeting)
        with pytest.raises(Unavailable) as caught:
            transcribe(make_asr(fake, keys=["app-1:secret-access-that-is-wrong"]), meeting)
        errors.append(str(caught.value))
        errors.extend(str(e) for e in _chain(caught.value))

    text = caplog.text + "\n".join(errors)
    for secret in ("access-1", "secret-access-that-is-wrong", SIGNATURE, "X-Tos-Signature"):
        assert secret not in text
    assert "logid" in caplog.text


def _chain(error: BaseException) -> Iterator[BaseException]:
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
        yield error


def test_mixed_chinese_and_english_text_is_spaced_one_way(make_asr, meeting) -> None:
    with VolcengineFake(script=MIXED) as fake:
        result = transcribe(make_asr(fake), meeting)
    (segment,) = result.segments
    assert segment.text == MIXED_TIDY
    assert (segment.start, segment.end) == (0.3, 6.0)
