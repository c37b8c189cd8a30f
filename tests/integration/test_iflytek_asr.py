"""`IflytekAsr` over real HTTP against the fake iFlytek `raasr` v2 API, with jfk.flac.

The fake (tests/harness/vendors/iflytek.py) is written from the vendor's docs and
recomputes every signature; the audio is really decoded, encoded to FLAC and uploaded.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from meeting_agent.adapters.audio import normalize_audio
from meeting_agent.adapters.providers.calls import KeyPool, RetryPolicy
from meeting_agent.adapters.providers.iflytek import (
    ORDER_CHECKPOINT,
    RESULT_CHECKPOINT,
    IflytekAsr,
)
from meeting_agent.domain.models import Hotword, SpeakerCount, Word
from meeting_agent.errors import InvalidArgument, Unavailable
from meeting_agent.ports import AsrRequest, AsrResult, NormalizedAudio, TaskCancelled
from tests.fakes import MemoryCheckpoints, Progress
from tests.harness.vendors.audio import audio_duration_ms
from tests.harness.vendors.http_fake import Fault
from tests.harness.vendors.iflytek import GET_RESULT, UPLOAD, IflytekFake
from tests.harness.vendors.script import MIXED, MIXED_TIDY

JFK = Path(__file__).resolve().parent.parent / "data" / "jfk.flac"
POLICY = RetryPolicy(
    max_attempts=4,
    initial_backoff_seconds=0.01,
    max_backoff_seconds=0.05,
    max_total_seconds=20,
    max_quota_wait_seconds=5,
)
APP_1, SECRET_1 = "595f23df", "d9f4aa7ea6d94faca62cd88a28fd5234"
APP_2, SECRET_2 = "3e79d91c", "0123456789abcdef0123456789abcdef"
KEY_1 = f"{APP_1}:{SECRET_1}"
KEY_2 = f"{APP_2}:{SECRET_2}"

EXPECTED = [
    ("SPEAKER_1", 0.32, 4.2, "And so, my fellow Americans,"),
    ("SPEAKER_2", 4.7, 8.1, "ask not what your country can do for you,"),
    ("SPEAKER_1", 8.3, 10.9, "这是一条测试音频。"),
]


def asr_request(
    *,
    language_code: str = "",
    hotwords: tuple[Hotword, ...] = (),
    diarization: bool = True,
    speakers: SpeakerCount | None = None,
) -> AsrRequest:
    return AsrRequest(
        language_code=language_code,
        model="",
        hotwords=hotwords,
        speaker_count=speakers,
        diarization=diarization,
    )


def transcribe(
    asr: IflytekAsr,
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


def summary(result: AsrResult) -> list[tuple[str, float, float, str]]:
    return [(s.speaker_label, s.start, s.end, s.text) for s in result.segments]


@pytest.fixture(scope="module")
def meeting(tmp_path_factory: pytest.TempPathFactory) -> NormalizedAudio:
    return normalize_audio([JFK], tmp_path_factory.mktemp("ifly") / "jfk.f32", max_seconds=60)


@pytest.fixture()
def make_asr() -> Iterator[Any]:
    made: list[IflytekAsr] = []

    def make(fake: IflytekFake, keys: list[str] | None = None, **options: Any) -> IflytekAsr:
        options.setdefault("policy", POLICY)
        options.setdefault("poll_interval_seconds", 0.01)
        options.setdefault("max_poll_interval_seconds", 0.05)
        options.setdefault("timeout_seconds", 5)
        options.setdefault("upload_timeout_seconds", 5)
        options.setdefault("rate_limit_rest_seconds", 0.05)
        pool = KeyPool(options.get("name", "iflytek"), keys or [KEY_1])
        asr = IflytekAsr(pool=pool, base_url=fake.base_url, **options)
        made.append(asr)
        return asr

    yield make
    for asr in made:
        asr.close()


# ---------------------------------------------------------------------- happy paths


def test_roles_words_and_parameters(make_asr, meeting) -> None:
    hotwords = (Hotword("火山引擎"), Hotword("a"), Hotword("Kubernetes"), Hotword("x" * 20))
    checkpoints = MemoryCheckpoints()
    with IflytekFake(pending_polls=2) as fake:
        result = transcribe(
            make_asr(fake),
            meeting,
            asr_request(language_code="en-US", hotwords=hotwords, speakers=SpeakerCount(2, 2)),
            checkpoints=checkpoints,
        )

        (upload,) = fake.requests_to(UPLOAD)
        polls = fake.requests_to(GET_RESULT)
        (order_id,) = fake.orders
    assert summary(result) == EXPECTED
    assert result.segments[0].words == [
        Word("And", 0.32, 0.56),
        Word("so", 0.6, 0.9),
        Word("my", 1.2, 1.4),
        Word("fellow", 1.45, 1.9),
        Word("Americans", 1.95, 4.1),
    ]
    assert [w.text for w in result.segments[2].words] == ["这", "是", "一", "条", "测试", "音频"]
    assert (result.provider, result.model, result.vendor_request_id) == (
        "iflytek",
        "raasr-v2",
        order_id,
    )
    assert result.billed_audio_seconds == pytest.approx(meeting.duration_seconds, abs=0.01)
    query = upload.query
    assert upload.body[:4] == b"fLaC" and query["fileName"] == "meeting.flac"
    assert query["fileSize"] == str(len(upload.body))
    assert int(query["duration"]) == round(meeting.duration_seconds * 1000)
    assert audio_duration_ms(upload.body) == pytest.approx(int(query["duration"]), abs=10)
    assert (query["language"], query["roleType"], query["roleNum"]) == ("en", "1", "2")
    assert query["hotWord"] == "火山引擎|Kubernetes"
    assert upload.headers["content-type"] == "application/octet-stream"
    assert len(polls) == 3 and all(p.method == "POST" for p in polls)
    assert {p.query["orderId"] for p in polls} == {order_id}
    assert checkpoints.saved[0] == ORDER_CHECKPOINT and checkpoints.saved[-1] == RESULT_CHECKPOINT


@pytest.mark.parametrize("style", ["status", "code"])
def test_polls_until_the_order_is_done(make_asr, meeting, style: str) -> None:
    progress = Progress()
    with IflytekFake(pending_polls=3, pending_style=style) as fake:  # type: ignore[arg-type]
        result = transcribe(make_asr(fake), meeting, progress=progress)

        assert len(fake.requests_to(GET_RESULT)) == 4
    assert summary(result) == EXPECTED
    messages = [m for _, m in progress.events]
    assert messages[0] == "uploaded" and "processing" in messages and messages[-1] == "done"
    fractions = [f for f, _ in progress.events]
    assert fractions == sorted(fractions)


def test_without_diarization_roles_are_off(make_asr, meeting) -> None:
    with IflytekFake() as fake:
        result = transcribe(make_asr(fake), meeting, asr_request(diarization=False))

        query = fake.requests_to(UPLOAD)[0].query
    assert "roleType" not in query and query["language"] == "cn"
    assert [s.speaker_label for s in result.segments] == ["", "", ""]


def test_roles_without_the_entitlement_are_unlabelled(make_asr, meeting) -> None:
    with IflytekFake(roles_enabled=False) as fake:
        result = transcribe(make_asr(fake), meeting)

    assert [s.speaker_label for s in result.segments] == ["", "", ""]


def test_get_is_accepted_too(make_asr, meeting) -> None:
    with IflytekFake(pending_polls=1) as fake:
        result = transcribe(make_asr(fake, result_method="GET"), meeting)

        assert {r.method for r in fake.requests_to(GET_RESULT)} == {"GET"}
    assert summary(result) == EXPECTED


def test_silent_audio_is_an_empty_transcript(make_asr, meeting) -> None:
    checkpoints = MemoryCheckpoints()
    with IflytekFake(outcome="silent") as fake:
        result = transcribe(make_asr(fake), meeting, checkpoints=checkpoints)
        again = transcribe(make_asr(fake), meeting, checkpoints=checkpoints)

        assert len(fake.requests_to(GET_RESULT)) == 1
    assert result.segments == again.segments == []


# ---------------------------------------------------------------------- robustness


def test_rate_limit_then_success(make_asr, meeting) -> None:
    with IflytekFake() as fake:
        fake.inject("getResult", Fault.vendor_code("26603"))
        result = transcribe(make_asr(fake), meeting)

        assert len(fake.requests_to(GET_RESULT)) == 2
    assert summary(result) == EXPECTED


def test_http_429_then_success(make_asr, meeting) -> None:
    with IflytekFake() as fake:
        fake.inject("upload", Fault.http(429, Retry_After="1"))
        started = time.monotonic()
        result = transcribe(make_asr(fake), meeting)

        assert len(fake.requests_to(UPLOAD)) == 2
    assert summary(result) == EXPECTED
    assert time.monotonic() - started >= 1.0


def test_5xx_backs_off_then_succeeds(make_asr, meeting) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    with IflytekFake() as fake:
        fake.inject("upload", Fault.http(502), Fault.vendor_code("26680"))
        fake.inject("getResult", Fault.http(500))
        result = transcribe(make_asr(fake, sleep=sleep), meeting)

        assert len(fake.requests_to(UPLOAD)) == 3
        assert len(fake.requests_to(GET_RESULT)) == 2
        assert len(fake.orders) == 1
    assert summary(result) == EXPECTED
    backoffs = [s for s in slept if s <= POLICY.max_backoff_seconds]
    assert len(backoffs) >= 3


def test_every_app_out_of_purchased_hours_is_unavailable(make_asr, meeting) -> None:
    with IflytekFake() as fake:
        fake.exhaust(APP_1)
        fake.exhaust(APP_2)
        with pytest.raises(Unavailable) as caught:
            transcribe(make_asr(fake, keys=[KEY_1, KEY_2]), meeting)

        used = sorted(r.query["appId"] for r in fake.requests_to(UPLOAD))
    assert caught.value.reason == "PROVIDER_QUOTA_EXHAUSTED"
    assert used == sorted([APP_1, APP_2])


@pytest.mark.parametrize("first", [f"{APP_1}:wrong-secret", KEY_1])
def test_rotates_to_the_second_app_and_polls_with_it(make_asr, meeting, first: str) -> None:
    with IflytekFake(pending_polls=1) as fake:
        fake.exhaust(APP_1)  # only matters for the right secret
        result = transcribe(make_asr(fake, keys=[first, KEY_2]), meeting)

        uploads = [r.query["appId"] for r in fake.requests_to(UPLOAD)]
        polls = {r.query["appId"] for r in fake.requests_to(GET_RESULT)}
    assert uploads == [APP_1, APP_2] and polls == {APP_2}
    assert summary(result) == EXPECTED


def test_timeouts_are_bounded_and_retried(make_asr, meeting) -> None:
    with IflytekFake() as fake:
        fake.inject("upload", Fault.delay(3))
        fake.inject("getResult", Fault.delay(3))
        started = time.monotonic()
        result = transcribe(
            make_asr(fake, upload_timeout_seconds=0.4, timeout_seconds=0.4), meeting
        )
        elapsed = time.monotonic() - started

        assert len(fake.requests_to(UPLOAD)) == 2
        assert len(fake.requests_to(GET_RESULT)) == 2
    assert summary(result) == EXPECTED
    assert elapsed < 2.5


def test_a_malformed_answer_is_retried(make_asr, meeting) -> None:
    with IflytekFake() as fake:
        fake.inject("getResult", Fault.malformed())
        result = transcribe(make_asr(fake), meeting)

        assert len(fake.requests_to(GET_RESULT)) == 2
    assert summary(result) == EXPECTED


def test_malformed_answers_end_unavailable(make_asr, meeting) -> None:
    with IflytekFake() as fake:
        fake.inject("upload", *[Fault.malformed()] * POLICY.max_attempts)
        with pytest.raises(Unavailable) as caught:
            transcribe(make_asr(fake), meeting)

        assert len(fake.requests_to(UPLOAD)) == POLICY.max_attempts
    assert caught.value.reason == "PROVIDER_UNAVAILABLE"


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        ("undecodable", "AUDIO_UNDECODABLE"),
        ("too_long", "AUDIO_TOO_LONG"),
    ],
)
def test_a_failed_order_fails_with_the_vendors_reason(
    make_asr, meeting, outcome: str, reason: str
) -> None:
    with IflytekFake(outcome=outcome) as fake:  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument) as caught:
            transcribe(make_asr(fake), meeting)

        assert len(fake.requests_to(UPLOAD)) == 1
        assert len(fake.requests_to(GET_RESULT)) == 1
    assert caught.value.reason == reason
    assert caught.value.metadata == {"provider": "iflytek"}


def test_audio_that_is_not_what_its_name_says_is_undecodable(make_asr, meeting) -> None:
    with IflytekFake() as fake:
        # WAV bytes named .flac: the vendor's transcoding fails (failType 2).
        asr = make_asr(fake, audio_format="wav")
        original = fake.handle

        def rename(request):  # what a wrong fileName would look like to the vendor
            if request.path == UPLOAD:
                request.query["fileName"] = "meeting.flac"
            return original(request)

        fake.handle = rename  # type: ignore[method-assign]
        with pytest.raises(InvalidArgument) as caught:
            transcribe(asr, meeting)
    assert caught.value.reason == "AUDIO_UNDECODABLE"


def test_empty_audio_is_refused_at_upload_without_retrying(make_asr, meeting) -> None:
    with IflytekFake() as fake:
        fake.inject("upload", Fault.vendor_code("26606"))
        with pytest.raises(InvalidArgument) as caught:
            transcribe(make_asr(fake), meeting)

        assert len(fake.requests_to(UPLOAD)) == 1 and not fake.requests_to(GET_RESULT)
    assert caught.value.reason == "AUDIO_EMPTY"


def test_a_clock_out_of_skew_is_refused(make_asr, meeting) -> None:
    with IflytekFake(now=lambda: time.time() + 3600) as fake, pytest.raises(Unavailable) as caught:
        transcribe(make_asr(fake), meeting)
    assert caught.value.reason == "PROVIDER_KEY_REJECTED"  # the only key was rejected


# ---------------------------------------------------------------------- resume


def test_a_retried_job_polls_the_saved_order_and_then_reuses_the_result(make_asr, meeting) -> None:
    checkpoints = MemoryCheckpoints()
    with IflytekFake(pending_polls=3) as fake:
        calls = 0

        def cancel_before_the_second_poll() -> None:
            nonlocal calls
            calls += 1  # once before the upload, then once before each poll
            if calls == 3:
                raise TaskCancelled()

        with pytest.raises(TaskCancelled):
            transcribe(
                make_asr(fake),
                meeting,
                checkpoints=checkpoints,
                check_cancelled=cancel_before_the_second_poll,
            )
        assert len(fake.requests_to(UPLOAD)) == 1 and len(fake.requests_to(GET_RESULT)) == 1
        (order_id,) = fake.orders
        assert json.loads(checkpoints.data[ORDER_CHECKPOINT]) == {
            "order_id": order_id,
            "key": json.loads(checkpoints.data[ORDER_CHECKPOINT])["key"],
            "polls": 1,
            "gone": False,
        }

        resumed = transcribe(make_asr(fake), meeting, checkpoints=checkpoints)
        assert len(fake.requests_to(UPLOAD)) == 1
        assert len(fake.requests_to(GET_RESULT)) == 4

        seen = len(fake.requests)
        again = transcribe(make_asr(fake), meeting, checkpoints=checkpoints)
        assert len(fake.requests) == seen
    assert summary(resumed) == summary(again) == EXPECTED
    assert resumed.vendor_request_id == again.vendor_request_id == order_id
    saved = json.loads(json.loads(checkpoints.data[RESULT_CHECKPOINT])["body"])
    assert isinstance(saved["content"]["orderResult"], str)  # kept verbatim


def test_polls_are_counted_across_attempts_and_a_spent_order_is_replaced(make_asr, meeting) -> None:
    checkpoints = MemoryCheckpoints()
    with IflytekFake(pending_polls=5) as fake:
        with pytest.raises(Unavailable) as caught:
            transcribe(make_asr(fake, max_polls=3), meeting, checkpoints=checkpoints)
        assert caught.value.reason == "PROVIDER_UNAVAILABLE"
        assert len(fake.requests_to(GET_RESULT)) == 3
        order = json.loads(checkpoints.data[ORDER_CHECKPOINT])
        assert (order["polls"], order["gone"]) == (3, True)

        fake.pending_polls = 0
        result = transcribe(make_asr(fake, max_polls=3), meeting, checkpoints=checkpoints)
        assert len(fake.requests_to(UPLOAD)) == 2
    assert result.vendor_request_id != order["order_id"]
    assert summary(result) == EXPECTED


def test_a_saved_order_the_vendor_no_longer_knows_is_uploaded_again(make_asr, meeting) -> None:
    checkpoints = MemoryCheckpoints()
    with IflytekFake() as fake:
        transcribe(make_asr(fake), meeting, checkpoints=checkpoints)
        stale = json.loads(checkpoints.data[ORDER_CHECKPOINT])
        checkpoints.data = {
            ORDER_CHECKPOINT: json.dumps({**stale, "order_id": "DKHJQ-PURGED"}).encode()
        }

        result = transcribe(make_asr(fake), meeting, checkpoints=checkpoints)

        assert len(fake.requests_to(UPLOAD)) == 2
    assert summary(result) == EXPECTED


def test_waiting_is_bounded_and_keeps_the_order(make_asr, meeting) -> None:
    checkpoints = MemoryCheckpoints()
    with IflytekFake(pending_polls=10_000) as fake:
        asr = make_asr(
            fake, poll_interval_seconds=0.05, max_poll_interval_seconds=0.05, max_wait_seconds=0.3
        )
        with pytest.raises(Unavailable) as caught:
            transcribe(asr, meeting, checkpoints=checkpoints)

        assert 2 <= len(fake.requests_to(GET_RESULT)) <= 8
    assert caught.value.reason == "PROVIDER_TIMEOUT"
    assert json.loads(checkpoints.data[ORDER_CHECKPOINT])["gone"] is False


# ---------------------------------------------------------------------- secrets


def test_secrets_never_reach_logs_or_errors(make_asr, meeting, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    with IflytekFake(pending_polls=1) as fake:
        fake.inject("getResult", Fault.http(503))
        transcribe(make_asr(fake), meeting)
        signatures = {unquote(r.query["signa"]) for r in fake.requests}
        with pytest.raises(Unavailable) as caught:
            transcribe(make_asr(fake, keys=[f"{APP_1}:not-the-secret-9b1c"]), meeting)

    error = caught.value
    texts = [caplog.text, str(error)]
    while error.__cause__ is not None:
        error = error.__cause__  # type: ignore[assignment]
        texts.append(str(error))
    text = "\n".join(texts)
    for secret in (SECRET_1, "not-the-secret-9b1c", *signatures):
        assert secret not in text


def test_mixed_chinese_and_english_letter_tokens_are_joined(make_asr, meeting) -> None:
    # iFlytek sends English a letter per token: "P", "o", "s", … must read PostgreSQL.
    with IflytekFake(script=MIXED) as fake:
        result = transcribe(make_asr(fake), meeting, asr_request(language_code="zh-CN"))
    (segment,) = result.segments
    assert segment.text == MIXED_TIDY
    assert "".join(w.text for w in segment.words) == MIXED_TIDY.replace(" ", "")[:-1].replace(
        "，", ""
    )
