"""What the submit-and-poll ASR adapters (Volcano, iFlytek) share: keys pinned to a job,
bounded polling, and what an HTTP status alone says.

A vendor job (a Volcano request id, an iFlytek order) belongs to the credential that
created it: it is polled with that key only, even after a restart, so the checkpoint
names the key by its fingerprint and `KeyRing` finds the secret again.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from meeting_agent.adapters.providers._transport import Reply, retry_after_seconds
from meeting_agent.adapters.providers.calls import (
    KeyPool,
    KeyRejected,
    QuotaExceeded,
    Transient,
    VendorError,
)
from meeting_agent.errors import Unavailable
from meeting_agent.ports import ProgressReporter

__all__ = ["SUBMITTED", "KeyRing", "PollBudget", "http_failure", "sanitize", "utf8_body"]

# A vendor message may quote what it was sent, and what we send can hold a signed URL
# or a signature in a query string: URLs never reach our messages or logs.
_URL = re.compile(r"\b\w+://\S+")
_MAX_MESSAGE = 200

# Fractions of the transcription stage: the upload or submit is done at SUBMITTED, the
# vendor's work fills the span up to WORKED, parsing the result ends it.
SUBMITTED = 0.05
WORKED = 0.95


class KeyRing:
    """A provider's keys: the rotating pool, and single keys found by fingerprint."""

    def __init__(self, pool: KeyPool) -> None:
        self.pool = pool
        self._secrets = {key.fingerprint: key.secret for key in pool.keys}

    def __len__(self) -> int:
        return len(self._secrets)

    def pinned(self, fingerprint: str) -> KeyPool | None:
        """A pool of the one key with this fingerprint, or None if it is not configured."""
        secret = self._secrets.get(fingerprint)
        if secret is None:
            return None
        return KeyPool(self.pool.provider, [secret], window=self.pool.window)


class PollBudget:
    """How long a job may be waited for, and the progress shown meanwhile.

    `expected_seconds` is a guess of the vendor's processing time; progress approaches
    `WORKED` as the wait grows past it, never reaching it before the result is in.
    """

    def __init__(
        self,
        provider: str,
        *,
        max_wait_seconds: float,
        expected_seconds: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        progress: ProgressReporter,
    ) -> None:
        self._provider = provider
        self._clock = clock
        self._sleep = sleep
        self._progress = progress
        self._start = clock()
        self._deadline = self._start + max_wait_seconds
        self._expected = max(expected_seconds, 1.0)
        self._reported = 0.0
        self.polls = 0

    def report(self, message: str) -> None:
        elapsed = self._clock() - self._start
        fraction = SUBMITTED + (WORKED - SUBMITTED) * elapsed / (elapsed + self._expected)
        if fraction > self._reported:
            self._reported = fraction
            self._progress(fraction, message)

    def wait(self, seconds: float) -> None:
        """Sleep before the next poll, or give up when that would pass the deadline.

        Giving up raises `Unavailable`: the job's checkpoint stays, so a later attempt
        polls the same job again instead of paying for a new one.
        """
        if self._clock() + seconds > self._deadline:
            raise Unavailable(
                f"{self._provider} did not finish the job within the wait allowed",
                reason="PROVIDER_TIMEOUT",
                metadata={"provider": self._provider},
            )
        self._sleep(seconds)


def sanitize(message: str) -> str:
    """A vendor's message, safe for our errors and logs: no URLs, bounded length."""
    cleaned = _URL.sub("<url>", message).strip()
    return cleaned if len(cleaned) <= _MAX_MESSAGE else cleaned[:_MAX_MESSAGE] + "…"


def utf8_body(reply: Reply) -> str:
    """The answer's body as text; `Transient` when it is not UTF-8 (a cut answer)."""
    try:
        return reply.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Transient("the result is not UTF-8") from exc


def http_failure(
    reply: Reply, *, operation: str, max_quota_wait_seconds: float
) -> VendorError | None:
    """The failure an HTTP status alone tells, or None when the vendor's code must decide.

    401/403 reject the key; 408 and 5xx are outages; 429 is a rate limit that
    `Retry-After` says how long to wait out. A wait longer than `max_quota_wait_seconds`
    is a spent quota, not a rate: the key rests for the day, and the call moves to the
    next key (or gives up) instead of sleeping through it.
    """
    status = reply.status
    if status in (401, 403):
        return KeyRejected(f"{operation}: HTTP {status}", http_status=status)
    if status == 429:
        wait = retry_after_seconds(reply.headers)
        if wait is not None and wait > max_quota_wait_seconds:
            # No retry_after: `call_vendor` would sleep it when no other key is left.
            return QuotaExceeded(
                f"{operation}: HTTP 429 for {wait:.0f} s", scope="day", http_status=status
            )
        return QuotaExceeded(
            f"{operation}: HTTP 429", scope="minute", retry_after=wait, http_status=status
        )
    if status == 408 or status >= 500:
        return Transient(
            f"{operation}: HTTP {status}",
            retry_after=retry_after_seconds(reply.headers),
            http_status=status,
        )
    return None
