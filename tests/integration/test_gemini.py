"""`GeminiAsr` and `GeminiLlm` against the fake Gemini API, over real HTTP, with real
encoded audio (jfk.flac): inline and Files API transcription, quota kinds, key
rotation, outages, refusals, checkpoints, and minutes through `LlmMinutesGenerator`."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from meeting_agent.adapters.providers.calls import KeyPool, QuotaWindow, RetryPolicy
from meeting_agent.adapters.providers.gemini import (
    FILE_CHECKPOINT,
    FILE_DISPLAY_PREFIX,
    RESULT_CHECKPOINT,
    GeminiAsr,
    GeminiAsrResult,
    GeminiClient,
    GeminiLlm,
    LlmOutputError,
    to_gemini_schema,
)
from meeting_agent.domain.models import Hotword, SpeakerCount
from meeting_agent.errors import InvalidArgument, Unavailable
from meeting_agent.minutes.llm import LlmMinutesGenerator
from meeting_agent.minutes.schema import MINUTES_SCHEMA
from meeting_agent.minutes.validation import validate
from meeting_agent.ports import MinutesRequest, NormalizedAudio
from meeting_agent.service.builtin_templates import BUILTIN_TEMPLATES
from tests.fakes import MemoryCheckpoints
from tests.harness.vendors.gemini import FakeGemini
from tests.harness.vendors.script import MIXED_TIDY
from tests.integration.cloud_support import (
    POLICY,
    ZH_MINUTES,
    Sleeps,
    asr_request,
    chain_texts,
    normalized_jfk,
    transcribe,
    zh_minutes_request,
)
from tests.unit.meeting_fixtures import (
    EN_NAMES,
    EN_ROWS,
    MEETING_DATE,
    transcript,
)

KEY1 = "AIzaSy-fake-gemini-key-one-000000000"
KEY2 = "AIzaSy-fake-gemini-key-two-111111111"
MINUTES = {
    "summary": "The team kept the launch date and chose Stripe.",
    "decisions": [{"text": "Keep the mobile launch on March 20.", "source_offset_seconds": 40.0}],
    "action_items": [
        {
            "owner": "Bob Martinez",
            "text": "Fix the token refresh bug.",
            "due_date": "2026-03-06",
            "due_text": "by Friday",
            "source_offset_seconds": 17.0,
        }
    ],
    "topics": [
        {
            "title": "Mobile launch",
            "summary": "Launch stays on March 20.",
            "start_seconds": 6.5,
            "end_seconds": 76.0,
        }
    ],
}


@pytest.fixture(scope="module")
def jfk(tmp_path_factory: pytest.TempPathFactory) -> NormalizedAudio:
    return normalized_jfk(tmp_path_factory.mktemp("gemini-audio"))


@pytest.fixture
def fake() -> Iterator[FakeGemini]:
    with FakeGemini(keys=[KEY1, KEY2]) as vendor:
        yield vendor


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def client(
    fake: FakeGemini,
    http: httpx.Client,
    *,
    keys: tuple[str, ...] = (KEY1,),
    sleeps: Sleeps | None = None,
    **kwargs: Any,
) -> GeminiClient:
    return GeminiClient(
        pool=KeyPool("gemini", keys),
        base_url=fake.base_url,
        policy=kwargs.pop("policy", POLICY),
        http=http,
        sleep=sleeps or Sleeps(),
        **kwargs,
    )


def asr(
    fake: FakeGemini,
    http: httpx.Client,
    *,
    keys: tuple[str, ...] = (KEY1,),
    sleeps: Sleeps | None = None,
    **kwargs: Any,
) -> GeminiAsr:
    return GeminiAsr(
        client=client(fake, http, keys=keys, sleeps=sleeps), file_poll_seconds=0.01, **kwargs
    )


def generations(fake: FakeGemini) -> list[str]:
    return [r.key or "" for r in fake.calls("POST", ":generateContent")]


# ====================================================================== ASR


def test_inline_audio_is_transcribed_with_speakers_and_audio_usage(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    checkpoints = MemoryCheckpoints()
    request = asr_request(
        hotwords=(Hotword("JFK"), Hotword("Americans", weight=3)), speaker_count=SpeakerCount(2, 2)
    )

    result = transcribe(asr(fake, http), jfk, request, checkpoints)

    assert [(s.speaker_label, s.start, s.end, s.text) for s in result.segments] == [
        ("SPEAKER_1", 0.3, 3.4, "And so, my fellow Americans,"),
        ("SPEAKER_2", 3.9, 8.0, "ask not what your country can do for you,"),
        ("SPEAKER_1", 8.3, 10.8, "ask what you can do for your country."),
    ]
    assert isinstance(result, GeminiAsrResult) and result.usage is not None
    assert result.usage.audio_tokens == 352  # 11 s at 32 tokens a second
    assert result.billed_audio_seconds == pytest.approx(11.0)
    assert result.usage.text_input_tokens == result.usage.prompt_tokens - 352
    assert (result.provider, result.model) == ("gemini", "gemini-2.5-flash")
    saved = json.loads(checkpoints.data[RESULT_CHECKPOINT])
    assert result.vendor_request_id == saved["response"]["responseId"] != ""
    assert checkpoints.saved == [RESULT_CHECKPOINT]
    [call] = fake.calls("POST", ":generateContent")
    assert call.headers["x-goog-api-key"] == KEY1 and "key" not in call.query
    body = call.json()
    text, audio = body["contents"][0]["parts"]
    assert audio["inlineData"]["mimeType"] == "audio/flac"
    assert "JFK" in text["text"] and "Americans" in text["text"]
    assert "en-US" in text["text"] and "There are 2 speakers." in text["text"]
    schema = body["generationConfig"]["responseSchema"]
    assert schema["properties"]["segments"]["items"]["propertyOrdering"] == [
        "speaker",
        "start",
        "end",
        "text",
    ]
    assert body["generationConfig"]["responseMimeType"] == "application/json"


def test_large_audio_goes_through_the_files_api_and_is_deleted(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.processing_polls = 2
    checkpoints = MemoryCheckpoints()

    result = transcribe(asr(fake, http, inline_limit_bytes=1000), jfk, checkpoints=checkpoints)

    assert len(result.segments) == 3
    assert result.billed_audio_seconds == pytest.approx(11.0)
    steps = [
        (r.method, r.path.rsplit("/", 1)[-1], r.headers.get("x-goog-upload-command"))
        for r in fake.calls()
    ]
    assert steps[:2] == [("POST", "files", "start"), ("POST", "files", "upload, finalize")]
    assert [s[0] for s in steps[2:5]] == ["GET", "GET", "GET"]
    assert steps[5][1].endswith(":generateContent") and steps[6][0] == "DELETE"
    [stored] = fake.files.values()
    assert stored.deleted and stored.state == "ACTIVE"
    part = fake.generations[0].body["contents"][0]["parts"][1]
    assert part == {
        "fileData": {"mimeType": "audio/flac", "fileUri": f"{fake.base_url}/v1beta/{stored.name}"}
    }
    # The file checkpoint is emptied once the file is deleted.
    assert checkpoints.saved == [FILE_CHECKPOINT, RESULT_CHECKPOINT, FILE_CHECKPOINT]
    assert json.loads(checkpoints.data[FILE_CHECKPOINT]) == {}
    assert stored.display_name.startswith(FILE_DISPLAY_PREFIX)


def test_an_uploaded_file_is_reused_by_the_next_attempt(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    checkpoints = MemoryCheckpoints()
    fake.quota("day", key=KEY1, times=1)
    with pytest.raises(Unavailable):  # the worker gives up after the upload
        transcribe(asr(fake, http, inline_limit_bytes=1000), jfk, checkpoints=checkpoints)

    # A new worker: fresh key state, same checkpoints.
    result = transcribe(asr(fake, http, inline_limit_bytes=1000), jfk, checkpoints=checkpoints)

    assert len(result.segments) == 3
    assert len(fake.calls("POST", "/upload/")) == 2  # one start, one upload: once
    assert len(fake.files) == 1


def test_an_expired_file_is_uploaded_again_and_the_key_kept(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    checkpoints = MemoryCheckpoints()
    fake.quota("day", key=KEY1, times=1)
    with pytest.raises(Unavailable):
        transcribe(asr(fake, http, inline_limit_bytes=1000), jfk, checkpoints=checkpoints)
    fake.expire(next(iter(fake.files)))

    result = transcribe(asr(fake, http, inline_limit_bytes=1000), jfk, checkpoints=checkpoints)

    assert len(result.segments) == 3
    assert len(fake.files) == 2


def test_a_checkpointed_answer_is_reused_without_calling_gemini(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    checkpoints = MemoryCheckpoints()
    first = transcribe(asr(fake, http), jfk, checkpoints=checkpoints)
    saved = json.loads(checkpoints.data[RESULT_CHECKPOINT])

    again = transcribe(asr(fake, http), jfk, checkpoints=checkpoints)

    assert len(fake.calls()) == 1
    assert saved["response"]["usageMetadata"]["promptTokensDetails"][1] == {
        "modality": "AUDIO",
        "tokenCount": 352,
    }
    assert again.segments == first.segments
    assert isinstance(again, GeminiAsrResult) and isinstance(first, GeminiAsrResult)
    assert again.usage == first.usage


def test_per_minute_quota_waits_for_retry_info(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.quota("minute", retry_delay="0.3s")
    sleeps = Sleeps()

    result = transcribe(asr(fake, http, sleeps=sleeps), jfk)

    assert len(result.segments) == 3
    assert generations(fake) == [KEY1, KEY1]
    assert sum(sleeps.waits) == pytest.approx(0.3, abs=0.05)


def test_per_day_quota_rotates_to_the_next_key_at_once(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.quota("day", key=KEY1, times=None)
    sleeps = Sleeps()

    transcribe(asr(fake, http, keys=(KEY1, KEY2), sleeps=sleeps), jfk)

    assert generations(fake) == [KEY1, KEY2]
    assert sleeps.waits == [0.0]


def test_a_daily_quota_of_a_project_rests_its_keys_until_midnight_pacific(
    jfk: NormalizedAudio,
) -> None:
    key3 = "AIzaSy-fake-gemini-key-three-22222222"
    now = [datetime(2026, 12, 2, 6, 0, tzinfo=UTC).timestamp()]  # 22:00 in Los Angeles
    window = QuotaWindow(
        daily_reset_timezone="America/Los_Angeles",
        scope="project",
        projects={KEY1: "project-a", KEY2: "project-a", key3: "project-b"},
    )
    pool = KeyPool("gemini", [KEY1, KEY2, key3], now=lambda: now[0], window=window)
    with FakeGemini(keys=[KEY1, KEY2, key3]) as fake, httpx.Client() as http:
        fake.quota("day", key=KEY1, times=None)
        adapter = GeminiAsr(
            client=GeminiClient(
                pool=pool, base_url=fake.base_url, policy=POLICY, http=http, sleep=Sleeps()
            )
        )
        transcribe(adapter, jfk)
        used = generations(fake)

    assert used == [KEY1, key3]  # KEY2 shares KEY1's project and its spent quota
    assert [k.secret for k in pool.available()] == [key3]
    now[0] = datetime(2026, 12, 2, 8, 0, tzinfo=UTC).timestamp()  # midnight PST
    assert len(pool.available()) == 3


def test_spent_prepaid_credits_rotate_like_a_daily_quota(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.credits_exhausted(key=KEY1)

    transcribe(asr(fake, http, keys=(KEY1, KEY2)), jfk)

    assert generations(fake) == [KEY1, KEY2]


def test_every_key_out_for_the_day_is_unavailable_for_failover(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.quota("day", times=None)
    started = time.monotonic()

    with pytest.raises(Unavailable) as caught:
        transcribe(asr(fake, http, keys=(KEY1, KEY2)), jfk)

    assert caught.value.reason == "PROVIDER_QUOTA_EXHAUSTED"
    assert generations(fake) == [KEY1, KEY2]
    assert time.monotonic() - started < 2


def test_server_errors_back_off_then_succeed(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.server_error(status=503)
    fake.server_error(status=500)
    sleeps = Sleeps()

    result = transcribe(asr(fake, http, sleeps=sleeps), jfk)

    assert len(result.segments) == 3
    assert len(generations(fake)) == 3
    assert len(sleeps.waits) == 2


def test_a_silent_server_times_out_within_the_bound(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.delay(5, times=None)
    policy = RetryPolicy(
        max_attempts=2, initial_backoff_seconds=0.01, max_backoff_seconds=0.02, max_total_seconds=10
    )
    gemini = GeminiAsr(client=client(fake, http, policy=policy, timeout_seconds=0.3))
    started = time.monotonic()

    with pytest.raises(Unavailable) as caught:
        transcribe(gemini, jfk)

    assert caught.value.reason == "PROVIDER_UNAVAILABLE"
    assert time.monotonic() - started < 3


def test_a_malformed_answer_is_retried(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.malformed()

    result = transcribe(asr(fake, http), jfk)

    assert len(result.segments) == 3
    assert len(generations(fake)) == 2


def test_an_invalid_key_is_dropped_and_never_revealed(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio, caplog: pytest.LogCaptureFixture
) -> None:
    bad = "AIzaSy-revoked-key-ZZZZZZZZZZZZZZZZ"
    caplog.set_level(logging.DEBUG)

    result = transcribe(asr(fake, http, keys=(bad, KEY2)), jfk)
    with pytest.raises(Unavailable) as caught:
        transcribe(asr(fake, http, keys=(bad,)), jfk)

    assert len(result.segments) == 3
    assert generations(fake) == [bad, KEY2, bad]
    assert caught.value.reason == "PROVIDER_KEY_REJECTED"
    assert caught.value.metadata["http_status"] in ("400", "401", "403")
    texts = [caplog.text, *chain_texts(caught.value)]
    assert not [t for t in texts if bad in t or KEY2 in t]


@pytest.mark.parametrize("refusal", ["block_prompt", "finish_safety"])
def test_blocked_content_fails_the_task_without_retrying(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio, refusal: str
) -> None:
    if refusal == "block_prompt":
        fake.block_prompt(times=None)
    else:
        fake.finish("SAFETY", times=None)

    with pytest.raises(InvalidArgument) as caught:
        transcribe(asr(fake, http, keys=(KEY1, KEY2)), jfk)

    assert caught.value.reason == "CONTENT_BLOCKED"
    assert len(generations(fake)) == 1


def test_a_cut_transcript_is_asked_for_again_then_fails_over(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.finish("MAX_TOKENS", times=1)
    checkpoints = MemoryCheckpoints()
    assert len(transcribe(asr(fake, http), jfk, checkpoints=checkpoints).segments) == 3

    fake.finish("MAX_TOKENS", times=2)
    with pytest.raises(Unavailable) as caught:
        transcribe(asr(fake, http), jfk)

    assert caught.value.reason == "ASR_BAD_OUTPUT"
    assert len(generations(fake)) == 4
    assert checkpoints.saved == [RESULT_CHECKPOINT]  # the cut answer was never saved


def test_without_diarization_no_speaker_is_labelled(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    result = transcribe(asr(fake, http), jfk, asr_request(diarization=False))

    assert {s.speaker_label for s in result.segments} == {""}
    prompt = fake.generations[0].body["contents"][0]["parts"][0]["text"]
    assert 'Use the speaker label "Speaker 1" for every segment.' in prompt


# ====================================================================== LLM


def test_llm_answers_json_with_usage_from_usage_metadata(
    fake: FakeGemini, http: httpx.Client
) -> None:
    fake.answers = [MINUTES]
    fake.thoughts_tokens = 40
    llm = GeminiLlm(client=client(fake, http), max_input_tokens=50_000)

    answer, usage = llm.complete_json(
        system="You write minutes.", prompt="Transcript: hi", schema=MINUTES_SCHEMA
    )

    assert answer == MINUTES
    [generation] = fake.generations
    assert usage.input_tokens == 5 + 4  # "You write minutes." (18 chars), "Transcript: hi"
    assert usage.output_tokens == (len(generation.answer) + 3) // 4 + 40
    body = generation.body
    assert body["systemInstruction"] == {"parts": [{"text": "You write minutes."}]}
    config = body["generationConfig"]
    assert config["responseSchema"] == to_gemini_schema(MINUTES_SCHEMA)
    assert (llm.name, llm.model, llm.max_input_tokens) == ("gemini", "gemini-2.5-flash", 50_000)


def test_llm_may_send_the_json_schema_as_is(fake: FakeGemini, http: httpx.Client) -> None:
    llm = GeminiLlm(client=client(fake, http), schema_field="responseJsonSchema")

    answer, _ = llm.complete_json(system="", prompt="Summarise.", schema=MINUTES_SCHEMA)

    config = fake.generations[0].body["generationConfig"]
    assert config["responseJsonSchema"] == MINUTES_SCHEMA and "responseSchema" not in config
    assert "systemInstruction" not in fake.generations[0].body
    assert set(answer) == {"summary", "decisions", "action_items", "topics"}


def test_llm_answer_cut_at_max_tokens_is_bad_output(fake: FakeGemini, http: httpx.Client) -> None:
    fake.finish("MAX_TOKENS", text='{"summary": "The team')
    llm = GeminiLlm(client=client(fake, http))

    with pytest.raises(LlmOutputError) as caught:
        llm.complete_json(system="s", prompt="p", schema=MINUTES_SCHEMA)

    assert isinstance(caught.value, ValueError)
    assert caught.value.usage.output_tokens == 8192
    assert len(generations(fake)) == 1


def test_llm_writes_minutes_through_the_generator(fake: FakeGemini, http: httpx.Client) -> None:
    fake.answers = ["this is not JSON", MINUTES]  # the generator asks again once
    generator = LlmMinutesGenerator(GeminiLlm(client=client(fake, http)))

    result = generator.generate(
        MinutesRequest(
            transcript=transcript(EN_ROWS),
            speaker_names=EN_NAMES,
            template=BUILTIN_TEMPLATES["default"],
            language_code="en",
            meeting_date=MEETING_DATE,
        )
    )

    assert result.minutes == MINUTES
    assert (result.provider, result.model, result.extractive) == (
        "gemini",
        "gemini-2.5-flash",
        False,
    )
    second = fake.generations[1]
    assert "Bob Martinez" in second.body["contents"][0]["parts"][0]["text"]
    meta_input = json.loads(json.dumps(second.body))  # what was billed for the good call
    assert result.usage.input_tokens == sum(
        (len(p["text"]) + 3) // 4
        for p in meta_input["contents"][0]["parts"] + meta_input["systemInstruction"]["parts"]
    )
    assert result.usage.output_tokens == (len(second.answer) + 3) // 4


# ====================================================================== schema


def test_json_schema_becomes_the_openapi_subset() -> None:
    converted = to_gemini_schema(MINUTES_SCHEMA)

    assert converted["type"] == "OBJECT"
    assert converted["required"] == ["summary", "decisions", "action_items", "topics"]
    assert converted["propertyOrdering"] == ["summary", "decisions", "action_items", "topics"]
    decision = converted["properties"]["decisions"]["items"]
    assert decision["properties"]["source_offset_seconds"] == {
        "type": "NUMBER",
        "nullable": True,
        "description": "Seconds from the start of the meeting where it was said.",
    }
    assert "additionalProperties" not in decision
    assert (
        "minimum" not in converted["properties"]["topics"]["items"]["properties"]["start_seconds"]
    )


@pytest.mark.parametrize(
    "schema",
    [
        {"anyOf": [{"type": "string"}, {"type": "number"}]},
        {"type": ["string", "number"]},
        {"$ref": "#/definitions/x"},
    ],
)
def test_schemas_outside_the_subset_are_refused(schema: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="no responseSchema equivalent"):
        to_gemini_schema(schema)


def test_llm_writes_chinese_minutes_with_the_zh_standard_template(
    fake: FakeGemini, http: httpx.Client
) -> None:
    fake.answers = [ZH_MINUTES]
    generator = LlmMinutesGenerator(GeminiLlm(client=client(fake, http)))

    result = generator.generate(zh_minutes_request())

    assert result.minutes == ZH_MINUTES
    assert validate(result.minutes, MINUTES_SCHEMA) == []
    (generation,) = fake.generations
    prompt = generation.body["contents"][0]["parts"][0]["text"]
    assert "数据库迁移目前完成了百分之七十" in prompt and "李强" in prompt
    assert generation.body["generationConfig"]["responseSchema"] == to_gemini_schema(MINUTES_SCHEMA)


def test_mixed_chinese_and_english_text_is_spaced_one_way(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.segments = [
        {
            "speaker": "Speaker 1",
            "start": 0.3,
            "end": 6.0,
            "text": "我们用PostgreSQL和API，5G的Q3目标。",
        }
    ]

    result = transcribe(
        asr(fake, http), jfk, asr_request(language_code="zh-CN"), MemoryCheckpoints()
    )

    assert [s.text for s in result.segments] == [MIXED_TIDY]
