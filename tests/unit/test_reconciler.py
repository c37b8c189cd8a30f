"""The reconciler as plain objects: a fake store and a fake queue that keeps order.

What it promises: an orphan (queued but in no queue, or running under a stale lease
with no live job) is queued again once, ahead of work created after it, oldest first;
a task whose job is still waiting keeps its place however often the reconciler runs.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta

from meeting_agent.domain.models import Task, TaskOptions, TaskStage, TaskState
from meeting_agent.errors import Unavailable
from meeting_agent.service.pipeline.reconciler import Reconciler
from tests.fakes import FakeClock, FakeDatabase, FakeUnitOfWorkFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class OrderedQueue:
    """A `JobQueue` that is a line: `enqueue` joins the back, `requeue` the front; a
    task already in the line (or marked running in a live process) is left alone."""

    def __init__(self) -> None:
        self.line: deque[str] = deque()
        self.running: set[str] = set()
        self.moves = 0
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise Unavailable("the job queue is unavailable", reason="QUEUE_UNAVAILABLE")

    def enqueue(self, task_id: str) -> bool:
        self._check()
        if self.has_live_job(task_id):
            return False
        self.line.append(task_id)
        return True

    def requeue(self, task_id: str) -> bool:
        self._check()
        if self.has_live_job(task_id):
            return False
        self.line.appendleft(task_id)
        self.moves += 1
        return True

    def has_live_job(self, task_id: str) -> bool:
        return task_id in self.line or task_id in self.running

    def check(self) -> None:
        self._check()

    def close(self, timeout: float | None = None) -> bool:
        return True


def task(
    task_id: str,
    minute: float,
    state: TaskState = TaskState.QUEUED,
    heartbeat: datetime | None = None,
) -> Task:
    created = T0 + timedelta(minutes=minute)
    return Task(
        id=task_id,
        tenant_id="acme",
        creator_id="alice",
        display_name=task_id,
        audio_sources=[],
        options=TaskOptions(),
        labels={},
        state=state,
        stage=TaskStage.TRANSCRIBE if state is TaskState.RUNNING else TaskStage.UNSPECIFIED,
        progress_percent=0,
        create_time=created,
        update_time=created,
        heartbeat_time=heartbeat,
        attempts=1 if state is TaskState.RUNNING else 0,
    )


def setup(*tasks: Task) -> tuple[Reconciler, OrderedQueue, FakeClock]:
    db = FakeDatabase()
    for t in tasks:
        db.tasks[(t.tenant_id, t.id)] = t
    clock = FakeClock(T0 + timedelta(hours=1))
    queue = OrderedQueue()
    reconciler = Reconciler(
        FakeUnitOfWorkFactory(db), queue, clock, lease_timeout_seconds=15, queued_grace_seconds=5
    )
    return reconciler, queue, clock


def test_orphans_go_ahead_of_newer_work_oldest_first() -> None:
    now = T0 + timedelta(hours=1)
    reconciler, queue, _ = setup(
        task("died-first", 1, TaskState.RUNNING, heartbeat=now - timedelta(minutes=5)),
        task("died-later", 2, TaskState.RUNNING, heartbeat=now - timedelta(minutes=1)),
        task("never-queued", 3),
    )
    queue.line.extend(["new-1", "new-2"])  # created after, queued the normal way

    assert reconciler.run_once() == 3

    assert list(queue.line) == ["died-first", "died-later", "never-queued", "new-1", "new-2"]


def test_a_waiting_job_keeps_its_place_however_often_it_runs() -> None:
    now = T0 + timedelta(hours=1)
    reconciler, queue, _ = setup(
        task("orphan", 1, TaskState.RUNNING, heartbeat=now - timedelta(minutes=5))
    )
    reconciler.run_once()
    queue.line.extend(["new-1", "new-2"])

    for _ in range(10):
        assert reconciler.run_once() == 0

    assert list(queue.line) == ["orphan", "new-1", "new-2"]
    assert queue.moves == 1


def test_a_running_job_of_a_live_process_is_not_taken_away() -> None:
    # Its lease is stale (a starved heartbeat on a busy machine), but the queue knows
    # the process running it is alive.
    now = T0 + timedelta(hours=1)
    reconciler, queue, _ = setup(
        task("slow", 1, TaskState.RUNNING, heartbeat=now - timedelta(minutes=1))
    )
    queue.running.add("slow")

    assert reconciler.run_once() == 0
    assert list(queue.line) == []


def test_live_leases_and_young_tasks_are_not_orphans() -> None:
    now = T0 + timedelta(hours=1)
    reconciler, queue, _ = setup(
        task("fresh-lease", 1, TaskState.RUNNING, heartbeat=now - timedelta(seconds=3)),
        task("just-created", 60 - 1 / 60),  # a second old: its enqueue may be on its way
        task("done", 2, TaskState.SUCCEEDED),
    )

    assert reconciler.run_once() == 0
    assert list(queue.line) == []


def test_a_queue_outage_leaves_every_orphan_for_the_next_round() -> None:
    now = T0 + timedelta(hours=1)
    reconciler, queue, _ = setup(
        task("a", 1, TaskState.RUNNING, heartbeat=now - timedelta(minutes=5)), task("b", 2)
    )
    queue.down = True

    assert reconciler.run_once() == 0

    queue.down = False
    assert reconciler.run_once() == 2
    assert list(queue.line) == ["a", "b"]
