"""Provider ports wrapped so that every call lands in the audit log, exactly once.

Call keys are derived from what the call was for, not from when it ran: a job that is
retried or resumed after a paid call reaches the same key and records nothing again.
A failed call gets a key of its own (it happened, and its latency matters) at no cost.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from typing import Any

from meeting_agent.domain.models import CallContext
from meeting_agent.errors import MeetingAgentError
from meeting_agent.ports import (
    AsrProvider,
    AsrRequest,
    AsrResult,
    CancellationCheck,
    Checkpoints,
    LlmProvider,
    LlmUsage,
    NormalizedAudio,
    ProgressReporter,
    VendorFiles,
)
from meeting_agent.service.billing import Quantities, UsageMeter
from meeting_agent.telemetry.providers import provider_call, record_provider_cost

_LOGGER = logging.getLogger(__name__)


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


class MeteredAsr:
    """An `AsrProvider` that records each transcription of a task."""

    def __init__(self, inner: AsrProvider, meter: UsageMeter) -> None:
        self._inner = inner
        self._meter = meter

    @property
    def name(self) -> str:
        return self._inner.name

    def __getattr__(self, item: str) -> Any:
        # Adapter-specific extras (e.g. the local model's counters) stay reachable.
        return getattr(self._inner, item)

    def release(self, checkpoints: Checkpoints) -> None:
        """The inner provider's `VendorFiles.release`, when it leaves files at a vendor."""
        if isinstance(self._inner, VendorFiles):
            self._inner.release(checkpoints)

    def transcribe(self, audio: NormalizedAudio, request: AsrRequest, *,
                   checkpoints: Checkpoints, progress: ProgressReporter,
                   check_cancelled: CancellationCheck) -> AsrResult:
        started = time.monotonic()
        try:
            with provider_call(self.name, "transcribe", request.model):
                result = self._inner.transcribe(audio, request, checkpoints=checkpoints,
                                                progress=progress,
                                                check_cancelled=check_cancelled)
        except MeetingAgentError:
            self._record(request.context, model=request.model, succeeded=False,
                         key=f"failed:{uuid.uuid4()}", started=started)
            raise
        seconds = (result.billed_audio_seconds if result.billed_audio_seconds is not None
                   else audio.duration_seconds)
        self._record(request.context, model=result.model, succeeded=True,
                     key=result.vendor_request_id or "transcription", started=started,
                     quantities=Quantities(audio_seconds=seconds,
                                           input_tokens=result.input_tokens,
                                           audio_input_tokens=result.audio_input_tokens,
                                           output_tokens=result.output_tokens))
        return result

    def _record(self, context: CallContext | None, *, model: str, succeeded: bool, key: str,
                started: float, quantities: Quantities | None = None) -> None:
        if context is None:
            return
        try:
            cost = self._meter.record(context, provider=self.name, model=model,
                                      operation="transcribe",
                                      call_key=f"asr:{context.task_id}:{self.name}:{key}",
                                      quantities=quantities or Quantities(),
                                      latency_ms=_elapsed_ms(started), succeeded=succeeded)
            record_provider_cost(self.name, model, cost)
        except MeetingAgentError:
            # The transcript it paid for must not be lost to a billing hiccup.
            _LOGGER.error("transcription of tasks/%s was not recorded", context.task_id)


class MeteredLlm:
    """An `LlmProvider` that records each completion made for one artifact."""

    def __init__(self, inner: LlmProvider, meter: UsageMeter, context: CallContext) -> None:
        self._inner = inner
        self._meter = meter
        self._context = context

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def model(self) -> str:
        return self._inner.model

    @property
    def max_input_tokens(self) -> int:
        return self._inner.max_input_tokens

    def complete_json(self, *, system: str, prompt: str, schema: dict[str, Any]
                      ) -> tuple[dict[str, Any], LlmUsage]:
        # The same prompt for the same artifact is the same call, whoever runs it.
        digest = hashlib.sha256(f"{system}\0{prompt}".encode()).hexdigest()[:24]
        started = time.monotonic()
        try:
            with provider_call(self.name, "generate_minutes", self.model):
                answer, usage = self._inner.complete_json(system=system, prompt=prompt,
                                                          schema=schema)
        except MeetingAgentError:
            self._record(f"failed:{uuid.uuid4()}", LlmUsage(), started, succeeded=False)
            raise
        self._record(digest, usage, started, succeeded=True)
        return answer, usage

    def _record(self, key: str, usage: LlmUsage, started: float, *, succeeded: bool) -> None:
        context = self._context
        try:
            cost = self._meter.record(
                context, provider=self.name, model=self.model, operation="generate_minutes",
                call_key=f"llm:{context.task_id}:{context.scope}:{self.name}:{key}",
                quantities=Quantities(input_tokens=usage.input_tokens,
                                      output_tokens=usage.output_tokens),
                latency_ms=_elapsed_ms(started), succeeded=succeeded)
            record_provider_cost(self.name, self.model, cost)
        except MeetingAgentError:
            _LOGGER.error("a completion for tasks/%s was not recorded", context.task_id)
