"""Transcript exports (SRT, WebVTT, text, JSON) and minutes exports (Markdown, JSON)."""

from __future__ import annotations

import json
import re

import pytest

from meeting_agent.domain.models import (
    ProviderFallback,
    SkippedProvider,
    TranscriptSegment,
    Word,
)
from meeting_agent.exports import minutes as minutes_export
from meeting_agent.exports import transcript as transcript_export
from meeting_agent.exports.transcript import timestamp, to_json, to_srt, to_text, to_webvtt
from meeting_agent.minutes.extractive import extract_minutes
from meeting_agent.minutes.schema import empty_minutes
from meeting_agent.text import is_cjk
from tests.unit.meeting_fixtures import (
    EN_NAMES,
    MEETING_DATE,
    ZH_NAMES,
    chinese_meeting,
    english_meeting,
    transcript,
    with_words,
)

_STAMP = r"(\d{2,}):(\d{2}):(\d{2})[.,](\d{3})"
CUE_TIME = re.compile(rf"^{_STAMP} --> {_STAMP}$")


def seg(index, start, end, text, label="A", words=()) -> TranscriptSegment:
    return TranscriptSegment(
        index=index, speaker_label=label, start=start, end=end, text=text, words=list(words)
    )


def cue_blocks(document: str) -> list[list[str]]:
    return [block.splitlines() for block in document.strip().split("\n\n") if block]


def seconds(match: re.Match[str], first: int) -> float:
    h, m, s, ms = (int(match.group(first + k)) for k in range(4))
    return h * 3600 + m * 60 + s + ms / 1000


def vtt_cues(document: str) -> list[tuple[float, float, list[str]]]:
    out = []
    for block in cue_blocks(document)[1:]:
        match = CUE_TIME.match(block[0])
        assert match, block
        out.append((seconds(match, 1), seconds(match, 5), block[1:]))
    return out


# ---------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("value", "srt", "vtt"),
    [
        (0.0, "00:00:00,000", "00:00:00.000"),
        (3661.5, "01:01:01,500", "01:01:01.500"),
        (36000.0, "10:00:00,000", "10:00:00.000"),
        (1.0005, "00:00:01,001", "00:00:01.001"),  # half up, not to even
        (59.9996, "00:01:00,000", "00:01:00.000"),
        (0.0004, "00:00:00,000", "00:00:00.000"),
        (-2.0, "00:00:00,000", "00:00:00.000"),
        (360000.25, "100:00:00,250", "100:00:00.250"),
    ],
)
def test_timestamps(value, srt, vtt):
    assert timestamp(value, ",") == srt
    assert timestamp(value) == vtt


# ---------------------------------------------------------------- SRT and WebVTT


def test_srt_exact():
    segments = [
        seg(1, 36001.25, 36003.5, "Budget is approved.", "S2"),
        seg(0, 1.0, 2.4996, "Hello there.", "S1"),
    ]
    assert to_srt(segments, {"S1": "Alice"}) == (
        "1\n00:00:01,000 --> 00:00:02,500\nAlice: Hello there.\n\n"
        "2\n10:00:01,250 --> 10:00:03,500\nS2: Budget is approved.\n"
    )


def test_webvtt_exact_with_voices_and_escaping():
    segments = [seg(0, 0.0, 2.0, "if a < b && c > d", "S1"), seg(1, 2.0, 3.0, "no speaker", "")]
    assert to_webvtt(segments, {"S1": "R&D <Team>"}) == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:02.000\n<v R&amp;D &lt;Team&gt;>if a &lt; b &amp;&amp; c &gt; d\n\n"
        "00:00:02.000 --> 00:00:03.000\nno speaker\n"
    )


def test_empty_transcript_gives_valid_empty_files():
    empty = transcript([])
    assert to_srt([], {}) == ""
    assert to_webvtt([], {}) == "WEBVTT\n"
    assert to_text([], {}) == ""
    document = json.loads(to_json(empty, {}))
    assert document["segments"] == [] and document["speakers"] == []
    blank = [seg(0, 0.0, 1.0, "   ")]
    assert to_srt(blank, {}) == "" and to_webvtt(blank, {}) == "WEBVTT\n"


def test_latin_lines_break_between_words_at_42_columns():
    text = (
        "The quarterly planning review covers the infrastructure budget, the hiring "
        "pipeline and the customer onboarding experience."
    )
    document = to_webvtt([seg(0, 0.0, 6.0, text, label="")], {})
    lines = [line for _, _, cue in vtt_cues(document) for line in cue]
    assert all(len(line) <= 42 for line in lines)
    assert " ".join(lines).split() == text.split()  # no word was cut or lost


def test_long_segments_are_split_into_short_cues_covering_the_segment():
    text = " ".join(f"word{i}" for i in range(90)) + "."
    document = to_webvtt([seg(0, 10.0, 40.0, text, label="")], {})
    cues = vtt_cues(document)
    assert len(cues) >= 5
    assert cues[0][0] == 10.0 and cues[-1][1] == 40.0
    for (start, end, lines), following in zip(cues, [*cues[1:], None], strict=False):
        assert end - start <= 7.0 + 1e-9
        assert 1 <= len(lines) <= 2
        if following:
            assert end == following[0]
    assert " ".join(" ".join(c[2]) for c in cues).split() == text.split()


def test_cue_splits_follow_word_timestamps():
    # Ten quick words, then ten slow ones: a proportional split would be wrong.
    quick = [Word(f"q{i}", i * 0.2, i * 0.2 + 0.2) for i in range(10)]
    slow = [Word(f"s{i}", 2.0 + i * 1.5, 2.0 + i * 1.5 + 1.5) for i in range(10)]
    text = " ".join(w.text for w in quick + slow)
    document = to_webvtt([seg(0, 0.0, 17.0, text, words=quick + slow)], {})
    starts = {w.start for w in quick + slow}
    cues = vtt_cues(document)
    assert len(cues) >= 3
    assert all(start in starts for start, _, _ in cues[1:])
    assert all(end - start <= 7.0 for start, end, _ in cues)


def test_word_timings_that_do_not_spell_the_text_fall_back_to_characters():
    words = [Word("something", 0.0, 1.0), Word("else", 1.0, 2.0)]
    segment = seg(0, 0.0, 20.0, " ".join(["Different text entirely."] * 8), words=words)
    cues = vtt_cues(to_webvtt([segment], {}))
    assert cues[0][0] == 0.0 and cues[-1][1] == 20.0 and len(cues) >= 3


def test_cjk_lines_break_at_20_characters_and_keep_punctuation_attached():
    text = (
        "我们决定日志表只迁移最近半年的数据，历史数据先归档。"
        "订单表和日志表的迁移下周三之前完成，张伟负责测试报告，月底前完成培训材料的更新。"
    )
    cues = vtt_cues(to_webvtt([seg(0, 0.0, 12.0, text, label="")], {}))
    lines = [line for _, _, cue in cues for line in cue]
    assert all(len(line) <= 20 for line in lines)
    assert not any(line[0] in "，。、！？；：" for line in lines)
    assert "".join(lines) == text
    mixed = vtt_cues(
        to_webvtt(
            [seg(0, 0.0, 5.0, "这个 PR 我来 review，明天之前合并 to main branch。", label="")], {}
        )
    )
    mixed_lines = [line for _, _, cue in mixed for line in cue]
    assert len(mixed_lines) == 2
    assert "".join(mixed_lines).replace(" ", "") == "这个PR我来review，明天之前合并tomainbranch。"
    for word in ("PR", "review", "main", "branch"):  # Latin words stay whole
        assert any(re.search(rf"\b{word}\b", line) for line in mixed_lines)


def test_srt_numbering_and_speaker_prefixes_on_a_real_meeting():
    meeting = english_meeting()
    document = to_srt([with_words(s) for s in meeting.segments], EN_NAMES)
    blocks = cue_blocks(document)
    assert [int(b[0]) for b in blocks] == list(range(1, len(blocks) + 1))
    assert all(CUE_TIME.match(b[1]) and "," in b[1] for b in blocks)
    assert blocks[0][2].startswith("Alice Chen: ")
    assert any(b[2].startswith("Bob Martinez: ") for b in blocks)
    assert all(len(b) <= 4 for b in blocks)  # number, time, at most two lines


def test_chinese_meeting_exports_are_utf8_without_bom():
    meeting = chinese_meeting()
    for document in (
        to_srt(meeting.segments, ZH_NAMES),
        to_webvtt(meeting.segments, ZH_NAMES),
        to_text(meeting.segments, ZH_NAMES),
        to_json(meeting, ZH_NAMES),
    ):
        encoded = document.encode("utf-8")
        assert not encoded.startswith(b"\xef\xbb\xbf")
        assert "王芳" in document
    assert "<v 王芳>" in to_webvtt(meeting.segments, ZH_NAMES)


# ---------------------------------------------------------------- text and JSON


def test_text_has_one_paragraph_per_speaker_turn():
    segments = [
        seg(0, 0.0, 2.0, "Hello.", "A"),
        seg(1, 2.0, 4.0, "Shall we start?", "A"),
        seg(2, 65.5, 70.0, "好的。", "B"),
        seg(3, 70.0, 75.0, "开始吧。", "B"),
        seg(4, 3725.0, 3726.0, "Done.", "A"),
    ]
    assert to_text(segments, {"A": "Alice"}) == (
        "[00:00:00] Alice: Hello. Shall we start?\n\n"
        "[00:01:05] B: 好的。开始吧。\n\n"
        "[01:02:05] Alice: Done.\n"
    )


def test_transcript_json_round_trip():
    meeting = chinese_meeting()
    meeting.segments[0] = with_words(meeting.segments[0])
    document = json.loads(to_json(meeting, ZH_NAMES))
    assert document["task_id"] == meeting.task_id
    assert document["speakers"][0] == {"label": "SPEAKER_1", "name": "王芳"}
    first = document["segments"][0]
    assert first == {
        "index": 0,
        "speaker": "SPEAKER_1",
        "speaker_name": "王芳",
        "start": 0.0,
        "end": 8.0,
        "text": meeting.segments[0].text,
        "words": [
            {"text": w.text, "start": w.start, "end": w.end, "confidence": w.confidence}
            for w in meeting.segments[0].words
        ],
    }
    assert [s["text"] for s in document["segments"]] == [s.text for s in meeting.segments]
    assert "\\u" not in to_json(meeting, ZH_NAMES)


# ---------------------------------------------------------------- minutes


def test_markdown_in_english():
    minutes = extract_minutes(english_meeting().segments, EN_NAMES, meeting_date=MEETING_DATE)
    document = minutes_export.to_markdown(
        minutes, title="Weekly product sync", meeting_date=MEETING_DATE, language_code="en-US"
    )
    assert document.startswith("# Weekly product sync\n\n**Date**: 2026-03-04\n")
    for heading in ("## Summary", "## Decisions", "## Action items", "## Topics"):
        assert f"\n{heading}\n" in document
    assert "| Owner | Action | Due | Time |" in document
    assert (
        "| Bob Martinez | I'll fix the token refresh bug by Friday. | "
        "2026-03-06 (by Friday) | [00:17](#t=17) |"
    ) in document
    assert (
        "- We agreed that every new engineer gets an onboarding buddy for the first month. "
        "[03:10](#t=190)" in document
    )


def test_markdown_in_chinese():
    minutes = extract_minutes(chinese_meeting().segments, ZH_NAMES, meeting_date=MEETING_DATE)
    document = minutes_export.to_markdown(
        minutes, title="", meeting_date=MEETING_DATE, language_code="zh-CN"
    )
    assert document.startswith("# 会议纪要\n\n**日期**：2026-03-04\n")
    for heading in ("## 摘要", "## 决定", "## 待办事项", "## 议题"):
        assert f"\n{heading}\n" in document
    assert "| 负责人 | 事项 | 截止日期 | 时间 |" in document
    row = (
        "| 张伟 | 张伟，你周五前把支付模块的测试报告发给大家。 | "
        "2026-03-06（周五前） | [01:20](#t=80) |"
    )
    assert row in document


def test_markdown_notes_fallbacks_under_the_title_in_the_meetings_language():
    fallbacks = [
        ProviderFallback(
            "transcript",
            "local",
            (SkippedProvider("azure", "PROVIDER_TIMEOUT", "no answer in 60 s"),),
        ),
        ProviderFallback(
            "minutes",
            "extractive",
            (
                SkippedProvider("openai", "PROVIDER_UNREACHABLE", "connection refused"),
                SkippedProvider("gemini", "PROVIDER_QUOTA_EXHAUSTED", "every key\nis spent"),
            ),
        ),
    ]
    english = minutes_export.to_markdown(
        empty_minutes(), title="Sync", meeting_date=None, language_code="en", fallbacks=fallbacks
    )
    assert english.startswith(
        "# Sync\n\n"
        "> **Note:** the transcript came from local, not azure: azure unavailable "
        "(PROVIDER_TIMEOUT).\n\n"
        "> **Note:** these minutes came from extractive, not openai, gemini: openai "
        "unavailable (PROVIDER_UNREACHABLE); gemini unavailable (PROVIDER_QUOTA_EXHAUSTED)."
        "\n\n## Summary"
    )
    chinese = minutes_export.to_markdown(
        empty_minutes(),
        title="周会",
        meeting_date=None,
        language_code="zh-CN",
        fallbacks=fallbacks[1:],
    )
    assert (
        "> **注意：**本纪要由 extractive 生成，而非 openai、gemini：openai 不可用"
        "（PROVIDER_UNREACHABLE）；gemini 不可用（PROVIDER_QUOTA_EXHAUSTED）。"
    ) in chinese
    assert "**Note:**" not in minutes_export.to_markdown(
        empty_minutes(), title="T", meeting_date=None, language_code="en"
    )


def test_markdown_edge_cases():
    minutes = {
        "summary": "",
        "decisions": [{"text": "Use A | B split.", "source_offset_seconds": None}],
        "action_items": [
            {
                "owner": "",
                "text": "Fix\nthe | pipe",
                "due_date": "",
                "due_text": "",
                "source_offset_seconds": 3723.9,
            }
        ],
        "topics": [],
    }
    document = minutes_export.to_markdown(minutes, title="T", meeting_date=None, language_code="")
    assert "**Date**" not in document
    assert "## Summary\n\nNone.\n" in document
    assert "- Use A | B split.\n" in document
    assert "| — | Fix the \\| pipe | — | [1:02:03](#t=3723) |" in document
    assert document.endswith("## Topics\n\nNone.\n")
    empty = minutes_export.to_markdown(
        empty_minutes(), title="空", meeting_date=None, language_code="zh"
    )
    assert "## 决定\n\n无。" in empty and "## 待办事项\n\n无。" in empty


def test_minutes_json_has_stable_key_order_and_round_trips():
    minutes = extract_minutes(chinese_meeting().segments, ZH_NAMES, meeting_date=MEETING_DATE)
    shuffled = {k: minutes[k] for k in ("topics", "action_items", "summary", "decisions")}
    shuffled["action_items"] = [dict(reversed(list(a.items()))) for a in minutes["action_items"]]
    document = minutes_export.to_json(shuffled)
    assert document == minutes_export.to_json(minutes)
    assert json.loads(document) == minutes
    assert list(json.loads(document)) == ["summary", "decisions", "action_items", "topics"]
    assert list(json.loads(document)["action_items"][0]) == [
        "owner",
        "text",
        "due_date",
        "due_text",
        "source_offset_seconds",
    ]
    assert "全体成员" in document and not document.encode().startswith(b"\xef\xbb\xbf")


def test_exports_module_exposes_the_four_transcript_formats():
    assert {"to_srt", "to_webvtt", "to_text", "to_json"} <= set(transcript_export.__all__)
    assert is_cjk("会") and not is_cjk("a")
