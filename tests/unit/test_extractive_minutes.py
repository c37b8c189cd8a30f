"""The extractive minutes generator on realistic English, Chinese and mixed meetings."""

from __future__ import annotations

import itertools
import json
import random
import time
from datetime import UTC, date, datetime
from typing import Any

import pytest

from meeting_agent.domain.models import PromptTemplate
from meeting_agent.minutes.cues import NameBook, is_decision
from meeting_agent.minutes.extractive import ExtractiveMinutesGenerator, extract_minutes
from meeting_agent.minutes.schema import MINUTES_SCHEMA
from meeting_agent.minutes.validation import validate
from meeting_agent.ports import LlmUsage, MinutesRequest
from meeting_agent.text import estimate_tokens, split_sentences
from meeting_agent.text.dates import find_due
from tests.unit.meeting_fixtures import (
    EN_NAMES,
    EN_ROWS,
    MEETING_DATE,
    ZH_NAMES,
    ZH_ROWS,
    chinese_meeting,
    english_meeting,
    transcript,
)

_NOW = datetime(2026, 3, 4, tzinfo=UTC)
_TEMPLATE = PromptTemplate("default", None, "Standard", "", "", "", "", "", _NOW, _NOW)


def request(rows, names, language="en") -> MinutesRequest:
    return MinutesRequest(
        transcript=transcript(rows, language),
        speaker_names=names,
        template=_TEMPLATE,
        language_code=language,
        meeting_date=MEETING_DATE,
    )


def generate(rows, names, language="en") -> dict[str, Any]:
    result = ExtractiveMinutesGenerator().generate(request(rows, names, language))
    assert validate(result.minutes, MINUTES_SCHEMA) == []
    return result.minutes


def actions(minutes: dict[str, Any]) -> list[tuple[str, str, str, float]]:
    return [
        (a["owner"], a["due_date"], a["due_text"], a["source_offset_seconds"])
        for a in minutes["action_items"]
    ]


def said(minutes_text: str, rows) -> bool:
    """Whether a sentence of the minutes was said, hesitations and case aside."""
    spoken = " ".join(r[3] for r in rows).lower()
    return minutes_text.rstrip(".。").lower() in spoken


# ---------------------------------------------------------------- English


def test_result_is_extractive_and_free():
    result = ExtractiveMinutesGenerator().generate(request(EN_ROWS, EN_NAMES))
    assert (result.provider, result.model, result.extractive) == (
        "extractive",
        "extractive-v1",
        True,
    )
    assert result.usage == LlmUsage(0, 0)
    assert ExtractiveMinutesGenerator().name == "extractive"


def test_english_decisions_are_found_with_their_offsets():
    minutes = generate(EN_ROWS, EN_NAMES)
    assert [(d["text"], d["source_offset_seconds"]) for d in minutes["decisions"]] == [
        (
            "We decided to keep the mobile launch date on March 20 and move dark mode to the "
            "next release.",
            40.0,
        ),
        ("Let's go with Stripe for the payment integration, unless legal raises a concern.", 116.0),
        ("We agreed that every new engineer gets an onboarding buddy for the first month.", 190.0),
    ]


def test_english_action_items_have_owners_and_due_dates():
    minutes = generate(EN_ROWS, EN_NAMES)
    assert actions(minutes) == [
        ("Bob Martinez", "2026-03-06", "by Friday", 17.0),  # "I'll fix …"
        ("Carol Davis", "2026-03-10", "by next Tuesday", 60.0),  # "Carol, can you …"
        ("Bob Martinez", "2026-03-06", "by end of the week", 126.0),  # "Action item for me"
        ("Bob Martinez", "2026-03-16", "on the 16th", 160.0),  # "Bob, could you …"
        ("Carol Davis", "", "", 178.0),  # "I will also prepare …"
        ("Everyone", "2026-03-05", "by tomorrow", 200.0),  # "Everyone, please …"
    ]
    # "Sure, I'll have them ready by then." accepts Carol's request; it is no new item.
    assert not any("ready by then" in a["text"] for a in minutes["action_items"])


def test_english_summary_is_a_few_sentences_that_were_said():
    minutes = generate(EN_ROWS, EN_NAMES)
    sentences = split_sentences(minutes["summary"])
    assert 2 <= len(sentences) <= 6
    assert len(minutes["summary"]) <= 900
    assert all(said(s, EN_ROWS) for s in sentences)
    # One sentence per part of the meeting: the launch, the payments, the onboarding.
    assert any("Stripe" in s for s in sentences)


def test_english_topics_cover_the_meeting_in_order():
    topics = generate(EN_ROWS, EN_NAMES)["topics"]
    assert len(topics) == 3
    assert topics[0]["start_seconds"] == 0.0 and topics[-1]["end_seconds"] == 210.0
    for left, right in itertools.pairwise(topics):
        assert left["end_seconds"] == right["start_seconds"]
    assert "Android" in topics[0]["title"]
    assert "Stripe" in topics[1]["title"]
    assert "Onboarding" in topics[2]["title"]
    assert all(said(t["summary"], EN_ROWS) for t in topics)


# ---------------------------------------------------------------- Chinese


def test_chinese_decisions_are_found():
    minutes = generate(ZH_ROWS, ZH_NAMES, "zh")
    assert [(d["text"], d["source_offset_seconds"]) for d in minutes["decisions"]] == [
        ("我们决定日志表只迁移最近半年的数据，历史数据先归档。", 34.0),
        ("那新版本上线时间最终确定为3月20日，如果缺陷修不完再延期。", 110.0),
    ]


def test_chinese_action_items_have_owners_and_due_dates():
    minutes = generate(ZH_ROWS, ZH_NAMES, "zh")
    assert actions(minutes) == [
        ("李强", "2026-03-11", "下周三之前", 44.0),  # 我来负责
        ("张伟", "2026-03-06", "周五前", 80.0),  # 张伟，你…
        ("李强", "2026-03-05", "明天", 98.0),  # 我会在明天修复
        ("张伟", "", "", 134.0),  # 我来整理初稿
        ("李强", "2026-03-31", "月底前", 146.0),  # 由李强负责
        ("全体成员", "2026-03-05", "明天下班前", 168.0),  # 大家请…
    ]
    texts = [a["text"] for a in minutes["action_items"]]
    assert "张伟，你周五前把支付模块的测试报告发给大家。" in texts


def test_chinese_summary_and_topics():
    minutes = generate(ZH_ROWS, ZH_NAMES, "zh")
    sentences = split_sentences(minutes["summary"])
    assert 2 <= len(sentences) <= 6 and len(minutes["summary"]) <= 300
    assert all(said(s, ZH_ROWS) for s in sentences)
    topics = minutes["topics"]
    assert topics[0]["start_seconds"] == 0.0 and topics[-1]["end_seconds"] == 180.0
    titles = " ".join(t["title"] for t in topics)
    assert "数据库迁移" in topics[0]["title"]
    assert "新版本" in titles and "培训" in titles


# ---------------------------------------------------------------- mixed and edge cases


def test_mixed_language_meeting():
    rows = [
        (0.0, 6.0, "S1", "我们决定用 Kubernetes 部署新的 payment service。"),
        (6.0, 12.0, "S2", "这个 PR 我来 review，明天之前合并。"),
        (12.0, 18.0, "S1", "Bob, can you 周五前 update the README?"),
        (18.0, 22.0, "S3", "OK, we agreed to freeze the API on March 10."),
    ]
    minutes = generate(rows, {"S1": "王芳", "S2": "李强", "S3": "Bob"}, "zh")
    assert [d["source_offset_seconds"] for d in minutes["decisions"]] == [0.0, 18.0]
    assert actions(minutes) == [
        ("李强", "2026-03-05", "明天之前", 6.0),
        ("Bob", "2026-03-06", "周五前", 12.0),
    ]


def test_unmapped_speakers_own_items_by_label_and_named_strangers_by_name():
    rows = [
        (0.0, 5.0, "SPEAKER_1", "I'll send the contract to legal by Thursday."),
        (5.0, 10.0, "SPEAKER_2", "Dana, could you book the venue for next month?"),
        (10.0, 15.0, "SPEAKER_1", "请小刘负责跟进供应商报价，12月5日前给我。"),
    ]
    minutes = generate(rows, {})
    assert actions(minutes) == [
        ("SPEAKER_1", "2026-03-05", "by Thursday", 0.0),
        ("Dana", "", "next month", 5.0),  # said, but no single date
        ("小刘", "2026-12-05", "12月5日前", 10.0),
    ]


def test_a_request_to_you_belongs_to_whoever_accepts_it():
    rows = [
        (0.0, 5.0, "A", "Can you send the slides to the customer by Monday?"),
        (5.0, 8.0, "B", "Sure, will do."),
        (8.0, 12.0, "C", "Thanks."),
    ]
    minutes = generate(rows, {"A": "Ann", "B": "Ben", "C": "Cy"})
    assert actions(minutes) == [("Ben", "2026-03-09", "by Monday", 0.0)]


@pytest.mark.parametrize(
    "sentence",
    [
        "We haven't decided on the vendor yet.",
        "Did we agree on the budget?",
        "The budget needs to be approved by finance.",
        "我们还没决定用哪个供应商。",
        "这个方案大家同意吗？",
        "时间待定。",
    ],
)
def test_undecided_and_questions_are_not_decisions(sentence):
    assert not is_decision(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "The board approved the hiring plan.",
        "We've agreed to move the offsite to May.",
        "方案已经通过了。",
        "就这么定了，下周一上线。",
    ],
)
def test_decisions(sentence):
    assert is_decision(sentence)


@pytest.mark.parametrize(
    ("sentence", "text", "due"),
    [
        ("Send it by Friday.", "by Friday", "2026-03-06"),
        ("Let's review it next Tuesday.", "next Tuesday", "2026-03-10"),
        ("Finish it by the end of the month.", "by the end of the month", "2026-03-31"),
        ("I'll do it tomorrow.", "tomorrow", "2026-03-05"),
        ("Get the numbers in by next week.", "by next week", None),
        ("Due March 2nd.", "Due March 2nd", "2027-03-02"),  # already past this year
        ("Ship within two weeks.", "within two weeks", "2026-03-18"),
        ("我明天发给你。", "明天", "2026-03-05"),
        ("下周三之前完成。", "下周三之前", "2026-03-11"),
        ("月底前提交。", "月底前", "2026-03-31"),
        ("12月5日前给我。", "12月5日前", "2026-12-05"),
        ("十二月五号之前。", "十二月五号之前", "2026-12-05"),
        ("三个工作日内回复。", "三个工作日内", "2026-03-09"),
        ("这周五前完成。", "这周五前", "2026-03-06"),
        ("下个月再说。", "下个月", None),
    ],
)
def test_due_dates_are_resolved_against_the_meeting_date(sentence, text, due):
    found = find_due(sentence, MEETING_DATE)  # a Wednesday
    assert found is not None
    assert (found.text, found.date.isoformat() if found.date else None) == (text, due)


def test_names_resolve_to_mapped_speakers():
    book = NameBook(["Alice Chen", "王芳", "李强"])
    assert book.addressed("Alice, can you check?") == (0, "Alice Chen")
    assert book.addressed("小王负责联系客户。") == (0, "王芳")
    assert book.addressed("这件事由李强跟进。") == (4, "李强")
    assert book.addressed("请马上处理。") is None  # 马上 is "at once", not Mr Ma


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Dr. Smith said the rate is 3.5 percent. Then we left.",
            ["Dr. Smith said the rate is 3.5 percent.", "Then we left."],
        ),
        (
            "Use a tool, e.g. ruff, and check example.com first! Done?",
            ["Use a tool, e.g. ruff, and check example.com first!", "Done?"],
        ),
        (
            "我们开始吧。今天讨论三件事！第一，预算？好的；散会",
            ["我们开始吧。", "今天讨论三件事！", "第一，预算？", "好的；", "散会"],
        ),
        ("OK. 好的。Next one.", ["OK.", "好的。", "Next one."]),
        ("He said “done.” Then left.", ["He said “done.”", "Then left."]),
    ],
)
def test_sentence_segmentation(text, expected):
    assert split_sentences(text) == expected


def test_token_estimate_counts_cjk_characters_as_a_token_each():
    assert estimate_tokens("会议纪要") == 4
    assert estimate_tokens("abcdef") == 2
    assert estimate_tokens("") == 0


def test_short_and_empty_transcripts():
    one = generate([(3.0, 8.0, "A", "So, we agreed to ship on Friday.")], {"A": "Ann"})
    assert one["summary"] == "We agreed to ship on Friday."
    assert one["topics"] == [
        {
            "title": one["topics"][0]["title"],
            "summary": "We agreed to ship on Friday.",
            "start_seconds": 3.0,
            "end_seconds": 8.0,
        }
    ]
    assert len(one["decisions"]) == 1
    empty = extract_minutes([], {}, meeting_date=MEETING_DATE)
    assert empty == {"summary": "", "decisions": [], "action_items": [], "topics": []}


def test_output_is_deterministic_and_independent_of_segment_order():
    first = json.dumps(generate(EN_ROWS, EN_NAMES), sort_keys=True)
    assert json.dumps(generate(EN_ROWS, EN_NAMES), sort_keys=True) == first
    shuffled = transcript(EN_ROWS).segments
    random.Random(3).shuffle(shuffled)
    again = extract_minutes(shuffled, EN_NAMES, meeting_date=MEETING_DATE, language_code="en")
    assert json.dumps(again, sort_keys=True) == first
    zh = chinese_meeting()
    assert extract_minutes(zh.segments, ZH_NAMES, meeting_date=MEETING_DATE) == extract_minutes(
        zh.segments, ZH_NAMES, meeting_date=MEETING_DATE
    )
    assert english_meeting().segments[0].text == EN_ROWS[0][3]


def _three_hour_meeting() -> list[tuple[float, float, str, str]]:
    rng = random.Random(11)
    subjects = [
        ["budget", "forecast", "revenue", "spend", "quarter", "finance", "headcount"],
        ["database", "migration", "schema", "index", "query", "latency", "replica"],
        ["hiring", "candidate", "interview", "offer", "recruiter", "onboarding"],
        ["design", "mockup", "prototype", "feedback", "usability", "accessibility"],
    ]
    filler = [
        "the",
        "we",
        "and",
        "to",
        "of",
        "a",
        "is",
        "that",
        "it",
        "for",
        "on",
        "this",
        "with",
        "so",
        "we",
        "should",
    ]
    rows: list[tuple[float, float, str, str]] = []
    clock = 0.0
    while clock < 3 * 3600:
        words = subjects[int(clock // 1800) % 4]
        text = (
            " ".join(
                rng.choice(words if rng.random() < 0.4 else filler)
                for _ in range(rng.randint(8, 24))
            ).capitalize()
            + "."
        )
        if len(rows) % 97 == 0:
            text += f" I'll send the {rng.choice(words)} report by Friday."
        length = rng.uniform(3.0, 7.0)
        rows.append((clock, clock + length, f"SPEAKER_{len(rows) % 5}", text))
        clock += length
    return rows


def test_a_three_hour_meeting_is_quick_and_fully_covered():
    rows = _three_hour_meeting()
    started = time.perf_counter()
    minutes = generate(rows, {})
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"{len(rows)} segments took {elapsed:.1f} s"
    topics = minutes["topics"]
    assert len(topics) >= 6  # about one per half hour, at least one per 20 minutes
    assert topics[0]["start_seconds"] == 0.0
    assert topics[-1]["end_seconds"] == pytest.approx(rows[-1][1], abs=0.001)
    assert len(split_sentences(minutes["summary"])) <= 6
    assert minutes["action_items"]
    assert date.fromisoformat(minutes["action_items"][0]["due_date"]) == date(2026, 3, 6)


def test_short_forms_of_speaker_names_resolve_in_a_meeting():
    rows = [
        (0.0, 5.0, "S1", "小王负责联系客户，周五前给反馈。"),
        (5.0, 9.0, "S2", "好的。"),
        (9.0, 14.0, "S1", "Alice will update the dashboard by next Monday."),
    ]
    minutes = generate(rows, {"S1": "李强", "S2": "王芳", "S3": "Alice Chen"}, "zh")
    assert actions(minutes) == [
        ("王芳", "2026-03-06", "周五前", 0.0),
        ("Alice Chen", "2026-03-09", "by next Monday", 9.0),
    ]
