"""Hotword correction: rewrite near-misses of a tenant's hotwords after recognition.

Biasing the recogniser itself (faster-whisper's `hotwords` or `initial_prompt`) made
tiny.en drop whole stretches of speech, so it can make a transcript much worse. This
correction works on the recognised text instead and is built to never do harm:

- English (and any spaced script): a run of one to a few words is rewritten to a
  hotword when its spelling and its sound key (`meeting_agent.text.phonetics`) are both
  close to the hotword's, and its first sound is the same. "graphana" → "Grafana",
  "Kaleenowski" → "Kalinowski", "Qber need to" → "Kubernetes".
- Guards: a run made only of common English words ("number", "graph on the", "work
  day") is never rewritten, however close it is: those words are what people say
  every day, and a false rewrite is worse than a missed one. Fuzzy matching also
  needs a hotword of at least five letters; shorter ones ("SLO", "Rust") are only
  re-spelled when the letters are already the same ("pager duty" → "PagerDuty").
- Chinese and Japanese have no spaces: characters are the units. A run of the
  hotword's length is rewritten when every character sounds the same in Mandarin
  (toneless pinyin, with z/zh, c/ch, s/sh, n/l and -n/-ng merged) and at least half of
  them are already right: a homophone error, "飞树文档" → "飞书文档". A different word
  that merely shares characters ("产品经验" against "产品经理") sounds different and
  is left alone; hotwords of two characters are too likely to be everyday words
  (李明 / 黎明) and are never fuzzy-matched.

`bench/hotwords.py` measures this against no correction and against the recogniser's
own biasing on synthetic meetings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from meeting_agent.domain.models import Hotword, TranscriptSegment, Word
from meeting_agent.text.hotword_matcher import Edit, HotwordMatcher, Unit

__all__ = ["apply_hotwords"]

_SPACE = re.compile(r"(\s*)(\S+)")


def apply_hotwords(
    segments: Sequence[TranscriptSegment], hotwords: Sequence[Hotword]
) -> list[TranscriptSegment]:
    """Rewrite near-misses of `hotwords` in `segments`.

    Pure: the input segments are not modified; segments without a rewrite are
    returned as they are, the others as copies with new text and words. Word timings
    of a rewritten run are spread over the hotword's words.

    Args:
        segments: Recognised segments, in any language.
        hotwords: The tenant's hotwords; weights are not used (a near-miss is
            rewritten or not on its own evidence).

    Returns:
        The segments, in the same order.
    """
    matcher = HotwordMatcher.build(h.phrase for h in hotwords)
    if matcher.empty:
        return list(segments)
    return [_correct_segment(segment, matcher) for segment in segments]


def _correct_segment(segment: TranscriptSegment, matcher: HotwordMatcher) -> TranscriptSegment:
    parts = _SPACE.findall(segment.text)
    tokens = [token for _, token in parts]
    units, edits = matcher.edits(tokens)
    if not edits:
        return segment
    corrected = _apply_to_tokens(tokens, units, edits)
    text = "".join(
        sep + token for (sep, _), token in zip(parts, corrected, strict=True) if token is not None
    )
    text += segment.text[len(segment.text.rstrip()) :]
    words = list(segment.words)
    if words:
        # The words are matched on their own: their boundaries and punctuation need
        # not be the text's.
        word_units, word_edits = matcher.edits([w.text for w in words])
        if word_edits:
            words = _apply_to_words(words, word_units, word_edits)
    return replace(segment, text=text, words=words)


def _apply_to_tokens(
    tokens: Sequence[str], units: list[Unit], edits: list[Edit]
) -> list[str | None]:
    """The tokens after the edits; a token merged into the one before it is None."""
    result: list[str | None] = list(tokens)
    # Last edit first, so the offsets of earlier edits in the same token stay valid.
    for edit in reversed(edits):
        a, b = units[edit.first], units[edit.last]
        head, tail = result[a.token], result[b.token]
        assert head is not None and tail is not None  # edits never overlap
        result[a.token] = head[: a.start] + edit.phrase + tail[b.end :]
        for i in range(a.token + 1, b.token + 1):
            result[i] = None
    return result


def _apply_to_words(words: Sequence[Word], units: list[Unit], edits: list[Edit]) -> list[Word]:
    result: list[Word] = list(words)
    # Last edit first, as in `_apply_to_tokens`; the slice bounds of earlier edits are
    # word indices below any later edit's, so they stay valid as well.
    for edit in reversed(edits):
        a, b = units[edit.first], units[edit.last]
        covered = result[a.token : b.token + 1]
        pieces = edit.phrase.split(" ")
        pieces[0] = covered[0].text[: a.start] + pieces[0]
        pieces[-1] = pieces[-1] + covered[-1].text[b.end :]
        result[a.token : b.token + 1] = _spread(pieces, covered)
    return result


def _spread(pieces: list[str], covered: Sequence[Word]) -> list[Word]:
    """New words over the time of the covered ones, in proportion to their length."""
    start, end = covered[0].start, covered[-1].end
    confidence = min(w.confidence for w in covered)
    total = sum(len(p) for p in pieces)
    words = []
    at = start
    for piece in pieces:
        until = at + (end - start) * len(piece) / total
        words.append(Word(piece, round(at, 3), round(until, 3), confidence))
        at = until
    return words
