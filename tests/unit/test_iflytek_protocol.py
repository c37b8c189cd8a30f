"""The pure parts of the iFlytek `raasr` v2 protocol: signature, parameters, codes, results."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from meeting_agent.adapters.providers.calls import (
    CallerError,
    KeyRejected,
    QuotaExceeded,
    Transient,
)
from meeting_agent.adapters.providers.iflytek_protocol import (
    OrderGone,
    OrderState,
    auth_params,
    check_code,
    hotword_param,
    order_state,
    parse_key,
    parse_result,
    signa,
    upload_params,
    vendor_language,
)
from meeting_agent.domain.models import Hotword, SpeakerCount, Word
from meeting_agent.errors import Unavailable

# The worked example of the doc's "signa生成" section.
APP_ID = "595f23df"
TS = "1512041814"
SECRET = "d9f4aa7ea6d94faca62cd88a28fd5234"


def test_signa_matches_the_documented_example() -> None:
    assert hashlib.md5((APP_ID + TS).encode()).hexdigest() == "0829d4012497c14a30e7e72aeebe565e"
    assert signa(APP_ID, SECRET, TS) == "IrrzsJeOFk1NGfJHW6SkHUoN9CU="


def test_auth_params_sign_each_timestamp() -> None:
    assert auth_params(f"{APP_ID}:{SECRET}", int(TS)) == {
        "appId": APP_ID,
        "ts": TS,
        "signa": "IrrzsJeOFk1NGfJHW6SkHUoN9CU=",
    }


@pytest.mark.parametrize("key", ["no-colon", ":secret", "app:"])
def test_keys_are_app_id_colon_secret(key: str) -> None:
    with pytest.raises(ValueError):
        parse_key(key)


def _doc_example() -> dict[str, Any]:
    """The getResult answer of the doc (its first sentence), encoded twice as there."""
    words = [
        ("这", "n", 1, 16),
        ("是", "n", 17, 36),
        ("一", "n", 37, 52),
        ("条", "n", 53, 80),
        ("测试", "n", 81, 116),
        ("音频", "n", 117, 172),
        ("。", "p", 172, 172),
        ("", "g", 172, 172),
    ]
    st = {
        "sc": "0.86",
        "pa": "0",
        "bg": "50",
        "rl": "0",
        "ed": "1840",
        "rt": [
            {
                "ws": [
                    {"cw": [{"w": w, "wp": p, "wc": "1.0000"}], "wb": b, "we": e}
                    for w, p, b, e in words
                ]
            }
        ],
    }
    order_result = {
        "lattice": [{"json_1best": json.dumps({"st": st}, ensure_ascii=False)}],
        "lattice2": [
            {"lid": "0", "end": "1840", "begin": "50", "json_1best": {"st": st}, "spk": "段落-0"}
        ],
    }
    return {
        "orderInfo": {
            "orderId": "DKHJQ2022090510220905100562536FEF00062",
            "failType": 0,
            "status": 4,
            "originalDuration": 200,
            "realDuration": 1878,
        },
        "orderResult": json.dumps(order_result, ensure_ascii=False),
        "taskEstimateTime": 0,
    }


def test_parses_the_documented_result() -> None:
    segments, duration = parse_result(_doc_example())

    (segment,) = segments
    assert (segment.speaker_label, segment.start, segment.end, segment.text) == (
        "",
        0.05,
        1.84,
        "这是一条测试音频。",
    )
    assert segment.words[0] == Word("这", 0.06, 0.21)
    assert segment.words[-1] == Word("音频", 1.22, 1.77)
    assert [w.text for w in segment.words] == ["这", "是", "一", "条", "测试", "音频"]
    assert duration == 1.878  # realDuration; originalDuration echoes what we sent


def test_roles_become_speaker_labels_in_order_of_appearance() -> None:
    def sentence(role: str, begin: int) -> dict[str, Any]:
        return {
            "json_1best": json.dumps(
                {
                    "st": {
                        "bg": str(begin),
                        "ed": str(begin + 500),
                        "rl": role,
                        "rt": [{"ws": [{"cw": [{"w": "好", "wp": "n"}], "wb": 1, "we": 20}]}],
                    }
                }
            )
        }

    content = {
        "orderResult": json.dumps(
            {"lattice": [sentence("3", 0), sentence("1", 600), sentence("3", 1200)]}
        )
    }
    segments, _ = parse_result(content)

    assert [s.speaker_label for s in segments] == ["SPEAKER_1", "SPEAKER_2", "SPEAKER_1"]


def test_latin_words_are_spaced_and_punctuation_attached() -> None:
    tokens = [
        ("Hello", "n"),
        (",", "p"),
        ("world", "n"),
        ("!", "p"),
        ("我们", "n"),
        ("用", "n"),
        ("Python", "n"),
        ("3", "n"),
        ("。", "p"),
    ]
    st = {
        "bg": "0",
        "ed": "3000",
        "rl": "0",
        "rt": [
            {
                "ws": [
                    {
                        "cw": [{"w": w, "wp": p}],
                        "wb": i * 10 if p == "n" else 0,
                        "we": i * 10 + 5 if p == "n" else 0,
                    }
                    for i, (w, p) in enumerate(tokens)
                ]
            }
        ],
    }
    content = {"orderResult": json.dumps({"lattice": [{"json_1best": json.dumps({"st": st})}]})}

    (segment,) = parse_result(content)[0]
    assert segment.text == "Hello, world!我们用 Python 3。"
    assert [w.text for w in segment.words] == ["Hello", "world", "我们", "用", "Python", "3"]


@pytest.mark.parametrize(
    "content",
    [
        {"orderResult": "{not json"},
        {"orderResult": json.dumps({"lattice": [{"json_1best": '{"st": '}]})},
        {"orderResult": json.dumps({"lattice": [{"json_1best": json.dumps({"st": {"bg": "x"}})}]})},
    ],
)
def test_a_garbled_result_is_transient(content: dict[str, Any]) -> None:
    with pytest.raises(Transient):
        parse_result(content)


def test_an_empty_order_result_has_no_segments() -> None:
    assert parse_result({"orderInfo": {"realDuration": 0}, "orderResult": ""}) == ([], None)


def test_hotwords_keep_2_to_16_characters_and_at_most_200() -> None:
    words = [
        Hotword("火山引擎"),
        Hotword("a"),
        Hotword("x" * 17),
        Hotword("a|b"),
        Hotword(" Kubernetes "),
        Hotword("火山引擎"),
    ]
    assert hotword_param(words) == "火山引擎|Kubernetes"
    many = [Hotword(f"词{i:03d}") for i in range(250)]
    assert len(hotword_param(many).split("|")) == 200


def test_upload_params() -> None:
    params = upload_params(
        file_name="meeting.flac",
        file_size=1234,
        duration_ms=11000,
        language="en",
        diarization=True,
        speaker_count=SpeakerCount(3, 3),
        hotwords=[Hotword("会议纪要")],
    )
    assert params == {
        "fileName": "meeting.flac",
        "fileSize": "1234",
        "duration": "11000",
        "language": "en",
        "roleType": "1",
        "roleNum": "3",
        "hotWord": "会议纪要",
    }
    loose = upload_params(
        file_name="m.wav",
        file_size=1,
        duration_ms=1,
        language="cn",
        diarization=True,
        speaker_count=SpeakerCount(2, 4),
        hotwords=(),
    )
    assert loose["roleNum"] == "0"
    plain = upload_params(
        file_name="m.wav",
        file_size=1,
        duration_ms=1,
        language="cn",
        diarization=False,
        speaker_count=None,
        hotwords=(),
    )
    assert "roleType" not in plain and "hotWord" not in plain


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("", "cn"),
        ("zh", "cn"),
        ("zh-CN", "cn"),
        ("zh-Hans-CN", "cn"),
        ("zh-HK", "cn_cantonese"),
        ("yue", "cn_cantonese"),
        ("en-US", "en"),
        ("ja", "ja"),
        ("de-DE", "de"),
    ],
)
def test_languages(code: str, expected: str) -> None:
    assert vendor_language(code) == expected


def test_an_unlisted_language_lets_the_pipeline_fail_over() -> None:
    with pytest.raises(Unavailable) as caught:
        vendor_language("sw")
    assert caught.value.reason == "LANGUAGE_UNSUPPORTED"


@pytest.mark.parametrize(
    ("code", "error", "detail"),
    [
        ("26601", KeyRejected, None),
        ("26603", QuotaExceeded, "minute"),
        ("26625", QuotaExceeded, "day"),
        ("26633", QuotaExceeded, "day"),
        ("26606", CallerError, "AUDIO_EMPTY"),
        ("26623", CallerError, "AUDIO_UNDECODABLE"),
        ("26632", CallerError, "AUDIO_TOO_LONG"),
        ("26607", CallerError, "LANGUAGE_UNSUPPORTED"),
        ("26602", OrderGone, None),
        ("26604", OrderGone, None),
        ("26600", Transient, None),
        ("26689", Transient, None),
        ("99999", Transient, None),
    ],
)
def test_codes(code: str, error: type[Exception], detail: str | None) -> None:
    with pytest.raises(error) as caught:
        check_code({"code": code, "descInfo": "x"}, operation="op")
    if isinstance(caught.value, QuotaExceeded):
        assert caught.value.scope == detail
    if isinstance(caught.value, CallerError):
        assert caught.value.reason == detail


def test_success_and_still_processing() -> None:
    assert check_code({"code": "000000"}, operation="op") is True
    assert check_code({"code": "26605"}, operation="op") is False
    with pytest.raises(Transient):
        check_code("<html>", operation="op")


@pytest.mark.parametrize(
    ("status", "fail_type", "outcome"),
    [
        (0, 0, OrderState.PENDING),
        (3, 0, OrderState.PENDING),
        (4, 0, OrderState.DONE),
        (-1, 6, OrderState.SILENT),
        (-1, 2, "AUDIO_UNDECODABLE"),
        (-1, 3, "AUDIO_UNDECODABLE"),
        (-1, 4, "AUDIO_TOO_LONG"),
        (-1, 5, "PROVIDER_REJECTED_REQUEST"),
        (-1, 11, "PROVIDER_REJECTED_REQUEST"),
        (-1, 1, OrderGone),
        (-1, 99, OrderGone),
    ],
)
def test_order_states(status: int, fail_type: int, outcome: object) -> None:
    content = {"orderInfo": {"status": status, "failType": fail_type}, "taskEstimateTime": 28000}
    if isinstance(outcome, OrderState):
        assert order_state(content, operation="op")[0] is outcome
    elif isinstance(outcome, str):
        with pytest.raises(CallerError) as caught:
            order_state(content, operation="op")
        assert caught.value.reason == outcome
    else:
        with pytest.raises(OrderGone):
            order_state(content, operation="op")
    if status in (0, 3):
        assert order_state(content, operation="op")[1] == 28.0
