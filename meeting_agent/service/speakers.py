"""Giving transcript segments the speakers of a diarizer's turns.

Words take the speaker whose turns overlap them most, so a segment spanning a change
of speaker is split at the word boundary where the speaker changes. A segment without
word timings takes the speaker that overlaps most of it. Speech that falls between
turns takes the nearest turn. Labels are renamed `SPEAKER_1`, `SPEAKER_2`, … in order
of first appearance in the transcript, whatever the diarizer called them.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import replace

from meeting_agent.domain.models import TranscriptSegment, Word
from meeting_agent.ports import SpeakerTurn
from meeting_agent.text import is_cjk

__all__ = ["SPEAKER_LABEL_PREFIX", "assign_speakers", "speaker_label"]

SPEAKER_LABEL_PREFIX = "SPEAKER_"


def speaker_label(number: int) -> str:
    """The label of the `number`-th speaker (1-based): `SPEAKER_1`, `SPEAKER_2`, …"""
    return f"{SPEAKER_LABEL_PREFIX}{number}"


class _Turns:
    """Turns sorted by start, searchable by time (overlapping turns allowed)."""

    def __init__(self, turns: Sequence[SpeakerTurn]) -> None:
        self._turns = sorted((t for t in turns if t.end > t.start), key=lambda t: t.start)
        self._starts = [t.start for t in self._turns]
        # The latest end among turns[0..i]: a backward scan can stop once it is passed.
        self._reach = list(itertools.accumulate((t.end for t in self._turns), max))
        self._first: dict[str, float] = {}
        for turn in self._turns:
            self._first.setdefault(turn.speaker, turn.start)

    def __bool__(self) -> bool:
        return bool(self._turns)

    def speaker(self, start: float, end: float) -> str:
        """The speaker overlapping [start, end] most; the nearest one if none overlaps."""
        overlap: dict[str, float] = {}
        # Every turn starting before `end` (or at a zero-length word's instant) ...
        last = (
            bisect.bisect_right(self._starts, end)
            if end == start
            else bisect.bisect_left(self._starts, end)
        )
        i = last - 1
        # ... that still reaches past `start`.
        while i >= 0 and self._reach[i] >= start:
            turn = self._turns[i]
            shared = min(turn.end, end) - max(turn.start, start)
            if shared > 0 or (start == end and turn.start <= start <= turn.end):
                overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + max(shared, 0.0)
            i -= 1
        if overlap:
            # Most overlap wins; a tie goes to the speaker heard first.
            return max(overlap, key=lambda s: (overlap[s], -self._first[s]))
        nearby = self._turns[max(0, last - 2) : last + 2] or self._turns
        return min(nearby, key=lambda t: _gap(t, start, end)).speaker


def _gap(turn: SpeakerTurn, start: float, end: float) -> float:
    return max(turn.start - end, start - turn.end, 0.0)


def _join(words: Sequence[Word]) -> str:
    """Words as text: spaces between Latin words, none between CJK characters."""
    text = ""
    for word in words:
        if text and not (is_cjk(text[-1]) and is_cjk(word.text[:1])):
            text += " "
        text += word.text
    return text


def _split(segment: TranscriptSegment, speakers: list[str]) -> list[TranscriptSegment]:
    runs: list[tuple[int, int]] = []
    first = 0
    for i in range(1, len(speakers) + 1):
        if i == len(speakers) or speakers[i] != speakers[first]:
            runs.append((first, i))
            first = i
    if len(runs) == 1:
        return [replace(segment, speaker_label=speakers[0], words=list(segment.words))]
    pieces = []
    for n, (a, b) in enumerate(runs):
        words = segment.words[a:b]
        pieces.append(
            replace(
                segment,
                speaker_label=speakers[a],
                start=segment.start if n == 0 else words[0].start,
                end=segment.end if n == len(runs) - 1 else words[-1].end,
                text=_join(words),
                words=list(words),
            )
        )
    return pieces


def assign_speakers(
    segments: Sequence[TranscriptSegment], turns: Sequence[SpeakerTurn]
) -> list[TranscriptSegment]:
    """New segments labelled from `turns`; the input segments are not modified.

    Args:
        segments: Transcript segments in time order, with or without word timings.
        turns: A diarizer's speaker turns (any labels, any order).

    Returns:
        The segments, split where the speaker changes between two words, each with a
        `SPEAKER_n` label numbered in order of first appearance. With no turns, the
        segments come back unchanged (and unlabelled).
    """
    index = _Turns(turns)
    if not index:
        return [replace(s, words=list(s.words)) for s in segments]
    labelled: list[TranscriptSegment] = []
    for segment in segments:
        if segment.words:
            speakers = [index.speaker(w.start, w.end) for w in segment.words]
            labelled.extend(_split(segment, speakers))
        else:
            labelled.append(
                replace(segment, speaker_label=index.speaker(segment.start, segment.end))
            )
    names: dict[str, str] = {}
    for segment in labelled:
        segment.speaker_label = names.setdefault(
            segment.speaker_label, speaker_label(len(names) + 1)
        )
    return labelled
