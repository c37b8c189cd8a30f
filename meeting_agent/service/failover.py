"""One error for a failover chain in which every provider failed.

The first provider's failure is the cause a caller acts on (its key was rejected, the
vendor is unreachable), so it gives the reason; what each provider answered goes in
the metadata, one entry per provider, so `GetTask` shows the whole chain without a
look at the server's log.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from meeting_agent import reasons
from meeting_agent.domain.models import ProviderFallback, SkippedProvider
from meeting_agent.errors import MeetingAgentError, Unavailable

__all__ = ["ProviderFailure", "every_provider_failed", "failover_order", "fallback_of"]

ProviderFailure = tuple[str, MeetingAgentError]

# A skipped provider's message is for people; a vendor's whole answer is not needed.
_MESSAGE_CHARS = 300


def failover_order(
    names: Sequence[str], configured: Collection[str], *, no_fallback: bool
) -> list[str]:
    """The providers to try, in order: the configured ones the order names, only the
    first of them when the task would rather fail than fall back."""
    order = [name for name in names if name in configured]
    return order[:1] if no_fallback else order


def fallback_of(
    output: str, provider: str, failures: Sequence[ProviderFailure]
) -> ProviderFallback | None:
    """What to record when `provider` made `output` after `failures`; None when it was
    the first provider tried."""
    if not failures:
        return None
    return ProviderFallback(
        output=output,
        provider=provider,
        skipped=tuple(
            SkippedProvider(
                provider=name, reason=error.reason, message=error.message[:_MESSAGE_CHARS]
            )
            for name, error in failures
        ),
    )


def describe(error: MeetingAgentError) -> str:
    """ "PROVIDER_KEY_REJECTED, HTTP 401, vendor code 45000010: <message>"."""
    parts = [error.reason]
    if "http_status" in error.metadata:
        parts.append(f"HTTP {error.metadata['http_status']}")
    if "vendor_code" in error.metadata:
        parts.append(f"vendor code {error.metadata['vendor_code']}")
    return ", ".join(parts) + f": {error.message}"


def every_provider_failed(kind: str, failures: Sequence[ProviderFailure]) -> MeetingAgentError:
    """The error to fail with after each of `failures` (in the order tried).

    A spent budget (`PROVIDER_TIMEOUT`) gives way to the first other failure: the chain
    is out of time only when every provider is, and a task whose other provider was
    merely down is retried rather than failed for good.
    """
    first = next(
        (error for _, error in failures if error.reason != reasons.PROVIDER_TIMEOUT), failures[0][1]
    )
    metadata = {name: describe(error) for name, error in failures}
    # The cause's own details stay at the top level, where one-provider callers look.
    metadata.update({k: v for k, v in first.metadata.items() if k not in metadata})
    if len(failures) == 1:
        first.metadata = metadata
        return first
    tried = ", ".join(name for name, _ in failures)
    message = f"every chosen {kind} provider failed ({tried}); first: {first.message}"
    if isinstance(first, Unavailable):
        waits = [
            e.retry_after_seconds
            for _, e in failures
            if isinstance(e, Unavailable) and e.retry_after_seconds is not None
        ]
        return Unavailable(
            message,
            reason=first.reason,
            metadata=metadata,
            retry_after_seconds=min(waits) if waits else None,
        )
    return type(first)(message, reason=first.reason, metadata=metadata)
