"""InlineJobQueue: the embedded default's jobs on a bounded pool of server threads."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from meeting_agent.adapters.jobs.inline import InlineJobQueue
from meeting_agent.errors import Unavailable

TIMEOUT = 10.0


class Gate:
    """Jobs that block until the test opens them, recording concurrency."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.lock = threading.Lock()
        self.running = 0
        self.max_running = 0
        self.started: list[str] = []
        self.finished: list[str] = []
        self.all_started = threading.Condition(self.lock)

    def __call__(self, task_id: str) -> None:
        with self.lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
            self.started.append(task_id)
            self.all_started.notify_all()
        try:
            assert self.opened.wait(TIMEOUT)
        finally:
            with self.lock:
                self.running -= 1
                self.finished.append(task_id)

    def wait_started(self, count: int) -> None:
        with self.lock:
            assert self.all_started.wait_for(lambda: len(self.started) >= count, TIMEOUT)


def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
def make_queue() -> Iterator[Callable[..., InlineJobQueue]]:
    queues: list[InlineJobQueue] = []

    def make(run: Callable[[str], None], workers: int = 2) -> InlineJobQueue:
        queue = InlineJobQueue(run, workers=workers)
        queues.append(queue)
        return queue

    yield make
    for queue in queues:
        queue.close()


def test_runs_at_most_workers_jobs_at_once(gate: Gate, make_queue) -> None:
    queue = make_queue(gate, workers=2)

    for index in range(5):
        queue.enqueue(f"t{index}")
    gate.wait_started(2)
    time.sleep(0.1)  # room for a third job to start, were the pool not bounded

    assert gate.max_running == 2
    assert queue.live_job_count() == 5
    gate.opened.set()
    wait_until(lambda: len(gate.finished) == 5)
    assert gate.max_running == 2
    assert sorted(gate.finished) == [f"t{index}" for index in range(5)]
    wait_until(lambda: queue.live_job_count() == 0)


def test_a_task_with_a_queued_or_running_job_is_not_queued_again(gate: Gate, make_queue) -> None:
    queue = make_queue(gate, workers=1)

    queue.enqueue("running")
    gate.wait_started(1)
    queue.enqueue("running")  # running: no second job
    queue.enqueue("waiting")
    queue.enqueue("waiting")  # queued behind it: no second job

    assert queue.has_live_job("running")
    assert queue.has_live_job("waiting")
    assert not queue.has_live_job("other")
    gate.opened.set()
    wait_until(lambda: len(gate.finished) == 2)
    time.sleep(0.05)
    assert gate.started == ["running", "waiting"]


def test_a_task_can_run_again_once_its_job_ended(make_queue) -> None:
    ran: list[str] = []
    done = threading.Semaphore(0)

    def run(task_id: str) -> None:
        ran.append(task_id)
        done.release()

    queue = make_queue(run)
    queue.enqueue("t")
    assert done.acquire(timeout=TIMEOUT)
    wait_until(lambda: not queue.has_live_job("t"))

    queue.enqueue("t")
    assert done.acquire(timeout=TIMEOUT)
    assert ran == ["t", "t"]


def test_an_exception_is_logged_and_the_pool_keeps_working(
    make_queue, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []
    done = threading.Semaphore(0)

    def run(task_id: str) -> None:
        try:
            if task_id == "bad":
                raise ValueError("boom in the job")
            ran.append(task_id)
        finally:
            done.release()

    queue = make_queue(run, workers=1)
    with caplog.at_level(logging.ERROR, logger="meeting_agent.adapters.jobs.inline"):
        queue.enqueue("bad")
        queue.enqueue("good")
        assert done.acquire(timeout=TIMEOUT)
        assert done.acquire(timeout=TIMEOUT)
        wait_until(lambda: queue.live_job_count() == 0)

    assert ran == ["good"]
    failures = [r for r in caplog.records if "bad" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    assert "boom in the job" in str(failures[0].exc_info[1])
    assert not queue.has_live_job("bad")  # and it may be queued again
    queue.enqueue("bad")
    assert done.acquire(timeout=TIMEOUT)


def test_close_drops_jobs_not_started_and_refuses_new_ones(gate: Gate, make_queue) -> None:
    queue = make_queue(gate, workers=1)
    queue.enqueue("running")
    queue.enqueue("waiting")
    gate.wait_started(1)

    results: list[bool] = []
    closer = threading.Thread(target=lambda: results.append(queue.close()))
    closer.start()
    time.sleep(0.05)
    assert closer.is_alive()  # waits for the running job
    gate.opened.set()
    closer.join(TIMEOUT)

    assert not closer.is_alive()
    assert results == [True]
    assert gate.started == ["running"]  # the waiting job never ran: its task stays QUEUED
    with pytest.raises(Unavailable) as info:
        queue.enqueue("later")
    assert info.value.reason == "QUEUE_UNAVAILABLE"


def test_close_waits_no_longer_than_its_timeout(gate: Gate, make_queue) -> None:
    queue = make_queue(gate, workers=1)
    queue.enqueue("stuck")
    gate.wait_started(1)

    started = time.monotonic()
    assert queue.close(timeout=0.2) is False  # still running: its lease will go stale
    assert time.monotonic() - started < TIMEOUT
    gate.opened.set()


def test_workers_must_be_positive() -> None:
    with pytest.raises(ValueError):
        InlineJobQueue(lambda task_id: None, workers=0)
