"""The time a task allows one provider, across every attempt, key and retry.

Retries inside a call are bounded by attempts and each exchange by its timeouts, but
only a deadline over all of them bounds what a task waits before it fails over: five
attempts at a ten-minute timeout are fifty minutes. The pipeline opens a budget around
each provider it tries (`provider_budget`); the vendor calls made inside it read the
time left (`remaining`) from a context variable, so no adapter threads it through, and
the first call that finds it spent ends the provider's turn with `PROVIDER_TIMEOUT`.

Layer: cross-cutting, below the use cases; it imports only `errors`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from meeting_agent.errors import Unavailable
from meeting_agent.reasons import PROVIDER_TIMEOUT

__all__ = ["PROVIDER_TIMEOUT", "Budget", "current", "provider_budget", "remaining", "spent"]


@dataclass(frozen=True)
class Budget:
    provider: str
    seconds: float
    ends: float  # time.monotonic()

    def left(self) -> float:
        return max(0.0, self.ends - time.monotonic())

    def error(self) -> Unavailable:
        return Unavailable(
            f"{self.provider} did not finish within the task's budget of {self.seconds:g} s",
            reason=PROVIDER_TIMEOUT,
            metadata={"provider": self.provider, "budget_seconds": f"{self.seconds:g}"},
        )


_CURRENT: ContextVar[Budget | None] = ContextVar("provider_budget", default=None)


@contextmanager
def provider_budget(provider: str, seconds: float | None) -> Iterator[None]:
    """Everything in the block, for `provider`, ends by `seconds` from now (None: no bound)."""
    if seconds is None:
        yield
        return
    token = _CURRENT.set(Budget(provider, seconds, time.monotonic() + seconds))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current() -> Budget | None:
    return _CURRENT.get()


def remaining() -> float | None:
    """Seconds left in the open budget; None outside one."""
    budget = _CURRENT.get()
    return None if budget is None else budget.left()


def spent() -> bool:
    budget = _CURRENT.get()
    return budget is not None and budget.left() <= 0.0
