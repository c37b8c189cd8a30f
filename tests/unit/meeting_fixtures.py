"""Realistic meeting transcripts, in English and in Mandarin, for the minutes and export tests.

Both meetings take place on Wednesday 2026-03-04 and cover three topics each, with
decisions, requests, first-person commitments and deadlines said the way people say them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from meeting_agent.domain.models import Transcript, TranscriptSegment, Word

MEETING_DATE = date(2026, 3, 4)
_NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def transcript(
    rows: list[tuple[float, float, str, str]], language: str = "en", task_id: str = "task-1"
) -> Transcript:
    segments = [
        TranscriptSegment(index=i, speaker_label=label, start=start, end=end, text=text)
        for i, (start, end, label, text) in enumerate(rows)
    ]
    return Transcript(
        task_id=task_id,
        tenant_id="acme",
        language_code=language,
        segments=segments,
        duration_seconds=rows[-1][1] if rows else 0.0,
        asr_provider="fake",
        asr_model="fake",
        create_time=_NOW,
        update_time=_NOW,
    )


EN_NAMES = {"SPEAKER_0": "Alice Chen", "SPEAKER_1": "Bob Martinez", "SPEAKER_2": "Carol Davis"}
EN_ROWS: list[tuple[float, float, str, str]] = [
    (
        0.0,
        6.5,
        "SPEAKER_0",
        "Okay, let's get started. Thanks everyone for joining the weekly product sync.",
    ),
    (
        6.5,
        17.0,
        "SPEAKER_0",
        "First item is the mobile app launch. The beta feedback has been mostly positive, but "
        "the login crash on Android is still open.",
    ),
    (
        17.0,
        29.0,
        "SPEAKER_1",
        "Right, the Android login crash happens when the token refresh fails. I'll fix the "
        "token refresh bug by Friday.",
    ),
    (
        29.0,
        40.0,
        "SPEAKER_2",
        "The beta testers also asked for a dark mode on Android, but I think that can wait "
        "until after the launch.",
    ),
    (
        40.0,
        52.0,
        "SPEAKER_0",
        "Agreed. So we decided to keep the mobile launch date on March 20 and move dark mode "
        "to the next release.",
    ),
    (
        52.0,
        60.0,
        "SPEAKER_1",
        "That works for me. The launch build needs a full regression pass on Android though.",
    ),
    (
        60.0,
        70.0,
        "SPEAKER_0",
        "Carol, can you update the release notes and the app store screenshots by next Tuesday?",
    ),
    (70.0, 76.0, "SPEAKER_2", "Sure, I'll have them ready by then."),
    (
        76.0,
        90.0,
        "SPEAKER_0",
        "Next topic is the payment provider. We compared Stripe and Adyen on fees, "
        "integration effort and support for Chinese wallets.",
    ),
    (
        90.0,
        104.0,
        "SPEAKER_1",
        "Stripe has better documentation and we already use the Stripe SDK in the web app, so "
        "the payment integration effort is much lower.",
    ),
    (
        104.0,
        116.0,
        "SPEAKER_2",
        "Adyen fees are slightly lower at our payment volume, but the difference is under two "
        "percent.",
    ),
    (
        116.0,
        126.0,
        "SPEAKER_0",
        "Let's go with Stripe for the payment integration, unless legal raises a concern.",
    ),
    (
        126.0,
        138.0,
        "SPEAKER_1",
        "Action item for me: draft the Stripe integration plan and share it with the team by "
        "end of the week.",
    ),
    (
        138.0,
        146.0,
        "SPEAKER_0",
        "Great. Last topic is hiring and onboarding for the two new backend engineers.",
    ),
    (
        146.0,
        160.0,
        "SPEAKER_1",
        "The onboarding documentation is outdated. The setup guide for new engineers still "
        "describes the old database and the old deployment scripts.",
    ),
    (
        160.0,
        170.0,
        "SPEAKER_0",
        "Bob, could you rewrite the setup guide before the new engineers start on the 16th?",
    ),
    (170.0, 178.0, "SPEAKER_1", "Yes, I can do that."),
    (
        178.0,
        190.0,
        "SPEAKER_2",
        "I will also prepare a short design system walkthrough for the onboarding week of the "
        "new engineers.",
    ),
    (
        190.0,
        200.0,
        "SPEAKER_0",
        "We agreed that every new engineer gets an onboarding buddy for the first month.",
    ),
    (
        200.0,
        210.0,
        "SPEAKER_0",
        "Everyone, please send me your buddy preferences by tomorrow. Thanks everyone, see you "
        "next week.",
    ),
]

ZH_NAMES = {"SPEAKER_1": "王芳", "SPEAKER_2": "李强", "SPEAKER_3": "张伟"}
ZH_ROWS: list[tuple[float, float, str, str]] = [
    (0.0, 8.0, "SPEAKER_1", "好，我们开始今天的项目周会。先说一下数据库迁移的进展。"),
    (
        8.0,
        22.0,
        "SPEAKER_2",
        "数据库迁移目前完成了百分之七十，剩下的是订单表和日志表，日志表的数据量比较大。",
    ),
    (
        22.0,
        34.0,
        "SPEAKER_3",
        "日志表可以先归档历史数据，只迁移最近半年的数据，这样数据库迁移时间能缩短一半。",
    ),
    (34.0, 44.0, "SPEAKER_1", "这个方案可以。我们决定日志表只迁移最近半年的数据，历史数据先归档。"),
    (44.0, 56.0, "SPEAKER_2", "好的，数据库迁移我来负责，下周三之前完成订单表和日志表的迁移。"),
    (56.0, 66.0, "SPEAKER_1", "第二个议题是新版本上线。新版本的测试情况怎么样？"),
    (66.0, 80.0, "SPEAKER_3", "新版本的回归测试还剩支付模块没有测完，目前发现了三个严重缺陷。"),
    (80.0, 92.0, "SPEAKER_1", "张伟，你周五前把支付模块的测试报告发给大家。"),
    (92.0, 98.0, "SPEAKER_3", "没问题，我周五前发出来。"),
    (98.0, 110.0, "SPEAKER_2", "三个严重缺陷里有两个是后端接口的问题，我会在明天修复。"),
    (110.0, 122.0, "SPEAKER_1", "那新版本上线时间最终确定为3月20日，如果缺陷修不完再延期。"),
    (
        122.0,
        134.0,
        "SPEAKER_1",
        "最后一个议题是客户培训。上周客户反馈操作手册太难懂，培训材料需要重新整理。",
    ),
    (134.0, 146.0, "SPEAKER_3", "培训材料我来整理初稿，不过需要产品那边提供最新的功能截图。"),
    (146.0, 158.0, "SPEAKER_1", "好，功能截图由李强负责提供，月底前完成培训材料的更新。"),
    (158.0, 168.0, "SPEAKER_2", "可以，我这周内把截图整理好。"),
    (168.0, 180.0, "SPEAKER_1", "大家请在明天下班前把本周的工作总结发给我。今天的会就到这里。"),
]


def english_meeting() -> Transcript:
    return transcript(EN_ROWS, "en")


def chinese_meeting() -> Transcript:
    return transcript(ZH_ROWS, "zh")


def with_words(segment: TranscriptSegment) -> TranscriptSegment:
    """The segment with evenly spaced word timings, as an ASR engine would give them."""
    words = segment.text.split()
    step = (segment.end - segment.start) / max(len(words), 1)
    segment.words = [
        Word(w, segment.start + k * step, segment.start + (k + 1) * step)
        for k, w in enumerate(words)
    ]
    return segment
