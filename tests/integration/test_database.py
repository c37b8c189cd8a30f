"""SqlDatabase and the unit of work: transactions, health checks, failures, concurrency."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from meeting_agent.adapters.db.database import SqlDatabase, normalize_url
from meeting_agent.domain.models import Task, TaskOptions, TaskStage, TaskState
from meeting_agent.errors import Unavailable
from meeting_agent.ports import TaskFilter, UnitOfWork

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def db(migrated_database_url: str) -> Iterator[SqlDatabase]:
    database = SqlDatabase(migrated_database_url)
    yield database
    database.dispose()


def make_task(task_id: str, *, created: datetime = T0) -> Task:
    return Task(
        id=task_id,
        tenant_id="acme",
        creator_id="alice",
        display_name=task_id,
        audio_sources=[],
        options=TaskOptions(),
        labels={},
        state=TaskState.QUEUED,
        stage=TaskStage.UNSPECIFIED,
        progress_percent=0,
        create_time=created,
        update_time=created,
    )


def task_ids(db: SqlDatabase) -> list[str]:
    with db.unit_of_work() as uow:
        return sorted(
            t.id for t in uow.tasks.list("acme", TaskFilter(), limit=100, cursor=None).items
        )


def test_the_unit_of_work_satisfies_the_port(db: SqlDatabase) -> None:
    uow: UnitOfWork = db.unit_of_work()
    assert uow is not None


def test_leaving_without_commit_rolls_back(db: SqlDatabase) -> None:
    with db.unit_of_work() as uow:
        uow.tasks.add(make_task("dropped"))

    with pytest.raises(RuntimeError, match="boom"), db.unit_of_work() as uow:
        uow.tasks.add(make_task("failed"))
        raise RuntimeError("boom")

    with db.unit_of_work() as uow:
        uow.tasks.add(make_task("undone"))
        uow.rollback()
        uow.tasks.add(make_task("kept"))
        uow.commit()

    assert task_ids(db) == ["kept"]


def test_a_unit_of_work_can_be_entered_again_but_not_nested(db: SqlDatabase) -> None:
    uow = db.unit_of_work()
    with uow:
        uow.tasks.add(make_task("first"))
        uow.commit()
        with pytest.raises(RuntimeError), uow:
            pass
    with uow:
        uow.tasks.add(make_task("second"))
        uow.commit()

    assert task_ids(db) == ["first", "second"]


def test_check_passes_on_a_reachable_database(db: SqlDatabase) -> None:
    db.check()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_an_unreachable_postgresql_is_unavailable_quickly() -> None:
    db = SqlDatabase(f"postgresql://nobody@127.0.0.1:{_closed_port()}/none")
    try:
        started = time.monotonic()
        with pytest.raises(Unavailable) as raised:
            db.check()
        assert time.monotonic() - started < 5
        assert raised.value.reason == "DATABASE_UNAVAILABLE"

        with pytest.raises(Unavailable), db.unit_of_work() as uow:
            uow.tasks.get("acme", "t1")
    finally:
        db.dispose()


def test_an_unopenable_sqlite_file_is_unavailable(tmp_path: Path) -> None:
    db = SqlDatabase(f"sqlite:///{tmp_path}")  # a directory, not a file
    try:
        with pytest.raises(Unavailable):
            db.check()
    finally:
        db.dispose()


def test_concurrent_locked_updates_lose_nothing(db: SqlDatabase) -> None:
    """`get(for_update=True)` then `save` from many threads: every increment survives."""
    with db.unit_of_work() as uow:
        uow.tasks.add(make_task("t1"))
        uow.commit()
    threads, rounds = 4, 15
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(rounds):
                with db.unit_of_work() as uow:
                    task = uow.tasks.get("acme", "t1", for_update=True)
                    assert task is not None
                    task.last_event_sequence += 1
                    uow.tasks.save(task)
                    uow.commit()
        except BaseException as exc:  # surfaced to the test thread below
            errors.append(exc)

    workers = [threading.Thread(target=bump) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert errors == []
    with db.unit_of_work() as uow:
        task = uow.tasks.get("acme", "t1")
    assert task is not None and task.last_event_sequence == threads * rounds


def test_naive_datetimes_are_refused(db: SqlDatabase) -> None:
    with db.unit_of_work() as uow, pytest.raises(StatementError, match="naive datetime"):
        uow.tasks.add(make_task("t1", created=datetime(2026, 3, 1, 9, 30)))


def test_sqlite_enforces_foreign_keys_uses_wal_and_stores_exact_money(tmp_path: Path) -> None:
    from meeting_agent.adapters.db.database import upgrade_to_head

    url = f"sqlite:///{tmp_path / 'data' / 'meeting-agent.db'}"
    upgrade_to_head(url)
    db = SqlDatabase(url)
    try:
        task = make_task("t1")
        task.cost_amount = Decimal("0.000001") + Decimal("12345.1")
        with db.unit_of_work() as uow:
            uow.tasks.add(task)
            uow.commit()
        with db.unit_of_work() as uow:
            session = uow.session
            assert session.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert session.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            raw = session.execute(text("SELECT cost_amount FROM tasks")).scalar_one()
            stored = uow.tasks.get("acme", "t1")
        assert raw == 12345100001  # millionths: exact, and SUM() stays exact
        assert stored is not None and stored.cost_amount == Decimal("12345.100001")
    finally:
        db.dispose()


def test_database_urls_are_normalised() -> None:
    assert normalize_url("postgresql://u:p@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"
    with pytest.raises(ValueError, match="unsupported"):
        SqlDatabase("mysql+pymysql://u@h/db")
