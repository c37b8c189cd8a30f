"""Minutes without a model: ranking, cue phrases and date rules over the transcript.

The embedded default's generator. Every item it writes is a sentence that was said
(tidied of hesitations), so it can be traced back to the transcript by its offset.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from meeting_agent.domain.models import TranscriptSegment
from meeting_agent.minutes import cues
from meeting_agent.minutes.schema import empty_minutes
from meeting_agent.ports import LlmUsage, MinutesRequest, MinutesResult
from meeting_agent.text import (
    ensure_terminated,
    is_cjk_text,
    join_sentences,
    ranking,
    split_sentences,
    terms,
)
from meeting_agent.text.dates import Due, find_due

__all__ = ["ExtractiveMinutesGenerator", "extract_minutes"]

NAME = "extractive"
MODEL = "extractive-v1"

# Longest sentence the generator quotes; longer ones are cut at clause punctuation.
_MAX_SENTENCE_CHARS = {True: 120, False: 300}
# Upper bound of the summary, in characters, for CJK and for Latin text.
_SUMMARY_CHARS = {True: 300, False: 900}
# How far back an action item or decision is compared for near-duplicates.
_DEDUPE_WINDOW = 30


class ExtractiveMinutesGenerator:
    """`MinutesGenerator` that needs no model: deterministic, free and offline."""

    @property
    def name(self) -> str:
        return NAME

    def generate(self, request: MinutesRequest) -> MinutesResult:
        minutes = extract_minutes(
            request.transcript.segments,
            request.speaker_names,
            meeting_date=request.meeting_date,
            language_code=request.language_code or request.transcript.language_code,
        )
        return MinutesResult(
            minutes=minutes, provider=NAME, model=MODEL, extractive=True, usage=LlmUsage()
        )


@dataclass(frozen=True)
class _Sentence:
    text: str  # tidied of hesitations
    start: float
    end: float
    segment: int  # position in the time-ordered segment list
    terms: tuple[str, ...]


def extract_minutes(
    segments: Sequence[TranscriptSegment],
    speaker_names: Mapping[str, str],
    *,
    meeting_date: date,
    language_code: str = "",
) -> dict[str, Any]:
    """Minutes (the `MINUTES_SCHEMA` shape) of a transcript's segments."""
    ordered = sorted(segments, key=lambda s: (s.start, s.index))
    sentences = _sentences(ordered)
    if not sentences:
        return empty_minutes()
    sample = " ".join(s.text for s in sentences[:200])
    zh = language_code.lower().startswith("zh") if language_code else is_cjk_text(sample)
    cjk_text = is_cjk_text(sample)

    idf = ranking.idf_weights([s.terms for s in sentences])
    vectors = [ranking.tfidf(s.terms, idf) for s in sentences]
    center = ranking.centroid(vectors)
    scores = [
        _quality(s) * ranking.cosine(v, center) for s, v in zip(sentences, vectors, strict=True)
    ]
    duration = max(s.end for s in ordered) - ordered[0].start
    starts = ranking.segment_topics(
        [s.terms for s in sentences], [s.start for s in sentences], duration
    )
    topics = _topics(sentences, vectors, starts, ordered, zh)
    items = _Items(ordered, speaker_names, meeting_date)
    for sentence in sentences:
        items.add(sentence)
    return {
        "summary": _summary(sentences, vectors, scores, starts, cjk_text),
        "decisions": items.decisions,
        "action_items": items.action_items,
        "topics": topics,
    }


def _speaker(segment: TranscriptSegment, speaker_names: Mapping[str, str]) -> str:
    return speaker_names.get(segment.speaker_label, "") or segment.speaker_label


def _sentences(segments: Sequence[TranscriptSegment]) -> list[_Sentence]:
    out: list[_Sentence] = []
    for position, segment in enumerate(segments):
        text = segment.text.strip()
        if not text:
            continue
        pieces = split_sentences(text, max_chars=_MAX_SENTENCE_CHARS[is_cjk_text(text)])
        span = max(segment.end - segment.start, 0.0)
        cursor = 0
        for piece in pieces:
            offset = text.find(piece, cursor)
            offset = cursor if offset < 0 else offset
            cursor = offset + len(piece)
            # Without word timings, time within a segment is proportional to characters.
            start = segment.start + span * offset / len(text)
            end = segment.start + span * cursor / len(text)
            cleaned = cues.clean_sentence(piece)
            out.append(_Sentence(cleaned, start, end, position, tuple(terms(cleaned))))
    return out


def _quality(sentence: _Sentence) -> float:
    """Down-weights fragments ("OK, sounds good.") and questions for the summary."""
    factor = min(1.0, len(sentence.terms) / 4)
    if cues.is_question(sentence.text):
        factor *= 0.5
    return factor


# ---------------------------------------------------------------- summary


def _summary(
    sentences: Sequence[_Sentence],
    vectors: Sequence[ranking.Vector],
    scores: Sequence[float],
    starts: Sequence[int],
    cjk: bool,
) -> str:
    n = len(sentences)
    target = 3 if n <= 30 else 4 if n <= 120 else 5
    target = min(6, max(target, len(starts)))
    chosen: list[int] = []

    def fits(i: int) -> bool:
        used = sum(len(sentences[j].text) for j in chosen)
        return not chosen or used + len(sentences[i].text) <= _SUMMARY_CHARS[cjk]

    def redundant(i: int) -> float:
        return max((ranking.cosine(vectors[i], vectors[j]) for j in chosen), default=0.0)

    # One sentence from each topic first, so a long meeting's summary covers it all.
    bounds = [*starts, n]
    best_per_topic = [
        max(range(a, b), key=lambda i: (scores[i], -i))
        for a, b in itertools.pairwise(bounds)
        if b > a
    ]
    for i in sorted(best_per_topic, key=lambda i: (-scores[i], i)):
        if len(chosen) < target and scores[i] > 0 and redundant(i) < 0.6 and fits(i):
            chosen.append(i)
    # Then the best remaining sentences, penalised for repeating what is chosen (MMR).
    while len(chosen) < min(target, n):
        pick = max(
            (i for i in range(n) if i not in chosen and fits(i)),
            key=lambda i: (scores[i] - 0.7 * redundant(i), -i),
            default=None,
        )
        if pick is None or (scores[pick] <= 0 and chosen):
            break
        chosen.append(pick)
    return join_sentences([ensure_terminated(sentences[i].text) for i in sorted(chosen)])


# ---------------------------------------------------------------- topics


def _topics(
    sentences: Sequence[_Sentence],
    vectors: Sequence[ranking.Vector],
    starts: Sequence[int],
    segments: Sequence[TranscriptSegment],
    zh: bool,
) -> list[dict[str, Any]]:
    bounds = [*starts, len(sentences)]
    texts = [" ".join(s.text for s in sentences[a:b]) for a, b in itertools.pairwise(bounds)]
    phrase_counts = [ranking.phrase_counts(t) for t in texts]
    df: Counter[str] = Counter()
    for counts in phrase_counts:
        df.update(counts.keys())
    topics: list[dict[str, Any]] = []
    for number, (a, b) in enumerate(itertools.pairwise(bounds)):
        section = range(a, b)
        center = ranking.centroid([vectors[i] for i in section])
        best = max(
            section, key=lambda i: (_quality(sentences[i]) * ranking.cosine(vectors[i], center), -i)
        )
        phrases = ranking.keyphrases(phrase_counts[number], df, len(texts), texts[number], limit=3)
        title = _title(phrases, number, zh)
        start = segments[0].start if number == 0 else sentences[a].start
        end = max(s.end for s in segments) if b == len(sentences) else sentences[b].start
        topics.append(
            {
                "title": title,
                "summary": ensure_terminated(sentences[best].text),
                "start_seconds": round(max(start, 0.0), 3),
                "end_seconds": round(max(end, start, 0.0), 3),
            }
        )
    return topics


def _title(phrases: Sequence[str], number: int, zh: bool) -> str:
    if not phrases:
        return f"第{number + 1}部分" if zh else f"Part {number + 1}"
    shown = [p[:1].upper() + p[1:] if p.isascii() else p for p in phrases]
    if all(not p.isascii() for p in phrases):
        return "、".join(shown[:2])
    return ", ".join(shown)


# ---------------------------------------------------------------- decisions and actions


class _Items:
    """Decisions and action items, in meeting order, with near-duplicates folded."""

    def __init__(
        self,
        segments: Sequence[TranscriptSegment],
        speaker_names: Mapping[str, str],
        meeting_date: date,
    ) -> None:
        self._segments = segments
        self._speaker_names = speaker_names
        self._meeting_date = meeting_date
        labels = list(dict.fromkeys(s.speaker_label for s in segments if s.speaker_label))
        self._labels = labels
        self._names = cues.NameBook(
            [*(_speaker(s, speaker_names) for s in segments), *speaker_names.values()]
        )
        self.decisions: list[dict[str, Any]] = []
        self.action_items: list[dict[str, Any]] = []
        self._decision_terms: list[frozenset[str]] = []
        self._action_terms: list[tuple[str, frozenset[str]]] = []
        # The last request, its segment and terms, to fold the reply "Sure, I'll do it".
        self._last_request: tuple[int, dict[str, Any], frozenset[str]] | None = None

    def add(self, sentence: _Sentence) -> None:
        segment = self._segments[sentence.segment]
        offset = round(max(segment.start, 0.0), 3)
        text = ensure_terminated(sentence.text)
        bag = frozenset(sentence.terms)
        if cues.is_decision(sentence.text) and not _near(bag, self._decision_terms):
            self.decisions.append({"text": text, "source_offset_seconds": offset})
            self._decision_terms.append(bag)
        due = find_due(sentence.text, self._meeting_date)
        cue = cues.action_cue(
            sentence.text, self._names, has_deadline=due is not None and due.deadline
        )
        if cue is None:
            # "明白，我明天上午打电话。": no promise of its own, but it dates the request.
            if due is not None:
                speaker = _speaker(self._segments[sentence.segment], self._speaker_names)
                self._folds_into_request(sentence, speaker, due)
            return
        owner = self._owner(cue, sentence)
        if self._folds_into_request(sentence, owner, due):
            return
        if _near(bag, [b for o, b in self._action_terms if o == owner]):
            return
        item = {
            "owner": owner,
            "text": text,
            "due_date": due.date.isoformat() if due and due.date else "",
            "due_text": due.text if due else "",
            "source_offset_seconds": offset,
        }
        self.action_items.append(item)
        self._action_terms.append((owner, bag))
        if cue.kind in (cues.OwnerKind.YOU, cues.OwnerKind.NAMED):
            self._last_request = (sentence.segment, item, bag)

    def _owner(self, cue: cues.ActionCue, sentence: _Sentence) -> str:
        position = sentence.segment
        segment = self._segments[position]
        speaker = _speaker(segment, self._speaker_names)
        if cue.kind is cues.OwnerKind.NAMED:
            return cue.owner
        if cue.kind is cues.OwnerKind.GROUP:
            return "全体成员" if is_cjk_text(sentence.text) else "Everyone"
        if cue.kind is cues.OwnerKind.YOU:
            # "Can you…?" names nobody: the one who accepts it in the next turn owns it,
            # or the other person when only two are talking.
            reply = next(
                (
                    s
                    for s in self._segments[position + 1 : position + 3]
                    if s.speaker_label != segment.speaker_label
                ),
                None,
            )
            if reply is not None and cues.is_acknowledgement(reply.text):
                return _speaker(reply, self._speaker_names)
            others = [lb for lb in self._labels if lb != segment.speaker_label]
            if len(self._labels) == 2 and len(others) == 1:
                return self._speaker_names.get(others[0], "") or others[0]
        return speaker

    def _folds_into_request(self, sentence: _Sentence, owner: str, due: Due | None) -> bool:
        """Whether this accepts the request just made ("Sure, I'll send it by Friday").

        The acceptance adds its deadline to the request instead of becoming a second
        item; a reply that brings new work ("Sure. I'll also update the roadmap")
        stays an item of its own.
        """
        if self._last_request is None:
            return False
        position, request, request_bag = self._last_request
        if not (position < sentence.segment <= position + 2 and request["owner"] == owner):
            return False
        if not cues.is_acknowledgement(self._segments[sentence.segment].text):
            return False
        if _ADDS_WORK.search(sentence.text):
            return False
        # What the reply says beyond the request and its own deadline must be next to
        # nothing; Chinese bigrams straddle words, hence the larger allowance.
        rest = sentence.text.replace(due.text, " ") if due else sentence.text
        cjk = is_cjk_text(sentence.text)
        if len(frozenset(terms(rest)) - request_bag) > (4 if cjk else 2):
            return False
        if due is not None and not request["due_text"]:
            request["due_text"] = due.text
            request["due_date"] = due.date.isoformat() if due.date else ""
        self._last_request = None
        return True


_ADDS_WORK = re.compile(
    r"\b(?:also|too|as\s+well|additionally|plus)\b|另外|还要|还会|也会|顺便", re.IGNORECASE
)


def _near(bag: frozenset[str], earlier: Sequence[frozenset[str]]) -> bool:
    """Whether a term set repeats one of the recent ones (Jaccard ≥ 0.8)."""
    if not bag:
        return False
    for other in earlier[-_DEDUPE_WINDOW:]:
        union = len(bag | other)
        if union and len(bag & other) / union >= 0.8:
            return True
    return False
