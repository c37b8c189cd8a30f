"""Laying a transcript out as subtitle cues: line breaking and cue splitting.

Widths are counted in Latin columns, with a CJK character worth 2.1 of them, so a
line holds about 42 Latin characters or 20 Chinese ones, and mixed lines fall in
between. Lines break between words, never inside one: Latin words end at spaces,
Chinese words are the segmenter's (数据库, not 数据|库). Closing punctuation ("，" "。"
"”") stays with the word it follows, and breaks prefer punctuation.

A cue is cut when it would need a third line or last longer than the maximum
duration. Cut points are timed by the words' timestamps when the segment has
them, or else in proportion to characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from meeting_agent.domain.models import TranscriptSegment, Word
from meeting_agent.text import is_cjk, speaking_seconds, words

__all__ = ["Cue", "layout_cues"]

MAX_CUE_SECONDS = 7.0
MAX_LINES = 2
LINE_COLUMNS = 42.0
_CJK_COLUMNS = LINE_COLUMNS / 20

_CLOSING = set("，。、！？；：）」』》】〕〉”’…,.!?;:)]}%")
_OPENING = set("（「『《【〔〈“‘([{")
# Whitespace runs and single characters; `_units` groups the characters into words.
_UNIT = re.compile(r"\s+|\S")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    speaker: str  # display name; empty when the segment has no speaker
    lines: tuple[str, ...]


@dataclass
class _Unit:
    """An unbreakable piece of text: a Latin word or a CJK character, with the
    punctuation that must stay with it."""

    text: str
    space_before: bool
    offset: int  # where it starts in the segment text, in characters
    start: float = 0.0
    end: float = 0.0

    @property
    def width(self) -> float:
        return sum(_CJK_COLUMNS if is_cjk(c) else 1.0 for c in self.text)


def layout_cues(
    segments: Sequence[TranscriptSegment],
    speaker_names: Mapping[str, str],
    *,
    prefix_speaker: bool = False,
) -> list[Cue]:
    """Cues for every segment, in time order.

    With `prefix_speaker`, the first line of each cue keeps room for "Name: ".
    """
    cues: list[Cue] = []
    ordered = sorted(segments, key=lambda s: (s.start, s.index))
    for k, segment in enumerate(ordered):
        speaker = speaker_names.get(segment.speaker_label, "") or segment.speaker_label
        indent = len(speaker) + 2 if prefix_speaker and speaker else 0
        following = next((s.start for s in ordered[k + 1 :] if s.start > segment.start), None)
        cues.extend(_segment_cues(_with_duration(segment, following), speaker, indent))
    return cues


def _with_duration(segment: TranscriptSegment, following: float | None) -> TranscriptSegment:
    """The segment, given the time it takes to say when a vendor gave it none (start ==
    end), up to the next segment: a zero-length cue is never shown."""
    if segment.end > segment.start:
        return segment
    end = segment.start + speaking_seconds(segment.text)
    if following is not None:
        end = min(end, following)
    return replace(segment, end=end, words=[])


def _segment_cues(segment: TranscriptSegment, speaker: str, indent: int) -> list[Cue]:
    text = " ".join(segment.text.split())
    units = _units(text)
    if not units:
        return []
    _time(units, text, segment)
    groups: list[list[_Unit]] = []
    i = 0
    while i < len(units):
        j = i + 1
        while j < len(units) and _fits(units[i : j + 1], indent):
            j += 1
        if j < len(units):
            j = _natural_break(units, i, j)
        groups.append(units[i:j])
        i = j
    _rebalance_tail(groups, indent)
    cues: list[Cue] = []
    for k, group in enumerate(groups):
        # Cues of one segment follow each other without gaps and span the whole segment.
        start = segment.start if k == 0 else group[0].start
        end = segment.end if k == len(groups) - 1 else groups[k + 1][0].start
        lines = _lines(group, indent) or [group]
        cues.append(Cue(start, max(end, start), speaker, tuple(_join(line) for line in lines)))
    return cues


_SENTENCE_END = tuple("。！？；.!?;")
_CLAUSE_END = tuple("，、：,:")


def _break_bonus(unit: _Unit) -> float:
    """How good a place the end of this unit is to break a line or a cue, in columns."""
    text = unit.text.rstrip("\"'”’)）」』》】")
    if text.endswith(_SENTENCE_END):
        return 12.0
    if text.endswith(_CLAUSE_END):
        return 6.0
    return 0.0


def _lines(units: Sequence[_Unit], indent: int) -> list[list[_Unit]] | None:
    """The units on one line, or on two lines broken where they balance best; None when
    they need more than two."""
    widths = [u.width + (1.0 if k and u.space_before else 0.0) for k, u in enumerate(units)]
    if indent + sum(widths) <= LINE_COLUMNS or len(units) == 1:
        return [list(units)]
    best: tuple[float, int] | None = None
    first = float(indent)
    for k in range(1, len(units)):
        first += widths[k - 1]
        second = sum(widths[k:]) - (1.0 if units[k].space_before else 0.0)
        if first > LINE_COLUMNS and k > 1:
            break
        if second > LINE_COLUMNS:
            continue
        cost = abs(first - second) - _break_bonus(units[k - 1])
        if best is None or cost < best[0]:
            best = (cost, k)
    if best is None:
        return None
    return [list(units[: best[1]]), list(units[best[1] :])]


def _fits(units: Sequence[_Unit], indent: int) -> bool:
    if len(units) == 1:
        return True
    return units[-1].end - units[0].start <= MAX_CUE_SECONDS and _lines(units, indent) is not None


def _natural_break(units: Sequence[_Unit], i: int, j: int) -> int:
    """Where to end a full cue `units[i:j]`: after the last sentence end (or else clause
    end) in its second half, so that cues follow the speech, or at `j`."""
    half = i + max((j - i) // 2, 1)
    for wanted in (12.0, 6.0):
        for k in range(j, half - 1, -1):
            if _break_bonus(units[k - 1]) >= wanted:
                return k
    return j


def _rebalance_tail(groups: list[list[_Unit]], indent: int) -> None:
    """Avoid a last cue of a word or two ("product sync.") by sharing out the last two."""
    if len(groups) < 2:
        return
    tail, before = groups[-1], groups[-2]
    if sum(u.width for u in tail) >= LINE_COLUMNS / 2:
        return
    merged = before + tail
    best: tuple[float, int] | None = None
    for k in range(1, len(merged)):
        left, right = merged[:k], merged[k:]
        if not (_fits(left, indent) and _fits(right, indent)):
            continue
        cost = abs(sum(u.width for u in left) - sum(u.width for u in right)) - 2 * _break_bonus(
            merged[k - 1]
        )
        if best is None or cost < best[0]:
            best = (cost, k)
    if best is not None:
        groups[-2:] = [merged[: best[1]], merged[best[1] :]]


def _units(text: str) -> list[_Unit]:
    units: list[_Unit] = []
    space = False
    word_start = -1
    cjk_start = -1
    for m in _UNIT.finditer(text + " "):
        token = m.group()
        cjk = not token.isspace() and is_cjk(token)
        if cjk_start >= 0 and not cjk:  # a CJK run ends: cut it into words
            for offset, word in _cjk_words(text, cjk_start, m.start()):
                _attach(units, word, space, offset)
                space = False
            cjk_start = -1
        if token.isspace() or cjk:
            if word_start >= 0:  # a Latin word ends
                _attach(units, text[word_start : m.start()], space, word_start)
                space = False
                word_start = -1
            if token.isspace():
                space = True
            elif cjk_start < 0:
                cjk_start = m.start()
        elif word_start < 0:
            word_start = m.start()
    return units


def _cjk_words(text: str, start: int, end: int) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    offset = start
    for word in words(text[start:end]):
        out.append((offset, word))
        offset += len(word)
    return out


def _attach(units: list[_Unit], text: str, space: bool, offset: int) -> None:
    # Closing punctuation joins the unit before it; an opening mark waits for the next.
    if units and not space and (text[0] in _CLOSING or units[-1].text[-1] in _OPENING):
        units[-1].text += text
        return
    units.append(_Unit(text, space, offset))


def _time(units: list[_Unit], text: str, segment: TranscriptSegment) -> None:
    """Give each unit a start and end, from word timestamps when they match the text."""
    span = max(segment.end - segment.start, 0.0)
    # letters_before[i]: how many letters (punctuation and spaces aside) precede text[i].
    letters_before = [0]
    spelled: list[str] = []
    for char in text:
        spelled.append(_letters(char))
        letters_before.append(letters_before[-1] + len(spelled[-1]))
    timeline = _word_timeline(segment.words, "".join(spelled))
    for k, unit in enumerate(units):
        end_offset = units[k + 1].offset if k + 1 < len(units) else len(text)
        if timeline is not None:
            first = min(letters_before[unit.offset], len(timeline) - 1)
            last = min(max(letters_before[end_offset] - 1, first), len(timeline) - 1)
            unit.start, unit.end = timeline[first][0], timeline[last][1]
        else:
            unit.start = segment.start + span * unit.offset / max(len(text), 1)
            unit.end = segment.start + span * end_offset / max(len(text), 1)


def _letters(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", text).casefold() if c.isalnum())


def _word_timeline(words: Sequence[Word], letters: str) -> list[tuple[float, float]] | None:
    """(start, end) of the word each letter of the text belongs to, or None when the
    words do not spell the text (another normalisation, a corrected transcript)."""
    timeline: list[tuple[float, float]] = []
    spelled = ""
    for word in words:
        word_letters = "".join(_letters(c) for c in word.text)
        spelled += word_letters
        timeline.extend([(word.start, word.end)] * len(word_letters))
    if not timeline or spelled != letters:
        return None
    if all(end <= start for start, end in timeline):
        return None  # words without times ("start_time": 0 throughout): share by characters
    return timeline


def _join(line: Sequence[_Unit]) -> str:
    out = ""
    for unit in line:
        out += (" " if out and unit.space_before else "") + unit.text
    return out
