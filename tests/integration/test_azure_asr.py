"""`AzureFastTranscription` against the fake fast-transcription endpoint, over real HTTP,
with real encoded audio (jfk.flac)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from meeting_agent.adapters.providers.azure import (
    CHECKPOINT,
    AzureFastTranscription,
    azure_locale,
)
from meeting_agent.adapters.providers.calls import KeyPool, RetryPolicy
from meeting_agent.domain.models import Hotword, SpeakerCount
from meeting_agent.errors import FailedPrecondition, InvalidArgument, Unavailable
from meeting_agent.ports import NormalizedAudio
from tests.fakes import MemoryCheckpoints
from tests.harness.vendors.azure import FakeAzureSpeech, Phrase
from tests.harness.vendors.script import MIXED_TIDY
from tests.integration.cloud_support import (
    POLICY,
    Sleeps,
    asr_request,
    chain_texts,
    normalized_jfk,
    transcribe,
)

KEY1 = "azure-subscription-key-one-0123456789"
KEY2 = "azure-subscription-key-two-9876543210"


@pytest.fixture(scope="module")
def jfk(tmp_path_factory: pytest.TempPathFactory) -> NormalizedAudio:
    return normalized_jfk(tmp_path_factory.mktemp("azure-audio"))


@pytest.fixture
def fake() -> Iterator[FakeAzureSpeech]:
    with FakeAzureSpeech(keys=[KEY1, KEY2]) as vendor:
        yield vendor


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def adapter(
    fake: FakeAzureSpeech,
    http: httpx.Client,
    *,
    keys: tuple[str, ...] = (KEY1,),
    sleeps: Sleeps | None = None,
    **kwargs: Any,
) -> AzureFastTranscription:
    return AzureFastTranscription(
        base_url=fake.base_url + "/",
        pool=KeyPool("azure", keys),
        policy=kwargs.pop("policy", POLICY),
        http=http,
        sleep=sleeps or Sleeps(),
        **kwargs,
    )


def test_transcribes_with_speakers_words_and_the_billed_duration(
    fake: FakeAzureSpeech, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    checkpoints = MemoryCheckpoints()
    progress: list[float] = []

    result = transcribe(
        adapter(fake, http),
        jfk,
        asr_request(speaker_count=SpeakerCount(2, 3)),
        checkpoints,
        progress,
    )

    assert [(s.speaker_label, s.start, s.end, s.text) for s in result.segments] == [
        ("SPEAKER_1", 0.32, 3.44, "And so, my fellow Americans,"),
        ("SPEAKER_2", 3.9, 8.0, "ask not what your country can do for you,"),
        ("SPEAKER_1", 8.3, 10.8, "ask what you can do for your country."),
    ]
    assert [w.text for w in result.segments[0].words] == [
        "And",
        "so,",
        "my",
        "fellow",
        "Americans,",
    ]
    assert result.segments[0].words[1].start == pytest.approx(0.32 + 0.624)
    assert [s.index for s in result.segments] == [0, 1, 2]
    assert (result.provider, result.model, result.language_code) == (
        "azure",
        "fast-transcription",
        "en-US",
    )
    assert result.billed_audio_seconds == pytest.approx(11.0)
    assert result.vendor_request_id
    assert progress[-1] == 1.0
    assert checkpoints.saved == [CHECKPOINT]
    [sent] = fake.transcriptions
    assert sent.key == KEY1 and sent.api_version == "2024-11-15"
    assert sent.audio_content_type == "audio/flac"
    assert sent.definition == {
        "profanityFilterMode": "None",
        "locales": ["en-US"],
        "diarization": {"enabled": True, "maxSpeakers": 3},
    }


def test_phrase_list_is_sent_from_api_version_2025_10_15(
    fake: FakeAzureSpeech, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    hotwords = (Hotword("Americans"), Hotword("JFK", weight=5), Hotword("Americans"), Hotword("  "))

    transcribe(adapter(fake, http, api_version="2025-10-15"), jfk, asr_request(hotwords=hotwords))

    assert fake.transcriptions[0].definition["phraseList"] == {"phrases": ["JFK", "Americans"]}


def test_phrase_list_is_left_out_before_2025_10_15(
    fake: FakeAzureSpeech, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    # The fake refuses fields an api-version does not define, as a strict service would.
    result = transcribe(adapter(fake, http), jfk, asr_request(hotwords=(Hotword("JFK"),)))

    assert result.segments
    assert "phraseList" not in fake.transcriptions[0].definition


@pytest.mark.parametrize(
    "request_kwargs", [{"diarization": False}, {"speaker_count": SpeakerCount(1, 1)}]
)
def test_no_diarization_means_no_speaker_labels(
    fake: FakeAzureSpeech, http: httpx.Client, jfk: NormalizedAudio, request_kwargs: dict[str, Any]
) -> None:
    result = transcribe(adapter(fake, http), jfk, asr_request(**request_kwargs))

    assert "diarization" not in fake.transcriptions[0].definition
    assert {s.speaker_label for s in result.segments} == {""}


def test_throttling_waits_for_retry_after(
    fake: FakeAzureSpeech, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.throttle(retry_after=0.3)
    sleeps = Sleeps()

    result = transcribe(adapter(fake, http, sleeps=sleeps), jfk)

    assert result.segments
    assert len(fake.calls("POST")) == 2
    assert sum(sleeps.waits) == pytest.approx(0.3, abs=0.05)


def test_a_throttled_key_hands_over_to_the_next(
    fake: FakeAzureSpeech, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.throttle(retry_after=30, key=KEY1, times=None)
    sleeps = Sleeps()

    transcribe(adapter(fake, http, keys=(KEY1, KEY2), sleeps=sleeps), jfk)

    assert [t.key for t in fake.transcriptions] == [KEY2]
    assert sleeps.waits == [0.0]


def test_every_key_throttled_for_long_is_unavailable_for_failover(
    fake: FakeAzureSpeech, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.throttle(retry_after=600, times=None)

    with pytest.raises(Unavailable) as caught:
        transcribe(adapter(fake, http, keys=(KEY1, KEY2)), jfk)

    assert caught.value.reason == "PROVIDER_QUOTA_EXHAUSTED"
    assert len(fake.calls("POST")) == 2


def test_server_errors_back_off_then_succeed(
    fake: FakeAzureSpeech, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.server_error(status=503, times=1)
    fake.server_error(status=500, times=1)
    sleeps = Sleeps()

    result = transcribe(adapter(fake, http, sleeps=sleeps), jfk)

    assert len(result.segments) == 3
    assert len(fake.calls("POST")) == 3
    assert len(sleeps.waits) == 2 and all(w <= POLICY.max_backoff_seconds for w in sleeps.waits)


def test_a_silent_server_times_out_within_the_bound(
    fake: FakeAzureSpeech, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.delay(5, times=None)
    policy = RetryPolicy(
        max_attempts=2, initial_backoff_seconds=0.01, max_backoff_seconds=0.02, max_total_seconds=10
    )
    started = time.monotonic()

    with pytest.raises(Unavailable) as caught:
        transcribe(adapter(fake, http, timeout_seconds=0.3, policy=policy), jfk)

    assert caught.value.reason == "PROVIDER_UNAVAILABLE"
    assert "timed out" in caught.value.message
    assert time.monotonic() - started < 3


def test_a_malformed_answer_is_retried_and_never_checkpointed(
    fake: FakeAzureSpeech, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.malformed(times=1)
    checkpoints = MemoryCheckpoints()

    result = transcribe(adapter(fake, http), jfk, checkpoints=checkpoints)

    assert len(result.segments) == 3
    assert len(fake.calls("POST")) == 2
    assert checkpoints.saved == [CHECKPOINT]


@pytest.mark.parametrize("code", ["InvalidArgument", "UnsupportedMediaType"])
def test_refused_audio_fails_the_task_without_retrying(
    fake: FakeAzureSpeech, http: httpx.Client, jfk: NormalizedAudio, code: str
) -> None:
    fake.refuse_audio(code=code, times=None)

    with pytest.raises(InvalidArgument) as caught:
        transcribe(adapter(fake, http, keys=(KEY1, KEY2)), jfk)

    assert caught.value.reason == "AUDIO_UNDECODABLE"
    assert len(fake.calls("POST")) == 1


def test_a_refused_locale_is_a_failed_precondition(
    fake: FakeAzureSpeech, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.fail(400, {"code": "InvalidArgument", "message": "The locale xx-XX is not supported."})

    with pytest.raises(FailedPrecondition) as caught:
        transcribe(adapter(fake, http), jfk, asr_request(language_code="xx-XX"))

    assert caught.value.reason == "LANGUAGE_UNSUPPORTED"


def test_a_request_azure_will_never_take_fails_over_at_once(
    fake: FakeAzureSpeech, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    with pytest.raises(Unavailable) as caught:
        transcribe(adapter(fake, http, api_version="2099-01-01"), jfk)

    assert caught.value.reason == "PROVIDER_REJECTED_REQUEST"
    assert len(fake.calls("POST")) == 1


def test_rejected_keys_are_dropped_and_never_revealed(
    fake: FakeAzureSpeech,
    http: httpx.Client,
    jfk: NormalizedAudio,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad1, bad2 = "azure-revoked-key-AAAAAAAAAAAA", "azure-revoked-key-BBBBBBBBBBBB"
    # A gateway that echoes the key, in the wrapped shape Cognitive Services gateways use.
    fake.fail(403, {"error": {"code": "Forbidden", "message": f"key {bad2} is disabled"}}, key=bad2)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(Unavailable) as caught:
        transcribe(adapter(fake, http, keys=(bad1, bad2)), jfk)

    assert caught.value.reason == "PROVIDER_KEY_REJECTED"
    assert caught.value.metadata["http_status"] in ("400", "401", "403")
    assert [r.key for r in fake.calls("POST")] == [bad1, bad2]
    texts = [caplog.text, *chain_texts(caught.value)]
    assert not [t for t in texts if bad1 in t or bad2 in t]


def test_a_checkpointed_answer_is_reused_without_calling_azure(
    fake: FakeAzureSpeech, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    checkpoints = MemoryCheckpoints()
    first = transcribe(adapter(fake, http), jfk, checkpoints=checkpoints)
    saved = json.loads(checkpoints.data[CHECKPOINT])

    again = transcribe(adapter(fake, http), jfk, checkpoints=checkpoints)

    assert len(fake.calls()) == 1
    assert saved["response"]["phrases"][0]["text"] == "And so, my fellow Americans,"
    assert again.segments == first.segments
    assert again.vendor_request_id == first.vendor_request_id
    assert again.billed_audio_seconds == first.billed_audio_seconds


@pytest.mark.parametrize("limits", [{"max_audio_seconds": 10.0}, {"max_upload_bytes": 1000}])
def test_audio_over_the_limits_fails_over_without_a_call(
    fake: FakeAzureSpeech, http: httpx.Client, jfk: NormalizedAudio, limits: dict[str, Any]
) -> None:
    with pytest.raises(Unavailable) as caught:
        transcribe(adapter(fake, http, **limits), jfk)

    assert caught.value.reason == "AUDIO_EXCEEDS_PROVIDER_LIMIT"
    assert fake.calls() == []


def test_an_unknown_model_is_refused(
    fake: FakeAzureSpeech, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        transcribe(adapter(fake, http), jfk, asr_request(model="whisper"))

    assert caught.value.reason == "UNKNOWN_MODEL"


@pytest.mark.parametrize(
    ("code", "locale"),
    [
        ("zh", "zh-CN"),
        ("zh-Hant", "zh-TW"),
        ("zh-Hans-CN", "zh-CN"),
        ("en-gb", "en-GB"),
        ("en", "en-US"),
        ("", ""),
        ("xx", ""),
        ("pt_BR", "pt-BR"),
    ],
)
def test_language_codes_become_azure_locales(code: str, locale: str) -> None:
    assert azure_locale(code) == locale


def test_mixed_chinese_and_english_text_is_spaced_one_way(
    http: httpx.Client, jfk: NormalizedAudio
) -> None:
    script = (Phrase(0, 300, 5700, "我们用PostgreSQL和API，5G的Q3目标。", locale="zh-CN"),)
    with FakeAzureSpeech(keys=[KEY1], script=script) as fake:
        result = transcribe(adapter(fake, http), jfk, asr_request(), MemoryCheckpoints(), [])
    assert [s.text for s in result.segments] == [MIXED_TIDY]
