"""The shared submit-and-poll flow: resume from checkpoints, pinned keys, deadlines."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import pytest

from meeting_agent.adapters.providers.asr_jobs import KeyRing
from meeting_agent.adapters.providers.async_job import AsyncJobFlow, JobGone, Pending, Submitted
from meeting_agent.adapters.providers.calls import ApiKey, KeyPool, RetryPolicy
from meeting_agent.errors import Unavailable
from tests.fakes import MemoryCheckpoints

KEY = ApiKey("secret-1")


@dataclass(frozen=True)
class Job:
    vendor_id: str
    key: str

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self)).encode()


@dataclass(frozen=True)
class Answer:
    text: str

    def to_bytes(self) -> bytes:
        return self.text.encode()


class Vendor:
    """A job that needs `polls` queries; `gone` makes the first `gone` queries lose it."""

    poll_operation = "query"
    expected_seconds = 30.0

    def __init__(self, polls: int = 1, gone: int = 0) -> None:
        self.polls = polls
        self.gone = gone
        self.submits = 0
        self.queries: list[str] = []
        self.answers: list[Answer] = []

    def read_job(self, data: bytes) -> Job:
        return Job(**json.loads(data))

    def read_answer(self, data: bytes) -> Answer:
        return Answer(data.decode())

    def submit(self) -> Submitted[Job]:
        self.submits += 1
        return Submitted(Job(f"job-{self.submits}", KEY.fingerprint), 10.0)

    def query(self, job: Job, key: ApiKey) -> Answer | Pending:
        assert key == KEY
        self.queries.append(job.vendor_id)
        if self.gone:
            self.gone -= 1
            raise JobGone("purged")
        if len(self.queries) < self.polls:
            return Pending("processing")
        return Answer(f"text of {job.vendor_id}")

    def interval(self, job: Job, seconds_left: float) -> float:
        return 1.0

    def answered(self, answer: Answer) -> None:
        self.answers.append(answer)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def flow(clock: Clock, *, max_wait_seconds: float = 60.0) -> AsyncJobFlow:
    return AsyncJobFlow(
        "vendor",
        KeyRing(KeyPool("vendor", [KEY.secret])),
        job_checkpoint="vendor-job",
        answer_checkpoint="vendor-answer",
        max_wait_seconds=max_wait_seconds,
        policy=RetryPolicy(max_attempts=1),
        clock=clock,
        sleep=clock.sleep,
    )


def run(
    vendor: Vendor,
    checkpoints: MemoryCheckpoints,
    clock: Clock | None = None,
    *,
    max_wait_seconds: float = 60.0,
) -> Answer:
    return flow(clock or Clock(), max_wait_seconds=max_wait_seconds).run(
        vendor, checkpoints, lambda *_: None, lambda: None
    )


def test_submits_checkpoints_the_job_then_polls_after_a_wait() -> None:
    vendor, checkpoints, clock = Vendor(polls=3), MemoryCheckpoints(), Clock()
    answer = run(vendor, checkpoints, clock)
    assert answer == Answer("text of job-1") and vendor.answers == [answer]
    assert json.loads(checkpoints.data["vendor-job"]) == {
        "vendor_id": "job-1",
        "key": KEY.fingerprint,
    }
    assert checkpoints.data["vendor-answer"] == b"text of job-1"
    assert vendor.queries == ["job-1"] * 3 and clock.waits == [1.0] * 3


def test_a_saved_answer_makes_no_call() -> None:
    checkpoints = MemoryCheckpoints()
    checkpoints.save("vendor-answer", b"kept")
    vendor = Vendor()
    assert run(vendor, checkpoints) == Answer("kept")
    assert vendor.submits == 0 and vendor.queries == []


def test_a_saved_job_is_polled_at_once_with_its_key() -> None:
    checkpoints, clock = MemoryCheckpoints(), Clock()
    checkpoints.save("vendor-job", Job("job-old", KEY.fingerprint).to_bytes())
    vendor = Vendor()
    assert run(vendor, checkpoints, clock) == Answer("text of job-old")
    assert vendor.submits == 0 and clock.waits == []


@pytest.mark.parametrize("saved", [b"not json", Job("job-old", "key-unknown").to_bytes()])
def test_an_unreadable_job_or_one_of_a_key_gone_is_submitted_again(saved: bytes) -> None:
    checkpoints = MemoryCheckpoints()
    checkpoints.save("vendor-job", saved)
    vendor = Vendor()
    assert run(vendor, checkpoints) == Answer("text of job-1")
    assert vendor.submits == 1


def test_a_saved_job_that_is_gone_is_replaced_once() -> None:
    checkpoints = MemoryCheckpoints()
    checkpoints.save("vendor-job", Job("job-old", KEY.fingerprint).to_bytes())
    vendor = Vendor(gone=1)
    assert run(vendor, checkpoints) == Answer("text of job-1")
    assert vendor.queries == ["job-old", "job-1"]


def test_a_fresh_job_that_is_gone_fails_over() -> None:
    vendor = Vendor(gone=1)
    with pytest.raises(Unavailable) as caught:
        run(vendor, MemoryCheckpoints())
    assert caught.value.reason == "PROVIDER_UNAVAILABLE" and vendor.submits == 1


def test_a_job_past_the_wait_allowed_times_out_and_stays_checkpointed() -> None:
    checkpoints = MemoryCheckpoints()
    with pytest.raises(Unavailable) as caught:
        run(Vendor(polls=100), checkpoints, max_wait_seconds=5.0)
    assert caught.value.reason == "PROVIDER_TIMEOUT"
    assert "vendor-job" in checkpoints.data and "vendor-answer" not in checkpoints.data


def test_a_wait_longer_than_a_day_is_refused() -> None:
    with pytest.raises(ValueError):
        flow(Clock(), max_wait_seconds=25 * 3600)
