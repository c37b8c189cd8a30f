"""Spans and metrics around calls to ASR and LLM providers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from opentelemetry import trace

from meeting_agent.errors import MeetingAgentError
from meeting_agent.telemetry import instruments

_TRACER = trace.get_tracer("meeting_agent.providers")


@contextmanager
def provider_call(provider: str, operation: str, model: str) -> Iterator[None]:
    """A CLIENT span around one provider call, plus its latency and, on failure, an error
    count by reason (the `MeetingAgentError` reason, or the exception's class)."""
    attributes = {"meeting_agent.provider": provider, "meeting_agent.operation": operation}
    started = time.monotonic()
    outcome = "ok"
    with _TRACER.start_as_current_span(
        f"{operation} {provider}",
        kind=trace.SpanKind.CLIENT,
        attributes={**attributes, "meeting_agent.model": model},
    ):
        try:
            yield
        except BaseException as exc:
            outcome = "error"
            reason = exc.reason if isinstance(exc, MeetingAgentError) else type(exc).__name__
            instruments.provider_errors.add(1, {**attributes, "error.type": reason})
            raise
        finally:
            instruments.provider_duration.record(
                time.monotonic() - started, {**attributes, "outcome": outcome}
            )


def record_provider_cost(provider: str, model: str, amount: Decimal) -> None:
    if amount:
        instruments.provider_cost.add(
            float(amount), {"meeting_agent.provider": provider, "meeting_agent.model": model}
        )
