"""Calling a vendor robustly: key rotation on quota, backoff on outages, bounded time.

Each adapter classifies a vendor's answer into one of the `VendorError`s below; the
rules for what happens next live here, once, for every vendor:

    VendorError
    ├── Transient          5xx, timeouts, "busy": back off and try again
    ├── QuotaExceeded      a key's quota: per minute → wait; per day/credits → next key
    ├── KeyRejected        the key itself is bad: drop it, use the next key
    └── CallerError        the request can't succeed as sent (bad or empty audio):
                           the task fails with the vendor's reason, no retry
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from meeting_agent.errors import FailedPrecondition, InvalidArgument, Unavailable

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")


class VendorError(Exception):
    """A classified vendor failure. Messages never contain keys or signed URLs.

    `http_status` and `vendor_code` are what the vendor answered, when it answered, so
    that a failed task can say exactly that (HTTP 401, code 45000010).
    """

    def __init__(self, message: str, *, http_status: int | None = None,
                 vendor_code: str = "") -> None:
        super().__init__(message)
        self.http_status = http_status
        self.vendor_code = vendor_code


class Transient(VendorError):
    def __init__(self, message: str, *, retry_after: float | None = None,
                 unreachable: bool = False, http_status: int | None = None,
                 vendor_code: str = "") -> None:
        super().__init__(message, http_status=http_status, vendor_code=vendor_code)
        self.retry_after = retry_after
        # No answer at all: the connection failed or timed out.
        self.unreachable = unreachable


class QuotaExceeded(VendorError):
    def __init__(self, message: str, *, scope: Literal["minute", "day"],
                 retry_after: float | None = None, http_status: int | None = None,
                 vendor_code: str = "") -> None:
        super().__init__(message, http_status=http_status, vendor_code=vendor_code)
        self.scope = scope
        self.retry_after = retry_after


class KeyRejected(VendorError):
    """Invalid, revoked or unauthorised credentials."""


class CallerError(VendorError):
    """The vendor says the input is the problem; `reason` is our stable reason for it."""

    def __init__(self, message: str, *, reason: str, precondition: bool = False,
                 http_status: int | None = None, vendor_code: str = "") -> None:
        super().__init__(message, http_status=http_status, vendor_code=vendor_code)
        self.reason = reason
        # FAILED_PRECONDITION (the caller must change state, e.g. enable a feature)
        # rather than INVALID_ARGUMENT (the input itself is bad).
        self.precondition = precondition


@dataclass(frozen=True)
class ApiKey:
    """A credential and a short fingerprint that is safe to log."""

    secret: str = field(repr=False)

    @property
    def fingerprint(self) -> str:
        return "key-" + hashlib.sha256(self.secret.encode()).hexdigest()[:8]


class KeyPool:
    """The keys of one provider, rotated as quotas run out.

    A key out of its daily quota rests until the next UTC midnight; a rejected key rests
    for good (until restart); a key over its per-minute rate rests for the vendor's
    `retry_after`. Keys are used round-robin among the rested ones.
    """

    def __init__(self, provider: str, secrets: Sequence[str],
                 *, now: Callable[[], float] = time.time) -> None:
        self.provider = provider
        self._keys = [ApiKey(s) for s in secrets if s]
        self._resting_until: dict[ApiKey, float] = {}
        self._next = 0
        self._now = now
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def keys(self) -> tuple[ApiKey, ...]:
        """Every key, resting or not: what a file or job made with one is found by."""
        return tuple(self._keys)

    def available(self) -> list[ApiKey]:
        now = self._now()
        with self._lock:
            ready = [k for k in self._keys if self._resting_until.get(k, 0.0) <= now]
            if not ready:
                return []
            start = self._next % len(self._keys)
            self._next += 1
        order = self._keys[start:] + self._keys[:start]
        return [k for k in order if k in ready]

    def soonest_rested(self) -> float | None:
        """Seconds until some key may be used again; None when all are gone for good."""
        now = self._now()
        with self._lock:
            waits = [until - now for until in self._resting_until.values()
                     if until != float("inf")]
        return max(0.0, min(waits)) if waits else None

    def rest(self, key: ApiKey, *, seconds: float | None = None, until_midnight: bool = False,
             forever: bool = False) -> None:
        now = self._now()
        if forever:
            until = float("inf")
        elif until_midnight:
            tomorrow = (datetime.fromtimestamp(now, UTC) + timedelta(days=1)).date()
            until = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC).timestamp()
        else:
            until = now + (seconds or 60.0)
        with self._lock:
            self._resting_until[key] = max(self._resting_until.get(key, 0.0), until)
        _LOGGER.warning("%s %s rests for %s", self.provider, key.fingerprint,
                        "good" if forever else f"{until - now:.0f} s")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on one logical call: attempts, waits and total time."""

    max_attempts: int = 5
    initial_backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0
    max_total_seconds: float = 300.0
    # Waiting for a per-minute quota longer than this is worse than failing over.
    max_quota_wait_seconds: float = 60.0


def call_vendor(
    pool: KeyPool,
    call: Callable[[ApiKey], T],
    *,
    policy: RetryPolicy,
    operation: str,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `call` with some key until it succeeds or there is no point going on.

    Raises `InvalidArgument`/`FailedPrecondition` for `CallerError` (the task fails),
    and `Unavailable` when every key is spent or the outage outlasts the policy (the
    pipeline then fails over to the next provider, or retries the job later).
    """
    provider = pool.provider
    jitter = wait_random_exponential(multiplier=policy.initial_backoff_seconds,
                                     max=policy.max_backoff_seconds)

    answered: list[VendorError] = []  # what the vendor said, the last answer last

    def attempt() -> T:
        keys = pool.available()
        if not keys:
            rested = pool.soonest_rested()
            if rested is None or rested > policy.max_quota_wait_seconds:
                raise _KeysSpent(rested)
            raise QuotaExceeded("every key is resting", scope="minute", retry_after=rested)
        key = keys[0]
        try:
            return call(key)
        except KeyRejected as exc:
            answered.append(exc)
            pool.rest(key, forever=True)
            raise
        except QuotaExceeded as exc:
            answered.append(exc)
            if exc.scope == "day":
                pool.rest(key, until_midnight=True)
            else:
                pool.rest(key, seconds=exc.retry_after or 60.0)
            raise
        except VendorError as exc:
            answered.append(exc)
            raise

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, KeyRejected):
            return 0.0
        if isinstance(exc, QuotaExceeded):
            # Another key may be ready right now; if none is, wait for the first one,
            # unless that is longer than failing over would take (then don't wait: the
            # next attempt finds no key and gives up).
            if pool.available():
                return 0.0
            rested = pool.soonest_rested()
            if rested is None or rested > policy.max_quota_wait_seconds:
                return 0.0
            return rested
        if isinstance(exc, Transient) and exc.retry_after is not None:
            return min(exc.retry_after, policy.max_backoff_seconds)
        return float(jitter(state))

    retrying = Retrying(
        retry=retry_if_exception_type((Transient, QuotaExceeded, KeyRejected)),
        stop=stop_after_attempt(policy.max_attempts) | stop_after_delay(policy.max_total_seconds),
        wait=wait,
        sleep=sleep,
        before_sleep=lambda state: _LOGGER.info(
            "%s %s failed (%s); retrying", provider, operation,
            state.outcome.exception() if state.outcome else "?"),
        reraise=True,
    )
    try:
        return retrying(attempt)
    except CallerError as exc:
        cls = FailedPrecondition if exc.precondition else InvalidArgument
        raise cls(f"{provider} refused the input: {exc}", reason=exc.reason,
                  metadata=_answer(provider, exc)) from exc
    except (_KeysSpent, QuotaExceeded, KeyRejected) as exc:
        rested = exc.rested if isinstance(exc, _KeysSpent) else pool.soonest_rested()
        last = answered[-1] if answered else None
        if isinstance(last, KeyRejected):
            raise Unavailable(f"{provider} rejected the API key: {last}",
                              reason="PROVIDER_KEY_REJECTED",
                              metadata=_answer(provider, last)) from exc
        raise Unavailable(f"{provider}: every API key is out of quota"
                          + (f" ({last})" if last is not None else ""),
                          reason="PROVIDER_QUOTA_EXHAUSTED", retry_after_seconds=rested,
                          metadata=_answer(provider, last)) from exc
    except Transient as exc:
        raise Unavailable(f"{provider} {operation} failed: {exc}",
                          reason="PROVIDER_UNREACHABLE" if exc.unreachable
                          else "PROVIDER_UNAVAILABLE",
                          retry_after_seconds=exc.retry_after,
                          metadata=_answer(provider, exc)) from exc


E = TypeVar("E", bound=Exception)


def answered(error: E, *, http_status: int, vendor_code: str = "") -> E:
    """`error` with what the vendor answered recorded on it (for the task's error)."""
    if isinstance(error, VendorError):
        error.http_status = error.http_status or http_status
        error.vendor_code = error.vendor_code or vendor_code
    elif isinstance(error, Unavailable):
        error.metadata.setdefault("http_status", str(http_status))
        if vendor_code:
            error.metadata.setdefault("vendor_code", vendor_code)
    return error


def _answer(provider: str, exc: VendorError | None) -> dict[str, str]:
    """ErrorInfo metadata of a vendor's answer: who, and the HTTP status and code."""
    metadata = {"provider": provider}
    if exc is not None and exc.http_status is not None:
        metadata["http_status"] = str(exc.http_status)
    if exc is not None and exc.vendor_code:
        metadata["vendor_code"] = exc.vendor_code
    return metadata


class _KeysSpent(Exception):
    def __init__(self, rested: float | None) -> None:
        super().__init__("no key can be used")
        self.rested = rested
