"""Finding hotword near-misses in a sequence of tokens.

`meeting_agent.service.hotword_correction` applies the edits found here to transcripts.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from meeting_agent.text.common_words import COMMON_WORDS
from meeting_agent.text.phonetics import english_key, pinyin_syllables, similarity

__all__ = ["Edit", "HotwordMatcher", "Unit"]

# Set on the cautious side; `bench/hotwords.py` checks they never make a meeting worse.
MIN_FUZZY_LETTERS = 5
MIN_SCORE = 0.75  # mean of spelling and sound similarity
MIN_SPELLING = 0.5
MIN_SOUND = 0.75
MIN_CJK_FUZZY_CHARS = 3
# A candidate may have this many more words than the hotword ("item potency").
EXTRA_WORDS = 2

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_CHAR = re.compile(f"[{_CJK}]")
# A unit is one CJK character, or a word of any other script (with inner apostrophes).
_UNIT = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])[^\W_])+(?:['’](?:(?![{_CJK}])[^\W_])+)*")
# What may stand between the units of one candidate: spaces, hyphens, apostrophes.
# Anything else (a comma, a full stop) ends a phrase, and no hotword spans it.
_JOINER = re.compile(r"[\s\-'’]*")


@dataclass(frozen=True)
class _Target:
    """A hotword prepared for matching."""

    phrase: str
    units: tuple[str, ...]  # lowercase
    key: str  # the units joined
    sound: str  # English sound key; "" for CJK hotwords
    syllables: tuple[str, ...]  # per unit: pinyin of Han characters, else the unit
    cjk: bool
    han_count: int


@dataclass(frozen=True)
class Unit:
    token: int
    start: int  # offsets in the token's text
    end: int
    text: str
    cjk: bool


@dataclass(frozen=True)
class Edit:
    first: int  # unit indices, inclusive
    last: int
    score: float
    phrase: str


class HotwordMatcher:
    """A set of hotwords, indexed for finding their near-misses in token sequences."""

    def __init__(self, targets: list[_Target]) -> None:
        self.spaced = [t for t in targets if not t.cjk]
        # Indexes, so a run is scored only against hotwords it can match: the same
        # letters, the same first sound, or (vowel-initial hotwords) the same sound.
        self.by_key: dict[str, list[_Target]] = {}
        self.by_onset: dict[str, list[_Target]] = {}
        self.by_sound: dict[str, list[_Target]] = {}
        for target in self.spaced:
            self.by_key.setdefault(target.key, []).append(target)
            letters = _letters(target.key)
            if len(letters) >= MIN_FUZZY_LETTERS and target.sound:
                self.by_onset.setdefault(_onset(letters), []).append(target)
                if _onset(letters) == "V":
                    self.by_sound.setdefault(target.sound, []).append(target)
        # Exact lookup for CJK: a candidate must sound exactly like the hotword.
        self.cjk: dict[tuple[str, ...], list[_Target]] = {}
        for target in targets:
            if target.cjk:
                self.cjk.setdefault(target.syllables, []).append(target)
        self.cjk_lengths = sorted({len(key) for key in self.cjk})
        self.max_spaced_units = max((len(t.units) for t in self.spaced), default=0) + EXTRA_WORDS

    @property
    def empty(self) -> bool:
        return not self.spaced and not self.cjk

    @classmethod
    def build(cls, phrases: Iterable[str]) -> HotwordMatcher:
        targets: dict[str, _Target] = {}
        for raw in phrases:
            phrase = " ".join(raw.split())
            units = tuple(m.group().lower() for m in _UNIT.finditer(phrase))
            if not units or phrase.lower() in targets:
                continue
            han = [u for u in units if _HAN.fullmatch(u)]
            cjk = any(_is_cjk(u) for u in units)
            key = "".join(units)
            targets[phrase.lower()] = _Target(
                phrase=phrase,
                units=units,
                key=key,
                sound="" if cjk else english_key(_letters(key)),
                syllables=_syllables(units) if cjk else units,
                cjk=cjk,
                han_count=len(han),
            )
        return cls(list(targets.values()))

    def edits(self, tokens: Sequence[str]) -> tuple[list[Unit], list[Edit]]:
        """The units of `tokens` and the non-overlapping rewrites to make in them."""
        units = _units_of(tokens)
        candidates = self._spaced_edits(tokens, units) + self._cjk_edits(tokens, units)
        # Best first; among equals the shorter run (no stray word swallowed), then earlier.
        candidates.sort(key=lambda e: (-e.score, e.last - e.first, e.first))
        taken: set[int] = set()
        chosen = []
        for edit in candidates:
            span = set(range(edit.first, edit.last + 1))
            if not span & taken:
                taken |= span
                chosen.append(edit)
        return units, sorted(chosen, key=lambda e: e.first)

    def _spaced_edits(self, tokens: Sequence[str], units: list[Unit]) -> list[Edit]:
        edits = []
        for first, unit in enumerate(units):
            if unit.cjk or not self.spaced:
                continue
            for last in range(first, min(first + self.max_spaced_units, len(units))):
                if last > first and (
                    units[last].cjk or not _joined(tokens, units[last - 1], units[last])
                ):
                    break
                window = units[first : last + 1]
                if all(_is_common(u.text.lower()) for u in window):
                    continue
                edit = self._best_spaced(tokens, window, first, last)
                if edit is not None:
                    edits.append(edit)
        return edits

    def _best_spaced(
        self, tokens: Sequence[str], window: list[Unit], first: int, last: int
    ) -> Edit | None:
        key = "".join(u.text.lower() for u in window)
        letters = _letters(key)
        candidates = list(self.by_key.get(key, ()))
        if letters:
            candidates += self.by_onset.get(_onset(letters), ())
            candidates += self.by_sound.get(english_key(letters), ())
        best: Edit | None = None
        for target in dict.fromkeys(candidates):  # each once, in a stable order
            if not len(target.units) - 1 <= len(window) <= len(target.units) + EXTRA_WORDS:
                continue
            score = _spaced_score(window, target)
            if score == 0.0 or (score == _EXACT and _surface(tokens, window) == target.phrase):
                continue  # no match, or already right
            # Every word of the run must be part of the near-miss: in "the Terraform"
            # or "in that suite", "the" and "in" are just words next to it, and a
            # shorter run without them matches as well or better.
            if any(_spaced_score(part, target) >= score for part in _shorter_runs(window)):
                continue
            if best is None or score > best.score:
                best = Edit(first, last, score, target.phrase)
        return best

    def _cjk_edits(self, tokens: Sequence[str], units: list[Unit]) -> list[Edit]:
        if not self.cjk:
            return []
        syllables = _unit_syllables(units)
        edits = []
        for length in self.cjk_lengths:
            for first in range(len(units) - length + 1):
                last = first + length - 1
                window = units[first : last + 1]
                if not all(_joined(tokens, a, b) for a, b in itertools.pairwise(window)):
                    continue
                for target in self.cjk.get(tuple(syllables[first : last + 1]), []):
                    same = sum(
                        u.text.lower() == t for u, t in zip(window, target.units, strict=True)
                    )
                    if same == length:
                        if _surface(tokens, window) != target.phrase:
                            edits.append(Edit(first, last, 2.0, target.phrase))
                    elif target.han_count >= MIN_CJK_FUZZY_CHARS and 2 * same >= length:
                        edits.append(Edit(first, last, 1.0 + same / length, target.phrase))
        return edits


_EXACT = 2.0  # the score of a re-spelling, above any fuzzy match


def _spaced_score(window: Sequence[Unit], target: _Target) -> float:
    """How well a run of words matches a hotword: `_EXACT`, a fuzzy score, or 0.0."""
    key = "".join(u.text.lower() for u in window)
    if key == target.key:
        return _EXACT
    letters = _letters(key)
    target_letters = _letters(target.key)
    if len(target_letters) < MIN_FUZZY_LETTERS or not letters:
        return 0.0
    sound = english_key(letters)
    if not sound or not target.sound:
        return 0.0
    # Recognisers keep the onset of a word they mishear; a different first sound
    # (or a vowel against a consonant) is a different word. The one exception is an
    # unstressed first vowel, which they drop ("accruals" heard as "crewals"); then the
    # rest must sound exactly the same.
    if _onset(letters) != _onset(target_letters) and not (
        _onset(target_letters) == "V" and sound == target.sound
    ):
        return 0.0
    # Edit distance is at least the difference in length: skip hopeless pairs cheaply.
    if not (
        _may_reach(sound, target.sound, MIN_SOUND) and _may_reach(key, target.key, MIN_SPELLING)
    ):
        return 0.0
    heard = similarity(sound, target.sound)
    if heard < MIN_SOUND:
        return 0.0
    spelling = similarity(key, target.key)
    if spelling < MIN_SPELLING:
        return 0.0
    score = (spelling + heard) / 2
    return score if score >= MIN_SCORE else 0.0


# Inflections and derivations of a common word are common too ("firstly", "items").
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("ies", "y"),
    ("ied", "y"),
    ("ily", "y"),
    ("ness", ""),
    ("ments", ""),
    ("ment", ""),
    ("ally", ""),
    ("ly", ""),
    ("ing", ""),
    ("ing", "e"),
    ("ed", ""),
    ("ed", "e"),
    ("ers", ""),
    ("er", ""),
    ("est", ""),
    ("es", ""),
    ("s", ""),
    ("ful", ""),
    ("less", ""),
    ("able", ""),
    ("al", ""),
)


def _is_common(word: str) -> bool:
    if word in COMMON_WORDS or word.isdigit():
        return True
    return any(
        word.endswith(suffix)
        and len(word) - len(suffix) >= 3
        and word[: -len(suffix)] + restore in COMMON_WORDS
        for suffix, restore in _SUFFIXES
    )


def _shorter_runs(window: Sequence[Unit]) -> Iterable[Sequence[Unit]]:
    for size in range(1, len(window)):
        for start in range(len(window) - size + 1):
            yield window[start : start + size]


def _may_reach(a: str, b: str, minimum: float) -> bool:
    longest = max(len(a), len(b))
    return longest == 0 or 1.0 - abs(len(a) - len(b)) / longest >= minimum


def _onset(letters: str) -> str:
    return "V" if letters[0] in "aeiou" else english_key(letters)[:1]


def _letters(key: str) -> str:
    return re.sub(r"[^a-z]", "", key)


def _syllables(units: Sequence[str]) -> tuple[str, ...]:
    han_run = "".join(u for u in units if _HAN.fullmatch(u))
    sounds = iter(pinyin_syllables(han_run)) if han_run else iter(())
    return tuple(next(sounds) if _HAN.fullmatch(u) else u for u in units)


def _unit_syllables(units: list[Unit]) -> list[str]:
    """Pinyin per unit, computed over runs of Han characters so that context picks the
    reading of characters with several ("重庆" is chong qing, not zhong qing)."""
    result = [u.text.lower() for u in units]
    start = 0
    while start < len(units):
        if not _HAN.fullmatch(units[start].text):
            start += 1
            continue
        end = start
        while end < len(units) and _HAN.fullmatch(units[end].text):
            end += 1
        result[start:end] = pinyin_syllables("".join(u.text for u in units[start:end]))
        start = end
    return result


def _between(tokens: Sequence[str], a: Unit, b: Unit) -> str:
    """The text between two units: inside one token, or across the spaces of several."""
    if a.token == b.token:
        return tokens[a.token][a.end : b.start]
    return " ".join(
        [tokens[a.token][a.end :], *tokens[a.token + 1 : b.token], tokens[b.token][: b.start]]
    )


def _joined(tokens: Sequence[str], a: Unit, b: Unit) -> bool:
    return _JOINER.fullmatch(_between(tokens, a, b)) is not None


def _surface(tokens: Sequence[str], window: list[Unit]) -> str:
    text = window[0].text
    for a, b in itertools.pairwise(window):
        text += _between(tokens, a, b) + b.text
    return text


def _units_of(tokens: Sequence[str]) -> list[Unit]:
    return [
        Unit(i, m.start(), m.end(), m.group(), _is_cjk(m.group()))
        for i, token in enumerate(tokens)
        for m in _UNIT.finditer(token)
    ]


def _is_cjk(unit: str) -> bool:
    return len(unit) == 1 and _CJK_CHAR.fullmatch(unit) is not None
