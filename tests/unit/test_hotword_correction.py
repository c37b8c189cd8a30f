"""`apply_hotwords`: near-misses of hotwords are rewritten, everyday words never are."""

from __future__ import annotations

import copy
import itertools

import pytest

from meeting_agent.domain.models import Hotword, TranscriptSegment, Word
from meeting_agent.service.hotword_correction import apply_hotwords


def segment(text: str, words: list[Word] | None = None) -> TranscriptSegment:
    return TranscriptSegment(
        index=0, speaker_label="", start=0.0, end=5.0, text=text, words=words or []
    )


def corrected(text: str, *phrases: str) -> str:
    [result] = apply_hotwords([segment(text)], [Hotword(p) for p in phrases])
    return result.text


def timed(*texts: str) -> list[Word]:
    """Words one second apart, with falling confidence."""
    return [Word(t, float(i), i + 0.8, round(0.9 - i / 100, 2)) for i, t in enumerate(texts)]


# ------------------------------------------------------------------------- English


@pytest.mark.parametrize(
    ("text", "hotword", "expected"),
    [
        # One misspelt word.
        ("The graphana dashboards are new.", "Grafana", "The Grafana dashboards are new."),
        ("Eric Lindkvist, his test was good.", "Lindqvist", "Eric Lindqvist, his test was good."),
        ("Great. Kaleenowski, can you?", "Kalinowski", "Great. Kalinowski, can you?"),
        # A word heard as two.
        ("adding item potency keys", "idempotency", "adding idempotency keys"),
        # A two-word name.
        ("ask Priya Ragunathan first", "Priya Raghunathan", "ask Priya Raghunathan first"),
        # Only the spelling differs.
        ("alerts go to pager duty now", "PagerDuty", "alerts go to PagerDuty now"),
        ("fix it in tailwind today", "Tailwind", "fix it in Tailwind today"),
        # An unstressed first vowel lost, the rest sounding the same.
        ("most crewals are booked", "accruals", "most accruals are booked"),
    ],
)
def test_rewrites_near_misses(text: str, hotword: str, expected: str) -> None:
    assert corrected(text, hotword) == expected


@pytest.mark.parametrize(
    ("text", "hotword"),
    [
        # Everyday words, however close they look or sound.
        ("What number of customers were affected?", "Nimbus"),
        ("The graph on the old page was hard to read.", "Grafana"),
        ("It is a normal work day for me.", "Workday"),
        ("the worst outage this century", "Sentry"),
        ("Firstly, the cache was cold.", "Fastly"),
        ("prior to the redesign", "Priya"),
        ("the green house photo", "Greenhouse"),
        # A run that includes a word beside the hotword: nothing to swallow.
        ("write the Terraform for it", "Terraform"),
        ("they were booked in that suite", "NetSuite"),
        # Too short to guess at.
        ("the service is slow today", "SLO"),
        ("a solo project", "SLO"),
        # A comma or full stop ends the run.
        ("adding item, potency keys", "idempotency"),
        # A different word with the same first letters.
        ("the Kubernetes cluster", "Kafka"),
    ],
)
def test_leaves_everyday_words_alone(text: str, hotword: str) -> None:
    assert corrected(text, hotword) == text


def test_many_hotwords_at_once() -> None:
    text = "Siobhan moved graphana to the cluster, and Kaleenowski wrote the run book."

    assert corrected(text, "Grafana", "Kalinowski", "Prometheus", "Kubernetes") == (
        "Siobhan moved Grafana to the cluster, and Kalinowski wrote the run book."
    )


def test_words_follow_the_text() -> None:
    words = timed("adding", "item", "potency", "keys.")
    [result] = apply_hotwords(
        [segment("adding item potency keys.", words)], [Hotword("idempotency")]
    )

    assert result.text == "adding idempotency keys."
    assert [w.text for w in result.words] == ["adding", "idempotency", "keys."]
    merged = result.words[1]
    # The new word spans the two it replaces, as sure as the less sure of them.
    assert (merged.start, merged.end, merged.confidence) == (1.0, 2.8, 0.88)


def test_a_multi_word_hotword_spreads_over_the_time_of_the_words() -> None:
    words = timed("ask", "Priya", "Ragunathan,", "first")
    [result] = apply_hotwords(
        [segment("ask Priya Ragunathan, first", words)], [Hotword("Priya Raghunathan")]
    )

    assert [w.text for w in result.words] == ["ask", "Priya", "Raghunathan,", "first"]
    priya, surname = result.words[1:3]
    assert priya.start == 1.0 and surname.end == 2.8
    assert priya.end == surname.start
    assert all(a.end <= b.start for a, b in itertools.pairwise(result.words))


def test_is_pure() -> None:
    untouched = segment("nothing to see here")
    touched = segment("The graphana dashboards", timed("The", "graphana", "dashboards"))
    before = copy.deepcopy([untouched, touched])

    result = apply_hotwords([untouched, touched], [Hotword("Grafana")])

    assert [untouched, touched] == before
    assert result[0] is untouched
    assert result[1].text == "The Grafana dashboards"
    assert result[1].words[1].text == "Grafana"


def test_no_hotwords_changes_nothing() -> None:
    segments = [segment("graphana")]

    assert apply_hotwords(segments, []) == segments


# ------------------------------------------------------------------------- Chinese


@pytest.mark.parametrize(
    ("text", "hotword", "expected"),
    [
        # A homophone in a product name.
        ("我们用飞树文档记录会议。", "飞书文档", "我们用飞书文档记录会议。"),
        # A homophone in a person's name.
        ("这件事由张小明负责。", "张晓明", "这件事由张晓明负责。"),
        # Mandarin sounds speakers merge: sh/s, -ng/-n (shū / sū).
        ("请在飞苏文档里写。", "飞书文档", "请在飞书文档里写。"),
        # Latin letters inside Chinese text.
        ("设计稿在Figmar里。", "Figma", "设计稿在Figma里。"),
    ],
)
def test_rewrites_chinese_homophones(text: str, hotword: str, expected: str) -> None:
    assert corrected(text, hotword) == expected


def test_several_chinese_hotwords_in_one_run() -> None:
    assert corrected("张小明把飞树文档发给大家", "张晓明", "飞书文档") == "张晓明把飞书文档发给大家"


@pytest.mark.parametrize(
    ("text", "hotword"),
    [
        # The same characters but another word, which sounds different.
        ("产品经验很重要。", "产品经理"),
        # Two characters: too likely an everyday word (黎明 is "dawn").
        ("黎明时分出发。", "李明"),
        # Sounds alike, but too few characters already right to be the same name.
        ("非输文挡", "飞书文档"),
        # Ordinary sentences.
        ("我们今天讨论会议安排。", "飞书文档"),
    ],
)
def test_leaves_chinese_words_alone(text: str, hotword: str) -> None:
    assert corrected(text, hotword) == text


def test_chinese_words_follow_the_text() -> None:
    words = [
        Word("我们", 0.0, 0.5, 0.9),
        Word("用", 0.5, 0.7, 0.9),
        Word("飞树", 0.7, 1.2, 0.6),
        Word("文档", 1.2, 1.6, 0.8),
    ]
    [result] = apply_hotwords([segment("我们用飞树文档", words)], [Hotword("飞书文档")])

    assert result.text == "我们用飞书文档"
    assert [(w.text, w.start, w.end, w.confidence) for w in result.words] == [
        ("我们", 0.0, 0.5, 0.9),
        ("用", 0.5, 0.7, 0.9),
        ("飞书文档", 0.7, 1.6, 0.6),
    ]
