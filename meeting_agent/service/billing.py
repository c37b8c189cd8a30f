"""What provider calls cost, and the audit log that records every one of them.

No price is hard-coded: the configured table says what each provider and model costs,
with the date and source of each figure, and a call without a price is recorded with
its quantities and a zero cost rather than a guess.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from meeting_agent.config_providers import Price
from meeting_agent.domain.models import CallContext, UsageRecord
from meeting_agent.ports import Clock, UnitOfWorkFactory

_LOGGER = logging.getLogger(__name__)

_MICRO = Decimal("0.000001")
_MILLION = Decimal(1_000_000)
_HOUR = Decimal(3600)


@dataclass(frozen=True)
class Quantities:
    """What a call consumed, per price class."""

    audio_seconds: float = 0.0
    input_tokens: int = 0
    # The part of `input_tokens` that was audio, where the vendor prices it apart.
    audio_input_tokens: int = 0
    output_tokens: int = 0
    # The part of `output_tokens` the model spent thinking (billed as output).
    thinking_tokens: int = 0

    @property
    def text_input_tokens(self) -> int:
        return self.input_tokens - self.audio_input_tokens


# The unit prices a row stores, by name: with its quantities, all `cost_of` needs.
UNIT_PRICE_NAMES = (
    "per_audio_hour",
    "per_million_input_tokens",
    "per_million_audio_input_tokens",
    "per_million_output_tokens",
)


def unit_prices(price: Price) -> dict[str, Decimal]:
    """The price's rates, one per price class (audio tokens at the text rate when the
    vendor does not price them apart)."""
    audio = (
        price.per_million_audio_input_tokens
        if price.per_million_audio_input_tokens is not None
        else price.per_million_input_tokens
    )
    return {
        "per_audio_hour": price.per_audio_hour,
        "per_million_input_tokens": price.per_million_input_tokens,
        "per_million_audio_input_tokens": audio,
        "per_million_output_tokens": price.per_million_output_tokens,
    }


def cost_of(q: Quantities, prices: Mapping[str, Decimal]) -> Decimal:
    """The cost of `q` at `prices` (as `unit_prices` gives them), to the micro-unit.

    The one formula: calls are priced with it, and an audit row's cost is recomputed
    with it from the row's own quantities and unit prices.
    """
    amount = (
        Decimal(str(q.audio_seconds)) / _HOUR * prices["per_audio_hour"]
        + Decimal(q.text_input_tokens) / _MILLION * prices["per_million_input_tokens"]
        + Decimal(q.audio_input_tokens) / _MILLION * prices["per_million_audio_input_tokens"]
        + Decimal(q.output_tokens) / _MILLION * prices["per_million_output_tokens"]
    )
    return amount.quantize(_MICRO, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class AttemptOutcome:
    """How one attempt went, as the vendor answered it."""

    failure: str = ""  # "" for a success
    http_status: int | None = None
    vendor_code: str = ""
    key_fingerprint: str = ""
    # False for a failed attempt that a later one of the same call followed.
    final: bool = True


class PriceTable:
    def __init__(self, prices: Sequence[Price]) -> None:
        self._prices = {(p.provider, p.model): p for p in prices}

    def find(self, provider: str, model: str) -> Price | None:
        return self._prices.get((provider, model)) or self._prices.get((provider, "*"))

    def cost(self, price: Price | None, q: Quantities) -> tuple[Decimal, str]:
        if price is None:
            return Decimal(0), ""
        return cost_of(q, unit_prices(price)), price.currency


class UsageMeter:
    """Writes one audit row per provider call, exactly once per `call_key`."""

    def __init__(self, uow_factory: UnitOfWorkFactory, prices: PriceTable, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._prices = prices
        self._clock = clock

    def record(
        self,
        context: CallContext,
        *,
        provider: str,
        model: str,
        operation: str,
        call_key: str,
        quantities: Quantities,
        latency_ms: int,
        succeeded: bool = True,
        attempt: AttemptOutcome | None = None,
        billed: bool = False,
    ) -> Decimal:
        """Record a call and return its cost; a key seen before records nothing again.

        Database errors propagate; the metering wrappers log them without failing the
        work the call paid for.
        """
        price = self._prices.find(provider, model)
        # A failed call costs nothing, unless the vendor answered and billed it anyway
        # (`billed`: an answer that came back unusable).
        amount, currency = (
            self._prices.cost(price, quantities) if succeeded or billed else (Decimal(0), "")
        )
        attempt = attempt or AttemptOutcome(failure="" if succeeded else "error")
        record = UsageRecord(
            tenant_id=context.tenant_id,
            user_id=context.user_id,
            task_id=context.task_id,
            provider=provider,
            model=model,
            operation=operation,
            labels=dict(context.labels),
            audio_seconds=quantities.audio_seconds,
            input_tokens=quantities.input_tokens,
            output_tokens=quantities.output_tokens,
            cost_amount=amount,
            currency=currency or (price.currency if price else ""),
            succeeded=succeeded,
            create_time=self._clock.now(),
            audio_input_tokens=quantities.audio_input_tokens,
            thinking_tokens=quantities.thinking_tokens,
            failure=attempt.failure,
            http_status=attempt.http_status,
            vendor_code=attempt.vendor_code,
            key_fingerprint=attempt.key_fingerprint,
            final=attempt.final,
        )
        with self._uow_factory() as uow:
            added = uow.audit_logs.add(
                record,
                call_key=call_key,
                latency_ms=latency_ms,
                unit_prices=None if price is None else unit_prices(price),
            )
            if added and amount and context.task_id is not None:
                task = uow.tasks.get(context.tenant_id, context.task_id, for_update=True)
                # A task's cost is kept in one currency; others stay in the audit log.
                if task is not None and task.add_cost(amount, currency):
                    uow.tasks.save(task)
            uow.commit()
        return amount if added else Decimal(0)
