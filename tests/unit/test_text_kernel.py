"""The text kernel: segmentation, spacing, widths, vendor tokens; and the subtitle lines
and cues that depend on them."""

from __future__ import annotations

import itertools
import re

import pytest

from bench.zh_minutes_set import ZH_MEETINGS
from meeting_agent.domain.models import TranscriptSegment
from meeting_agent.exports._cues import layout_cues
from meeting_agent.exports.transcript import to_srt, to_webvtt
from meeting_agent.text import (
    display_columns,
    estimate_tokens,
    join_tokens,
    person_names,
    tidy_spacing,
    to_halfwidth,
    words,
)
from tests.unit.meeting_fixtures import ZH_NAMES, ZH_ROWS, transcript

# The sentences the subtitles once broke inside a word: 数据|库, 十|五号, 负|责, 识|别, 火|山.
BROKEN_BEFORE = [
    "数据库迁移目前完成了百分之七十，剩下的是订单表和日志表，日志表的数据量比较大，需要十五号之前迁完。",
    "最后确定由张伟负责上线监控看板，用 Grafana 和 Prometheus 做语音识别服务的告警。",
    "李娜请联系火山引擎的客户经理，确认语音识别的并发配额能不能在下个月十五号之前提高到两百路。",
]


def test_words_join_back_into_the_text_and_keep_latin_whole() -> None:
    text = "数据库迁移由张伟负责，十五号之前完成 PostgreSQL 升级和 5G 测试。"
    cut = words(text)
    assert "".join(cut) == text
    assert {"数据库", "张伟", "负责", "十五号", "PostgreSQL", "5G"} <= set(cut)
    assert words("") == []


def test_person_names_are_tagged() -> None:
    assert {"张伟", "李娜"} <= person_names("张伟和李娜负责上线")
    assert not person_names("我们决定下周上线")


@pytest.mark.parametrize(
    ("raw", "tidy"),
    [
        ("李强 你 来 跟进 。", "李强你来跟进。"),
        ("我们用Kubernetes部署", "我们用 Kubernetes 部署"),
        ("用5G网络和Q3目标", "用 5G 网络和 Q3 目标"),
        ("ＡＰＩ　版本１２", "API 版本12"),
        ("3月20日上线，iOS 17 上的问题", "3月20日上线，iOS 17 上的问题"),
        ("We  decided ,  okay", "We decided , okay"),
    ],
)
def test_spacing_follows_chinese_technical_writing(raw: str, tidy: str) -> None:
    assert tidy_spacing(raw) == tidy


def test_halfwidth_keeps_chinese_punctuation() -> None:
    assert to_halfwidth("ＡＢＣ１２３，。？") == "ABC123，。？"


@pytest.mark.parametrize(
    ("tokens", "text"),
    [
        ([*list("PostgreSQL"), "和", *list("API")], "PostgreSQL 和 API"),
        (["用", "5", "G", "网络", "，", "Q", "3", "目标"], "用 5G 网络，Q3 目标"),
        (["we", "use", "API", "now"], "we use API now"),
        (["Hello", ",", "world", "3", ".", "5"], "Hello, world 3.5"),
        (["数据库", "迁移"], "数据库迁移"),
    ],
)
def test_vendor_tokens_are_joined_without_spacing_letters_out(tokens: list[str], text: str) -> None:
    assert join_tokens(tokens) == text


def test_widths_and_token_estimates_count_cjk_as_full_cells() -> None:
    assert display_columns("数据库 API") == 10
    # A Chinese character costs about a token, never a quarter of one.
    assert estimate_tokens("数据库迁移由张伟负责") >= 10
    assert estimate_tokens("a" * 300) <= 100


def _segments(texts: list[str]) -> list[TranscriptSegment]:
    return [
        TranscriptSegment(index=i, speaker_label="S1", start=i * 8.0, end=i * 8.0 + 7.5, text=t)
        for i, t in enumerate(texts)
    ]


def _meeting_texts() -> list[str]:
    texts = [*BROKEN_BEFORE, *(row[3] for row in ZH_ROWS)]
    texts += [text for meeting in ZH_MEETINGS for _, text in meeting.rows]
    return texts


def test_no_chinese_cue_line_ends_inside_a_word() -> None:
    segments = _segments(_meeting_texts())
    two_line = 0
    for cue in layout_cues(segments, {}):
        joined = "".join(cue.lines)
        boundaries = set()
        position = 0
        for word in words(joined.replace(" ", "")):
            position += len(word)
            boundaries.add(position)
        if len(cue.lines) == 2:
            two_line += 1
            assert len(cue.lines[0].replace(" ", "")) in boundaries, cue.lines
    assert two_line >= 9


def test_srt_and_webvtt_break_the_same_chinese_text_the_same_way() -> None:
    segments = _segments(BROKEN_BEFORE)
    srt_lines = [
        line.removeprefix("S1: ")
        for line in to_srt(segments, {}).splitlines()
        if re.search(r"[\u4e00-\u9fff]", line)
    ]
    vtt_lines = [
        line.removeprefix("<v S1>")
        for line in to_webvtt(segments, {}).splitlines()
        if re.search(r"[\u4e00-\u9fff]", line)
    ]
    assert srt_lines == vtt_lines
    for bad in ("数据|库", "十|五号", "负|责", "识|别", "火|山"):
        left, right = bad.split("|")
        assert not any(
            a.endswith(left) and b.startswith(right) for a, b in itertools.pairwise(srt_lines)
        ), bad


def test_a_segment_without_duration_gets_a_cue_that_lasts() -> None:
    segment = TranscriptSegment(
        index=0,
        speaker_label="S1",
        start=35.2,
        end=35.2,
        text="这个问题由赵磊来修复，下个月十五号之前发布补丁版本。",
    )
    cues = layout_cues([segment], {})
    assert cues and all(c.end > c.start for c in cues)
    assert "00:00:35,200 --> 00:00:35,200" not in to_srt([segment], {})


def test_chinese_meeting_subtitles_keep_every_character() -> None:
    meeting = transcript(ZH_ROWS, "zh")
    document = to_srt(meeting.segments, ZH_NAMES)
    spoken = "".join(row[3] for row in ZH_ROWS)
    shown = "".join(
        line
        for line in document.splitlines()
        if not re.fullmatch(r"\d+|[\d:,]+ --> [\d:,]+|", line)
    )
    for name in ZH_NAMES.values():
        shown = shown.replace(f"{name}: ", "")
    assert shown.replace(" ", "") == spoken.replace(" ", "")
