"""Every attempt of a vendor call, as the audit log bills it.

A logical call (one transcription, one completion) may take several attempts: a 429,
a 500, a timeout, then a success. Each is billed or at least worth seeing, so each
becomes an audit row. `call_vendor` reports every attempt it makes to the log opened
around the call by the metering wrapper (`recording`); like the task's budget, the log
travels in a context variable, so no adapter passes it along and `calls.py` knows
nothing of the database.

Layer: cross-cutting, below the use cases; it imports nothing from meeting-agent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["Attempt", "recording", "report"]


@dataclass(frozen=True)
class Attempt:
    """One request (or request and its retries of a poll) made with one key."""

    operation: str
    # "" for a success, else what failed: "quota", "transient", "unreachable",
    # "key_rejected", "caller_error", "timeout" or "error".
    failure: str
    latency_ms: int
    key_fingerprint: str
    http_status: int | None = None
    vendor_code: str = ""
    message: str = ""


_LOG: ContextVar[list[Attempt] | None] = ContextVar("attempt_log", default=None)


@contextmanager
def recording() -> Iterator[list[Attempt]]:
    """Collect the attempts of the vendor calls made in the block, in order."""
    attempts: list[Attempt] = []
    token = _LOG.set(attempts)
    try:
        yield attempts
    finally:
        _LOG.reset(token)


def report(attempt: Attempt) -> None:
    """Add an attempt to the open log; outside one (a tool, a test) it goes nowhere."""
    log = _LOG.get()
    if log is not None:
        log.append(attempt)
