"""Extractive minutes of Mandarin meetings: decisions, action items, owners, due dates."""

from __future__ import annotations

from datetime import date

import pytest

from bench.minutes_zh import run
from meeting_agent.minutes.extractive import extract_minutes
from meeting_agent.text.dates import find_due
from tests.unit.meeting_fixtures import transcript

WEDNESDAY = date(2026, 3, 4)


def test_the_scripted_meetings_score_at_least_nine_in_ten() -> None:
    ours, _ = run()
    figures = ours.figures()
    assert min(figures.values()) >= 0.9, (figures, ours.misses)


@pytest.mark.parametrize(
    ("said", "text", "iso"),
    [
        ("我明天把配置改好", "明天", "2026-03-05"),
        ("后天给大家答复", "后天", "2026-03-06"),
        ("周五之前填完", "周五之前", "2026-03-06"),
        ("下周三之前完成", "下周三之前", "2026-03-11"),
        ("月底前完成", "月底前", "2026-03-31"),
        ("下个月十五号之前发布", "下个月十五号之前", "2026-04-15"),
        ("在 11 月 10 号之前提交", "11月10号之前", "2026-11-10"),
        ("上线前检查一遍", "上线前", ""),
        ("发布之后跟踪一周", "发布之后", ""),
        ("务必在过期前搞定", "过期前", ""),
    ],
)
def test_due_dates_resolve_against_the_meeting_date(said: str, text: str, iso: str) -> None:
    due = find_due(said, WEDNESDAY)
    assert due is not None
    assert due.text == text
    assert (due.date.isoformat() if due.date else "") == iso


def _minutes(rows: list[tuple[str, str]], names: dict[str, str]) -> dict:  # type: ignore[type-arg]
    meeting = transcript(
        [(i * 10.0, i * 10.0 + 9, label, text) for i, (label, text) in enumerate(rows)], "zh"
    )
    return extract_minutes(meeting.segments, names, meeting_date=WEDNESDAY, language_code="zh")


NAMES = {"S0": "王芳", "S1": "张伟", "S2": "李娜"}


def test_a_name_before_please_owns_the_request_and_the_reply_dates_it() -> None:
    minutes = _minutes(
        [
            ("S0", "李娜请联系火山引擎的客户经理，确认并发配额。"),
            ("S2", "好的，我后天之前给大家答复。"),
        ],
        NAMES,
    )
    (item,) = minutes["action_items"]
    assert (item["owner"], item["due_date"]) == ("李娜", "2026-03-06")


def test_results_and_facts_are_not_action_items() -> None:
    minutes = _minutes(
        [
            ("S1", "压测结果显示数据库在每秒五千次请求时延迟超过两百毫秒。"),
            ("S2", "上次活动的用户反馈显示，页面加载太慢是最大的问题。"),
        ],
        NAMES,
    )
    assert minutes["action_items"] == []
    assert minutes["decisions"] == []


def test_decisions_said_many_ways_and_not_decided_yet() -> None:
    rows = [
        ("S0", "最后确定由张伟负责上线监控看板。"),
        ("S0", "那就这么定，连接池上限调到两百。"),
        ("S0", "预算申请已经通过了。"),
        ("S0", "我们决定下周三上线。"),
        ("S0", "We decided to ship on Friday."),
        ("S0", "方案今天要定下来。"),
        ("S0", "这个还没有确定。"),
        ("S0", "大家同意吗？"),
    ]
    decided = [d["text"] for d in _minutes(rows, NAMES)["decisions"]]
    assert len(decided) == 5, decided
    assert not any("要定下来" in d or "没有确定" in d or "同意吗" in d for d in decided)


def test_the_speaker_owns_what_they_promise_and_everyone_owns_what_all_are_asked() -> None:
    minutes = _minutes(
        [
            ("S1", "好的，我明天把连接池配置改好。"),
            ("S0", "大家会后把各自的部分整理成文档，周四前发群里。"),
        ],
        NAMES,
    )
    owners = [(i["owner"], i["due_date"]) for i in minutes["action_items"]]
    assert owners == [("张伟", "2026-03-05"), ("全体成员", "2026-03-05")]
