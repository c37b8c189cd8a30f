"""Task leases (claim, heartbeat, orphans) on SQLite and PostgreSQL, and on the fake."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from meeting_agent.adapters.db.database import SqlDatabase
from meeting_agent.domain.models import AudioSource, Task, TaskOptions, TaskStage, TaskState
from meeting_agent.errors import Aborted, Unavailable
from meeting_agent.ports import UnitOfWork
from tests.fakes import FakeUnitOfWorkFactory

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def make_task(
    task_id: str, tenant_id: str = "acme", *, at: datetime = T0, **changes: object
) -> Task:
    task = Task(
        id=task_id,
        tenant_id=tenant_id,
        creator_id="alice",
        display_name="Weekly sync 周会",
        audio_sources=[AudioSource(upload_id="u1", object_key=f"tenants/{tenant_id}/uploads/u1")],
        options=TaskOptions(language_code="zh-CN"),
        labels={},
        state=TaskState.QUEUED,
        stage=TaskStage.UNSPECIFIED,
        progress_percent=0,
        create_time=at,
        update_time=at,
    )
    return replace(task, **changes)  # type: ignore[arg-type]


def add(uow_factory: Callable[[], UnitOfWork], *tasks: Task) -> None:
    with uow_factory() as uow:
        for task in tasks:
            uow.tasks.add(task)
        uow.commit()


def claim(uow_factory: Callable[[], UnitOfWork], task_id: str, now: datetime) -> Task | None:
    with uow_factory() as uow:
        claimed = uow.tasks.claim(task_id, now=now, stale_before=now - LEASE)
        uow.commit()
    return claimed


def heartbeat(
    uow_factory: Callable[[], UnitOfWork], task_id: str, now: datetime, attempt: int | None = None
) -> bool:
    with uow_factory() as uow:
        alive = uow.tasks.heartbeat(task_id, now, attempt=attempt)
        uow.commit()
    return alive


def load(uow_factory: Callable[[], UnitOfWork], task: Task) -> Task:
    with uow_factory() as uow:
        loaded = uow.tasks.get(task.tenant_id, task.id)
    assert loaded is not None
    return loaded


class LeaseContract:
    """What every `TaskRepository` does with leases; subclasses provide `uow_factory`."""

    def test_claiming_a_queued_task_makes_it_running(self, uow_factory) -> None:
        task = make_task("t1", "globex")  # workers act for the system: any tenant
        add(uow_factory, task)
        now = T0 + timedelta(minutes=1)

        claimed = claim(uow_factory, "t1", now)

        assert claimed is not None
        assert (
            claimed.state,
            claimed.attempts,
            claimed.heartbeat_time,
            claimed.start_time,
            claimed.update_time,
        ) == (TaskState.RUNNING, 1, now, now, now)
        assert (claimed.tenant_id, claimed.display_name) == ("globex", "Weekly sync 周会")
        stored = load(uow_factory, task)
        assert (stored.state, stored.attempts, stored.heartbeat_time) == (TaskState.RUNNING, 1, now)

    def test_a_running_task_with_a_live_lease_cannot_be_claimed(self, uow_factory) -> None:
        add(uow_factory, make_task("t1"))
        assert claim(uow_factory, "t1", T0) is not None

        assert claim(uow_factory, "t1", T0 + timedelta(seconds=30)) is None
        assert heartbeat(uow_factory, "t1", T0 + timedelta(seconds=55))
        assert claim(uow_factory, "t1", T0 + timedelta(seconds=100)) is None  # 45 s old
        assert load(uow_factory, make_task("t1")).attempts == 1

    def test_a_stale_lease_can_be_claimed_again(self, uow_factory) -> None:
        add(uow_factory, make_task("t1"))
        first = claim(uow_factory, "t1", T0)
        assert first is not None
        later = T0 + LEASE + timedelta(seconds=1)

        second = claim(uow_factory, "t1", later)

        assert second is not None
        assert (second.attempts, second.heartbeat_time) == (2, later)
        assert second.start_time == T0  # the first run's start is kept

    def test_heartbeat_refreshes_a_running_task_only(self, uow_factory) -> None:
        add(
            uow_factory,
            make_task("t1"),
            make_task("queued"),
            make_task("cancelled", state=TaskState.CANCELLED),
        )
        claim(uow_factory, "t1", T0)
        beat = T0 + timedelta(seconds=5)

        assert heartbeat(uow_factory, "t1", beat)
        assert load(uow_factory, make_task("t1")).heartbeat_time == beat
        assert not heartbeat(uow_factory, "queued", beat)
        assert not heartbeat(uow_factory, "cancelled", beat)
        assert not heartbeat(uow_factory, "missing", beat)

    def test_heartbeat_of_a_cancelled_task_is_refused(self, uow_factory) -> None:
        task = make_task("t1")
        add(uow_factory, task)
        claim(uow_factory, "t1", T0)
        with uow_factory() as uow:
            running = uow.tasks.get(task.tenant_id, task.id, for_update=True)
            assert running is not None
            running.state = TaskState.CANCELLED
            uow.tasks.save(running)
            uow.commit()

        assert not heartbeat(uow_factory, "t1", T0 + timedelta(seconds=5))
        assert claim(uow_factory, "t1", T0 + timedelta(hours=1)) is None

    def test_heartbeat_with_an_attempt_detects_a_takeover(self, uow_factory) -> None:
        add(uow_factory, make_task("t1"))
        first = claim(uow_factory, "t1", T0)
        assert first is not None
        second = claim(uow_factory, "t1", T0 + timedelta(minutes=5))  # the first worker stalled
        assert second is not None

        assert not heartbeat(uow_factory, "t1", T0 + timedelta(minutes=6), first.attempts)
        assert heartbeat(uow_factory, "t1", T0 + timedelta(minutes=6), second.attempts)

    @pytest.mark.parametrize("state", [TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED])
    def test_finished_and_missing_tasks_cannot_be_claimed(
        self, uow_factory, state: TaskState
    ) -> None:
        add(uow_factory, make_task("t1", state=state))

        assert claim(uow_factory, "t1", T0) is None
        assert claim(uow_factory, "missing", T0) is None
        assert load(uow_factory, make_task("t1")).attempts == 0

    def test_save_leaves_the_lease_alone(self, uow_factory) -> None:
        task = make_task("t1")
        add(uow_factory, task)
        claimed = claim(uow_factory, "t1", T0)
        assert claimed is not None
        with uow_factory() as uow:
            stale_copy = uow.tasks.get(task.tenant_id, task.id)
        heartbeat(uow_factory, "t1", T0 + timedelta(minutes=2))

        assert stale_copy is not None
        stale_copy.progress_percent = 50  # read before the heartbeat, saved after it
        with uow_factory() as uow:
            uow.tasks.save(stale_copy)
            uow.commit()

        stored = load(uow_factory, task)
        assert (stored.progress_percent, stored.heartbeat_time, stored.attempts) == (
            50,
            T0 + timedelta(minutes=2),
            1,
        )

    def test_find_orphans(self, uow_factory) -> None:
        now = T0 + timedelta(hours=1)
        add(
            uow_factory,
            make_task("queued-old", at=T0),
            make_task("queued-new", "globex", at=now - timedelta(seconds=5)),
            make_task("running-dead", "globex", at=T0 + timedelta(minutes=1)),
            make_task("running-live", at=T0 + timedelta(minutes=2)),
            make_task("running-no-lease", at=T0 + timedelta(minutes=3), state=TaskState.RUNNING),
            make_task("done", at=T0 - timedelta(minutes=1), state=TaskState.SUCCEEDED),
            make_task("failed", at=T0 - timedelta(minutes=1), state=TaskState.FAILED),
        )
        claim(uow_factory, "running-dead", T0 + timedelta(minutes=5))
        claim(uow_factory, "running-live", now - timedelta(seconds=10))

        with uow_factory() as uow:
            orphans = uow.tasks.find_orphans(
                stale_before=now - LEASE, queued_before=now - timedelta(seconds=30), limit=10
            )
            first_two = uow.tasks.find_orphans(
                stale_before=now - LEASE, queued_before=now - timedelta(seconds=30), limit=2
            )

        assert [task.id for task in orphans] == ["queued-old", "running-dead", "running-no-lease"]
        assert [task.id for task in first_two] == ["queued-old", "running-dead"]
        assert orphans[1].tenant_id == "globex"

    def test_an_uncommitted_claim_is_rolled_back(self, uow_factory) -> None:
        add(uow_factory, make_task("t1"))
        with uow_factory() as uow:
            assert uow.tasks.claim("t1", now=T0, stale_before=T0 - LEASE) is not None

        stored = load(uow_factory, make_task("t1"))
        assert (stored.state, stored.attempts, stored.heartbeat_time) == (TaskState.QUEUED, 0, None)


class TestSqlLeases(LeaseContract):
    @pytest.fixture
    def uow_factory(self, migrated_database_url: str) -> Iterator[Callable[[], UnitOfWork]]:
        database = SqlDatabase(migrated_database_url)
        yield database.unit_of_work
        database.dispose()


class TestFakeLeases(LeaseContract):
    """The fake of the unit tier keeps the same contract."""

    @pytest.fixture
    def uow_factory(self) -> Callable[[], UnitOfWork]:
        return FakeUnitOfWorkFactory()


# ---------------------------------------------------------------- concurrency


@pytest.fixture
def database(migrated_database_url: str) -> Iterator[SqlDatabase]:
    database = SqlDatabase(migrated_database_url)
    yield database
    database.dispose()


def race_to_claim(
    database: SqlDatabase, task_id: str, contenders: int
) -> tuple[list[Task | None], list[BaseException]]:
    """`contenders` threads claim the task at the same moment, each in its own transaction."""
    barrier = threading.Barrier(contenders)
    lock = threading.Lock()
    results: list[Task | None] = []
    errors: list[BaseException] = []

    def contend() -> None:
        try:
            with database.unit_of_work() as uow:
                barrier.wait()
                claimed = uow.tasks.claim(task_id, now=T0, stale_before=T0 - LEASE)
                uow.commit()
            with lock:
                results.append(claimed)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=contend) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results, errors


def test_concurrent_claims_have_exactly_one_winner(database: SqlDatabase) -> None:
    """Many workers get the same task at once (a duplicated job, a reconciler race)."""
    for round_ in range(5):
        task_id = f"t{round_}"
        add(database.unit_of_work, make_task(task_id))

        results, errors = race_to_claim(database, task_id, contenders=8)

        # A transaction the database refused (serialization, busy) is a loss, not an error.
        assert not [e for e in errors if not isinstance(e, Aborted | Unavailable)], errors
        assert len([claimed for claimed in results if claimed is not None]) == 1, results
        assert load(database.unit_of_work, make_task(task_id)).attempts == 1
