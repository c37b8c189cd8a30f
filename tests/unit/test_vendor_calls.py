"""Key rotation, backoff and error mapping shared by every provider adapter."""

from __future__ import annotations

import pytest

from meeting_agent.adapters.providers.calls import (
    ApiKey,
    CallerError,
    KeyPool,
    KeyRejected,
    QuotaExceeded,
    RetryPolicy,
    Transient,
    call_vendor,
)
from meeting_agent.errors import (
    FailedPrecondition,
    InvalidArgument,
    MeetingAgentError,
    Unavailable,
)

POLICY = RetryPolicy(
    max_attempts=6,
    initial_backoff_seconds=0.01,
    max_backoff_seconds=0.05,
    max_total_seconds=30,
    max_quota_wait_seconds=10,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def script(*outcomes: object):
    """A vendor call that answers each attempt with the next outcome, recording keys."""
    used: list[str] = []
    remaining = list(outcomes)

    def call(key: ApiKey) -> str:
        used.append(key.secret)
        outcome = remaining.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return str(outcome)

    return call, used


def test_daily_quota_moves_to_the_next_key_without_waiting() -> None:
    clock = Clock()
    pool = KeyPool("gemini", ["k1", "k2"], now=lambda: clock.now)
    call, used = script(QuotaExceeded("per day", scope="day"), "ok")

    assert call_vendor(pool, call, policy=POLICY, operation="x", sleep=clock.sleep) == "ok"
    assert used == ["k1", "k2"]
    assert clock.slept == [0.0]
    assert pool.available() == [ApiKey("k2")]


def test_minute_quota_on_the_only_key_waits_for_retry_info() -> None:
    clock = Clock()
    pool = KeyPool("gemini", ["k1"], now=lambda: clock.now)
    call, used = script(QuotaExceeded("per minute", scope="minute", retry_after=7), "ok")

    assert call_vendor(pool, call, policy=POLICY, operation="x", sleep=clock.sleep) == "ok"
    assert used == ["k1", "k1"]
    assert sum(clock.slept) == pytest.approx(7)


def test_every_key_out_for_the_day_is_unavailable_for_failover() -> None:
    clock = Clock()
    pool = KeyPool("gemini", ["k1", "k2"], now=lambda: clock.now)
    call, used = script(*[QuotaExceeded("per day", scope="day")] * 2)

    with pytest.raises(Unavailable) as caught:
        call_vendor(pool, call, policy=POLICY, operation="x", sleep=clock.sleep)

    assert caught.value.reason == "PROVIDER_QUOTA_EXHAUSTED"
    assert used == ["k1", "k2"]


def test_transient_errors_back_off_with_jitter_then_give_up() -> None:
    clock = Clock()
    pool = KeyPool("azure", ["k1"], now=lambda: clock.now)
    call, used = script(*[Transient("503")] * 6)

    with pytest.raises(Unavailable) as caught:
        call_vendor(pool, call, policy=POLICY, operation="transcribe", sleep=clock.sleep)

    assert caught.value.reason == "PROVIDER_UNAVAILABLE"
    assert len(used) == POLICY.max_attempts
    assert all(0 <= s <= POLICY.max_backoff_seconds for s in clock.slept)


def test_transient_then_success_honours_retry_after() -> None:
    clock = Clock()
    pool = KeyPool("azure", ["k1"], now=lambda: clock.now)
    call, _ = script(Transient("busy", retry_after=0.04), "ok")

    assert call_vendor(pool, call, policy=POLICY, operation="x", sleep=clock.sleep) == "ok"
    assert clock.slept == [0.04]


def test_a_rejected_key_is_dropped_for_good() -> None:
    clock = Clock()
    pool = KeyPool("iflytek", ["bad", "good"], now=lambda: clock.now)
    call, used = script(KeyRejected("401"), "ok", "ok")

    call_vendor(pool, call, policy=POLICY, operation="x", sleep=clock.sleep)
    call_vendor(pool, call, policy=POLICY, operation="x", sleep=clock.sleep)

    assert used == ["bad", "good", "good"]


@pytest.mark.parametrize(
    ("precondition", "expected"), [(False, InvalidArgument), (True, FailedPrecondition)]
)
def test_caller_errors_fail_at_once_with_the_vendor_reason(
    precondition: bool, expected: type[MeetingAgentError]
) -> None:
    clock = Clock()
    pool = KeyPool("volcengine", ["k1"], now=lambda: clock.now)
    call, used = script(CallerError("empty audio", reason="AUDIO_EMPTY", precondition=precondition))

    with pytest.raises(expected) as caught:
        call_vendor(pool, call, policy=POLICY, operation="x", sleep=clock.sleep)

    assert caught.value.reason == "AUDIO_EMPTY"
    assert used == ["k1"]


def test_fingerprints_never_reveal_the_key() -> None:
    key = ApiKey("sk-very-secret")

    assert "secret" not in key.fingerprint and "secret" not in repr(key)


def test_a_long_rate_limit_on_every_key_fails_over_without_waiting() -> None:
    clock = Clock()
    pool = KeyPool("azure", ["k1"], now=lambda: clock.now)
    call, used = script(QuotaExceeded("slow down", scope="minute", retry_after=600))

    with pytest.raises(Unavailable) as caught:
        call_vendor(pool, call, policy=POLICY, operation="x", sleep=clock.sleep)

    assert caught.value.reason == "PROVIDER_QUOTA_EXHAUSTED"
    assert used == ["k1"]
    assert sum(clock.slept) == 0
