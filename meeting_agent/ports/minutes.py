"""Minutes: the chat model that answers in JSON, and the generator that turns a
transcript into minutes, with their requests, results and token usage. Ports are what
the services need from infrastructure; the LLM providers in
`meeting_agent.adapters.providers` and the generators in `meeting_agent.minutes`
implement these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from meeting_agent.domain.models import CallContext, PromptTemplate, Transcript


@dataclass(frozen=True)
class LlmUsage:
    input_tokens: int = 0
    output_tokens: int = 0
    # Of `output_tokens`, those the model spent thinking (reasoning) before answering.
    thinking_tokens: int = 0


class LlmOutputError(ValueError):
    """The model answered, but not with a usable JSON object. The tokens were paid for:
    `usage` says how many, for whoever records costs."""

    def __init__(self, message: str, *, usage: LlmUsage) -> None:
        super().__init__(message)
        self.usage = usage


class LlmProvider(Protocol):
    """A chat model that answers with JSON matching a schema."""

    @property
    def name(self) -> str: ...

    @property
    def model(self) -> str: ...

    @property
    def max_input_tokens(self) -> int:
        """How much prompt the model takes; longer transcripts are split (map-reduce)."""
        ...

    def complete_json(
        self, *, system: str, prompt: str, schema: dict[str, Any]
    ) -> tuple[dict[str, Any], LlmUsage]: ...


@dataclass(frozen=True)
class MinutesRequest:
    transcript: Transcript
    speaker_names: dict[str, str]
    template: PromptTemplate
    language_code: str
    meeting_date: date
    context: CallContext | None = None


@dataclass
class MinutesResult:
    """`minutes` follows `meeting_agent.minutes.schema.MINUTES_SCHEMA`."""

    minutes: dict[str, Any]
    provider: str
    model: str
    extractive: bool
    usage: LlmUsage


class MinutesGenerator(Protocol):
    """Turns a transcript into minutes: the extractive generator, or an LLM behind it."""

    @property
    def name(self) -> str: ...

    def generate(self, request: MinutesRequest) -> MinutesResult: ...
