"""Quota windows as each vendor defines them, and the deadlines of a provider's turn:
per exchange (connect, first byte, total) and per task (the budget)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from meeting_agent import deadlines
from meeting_agent.adapters.providers._transport import Timeouts, send
from meeting_agent.adapters.providers.calls import (
    ApiKey,
    KeyPool,
    QuotaExceeded,
    QuotaWindow,
    RetryPolicy,
    Transient,
    call_vendor,
)
from meeting_agent.config_providers import GeminiSettings, IflytekSettings, ProvidersSettings
from meeting_agent.errors import Unavailable
from meeting_agent.service.failover import every_provider_failed
from tests.harness.vendors.silent import SilentServer, StallingServer

PROJECTS = {"a1": "project-a", "a2": "project-a", "b1": "project-b"}
GEMINI = QuotaWindow(daily_reset_timezone="America/Los_Angeles", scope="project", projects=PROJECTS)


def _at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _pool(now: float, window: QuotaWindow = GEMINI) -> tuple[KeyPool, list[float]]:
    clock = [now]
    return KeyPool("gemini", ["a1", "a2", "b1"], now=lambda: clock[0], window=window), clock


@pytest.mark.parametrize(
    ("now", "reset"),
    [
        # 23:30 UTC is 15:30 in Los Angeles (PST): the quota comes back at 08:00 UTC.
        ("2026-12-01T23:30:00+00:00", "2026-12-02T08:00:00+00:00"),
        # 06:00 UTC is still the day before in Los Angeles.
        ("2026-12-02T06:00:00+00:00", "2026-12-02T08:00:00+00:00"),
        # Summer time (PDT, UTC-7): midnight is 07:00 UTC.
        ("2026-07-10T12:00:00+00:00", "2026-07-11T07:00:00+00:00"),
        # The day DST starts (8 March 2026) has 23 hours; the next midnight is still PDT's.
        ("2026-03-08T12:00:00+00:00", "2026-03-09T07:00:00+00:00"),
        # And the day it ends (1 November 2026) has 25.
        ("2026-11-01T12:00:00+00:00", "2026-11-02T08:00:00+00:00"),
    ],
)
def test_a_gemini_daily_quota_resets_at_midnight_pacific(now: str, reset: str) -> None:
    pool, _ = _pool(_at(now))
    assert pool.next_reset() == _at(reset)


def test_keys_of_one_project_rest_together_and_another_project_takes_over() -> None:
    pool, clock = _pool(_at("2026-12-02T06:00:00+00:00"))
    used: list[str] = []

    def call(key: ApiKey) -> str:
        used.append(key.secret)
        if key.project == "project-a":
            raise QuotaExceeded(
                "GenerateRequestsPerDayPerProjectPerModel", scope="day", per_project=True
            )
        return "ok"

    assert (
        call_vendor(pool, call, policy=RetryPolicy(), operation="x", sleep=lambda s: None) == "ok"
    )
    assert used == ["a1", "b1"]  # a2 shares a1's project: it is not tried
    assert [k.secret for k in pool.available()] == ["b1"]
    clock[0] = _at("2026-12-02T07:59:59+00:00")
    assert [k.secret for k in pool.available()] == ["b1"]
    clock[0] = _at("2026-12-02T08:00:00+00:00")
    assert sorted(k.secret for k in pool.available()) == ["a1", "a2", "b1"]


def test_with_key_scope_only_the_key_that_ran_out_rests() -> None:
    window = QuotaWindow(daily_reset_timezone="Asia/Shanghai", scope="key", projects=PROJECTS)
    pool, _ = _pool(_at("2026-12-02T06:00:00+00:00"), window)
    pool.rest(ApiKey("a1", "project-a"), until_midnight=True)

    assert [k.secret for k in pool.available()] == ["a2", "b1"]
    # 14:00 in Beijing; midnight there is 16:00 UTC.
    assert pool.next_reset() == _at("2026-12-02T16:00:00+00:00")


def test_a_per_minute_quota_of_a_project_rests_the_project_for_its_delay() -> None:
    pool, clock = _pool(_at("2026-12-02T06:00:00+00:00"))
    pool.rest(ApiKey("a2", "project-a"), seconds=30, whole_project=True)

    assert [k.secret for k in pool.available()] == ["b1"]
    clock[0] += 30
    assert len(pool.available()) == 3


def test_vendor_defaults_and_projects_from_settings() -> None:
    gemini = GeminiSettings(enabled=True, keys=["solo"], projects={"project-a": ["a1", "a2"]})
    assert (gemini.daily_reset_timezone, gemini.quota_scope) == ("America/Los_Angeles", "project")
    assert gemini.secrets() == ["solo", "a1", "a2"]
    assert gemini.key_projects() == {"a1": "project-a", "a2": "project-a"}
    assert IflytekSettings().daily_reset_timezone == "Asia/Shanghai"
    assert ProvidersSettings().gemini.task_budget_seconds == 1800
    with pytest.raises(ValueError, match="IANA"):
        GeminiSettings(daily_reset_timezone="Pacific Time")


# ---------------------------------------------------------------- deadlines


def test_a_server_that_never_answers_is_given_up_at_the_first_byte_deadline() -> None:
    with SilentServer() as server, httpx.Client() as http:
        started = time.monotonic()
        with pytest.raises(Transient) as caught:
            send(
                http,
                "POST",
                server.base_url + "/v1/chat/completions",
                what="chat",
                timeout_seconds=Timeouts(total=60, first_byte=0.5),
                json_body={},
            )
        elapsed = time.monotonic() - started

    assert "no answer within 0.5 s" in str(caught.value)
    assert not caught.value.unreachable
    assert elapsed < 30  # well under the 60 s total, however busy the machine


def test_a_reply_that_stalls_after_its_headers_is_given_up_at_the_total_deadline() -> None:
    started = time.monotonic()
    with StallingServer() as server, httpx.Client() as http, pytest.raises(Transient) as caught:
        send(
            http,
            "GET",
            server.base_url + "/",
            what="result",
            timeout_seconds=Timeouts(total=1.0, first_byte=60),
        )

    assert "within 1 s" in str(caught.value)
    assert time.monotonic() - started < 30  # not the 60 s first-byte deadline


def test_no_exchange_outlives_the_tasks_budget() -> None:
    with SilentServer() as server, httpx.Client() as http, deadlines.provider_budget("ollama", 0.5):
        with pytest.raises(Transient):
            send(
                http,
                "POST",
                server.base_url + "/",
                what="chat",
                timeout_seconds=Timeouts(total=600),
                json_body={},
            )
        time.sleep(0.6)  # the budget runs out in real time; nothing to wait on
        with pytest.raises(Transient, match="budget"):
            send(http, "POST", server.base_url + "/", what="chat", timeout_seconds=600)


def test_retries_stop_when_the_budget_is_spent_with_provider_timeout() -> None:
    pool = KeyPool("ollama", ["k"])
    attempts: list[float] = []

    def call(key: ApiKey) -> str:
        attempts.append(time.monotonic())
        time.sleep(0.2)
        raise Transient("read timed out", http_status=None)

    policy = RetryPolicy(
        max_attempts=20,
        initial_backoff_seconds=0.01,
        max_backoff_seconds=0.02,
        max_total_seconds=600,
    )
    with deadlines.provider_budget("ollama", 0.5), pytest.raises(Unavailable) as caught:
        call_vendor(pool, call, policy=policy, operation="chat")

    assert caught.value.reason == "PROVIDER_TIMEOUT"
    assert caught.value.metadata["budget_seconds"] == "0.5"
    assert 1 <= len(attempts) <= 4
    assert "last answer: read timed out" in caught.value.message


def test_outside_a_budget_nothing_is_bounded_beyond_the_policy() -> None:
    assert deadlines.remaining() is None and not deadlines.spent()
    with deadlines.provider_budget("x", None):
        assert deadlines.remaining() is None
    with deadlines.provider_budget("x", 5):
        assert 0 < (deadlines.remaining() or 0) <= 5
    assert deadlines.current() is None
    assert datetime.now(UTC)  # the module leaves no state behind


def test_a_chain_is_out_of_time_only_when_every_provider_is() -> None:
    timed_out = Unavailable(
        "azure did not finish", reason="PROVIDER_TIMEOUT", metadata={"provider": "azure"}
    )
    down = Unavailable("gemini 503", reason="PROVIDER_UNAVAILABLE", metadata={"provider": "gemini"})

    mixed = every_provider_failed("ASR", [("azure", timed_out), ("gemini", down)])
    assert mixed.reason == "PROVIDER_UNAVAILABLE"  # retried: gemini may be back
    assert mixed.metadata["azure"].startswith("PROVIDER_TIMEOUT")
    spent = every_provider_failed(
        "ASR",
        [
            ("azure", timed_out),
            ("gemini", Unavailable("gemini did not finish", reason="PROVIDER_TIMEOUT")),
        ],
    )
    assert spent.reason == "PROVIDER_TIMEOUT"
