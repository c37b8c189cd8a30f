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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from meeting_agent import attempts, deadlines
from meeting_agent.errors import FailedPrecondition, InvalidArgument, Unavailable

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")


class VendorError(Exception):
    """A classified vendor failure. Messages never contain keys or signed URLs.

    `http_status` and `vendor_code` are what the vendor answered, when it answered, so
    that a failed task can say exactly that (HTTP 401, code 45000010).
    """

    def __init__(
        self, message: str, *, http_status: int | None = None, vendor_code: str = ""
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.vendor_code = vendor_code


class Transient(VendorError):
    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        unreachable: bool = False,
        http_status: int | None = None,
        vendor_code: str = "",
    ) -> None:
        super().__init__(message, http_status=http_status, vendor_code=vendor_code)
        self.retry_after = retry_after
        # No answer at all: the connection failed or timed out.
        self.unreachable = unreachable


class QuotaExceeded(VendorError):
    def __init__(
        self,
        message: str,
        *,
        scope: Literal["minute", "day"],
        retry_after: float | None = None,
        http_status: int | None = None,
        vendor_code: str = "",
        per_project: bool = False,
    ) -> None:
        super().__init__(message, http_status=http_status, vendor_code=vendor_code)
        self.scope = scope
        self.retry_after = retry_after
        # The vendor says the quota is its project's (Gemini's "...PerProject..." ids):
        # every key of that project is out of it, not this one alone.
        self.per_project = per_project


class KeyRejected(VendorError):
    """Invalid, revoked or unauthorised credentials."""


class CallerError(VendorError):
    """The vendor says the input is the problem; `reason` is our stable reason for it."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        precondition: bool = False,
        http_status: int | None = None,
        vendor_code: str = "",
    ) -> None:
        super().__init__(message, http_status=http_status, vendor_code=vendor_code)
        self.reason = reason
        # FAILED_PRECONDITION (the caller must change state, e.g. enable a feature)
        # rather than INVALID_ARGUMENT (the input itself is bad).
        self.precondition = precondition


@dataclass(frozen=True)
class ApiKey:
    """A credential and a short fingerprint that is safe to log."""

    secret: str = field(repr=False)
    # The vendor project (account, app) the key bills to; "" for a key of its own.
    project: str = ""

    @property
    def fingerprint(self) -> str:
        return "key-" + hashlib.sha256(self.secret.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class QuotaWindow:
    """How a vendor counts quotas: when a daily one resets, and whether keys of one
    project share it. `projects` maps a key's secret to its project's name."""

    daily_reset_timezone: str = "UTC"
    scope: Literal["key", "project"] = "key"
    projects: Mapping[str, str] = field(default_factory=dict, repr=False)


class KeyPool:
    """The keys of one provider, rotated as quotas run out.

    A key out of its daily quota rests until the next midnight in the vendor's
    `daily_reset_timezone`; with `quota_scope` "project", so do the other keys of its
    project (quotas counted per project run out for all of them at once). A rejected key
    rests for good (until restart); a key over its per-minute rate rests for the
    vendor's `retry_after`. Keys are used round-robin among the rested ones.
    """

    def __init__(
        self,
        provider: str,
        secrets: Sequence[str],
        *,
        now: Callable[[], float] = time.time,
        window: QuotaWindow | None = None,
    ) -> None:
        self.provider = provider
        self.window = window or QuotaWindow()
        self._keys = list(
            dict.fromkeys(ApiKey(s, self.window.projects.get(s, "")) for s in secrets if s)
        )
        self._zone = ZoneInfo(self.window.daily_reset_timezone)
        self._shared = self.window.scope == "project"
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
            waits = [until - now for until in self._resting_until.values() if until != float("inf")]
        return max(0.0, min(waits)) if waits else None

    def next_reset(self) -> float:
        """The next midnight in the vendor's time zone, as a POSIX time (DST-correct:
        the wall-clock date is advanced, then localised)."""
        local = datetime.fromtimestamp(self._now(), self._zone)
        tomorrow = local.date() + timedelta(days=1)
        return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=self._zone).timestamp()

    def rest(
        self,
        key: ApiKey,
        *,
        seconds: float | None = None,
        until_midnight: bool = False,
        forever: bool = False,
        whole_project: bool = False,
    ) -> None:
        """Rest `key`; a daily quota (or `whole_project`) rests its project's keys too
        when quotas are the project's."""
        now = self._now()
        if forever:
            until = float("inf")
        elif until_midnight:
            until = self.next_reset()
        else:
            until = now + (seconds or 60.0)
        resting = [key]
        if not forever and key.project and (whole_project or (until_midnight and self._shared)):
            resting = [k for k in self._keys if k.project == key.project]
        with self._lock:
            for k in resting:
                self._resting_until[k] = max(self._resting_until.get(k, 0.0), until)
        _LOGGER.warning(
            "%s %s rests for %s",
            self.provider,
            ", ".join(k.fingerprint for k in resting),
            "good" if forever else f"{until - now:.0f} s",
        )


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
    pipeline then fails over to the next provider, or retries the job later), with
    reason `PROVIDER_TIMEOUT` once the task's budget for the provider is spent (see
    `meeting_agent.deadlines`): no attempt starts, and no wait runs, past it.
    """
    provider = pool.provider
    jitter = wait_random_exponential(
        multiplier=policy.initial_backoff_seconds, max=policy.max_backoff_seconds
    )

    answered: list[VendorError] = []  # what the vendor said, the last answer last

    def attempt() -> T:
        budget = deadlines.current()
        if budget is not None and budget.left() <= 0.0:
            raise _BudgetSpent(budget)
        keys = pool.available()
        if not keys:
            rested = pool.soonest_rested()
            if rested is None or rested > policy.max_quota_wait_seconds:
                raise _KeysSpent(rested)
            raise QuotaExceeded("every key is resting", scope="minute", retry_after=rested)
        key = keys[0]
        started = time.monotonic()
        try:
            result = call(key)
        except BaseException as exc:
            _report(operation, key, started, exc)
            if isinstance(exc, VendorError):
                answered.append(exc)
            if isinstance(exc, KeyRejected):
                pool.rest(key, forever=True)
            elif isinstance(exc, QuotaExceeded):
                if exc.scope == "day":
                    pool.rest(key, until_midnight=True, whole_project=exc.per_project)
                else:
                    pool.rest(key, seconds=exc.retry_after or 60.0, whole_project=exc.per_project)
            raise
        _report(operation, key, started, None)
        return result

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
            return _within_budget(min(exc.retry_after, policy.max_backoff_seconds))
        return _within_budget(float(jitter(state)))

    retrying = Retrying(
        retry=retry_if_exception_type((Transient, QuotaExceeded, KeyRejected)),
        stop=stop_after_attempt(policy.max_attempts) | stop_after_delay(policy.max_total_seconds),
        wait=wait,
        sleep=sleep,
        before_sleep=lambda state: _LOGGER.info(
            "%s %s failed (%s); retrying",
            provider,
            operation,
            state.outcome.exception() if state.outcome else "?",
        ),
        reraise=True,
    )
    try:
        return retrying(attempt)
    except _BudgetSpent as exc:
        raise _timed_out(exc.budget, answered[-1] if answered else None) from None
    except CallerError as exc:
        cls = FailedPrecondition if exc.precondition else InvalidArgument
        raise cls(
            f"{provider} refused the input: {exc}",
            reason=exc.reason,
            metadata=_answer(provider, exc),
        ) from exc
    except (_KeysSpent, QuotaExceeded, KeyRejected) as exc:
        rested = exc.rested if isinstance(exc, _KeysSpent) else pool.soonest_rested()
        last = answered[-1] if answered else None
        if isinstance(last, KeyRejected):
            raise Unavailable(
                f"{provider} rejected the API key: {last}",
                reason="PROVIDER_KEY_REJECTED",
                metadata=_answer(provider, last),
            ) from exc
        raise Unavailable(
            f"{provider}: every API key is out of quota"
            + (f" ({last})" if last is not None else ""),
            reason="PROVIDER_QUOTA_EXHAUSTED",
            retry_after_seconds=rested,
            metadata=_answer(provider, last),
        ) from exc
    except Transient as exc:
        budget = deadlines.current()
        if budget is not None and budget.left() <= 0.0:
            raise _timed_out(budget, exc) from exc
        raise Unavailable(
            f"{provider} {operation} failed: {exc}",
            reason="PROVIDER_UNREACHABLE" if exc.unreachable else "PROVIDER_UNAVAILABLE",
            retry_after_seconds=exc.retry_after,
            metadata=_answer(provider, exc),
        ) from exc


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


class _BudgetSpent(Exception):
    def __init__(self, budget: deadlines.Budget) -> None:
        super().__init__("the task's budget for the provider is spent")
        self.budget = budget


def _within_budget(seconds: float) -> float:
    """A wait cut to the time the budget has left: the next attempt then finds it spent
    and gives up at once, instead of after a backoff that outlives the budget."""
    left = deadlines.remaining()
    return seconds if left is None else min(seconds, left)


def _timed_out(budget: deadlines.Budget, last: VendorError | None) -> Unavailable:
    error = budget.error()
    if last is not None:
        error.message += f"; last answer: {last}"
        error.metadata.update(
            {k: v for k, v in _answer(budget.provider, last).items() if k != "provider"}
        )
    return error


def _report(operation: str, key: ApiKey, started: float, error: BaseException | None) -> None:
    """One attempt for the audit log: how it ended, what the vendor said, with which key."""
    if error is None:
        failure = ""
    elif isinstance(error, QuotaExceeded):
        failure = "quota"
    elif isinstance(error, KeyRejected):
        failure = "key_rejected"
    elif isinstance(error, CallerError):
        failure = "caller_error"
    elif isinstance(error, Transient):
        timed_out = "timed out" in str(error)
        failure = "timeout" if timed_out else "unreachable" if error.unreachable else "transient"
    else:
        failure = "error"
    vendor = error if isinstance(error, VendorError) else None
    attempts.report(
        attempts.Attempt(
            operation=operation,
            failure=failure,
            latency_ms=int((time.monotonic() - started) * 1000),
            key_fingerprint=key.fingerprint,
            http_status=vendor.http_status if vendor else None,
            vendor_code=vendor.vendor_code if vendor else "",
            message=str(error)[:300] if error is not None else "",
        )
    )
