"""Minutes from a chat model, with map-reduce for transcripts longer than its context.

A transcript that fits is one call: the tenant's template, rendered in the sandbox,
answered as JSON matching `MINUTES_SCHEMA`. A longer one is cut at segment
boundaries into chunks that fit (map: partial minutes per chunk), the partial
decisions, action items and topics are merged without near-duplicates, and one
more call writes the summary from the partial summaries (reduce; batched and
repeated when even those do not fit). No segment is dropped or truncated.

Prompt sizes are estimated without the model's tokenizer (`estimate_tokens`), on the
safe side, so a chunk never overflows the context because of an optimistic count.
"""

from __future__ import annotations

import copy
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError

from meeting_agent.errors import FailedPrecondition, Unavailable
from meeting_agent.minutes.merge import merge_partials
from meeting_agent.minutes.schema import MINUTES_SCHEMA, empty_minutes
from meeting_agent.minutes.validation import validate
from meeting_agent.ports import LlmProvider, LlmUsage, MinutesRequest, MinutesResult
from meeting_agent.text import (
    clock_text,
    estimate_tokens,
    is_cjk_text,
    join_sentences,
    split_sentences,
)
from meeting_agent.text.templates import render_template

__all__ = ["SUMMARY_SCHEMA", "LlmMinutesGenerator"]

logger = logging.getLogger(__name__)

SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["summary"],
    "properties": {"summary": {"type": "string"}},
}

# Chat framing (roles, separators) that every request adds around system and prompt.
_FRAMING_TOKENS = 32
# Levels of summary reduction before the remaining summaries are kept side by side.
_MAX_REDUCE_LEVELS = 6

_TEXTS = {
    False: {
        "part": "\n\nThis is part {k} of {n} of the transcript ({start} to {end}). Write the "
        "minutes of this part only; they will be merged with those of the other "
        "parts. Give every source_offset_seconds in seconds from the start of the "
        "meeting.",
        "reduce": "The summaries below cover consecutive parts of one meeting (date: {date}), "
        "in order. Write a single summary of the whole meeting, a few sentences "
        "long, in the language of the meeting. Answer with JSON "
        '{{"summary": "..."}}.\n\n{parts}',
        "part_label": "Part {label} ({start} to {end}):\n{text}",
        "retry": "\n\nYour previous answer was rejected ({errors}). Answer again with only a "
        "JSON object that matches the schema.",
        "speaker": "Speaker",
    },
    True: {
        "part": "\n\n以上是会议记录的第{k}/{n}部分（{start}至{end}）。请只为这一部分撰写纪要，"
        "之后会与其他部分的纪要合并。source_offset_seconds 为距会议开始的秒数。",
        "reduce": "以下是同一场会议（日期：{date}）各个连续部分的摘要，按时间顺序排列。请据此写出"
        '整场会议的摘要，几句话即可，使用会议的语言。以 JSON {{"summary": "..."}} 回答。'
        "\n\n{parts}",
        "part_label": "第{label}部分（{start}至{end}）：\n{text}",
        "retry": "\n\n上一次的回答不符合要求（{errors}）。请重新回答，只输出符合 schema 的 JSON。",
        "speaker": "发言人",
    },
}


@dataclass(frozen=True)
class _Item:
    """One transcript segment (or, for a segment longer than a whole prompt, a piece of
    one) as the template sees it."""

    speaker: str
    start: float
    end: float
    text: str

    def as_variable(self) -> dict[str, Any]:
        return {
            "speaker": self.speaker,
            "start": self.start,
            "end": self.end,
            "start_text": clock_text(self.start),
            "text": self.text,
        }

    @property
    def weight(self) -> int:
        return (
            estimate_tokens(self.text)
            + estimate_tokens(self.speaker)
            + estimate_tokens(clock_text(self.start))
        )


@dataclass(frozen=True)
class _Part:
    """A partial summary to reduce: which chunks it covers, and when."""

    label: str
    start: float
    end: float
    text: str


class LlmMinutesGenerator:
    """`MinutesGenerator` over an `LlmProvider`, for transcripts of any length."""

    def __init__(self, llm: LlmProvider) -> None:
        self._llm = llm

    @property
    def name(self) -> str:
        return self._llm.name

    def generate(self, request: MinutesRequest) -> MinutesResult:
        """Minutes of the request's transcript.

        Raises:
            FailedPrecondition: the template fails to render (`TEMPLATE_RENDER_FAILED`) or
                leaves no room for any transcript in the model's context (`PROMPT_TOO_LONG`).
            Unavailable: the model answered with invalid minutes twice (`LLM_BAD_OUTPUT`),
                or the provider is down.
        """
        run = _Run(self._llm, request)
        minutes = run.minutes()
        return MinutesResult(
            minutes=minutes,
            provider=self._llm.name,
            model=self._llm.model,
            extractive=False,
            usage=run.usage,
        )


class _Run:
    """One generation: the rendered variables, the token budget and the usage so far."""

    def __init__(self, llm: LlmProvider, request: MinutesRequest) -> None:
        self._llm = llm
        self._template = request.template
        segments = sorted(request.transcript.segments, key=lambda s: (s.start, s.index))
        language = request.language_code or request.transcript.language_code
        sample = " ".join(s.text for s in segments[:50])
        self._zh = language.lower().startswith("zh") if language else is_cjk_text(sample)
        self._texts = _TEXTS[self._zh]
        names = request.speaker_names
        self._items = [
            _Item(
                names.get(s.speaker_label, "") or s.speaker_label or self._texts["speaker"],
                s.start,
                s.end,
                s.text.strip(),
            )
            for s in segments
            if s.text.strip()
        ]
        speakers = [
            names.get(s.speaker_label, "") or s.speaker_label for s in segments if s.speaker_label
        ]
        self._variables: dict[str, Any] = {
            "speakers": list(dict.fromkeys(speakers)),
            "date": request.meeting_date.isoformat(),
            "language": language,
        }
        self._input_tokens = 0
        self._output_tokens = 0
        self._thinking_tokens = 0

    @property
    def usage(self) -> LlmUsage:
        return LlmUsage(
            input_tokens=self._input_tokens,
            output_tokens=self._output_tokens,
            thinking_tokens=self._thinking_tokens,
        )

    # ------------------------------------------------------------ flow

    def minutes(self) -> dict[str, Any]:
        if not self._items:
            return empty_minutes()  # nothing was said: no call to pay for
        system, prompt = self._prompt(self._items)
        if self._fits(system, prompt, MINUTES_SCHEMA):
            return self._call(system, prompt, MINUTES_SCHEMA)
        chunks = self._chunks()
        logger.info(
            "transcript of %d segments split into %d chunks for %s",
            len(self._items),
            len(chunks),
            self._llm.model,
        )
        partials: list[dict[str, Any]] = []
        parts: list[_Part] = []
        for k, chunk in enumerate(chunks, start=1):
            system, prompt = self._prompt(chunk, part=(k, len(chunks)))
            partial = self._call(system, prompt, MINUTES_SCHEMA)
            partials.append(partial)
            parts.append(_Part(str(k), chunk[0].start, chunk[-1].end, partial["summary"]))
        merged = merge_partials(partials)
        merged["summary"] = self._reduce(parts)
        errors = validate(merged, MINUTES_SCHEMA)
        if errors:  # merging valid partials cannot break the schema; fail loudly if it does
            raise AssertionError(f"merged minutes do not match the schema: {errors[:3]}")
        return merged

    # ------------------------------------------------------------ prompts

    def _render(self, body: str, items: Sequence[_Item]) -> str:
        variables = {**self._variables, "transcript": [i.as_variable() for i in items]}
        try:
            return render_template(body, variables)
        except TemplateError as exc:
            raise FailedPrecondition(
                f"prompt template {self._template.id!r} cannot be rendered: {exc}",
                reason="TEMPLATE_RENDER_FAILED",
                metadata={"template": f"promptTemplates/{self._template.id}"},
            ) from None

    def _prompt(
        self, items: Sequence[_Item], part: tuple[int, int] | None = None
    ) -> tuple[str, str]:
        system = self._render(self._template.system_prompt, items)
        prompt = self._render(self._template.body, items)
        if part is not None:
            prompt += self._texts["part"].format(
                k=part[0],
                n=part[1],
                start=clock_text(items[0].start),
                end=clock_text(items[-1].end),
            )
        return system, prompt

    def _fits(self, system: str, prompt: str, schema: dict[str, Any]) -> bool:
        return self._size(system, prompt, schema) <= self._llm.max_input_tokens

    @staticmethod
    def _size(system: str, prompt: str, schema: dict[str, Any]) -> int:
        return (
            estimate_tokens(system)
            + estimate_tokens(prompt)
            + estimate_tokens(json.dumps(schema, ensure_ascii=False))
            + _FRAMING_TOKENS
        )

    # ------------------------------------------------------------ map

    def _chunks(self) -> list[list[_Item]]:
        """Consecutive runs of items whose rendered prompts fit the model's context."""
        empty_system, empty_prompt = self._prompt([])
        # The part note with the widest numbers and times it can have.
        note = self._texts["part"].format(k=9999, n=9999, start="999:59:59", end="999:59:59")
        fixed = self._size(empty_system, empty_prompt + note, MINUTES_SCHEMA)
        room = self._llm.max_input_tokens - fixed
        # What the template adds around each segment (timestamp brackets, newlines),
        # measured once over the whole transcript.
        system, prompt = self._prompt(self._items)
        rendered = estimate_tokens(system) + estimate_tokens(prompt)
        shell = estimate_tokens(empty_system) + estimate_tokens(empty_prompt)
        words = sum(i.weight for i in self._items)
        per_item = max(0, math.ceil((rendered - shell - words) / len(self._items)))
        if room <= per_item:
            raise self._too_long()
        items: list[_Item] = []
        for item in self._items:
            items.extend(
                self._pieces(item, room - per_item) if item.weight + per_item > room else [item]
            )
        chunks: list[list[_Item]] = []
        current: list[_Item] = []
        used = 0
        for item in items:
            cost = item.weight + per_item
            if current and used + cost > room:
                chunks.append(current)
                current, used = [], 0
            current.append(item)
            used += cost
        chunks.append(current)
        # Estimates per item are approximate for unusual templates: check each chunk.
        return [fitted for chunk in chunks for fitted in self._fit(chunk)]

    def _fit(self, chunk: list[_Item]) -> list[list[_Item]]:
        system, prompt = self._prompt(chunk, part=(9999, 9999))
        if self._fits(system, prompt, MINUTES_SCHEMA):
            return [chunk]
        if len(chunk) > 1:
            half = len(chunk) // 2
            return self._fit(chunk[:half]) + self._fit(chunk[half:])
        item = chunk[0]
        if len(item.text) < 2:
            raise self._too_long()
        return [c for piece in self._pieces(item, len(item.text) // 2) for c in self._fit([piece])]

    def _pieces(self, item: _Item, max_tokens: int) -> list[_Item]:
        """A segment too long for any prompt, cut at sentence ends into items that fit.

        A character costs at most one token, so a piece of `max_tokens` characters
        (less the speaker and timestamp) fits by construction.
        """
        limit = max_tokens - estimate_tokens(item.speaker) - estimate_tokens("00:00:00")
        if limit < 1:
            raise self._too_long()
        texts: list[str] = []
        for sentence in split_sentences(item.text, max_chars=limit):
            joined = join_sentences([texts[-1], sentence]) if texts else ""
            if texts and len(joined) <= limit:
                texts[-1] = joined
            else:
                texts.append(sentence)
        out: list[_Item] = []
        offset = 0
        span = item.end - item.start
        total = max(sum(len(t) for t in texts), 1)
        for text in texts:
            start = item.start + span * offset / total
            offset += len(text)
            out.append(_Item(item.speaker, start, item.start + span * offset / total, text))
        return out

    def _too_long(self) -> FailedPrecondition:
        return FailedPrecondition(
            f"prompt template {self._template.id!r} leaves no room for the transcript in the "
            f"{self._llm.max_input_tokens}-token context of {self._llm.model}",
            reason="PROMPT_TOO_LONG",
            metadata={"template": f"promptTemplates/{self._template.id}", "model": self._llm.model},
        )

    # ------------------------------------------------------------ reduce

    def _reduce(self, parts: list[_Part]) -> str:
        """One summary from the partial summaries, in as many rounds as the context needs."""
        system = self._render(self._template.system_prompt, [])
        for _ in range(_MAX_REDUCE_LEVELS):
            prompt = self._reduce_prompt(parts)
            if self._fits(system, prompt, SUMMARY_SCHEMA):
                return str(self._call(system, prompt, SUMMARY_SCHEMA)["summary"])
            batches = self._batches(system, parts)
            if all(len(batch) == 1 for batch in batches):
                break  # not even two summaries fit at once: keep them all
            parts = [
                batch[0] if len(batch) == 1 else self._summarise(system, batch) for batch in batches
            ]
        logger.warning(
            "partial summaries kept side by side: the context of %s is too small to reduce them",
            self._llm.model,
        )
        return join_sentences([p.text for p in parts])

    def _reduce_prompt(self, parts: Sequence[_Part]) -> str:
        listed = "\n\n".join(
            self._texts["part_label"].format(
                label=p.label, start=clock_text(p.start), end=clock_text(p.end), text=p.text
            )
            for p in parts
        )
        return self._texts["reduce"].format(date=self._variables["date"], parts=listed)

    def _batches(self, system: str, parts: list[_Part]) -> list[list[_Part]]:
        batches: list[list[_Part]] = []
        for part in parts:
            if batches and self._fits(
                system, self._reduce_prompt([*batches[-1], part]), SUMMARY_SCHEMA
            ):
                batches[-1].append(part)
            else:
                batches.append([part])
        return batches

    def _summarise(self, system: str, batch: list[_Part]) -> _Part:
        summary = self._call(system, self._reduce_prompt(batch), SUMMARY_SCHEMA)["summary"]
        first, last = batch[0].label.split("-")[0], batch[-1].label.split("-")[-1]
        return _Part(f"{first}-{last}", batch[0].start, batch[-1].end, str(summary))

    # ------------------------------------------------------------ calls

    def _call(self, system: str, prompt: str, schema: dict[str, Any]) -> dict[str, Any]:
        """One model call, validated against the schema, retried once when invalid."""
        problem = ""
        for attempt in range(2):
            asked = prompt
            if attempt:
                retry = prompt + self._texts["retry"].format(errors=problem[:120])
                # The hint is worth sending only when it still fits the context.
                asked = retry if self._fits(system, retry, schema) else prompt
            try:
                answer, usage = self._llm.complete_json(system=system, prompt=asked, schema=schema)
            except ValueError as exc:  # an adapter that could not parse the reply as JSON
                problem = f"not JSON: {exc}"
                continue
            except Unavailable as exc:
                if exc.reason != "LLM_BAD_OUTPUT":
                    raise
                problem = exc.message
                continue
            self._input_tokens += usage.input_tokens
            self._output_tokens += usage.output_tokens
            self._thinking_tokens += usage.thinking_tokens
            errors = validate(answer, schema)
            if not errors:
                return copy.deepcopy(answer)
            problem = "; ".join(errors[:3])
            logger.info(
                "%s answered with invalid minutes (attempt %d): %s",
                self._llm.model,
                attempt + 1,
                problem,
            )
        raise Unavailable(
            f"{self._llm.name} model {self._llm.model} returned invalid minutes twice: "
            f"{problem[:200]}",
            reason="LLM_BAD_OUTPUT",
            metadata={"provider": self._llm.name, "model": self._llm.model},
        )
