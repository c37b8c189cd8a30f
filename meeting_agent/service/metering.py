"""Provider ports wrapped so that every attempt of every call lands in the audit log.

Call keys are derived from what the call was for, not from when it ran: a job that is
retried or resumed after a paid call reaches the same key and records nothing again.
Each failed attempt of a call (a 429, a 500, a timeout, as `call_vendor` reports them
through `meeting_agent.attempts`) gets a key of its own, at no cost: it happened, its
latency and the vendor's answer matter, and a vendor may bill it.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from meeting_agent import attempts
from meeting_agent.domain.models import CallContext
from meeting_agent.errors import MeetingAgentError
from meeting_agent.ports import (
    AsrProvider,
    AsrRequest,
    AsrResult,
    CancellationCheck,
    Checkpoints,
    LlmOutputError,
    LlmProvider,
    LlmUsage,
    NormalizedAudio,
    ProgressReporter,
    VendorFiles,
)
from meeting_agent.service.billing import AttemptOutcome, Quantities, UsageMeter
from meeting_agent.telemetry.providers import provider_call, record_provider_cost

_LOGGER = logging.getLogger(__name__)


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


class _Ledger:
    """Writes the rows of one logical call: its failed attempts, then how it ended."""

    def __init__(
        self,
        meter: UsageMeter,
        context: CallContext,
        *,
        provider: str,
        operation: str,
        key_prefix: str,
    ) -> None:
        self._meter = meter
        self._context = context
        self._provider = provider
        self._operation = operation
        self._prefix = key_prefix

    def failed(self, model: str, log: Sequence[attempts.Attempt], started: float) -> None:
        """The call failed: each failed attempt, the last one final; one row when the
        call failed before any attempt reached the vendor."""
        tried = [a for a in log if a.failure]
        if not tried:
            self._write(
                model,
                f"failed:{uuid.uuid4()}",
                Quantities(),
                _elapsed_ms(started),
                succeeded=False,
                outcome=AttemptOutcome(failure="error"),
            )
            return
        for index, attempt in enumerate(tried):
            self._attempt(model, attempt, final=index == len(tried) - 1)

    def succeeded(
        self,
        model: str,
        key: str,
        log: Sequence[attempts.Attempt],
        quantities: Quantities,
        started: float,
    ) -> None:
        for attempt in log:
            if attempt.failure:
                self._attempt(model, attempt, final=False)
        last = next((a for a in reversed(log) if not a.failure), None)
        self._write(
            model,
            key,
            quantities,
            _elapsed_ms(started),
            succeeded=True,
            outcome=AttemptOutcome(key_fingerprint=last.key_fingerprint if last else ""),
        )

    def unusable(
        self, model: str, log: Sequence[attempts.Attempt], usage: LlmUsage, started: float
    ) -> None:
        """The vendor answered, and billed, an answer that cannot be used: a failed row
        that costs what the answer's tokens cost."""
        for attempt in log:
            if attempt.failure:
                self._attempt(model, attempt, final=False)
        last = next((a for a in reversed(log) if not a.failure), None)
        self._write(
            model,
            f"unusable:{uuid.uuid4()}",
            Quantities(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                thinking_tokens=usage.thinking_tokens,
            ),
            _elapsed_ms(started),
            succeeded=False,
            billed=True,
            outcome=AttemptOutcome(
                failure="bad_answer", key_fingerprint=last.key_fingerprint if last else ""
            ),
        )

    def _attempt(self, model: str, attempt: attempts.Attempt, *, final: bool) -> None:
        self._write(
            model,
            f"attempt:{uuid.uuid4()}",
            Quantities(),
            attempt.latency_ms,
            succeeded=False,
            outcome=AttemptOutcome(
                failure=attempt.failure,
                http_status=attempt.http_status,
                vendor_code=attempt.vendor_code,
                key_fingerprint=attempt.key_fingerprint,
                final=final,
            ),
        )

    def _write(
        self,
        model: str,
        key: str,
        quantities: Quantities,
        latency_ms: int,
        *,
        succeeded: bool,
        outcome: AttemptOutcome,
        billed: bool = False,
    ) -> None:
        context = self._context
        try:
            cost = self._meter.record(
                context,
                provider=self._provider,
                model=model,
                operation=self._operation,
                call_key=f"{self._prefix}:{key}",
                quantities=quantities,
                latency_ms=latency_ms,
                succeeded=succeeded,
                attempt=outcome,
                billed=billed,
            )
            record_provider_cost(self._provider, model, cost)
        except MeetingAgentError:
            # The work it paid for must not be lost to a billing hiccup.
            _LOGGER.error(
                "a %s call for tasks/%s was not recorded", self._operation, context.task_id
            )


class MeteredAsr:
    """An `AsrProvider` that records each transcription of a task, attempt by attempt."""

    def __init__(self, inner: AsrProvider, meter: UsageMeter) -> None:
        self._inner = inner
        self._meter = meter

    @property
    def name(self) -> str:
        return self._inner.name

    def __getattr__(self, item: str) -> Any:
        # Adapter-specific extras (e.g. the local model's counters) stay reachable.
        return getattr(self._inner, item)

    def check_supported(
        self, duration_seconds: float | None, size_estimate: int | None, can_presign: bool
    ) -> None:
        self._inner.check_supported(duration_seconds, size_estimate, can_presign)

    def release(self, checkpoints: Checkpoints) -> None:
        """The inner provider's `VendorFiles.release`, when it leaves files at a vendor."""
        if isinstance(self._inner, VendorFiles):
            self._inner.release(checkpoints)

    def transcribe(
        self,
        audio: NormalizedAudio,
        request: AsrRequest,
        *,
        checkpoints: Checkpoints,
        progress: ProgressReporter,
        check_cancelled: CancellationCheck,
    ) -> AsrResult:
        context = request.context
        ledger = (
            None
            if context is None
            else _Ledger(
                self._meter,
                context,
                provider=self.name,
                operation="transcribe",
                key_prefix=f"asr:{context.task_id}:{self.name}",
            )
        )
        started = time.monotonic()
        with attempts.recording() as log:
            try:
                with provider_call(self.name, "transcribe", request.model):
                    result = self._inner.transcribe(
                        audio,
                        request,
                        checkpoints=checkpoints,
                        progress=progress,
                        check_cancelled=check_cancelled,
                    )
            except MeetingAgentError:
                if ledger is not None:
                    ledger.failed(request.model, log, started)
                raise
        seconds = (
            result.billed_audio_seconds
            if result.billed_audio_seconds is not None
            else audio.duration_seconds
        )
        if ledger is not None:
            ledger.succeeded(
                result.model,
                result.vendor_request_id or "transcription",
                log,
                Quantities(
                    audio_seconds=seconds,
                    input_tokens=result.input_tokens,
                    audio_input_tokens=result.audio_input_tokens,
                    output_tokens=result.output_tokens,
                    thinking_tokens=result.thinking_tokens,
                ),
                started,
            )
        return result


class MeteredLlm:
    """An `LlmProvider` that records each completion made for one artifact."""

    def __init__(self, inner: LlmProvider, meter: UsageMeter, context: CallContext) -> None:
        self._inner = inner
        self._ledger = _Ledger(
            meter,
            context,
            provider=inner.name,
            operation="generate_minutes",
            key_prefix=f"llm:{context.task_id}:{context.scope}:{inner.name}",
        )

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def model(self) -> str:
        return self._inner.model

    @property
    def max_input_tokens(self) -> int:
        return self._inner.max_input_tokens

    def complete_json(
        self, *, system: str, prompt: str, schema: dict[str, Any]
    ) -> tuple[dict[str, Any], LlmUsage]:
        # The same prompt for the same artifact is the same call, whoever runs it.
        digest = hashlib.sha256(f"{system}\0{prompt}".encode()).hexdigest()[:24]
        started = time.monotonic()
        with attempts.recording() as log:
            try:
                with provider_call(self.name, "generate_minutes", self.model):
                    answer, usage = self._inner.complete_json(
                        system=system, prompt=prompt, schema=schema
                    )
            except MeetingAgentError:
                self._ledger.failed(self.model, log, started)
                raise
            except LlmOutputError as exc:
                self._ledger.unusable(self.model, log, exc.usage, started)
                raise
        self._ledger.succeeded(
            self.model,
            digest,
            log,
            Quantities(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                thinking_tokens=usage.thinking_tokens,
            ),
            started,
        )
        return answer, usage
