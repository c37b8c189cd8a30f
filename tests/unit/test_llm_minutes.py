"""LLM minutes: prompts from templates, map-reduce over long transcripts, validation, usage."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from meeting_agent.errors import FailedPrecondition, Unavailable
from meeting_agent.minutes.llm import SUMMARY_SCHEMA, LlmMinutesGenerator
from meeting_agent.minutes.schema import MINUTES_SCHEMA
from meeting_agent.ports import LlmUsage, MinutesRequest
from meeting_agent.service.builtin_templates import BUILTIN_TEMPLATES
from meeting_agent.text import estimate_tokens
from tests.unit.meeting_fixtures import (
    EN_NAMES,
    EN_ROWS,
    MEETING_DATE,
    ZH_NAMES,
    ZH_ROWS,
    transcript,
)

DEFAULT = BUILTIN_TEMPLATES["default"]
ZH_TEMPLATE = BUILTIN_TEMPLATES["zh-standard"]
MARK = re.compile(r"seg-(\d{4})")


@dataclass
class Call:
    system: str
    prompt: str
    schema: dict[str, Any]


Answer = Callable[[Call, int], dict[str, Any]]


def partial_minutes(call: Call, k: int) -> dict[str, Any]:
    """Minutes of whatever segments a prompt holds, with a decision every chunk repeats."""
    seen = [int(m) for m in MARK.findall(call.prompt)]
    first = seen[0] if seen else 0
    return {
        "summary": f"Part with segments {first}..{seen[-1] if seen else 0}.",
        "decisions": [
            {"text": "We agreed to use Stripe.", "source_offset_seconds": 1.0},
            {"text": f"Decision of call {k}.", "source_offset_seconds": float(first)},
        ],
        "action_items": [
            {
                "owner": "Bob",
                "text": "Bob will draft the integration plan.",
                "due_date": "",
                "due_text": "",
                "source_offset_seconds": None,
            },
            {
                "owner": "",
                "text": "bob will draft the integration plan",
                "due_date": "2026-03-06",
                "due_text": "by Friday",
                "source_offset_seconds": 12.0,
            },
        ],
        "topics": [
            {
                "title": "Payments",
                "summary": f"Payments {k}.",
                "start_seconds": float(first),
                "end_seconds": float(first) + 5,
            }
        ],
    }


def answer(call: Call, k: int) -> dict[str, Any]:
    if call.schema is SUMMARY_SCHEMA or "decisions" not in call.schema["properties"]:
        return {"summary": f"Whole meeting summary from call {k}."}
    return partial_minutes(call, k)


@dataclass
class FakeLlm:
    """An `LlmProvider` that records every call and answers through `answer`."""

    max_input_tokens: int = 100_000
    answer: Answer = answer
    usage: LlmUsage = field(default_factory=lambda: LlmUsage(input_tokens=100, output_tokens=10))
    calls: list[Call] = field(default_factory=list)
    name: str = "fake-llm"
    model: str = "fake-1"

    def complete_json(
        self, *, system: str, prompt: str, schema: dict[str, Any]
    ) -> tuple[dict[str, Any], LlmUsage]:
        call = Call(system, prompt, schema)
        self.calls.append(call)
        return self.answer(call, len(self.calls)), self.usage

    def fits(self, call: Call) -> bool:
        size = (
            estimate_tokens(call.system)
            + estimate_tokens(call.prompt)
            + estimate_tokens(json.dumps(call.schema, ensure_ascii=False))
        )
        return size <= self.max_input_tokens


def request(rows, names=None, template=DEFAULT, language="en") -> MinutesRequest:
    return MinutesRequest(
        transcript=transcript(rows, language),
        speaker_names=names or {},
        template=template,
        language_code=language,
        meeting_date=MEETING_DATE,
    )


def numbered_rows(n: int, words: int = 12) -> list[tuple[float, float, str, str]]:
    filler = " ".join(["about the quarterly roadmap"] * (words // 4))
    return [
        (i * 5.0, i * 5.0 + 4.5, f"SPEAKER_{i % 3}", f"Segment seg-{i:04d} {filler}.")
        for i in range(n)
    ]


def map_calls(llm: FakeLlm) -> list[Call]:
    return [c for c in llm.calls if c.schema is MINUTES_SCHEMA]


# ---------------------------------------------------------------- one call


def test_a_short_transcript_is_one_call_with_the_rendered_template():
    llm = FakeLlm()
    result = LlmMinutesGenerator(llm).generate(request(EN_ROWS, EN_NAMES))
    assert len(llm.calls) == 1
    call = llm.calls[0]
    assert call.schema is MINUTES_SCHEMA
    assert call.system == DEFAULT.system_prompt
    assert "Meeting date: 2026-03-04" in call.prompt
    assert "Participants: Alice Chen, Bob Martinez, Carol Davis" in call.prompt
    assert "[00:00:17] Bob Martinez: Right, the Android login crash" in call.prompt
    assert "[00:03:20] Alice Chen: Everyone, please send me" in call.prompt
    assert result.minutes == partial_minutes(call, 1)
    assert (result.provider, result.model, result.extractive) == ("fake-llm", "fake-1", False)
    assert result.usage == LlmUsage(100, 10)
    assert LlmMinutesGenerator(llm).name == "fake-llm"


def test_chinese_template_gets_chinese_variables():
    llm = FakeLlm()
    LlmMinutesGenerator(llm).generate(request(ZH_ROWS, ZH_NAMES, ZH_TEMPLATE, "zh"))
    prompt = llm.calls[0].prompt
    assert "参会人：王芳、李强、张伟" in prompt
    assert "[00:01:20] 王芳：张伟，你周五前把支付模块的测试报告发给大家。" in prompt


def test_custom_templates_see_every_variable():
    template = replace(
        DEFAULT,
        system_prompt="Language {{ language }}.",
        body=(
            "{{ date }}|{{ speakers | join('/') }}|{% for s in transcript %}"
            "{{ s.speaker }}@{{ s.start }}-{{ s.end }}={{ s.start_text }}:{{ s.text }};{% endfor %}"
        ),
    )
    llm = FakeLlm()
    rows = [(3661.0, 3662.5, "A", "Hi."), (3662.5, 3663.0, "B", "Hello.")]
    LlmMinutesGenerator(llm).generate(request(rows, {"A": "Ann"}, template))
    assert llm.calls[0].system == "Language en."
    assert llm.calls[0].prompt == (
        "2026-03-04|Ann/B|Ann@3661.0-3662.5=01:01:01:Hi.;B@3662.5-3663.0=01:01:02:Hello.;"
    )


def test_an_empty_transcript_costs_nothing():
    llm = FakeLlm()
    result = LlmMinutesGenerator(llm).generate(request([]))
    assert llm.calls == []
    assert result.minutes == {"summary": "", "decisions": [], "action_items": [], "topics": []}
    assert result.usage == LlmUsage(0, 0)


# ---------------------------------------------------------------- map-reduce


def test_a_long_transcript_is_mapped_in_chunks_and_reduced():
    llm = FakeLlm(max_input_tokens=1500)
    rows = numbered_rows(200)
    result = LlmMinutesGenerator(llm).generate(request(rows, {"SPEAKER_0": "Ann"}))
    maps = map_calls(llm)
    assert len(maps) >= 5
    assert len(llm.calls) == len(maps) + 1  # one reduce call, after the maps
    assert llm.calls[-1].schema is SUMMARY_SCHEMA
    # Every segment is in exactly one map prompt, whole, and in meeting order.
    seen = [int(m) for call in maps for m in MARK.findall(call.prompt)]
    assert seen == list(range(200))
    for call in maps:
        for i in {int(m) for m in MARK.findall(call.prompt)}:
            assert rows[i][3] in call.prompt
    assert all(llm.fits(call) for call in llm.calls)
    assert "This is part 1 of" in maps[0].prompt
    # The reduce call sees every partial summary.
    assert all(
        f"Part with segments {int(MARK.findall(c.prompt)[0])}.." in llm.calls[-1].prompt
        for c in maps
    )
    minutes = result.minutes
    assert minutes["summary"] == f"Whole meeting summary from call {len(llm.calls)}."
    # Repeated items are merged; what each chunk adds is kept.
    texts = [d["text"] for d in minutes["decisions"]]
    assert texts.count("We agreed to use Stripe.") == 1
    assert len(texts) == 1 + len(maps)
    assert minutes["action_items"] == [
        {
            "owner": "Bob",
            "text": "Bob will draft the integration plan.",
            "due_date": "2026-03-06",
            "due_text": "by Friday",
            "source_offset_seconds": 12.0,
        }
    ]
    assert len(minutes["topics"]) == 1  # "Payments" continues across chunks
    assert result.usage == LlmUsage(100 * len(llm.calls), 10 * len(llm.calls))


def test_partial_summaries_too_long_for_one_call_are_reduced_in_rounds():
    def verbose(call: Call, k: int) -> dict[str, Any]:
        if call.schema is SUMMARY_SCHEMA:
            return {"summary": f"Summary of summaries, call {k}."}
        return {**partial_minutes(call, k), "summary": "Long partial summary. " * 40}

    llm = FakeLlm(max_input_tokens=1500, answer=verbose)
    result = LlmMinutesGenerator(llm).generate(request(numbered_rows(200)))
    reduces = [c for c in llm.calls if c.schema is SUMMARY_SCHEMA]
    assert len(reduces) >= 3  # batches, then the final round
    assert all(llm.fits(call) for call in llm.calls)
    assert result.minutes["summary"] == f"Summary of summaries, call {len(llm.calls)}."
    assert "Part 1-" in reduces[-1].prompt  # the last round works on batch summaries


def test_a_segment_longer_than_a_prompt_is_split_not_truncated():
    llm = FakeLlm(max_input_tokens=1200)
    words = [f"w{i:04d}" for i in range(1500)]
    long_text = " ".join(f"{w}." for w in words)
    rows = [(0.0, 600.0, "A", long_text), (600.0, 605.0, "B", "Segment seg-0001 ends it.")]
    LlmMinutesGenerator(llm).generate(request(rows))
    maps = map_calls(llm)
    assert len(maps) > 3
    found = [w for call in maps for w in re.findall(r"w\d{4}", call.prompt)]
    assert found == words
    assert all(llm.fits(call) for call in llm.calls)


def test_chinese_chunks_are_sized_by_characters():
    llm = FakeLlm(max_input_tokens=1000)
    said = "数据库迁移的进展需要大家一起跟进和确认。"
    rows = [(i * 6.0, i * 6.0 + 5.0, "S1", f"第seg-{i:04d}段：{said}") for i in range(120)]
    LlmMinutesGenerator(llm).generate(request(rows, {"S1": "王芳"}, ZH_TEMPLATE, "zh"))
    maps = map_calls(llm)
    assert len(maps) > 1
    assert [int(m) for c in maps for m in MARK.findall(c.prompt)] == list(range(120))
    assert "以上是会议记录的第1/" in maps[0].prompt
    assert all(llm.fits(call) for call in llm.calls)


# ---------------------------------------------------------------- validation and retries


def test_invalid_output_is_retried_once_then_fails_with_llm_bad_output():
    llm = FakeLlm(answer=lambda call, k: {"summary": 42})
    with pytest.raises(Unavailable) as failure:
        LlmMinutesGenerator(llm).generate(request(EN_ROWS, EN_NAMES))
    assert failure.value.reason == "LLM_BAD_OUTPUT"
    assert failure.value.metadata == {"provider": "fake-llm", "model": "fake-1"}
    assert len(llm.calls) == 2
    assert "previous answer was rejected" in llm.calls[1].prompt
    assert "$: missing required property 'decisions'" in llm.calls[1].prompt


def test_one_invalid_answer_is_forgiven_and_paid_for():
    def flaky(call: Call, k: int) -> dict[str, Any]:
        if k == 1:
            return {**partial_minutes(call, k), "extra": True}
        return partial_minutes(call, k)

    llm = FakeLlm(answer=flaky)
    result = LlmMinutesGenerator(llm).generate(request(EN_ROWS, EN_NAMES))
    assert len(llm.calls) == 2
    assert result.usage == LlmUsage(200, 20)
    assert "extra" not in result.minutes


def test_unparsable_json_from_the_adapter_is_retried():
    def broken_then_fine(call: Call, k: int) -> dict[str, Any]:
        if k == 1:
            raise json.JSONDecodeError("Expecting value", "<html>", 0)
        return partial_minutes(call, k)

    llm = FakeLlm(answer=broken_then_fine)
    result = LlmMinutesGenerator(llm).generate(request(EN_ROWS, EN_NAMES))
    assert len(llm.calls) == 2 and result.usage == LlmUsage(100, 10)


def test_provider_outages_are_not_retried_here():
    def down(call: Call, k: int) -> dict[str, Any]:
        raise Unavailable("connection refused", reason="LLM_UNAVAILABLE")

    llm = FakeLlm(answer=down)
    with pytest.raises(Unavailable) as failure:
        LlmMinutesGenerator(llm).generate(request(EN_ROWS, EN_NAMES))
    assert failure.value.reason == "LLM_UNAVAILABLE" and len(llm.calls) == 1


# ---------------------------------------------------------------- the sandbox


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ transcript.__class__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{% for s in transcript %}{{ s.update({'text': 'x'}) }}{% endfor %}",
        "{{ speakers.append('mallory') }}",
        "{{ undefined_variable }}",
    ],
)
def test_the_template_sandbox_blocks_escapes(body):
    llm = FakeLlm()
    template = replace(DEFAULT, body=body)
    with pytest.raises(FailedPrecondition) as failure:
        LlmMinutesGenerator(llm).generate(request(EN_ROWS, EN_NAMES, template))
    assert failure.value.reason == "TEMPLATE_RENDER_FAILED"
    assert llm.calls == []


def test_a_template_that_fills_the_context_is_refused():
    llm = FakeLlm(max_input_tokens=800)
    template = replace(DEFAULT, system_prompt="Be brief. " * 400)
    with pytest.raises(FailedPrecondition) as failure:
        LlmMinutesGenerator(llm).generate(request(EN_ROWS, EN_NAMES, template))
    assert failure.value.reason == "PROMPT_TOO_LONG"
    assert llm.calls == []
