"""Labelling transcript segments from a diarizer's turns (`meeting_agent.service.speakers`)."""

from __future__ import annotations

from meeting_agent.domain.models import TranscriptSegment, Word
from meeting_agent.ports import SpeakerTurn
from meeting_agent.service.speakers import assign_speakers


def segment(
    start: float, end: float, *words: tuple[str, float, float], text: str = ""
) -> TranscriptSegment:
    return TranscriptSegment(
        index=0,
        speaker_label="",
        start=start,
        end=end,
        text=text or " ".join(w[0] for w in words),
        words=[Word(t, s, e, 0.9) for t, s, e in words],
    )


def test_a_segment_spanning_a_change_of_speaker_is_split_at_the_word_boundary() -> None:
    seg = segment(
        0.0,
        4.0,
        ("Thanks.", 0.1, 0.6),
        ("Sure,", 1.2, 1.6),
        ("I", 1.7, 1.8),
        ("agree.", 1.9, 3.8),
        text="Thanks. Sure, I agree.",
    )
    turns = [SpeakerTurn(0.0, 1.0, "b"), SpeakerTurn(1.0, 4.0, "a")]

    out = assign_speakers([seg], turns)

    assert [(s.speaker_label, s.start, s.end, s.text) for s in out] == [
        ("SPEAKER_1", 0.0, 0.6, "Thanks."),
        ("SPEAKER_2", 1.2, 4.0, "Sure, I agree."),
    ]
    assert [w.text for w in out[1].words] == ["Sure,", "I", "agree."]
    assert seg.speaker_label == "" and len(seg.words) == 4  # the input is untouched


def test_labels_follow_first_appearance_in_the_transcript() -> None:
    segs = [
        segment(0, 1, ("one", 0.1, 0.9)),
        segment(1, 2, ("two", 1.1, 1.9)),
        segment(2, 3, ("three", 2.1, 2.9)),
        segment(3, 4, ("four", 3.1, 3.9)),
    ]
    turns = [
        SpeakerTurn(0, 1, "S9"),
        SpeakerTurn(1, 2, "S0"),
        SpeakerTurn(2, 3, "S9"),
        SpeakerTurn(3, 4, "S5"),
    ]

    out = assign_speakers(segs, turns)

    assert [s.speaker_label for s in out] == ["SPEAKER_1", "SPEAKER_2", "SPEAKER_1", "SPEAKER_3"]


def test_an_unsplit_segment_keeps_its_text_exactly() -> None:
    seg = segment(0, 2, ("Hello", 0.1, 0.5), ("world", 0.6, 1.0), text="Hello,  world!")

    out = assign_speakers([seg], [SpeakerTurn(0, 2, "x")])

    assert out[0].text == "Hello,  world!" and out[0].speaker_label == "SPEAKER_1"


def test_a_word_takes_the_speaker_overlapping_it_most() -> None:
    seg = segment(0, 3, ("long", 0.8, 1.6), ("word", 1.7, 2.0))
    turns = [SpeakerTurn(0.0, 1.0, "a"), SpeakerTurn(1.0, 3.0, "b")]

    out = assign_speakers([seg], turns)

    assert [(s.speaker_label, s.text) for s in out] == [("SPEAKER_1", "long word")]


def test_words_between_turns_take_the_nearest_turn() -> None:
    seg = segment(0, 6, ("early", 0.0, 0.4), ("late", 5.0, 5.5))
    turns = [SpeakerTurn(1.0, 2.0, "a"), SpeakerTurn(3.0, 4.0, "b")]

    out = assign_speakers([seg], turns)

    assert [(s.speaker_label, s.text) for s in out] == [
        ("SPEAKER_1", "early"),
        ("SPEAKER_2", "late"),
    ]


def test_segments_without_words_take_the_majority_speaker() -> None:
    segs = [
        TranscriptSegment(0, "", 0.0, 3.0, "mostly b"),
        TranscriptSegment(1, "", 3.5, 4.0, "in a gap"),
    ]
    turns = [SpeakerTurn(0.0, 1.0, "a"), SpeakerTurn(1.0, 3.0, "b"), SpeakerTurn(4.2, 5, "c")]

    out = assign_speakers(segs, turns)

    assert [s.speaker_label for s in out] == ["SPEAKER_1", "SPEAKER_2"]
    assert [s.text for s in out] == ["mostly b", "in a gap"]


def test_chinese_words_are_joined_without_spaces() -> None:
    seg = segment(
        0,
        4,
        ("我们", 0.1, 0.5),
        ("决定", 0.6, 1.0),
        ("好的", 2.5, 3.0),
        ("OK", 3.1, 3.5),
        text="我们决定好的OK",
    )
    turns = [SpeakerTurn(0, 2, "a"), SpeakerTurn(2, 4, "b")]

    out = assign_speakers([seg], turns)

    assert [s.text for s in out] == ["我们决定", "好的 OK"]


def test_without_turns_segments_come_back_unlabelled() -> None:
    seg = segment(0, 1, ("hi", 0.1, 0.5))

    assert [s.speaker_label for s in assign_speakers([seg], [])] == [""]


def test_overlapping_turns_count_the_longer_overlap() -> None:
    seg = segment(0, 4, ("word", 1.0, 3.0))
    turns = [SpeakerTurn(0.0, 4.0, "long"), SpeakerTurn(1.5, 2.0, "short")]

    out = assign_speakers([seg], turns)

    assert len(out) == 1 and out[0].speaker_label == "SPEAKER_1"
