"""`OpenAiCompatibleLlm` against the fake chat-completions server (vLLM and Ollama
flavours), over real HTTP, and plugged into `LlmMinutesGenerator`."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from meeting_agent.adapters.providers.calls import KeyPool, RetryPolicy
from meeting_agent.adapters.providers.openai_compat import LlmOutputError, OpenAiCompatibleLlm
from meeting_agent.errors import Unavailable
from meeting_agent.minutes.llm import LlmMinutesGenerator
from meeting_agent.minutes.schema import MINUTES_SCHEMA
from meeting_agent.minutes.validation import validate
from meeting_agent.ports import MinutesRequest
from meeting_agent.service.builtin_templates import BUILTIN_TEMPLATES
from tests.harness.vendors.openai_compat import FakeOpenAiCompatible
from tests.integration.cloud_support import (
    POLICY,
    ZH_MINUTES,
    Sleeps,
    chain_texts,
    cjk_token_floor,
    zh_minutes_request,
)
from tests.unit.meeting_fixtures import (
    EN_NAMES,
    EN_ROWS,
    MEETING_DATE,
    ZH_NAMES,
    transcript,
)

KEY1 = "sk-vllm-fake-key-one-000000000000"
KEY2 = "sk-vllm-fake-key-two-111111111111"
MODEL = "qwen2.5:14b"
MINUTES = {
    "summary": "The team kept the launch date and chose Stripe.",
    "decisions": [{"text": "Go with Stripe.", "source_offset_seconds": 116.0}],
    "action_items": [
        {
            "owner": "Carol Davis",
            "text": "Update the release notes.",
            "due_date": "2026-03-10",
            "due_text": "by next Tuesday",
            "source_offset_seconds": 60.0,
        }
    ],
    "topics": [
        {
            "title": "Payments",
            "summary": "Stripe over Adyen.",
            "start_seconds": 76.0,
            "end_seconds": 138.0,
        }
    ],
}


@pytest.fixture
def vllm() -> Iterator[FakeOpenAiCompatible]:
    with FakeOpenAiCompatible(keys=[KEY1, KEY2], flavor="vllm") as vendor:
        yield vendor


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def llm(
    fake: FakeOpenAiCompatible,
    http: httpx.Client,
    *,
    keys: tuple[str, ...] = (KEY1,),
    sleeps: Sleeps | None = None,
    **kwargs: Any,
) -> OpenAiCompatibleLlm:
    return OpenAiCompatibleLlm(
        base_url=fake.base_url,
        model=MODEL,
        pool=KeyPool("vllm", keys),
        max_input_tokens=kwargs.pop("max_input_tokens", 32_000),
        policy=kwargs.pop("policy", POLICY),
        http=http,
        name="vllm",
        sleep=sleeps or Sleeps(),
        **kwargs,
    )


def ask(adapter: OpenAiCompatibleLlm) -> tuple[dict[str, Any], Any]:
    return adapter.complete_json(
        system="You write minutes.", prompt="Transcript: hello", schema=MINUTES_SCHEMA
    )


def test_answers_json_with_usage_and_the_documented_request(
    vllm: FakeOpenAiCompatible, http: httpx.Client
) -> None:
    vllm.answers = [MINUTES]

    answer, usage = ask(llm(vllm, http, max_tokens=2048, temperature=0.1))

    assert answer == MINUTES
    [completion] = vllm.completions
    assert (usage.input_tokens, usage.output_tokens) == (
        completion.prompt_tokens,
        completion.completion_tokens,
    )
    assert usage.input_tokens == 5 + 5  # "You write minutes." (18), "Transcript: hello" (17)
    assert vllm.calls("POST")[0].headers["authorization"] == f"Bearer {KEY1}"
    body = completion.body
    assert body["model"] == MODEL
    assert body["messages"] == [
        {"role": "system", "content": "You write minutes."},
        {"role": "user", "content": "Transcript: hello"},
    ]
    assert body["max_tokens"] == 2048 and "max_completion_tokens" not in body
    assert body["temperature"] == 0.1 and body["stream"] is False
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "minutes", "strict": True, "schema": MINUTES_SCHEMA},
    }


def test_ollama_without_keys_gets_no_authorization_header(http: httpx.Client) -> None:
    with FakeOpenAiCompatible(flavor="ollama") as ollama:
        adapter = OpenAiCompatibleLlm(
            base_url=ollama.base_url + "/",
            model=MODEL,
            pool=KeyPool("ollama", [""]),
            max_input_tokens=8000,
            policy=POLICY,
            http=http,
            name="ollama",
        )

        answer, usage = ask(adapter)

        assert set(answer) == set(MINUTES)
        assert "authorization" not in ollama.calls()[0].headers
        assert usage.output_tokens == ollama.completions[0].completion_tokens > 0


def test_a_base_url_without_v1_takes_a_chat_path(http: httpx.Client) -> None:
    """Volcano Ark serves `/api/v3/chat/completions`: the path is configurable."""
    with FakeOpenAiCompatible() as fake:
        adapter = OpenAiCompatibleLlm(
            base_url=fake.base_url + "/v1",
            model=MODEL,
            pool=KeyPool("ark", ["k"]),
            max_input_tokens=8000,
            policy=POLICY,
            http=http,
            chat_path="chat/completions",
        )
        ask(adapter)

        assert fake.calls()[0].path == "/v1/chat/completions"


def test_a_rejected_key_rotates_and_no_key_is_ever_revealed(
    vllm: FakeOpenAiCompatible, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    bad = "sk-revoked-key-XXXXXXXXXXXXXXXX"
    # A proxy that echoes the key it was given, as OpenAI's own 401 message does.
    vllm.fail(
        401,
        {
            "error": {
                "message": f"Incorrect API key provided: {bad}",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
        },
    )
    caplog.set_level(logging.DEBUG)

    ask(llm(vllm, http, keys=(bad, KEY2)))
    with pytest.raises(Unavailable) as caught:
        ask(llm(vllm, http, keys=(bad,)))

    assert [r.key for r in vllm.calls()] == [bad, KEY2, bad]
    assert caught.value.reason == "PROVIDER_KEY_REJECTED"
    assert caught.value.metadata["http_status"] in ("400", "401", "403")
    texts = [caplog.text, *chain_texts(caught.value)]
    assert not [t for t in texts if bad in t or KEY2 in t]


def test_rate_limits_wait_for_retry_after(vllm: FakeOpenAiCompatible, http: httpx.Client) -> None:
    vllm.rate_limit(retry_after=0.3)
    sleeps = Sleeps()

    ask(llm(vllm, http, sleeps=sleeps))

    assert len(vllm.calls()) == 2
    assert sum(sleeps.waits) == pytest.approx(0.3, abs=0.05)


def test_spent_credit_rotates_to_the_next_key(
    vllm: FakeOpenAiCompatible, http: httpx.Client
) -> None:
    vllm.rate_limit(retry_after=1, key=KEY1, times=None, code="insufficient_quota")
    sleeps = Sleeps()

    ask(llm(vllm, http, keys=(KEY1, KEY2), sleeps=sleeps))
    ask(llm(vllm, http, keys=(KEY1, KEY2), sleeps=sleeps))

    assert [r.key for r in vllm.calls()] == [KEY1, KEY2, KEY1, KEY2]
    assert sleeps.waits == [0.0, 0.0]


def test_every_key_rate_limited_for_long_is_unavailable(
    vllm: FakeOpenAiCompatible, http: httpx.Client
) -> None:
    vllm.rate_limit(retry_after=900, times=None)
    started = time.monotonic()

    with pytest.raises(Unavailable) as caught:
        ask(llm(vllm, http, keys=(KEY1, KEY2)))

    assert caught.value.reason == "PROVIDER_QUOTA_EXHAUSTED"
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("error_style", ["nested", "flat"])
def test_server_errors_in_either_shape_back_off_then_succeed(
    http: httpx.Client, error_style: Any
) -> None:
    with FakeOpenAiCompatible(error_style=error_style) as fake:
        fake.server_error(status=500)
        fake.server_error(status=503)

        answer, _ = ask(llm(fake, http))

        assert set(answer) == set(MINUTES)
        assert len(fake.calls()) == 3


@pytest.mark.parametrize("error_style", ["nested", "flat"])
def test_an_unknown_model_fails_over_without_retrying(http: httpx.Client, error_style: Any) -> None:
    with FakeOpenAiCompatible(models=["llama3"], error_style=error_style) as fake:
        with pytest.raises(Unavailable) as caught:
            ask(llm(fake, http))

        assert caught.value.reason == "PROVIDER_REJECTED_REQUEST"
        assert "does not exist" in caught.value.message
        assert len(fake.calls()) == 1


def test_a_silent_server_times_out_within_the_bound(
    vllm: FakeOpenAiCompatible, http: httpx.Client
) -> None:
    vllm.delay(5, times=None)
    policy = RetryPolicy(
        max_attempts=2, initial_backoff_seconds=0.01, max_backoff_seconds=0.02, max_total_seconds=10
    )
    started = time.monotonic()

    with pytest.raises(Unavailable) as caught:
        ask(llm(vllm, http, policy=policy, timeout_seconds=0.3))

    assert caught.value.reason == "PROVIDER_UNAVAILABLE"
    assert time.monotonic() - started < 3


def test_a_malformed_body_is_retried(vllm: FakeOpenAiCompatible, http: httpx.Client) -> None:
    vllm.malformed()

    answer, _ = ask(llm(vllm, http))

    assert set(answer) == set(MINUTES)
    assert len(vllm.calls()) == 2


def test_an_answer_cut_at_max_tokens_is_bad_output_not_retried_here(
    vllm: FakeOpenAiCompatible, http: httpx.Client
) -> None:
    vllm.truncate()

    with pytest.raises(LlmOutputError) as caught:
        ask(llm(vllm, http))

    assert isinstance(caught.value, ValueError)
    assert caught.value.usage.output_tokens == vllm.completions[0].completion_tokens
    assert len(vllm.calls()) == 1


def test_fenced_json_is_accepted(vllm: FakeOpenAiCompatible, http: httpx.Client) -> None:
    vllm.answers = [
        '<think>hmm</think>\n```json\n{"summary": "ok", "decisions": [], '
        '"action_items": [], "topics": []}\n```'
    ]

    answer, _ = ask(llm(vllm, http))

    assert answer == {"summary": "ok", "decisions": [], "action_items": [], "topics": []}


def test_writes_minutes_through_the_generator_after_a_cut_answer(
    vllm: FakeOpenAiCompatible, http: httpx.Client
) -> None:
    vllm.answers = [MINUTES, MINUTES]
    vllm.truncate()  # the first answer is cut: the generator asks again
    generator = LlmMinutesGenerator(llm(vllm, http))

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
    assert (result.provider, result.model) == ("vllm", MODEL)
    assert len(vllm.completions) == 2
    good = vllm.completions[1]
    assert "rejected" in good.body["messages"][-1]["content"]
    assert (result.usage.input_tokens, result.usage.output_tokens) == (
        good.prompt_tokens,
        good.completion_tokens,
    )


def test_chinese_minutes_with_the_zh_standard_template(
    vllm: FakeOpenAiCompatible, http: httpx.Client
) -> None:
    vllm.answers = [ZH_MINUTES]
    generator = LlmMinutesGenerator(llm(vllm, http))

    result = generator.generate(zh_minutes_request())

    assert result.minutes == ZH_MINUTES
    assert validate(result.minutes, MINUTES_SCHEMA) == []
    (sent,) = vllm.completions
    prompt = "\n".join(m["content"] for m in sent.body["messages"])
    assert "数据库迁移目前完成了百分之七十" in prompt and "王芳" in prompt
    assert sent.body["response_format"]["json_schema"]["schema"] == MINUTES_SCHEMA


def test_a_long_chinese_meeting_is_split_to_fit_and_nothing_is_left_out(
    vllm: FakeOpenAiCompatible, http: httpx.Client
) -> None:
    rows = [
        (
            i * 6.0,
            i * 6.0 + 5.5,
            f"SPEAKER_{i % 3 + 1}",
            f"第{i}段：我们讨论了数据库迁移和监控看板的进度，还有客户培训材料的更新计划。",
        )
        for i in range(600)
    ]
    budget = 4_000
    generator = LlmMinutesGenerator(llm(vllm, http, max_input_tokens=budget))

    result = generator.generate(
        MinutesRequest(
            transcript=transcript(rows, "zh"),
            speaker_names=ZH_NAMES,
            template=BUILTIN_TEMPLATES["zh-standard"],
            language_code="zh",
            meeting_date=MEETING_DATE,
        )
    )

    assert validate(result.minutes, MINUTES_SCHEMA) == []
    prompts = ["\n".join(m["content"] for m in c.body["messages"]) for c in vllm.completions]
    assert len(prompts) > 3  # mapped in parts, then reduced
    # A Chinese character costs a token or more: every prompt fits on that count.
    assert max(cjk_token_floor(p) for p in prompts) <= budget
    said = "\n".join(prompts)
    assert all(f"第{i}段" in said for i in range(600))
