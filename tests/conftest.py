"""Fixtures shared by every test tier. Each section belongs to one area; keep them apart."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from meeting_agent.adapters.db.database import upgrade_to_head
from tests.harness.postgres import PostgresUnavailable, postgres_server, temporary_database
from tests.harness.redis import RedisUnavailable, redis_server
from tests.harness.redis import flush as flush_redis

# ====================================================================== databases
# Owned by the persistence layer (meeting_agent.adapters.db); see tests/harness/postgres.py.
#
#   postgres_url            session   admin URL of a PostgreSQL 15 server (database
#                                     `postgres`); skipped without one, failed when CI is set
#   database_url            function  an empty database, once on SQLite, once on PostgreSQL
#   migrated_database_url   function  the same, already at the head Alembic revision
#
# The PostgreSQL parameter is marked `postgres`: `pytest -m "not postgres"` runs SQLite only.

_DATABASE_BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _skip_or_fail(reason: str) -> None:
    # CI must run the PostgreSQL half; a silent skip there would hide a broken setup.
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(postgres_server())
        except PostgresUnavailable as exc:
            _skip_or_fail(str(exc))
        yield url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade_to_head(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _migrated_postgres_template(postgres_url: str) -> Iterator[str]:
    """A database at head that each test copies with CREATE DATABASE ... TEMPLATE."""
    with temporary_database(postgres_url) as url:
        upgrade_to_head(url)
        assert url.database is not None
        yield url.database


@pytest.fixture(params=_DATABASE_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    with temporary_database(request.getfixturevalue("postgres_url")) as url:
        yield url.render_as_string(hide_password=False)


@pytest.fixture(params=_DATABASE_BACKENDS)
def migrated_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("_migrated_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("_migrated_postgres_template")
    with temporary_database(request.getfixturevalue("postgres_url"), template=template) as url:
        yield url.render_as_string(hide_password=False)


# ==================================================================== end databases


# ========================================================================== redis
# Owned by the job and event adapters (meeting_agent.adapters.jobs, .events); see
# tests/harness/redis.py.
#
#   redis_url   session   URL of a logical Redis database that tests may flush: on the
#                         server in MEETING_AGENT_TEST_REDIS_URL, or a private redis-server;
#                         skipped without one, failed when CI is set
#
# Tests that use it are marked `redis` (added here when missing), so `pytest -m "not redis"`
# runs without Redis. Like rq's RQTestCase, each such test starts and ends with an empty
# database.


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "redis_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.redis)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(redis_server())
        except RedisUnavailable as exc:
            # CI must run the Redis tests; a silent skip there would hide a broken setup.
            if os.environ.get("CI"):
                pytest.fail(f"Redis is required in CI: {exc}", pytrace=False)
            pytest.skip(str(exc))
        yield url


@pytest.fixture(autouse=True)
def _empty_redis_database(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("redis") is None:
        yield
        return
    url: str = request.getfixturevalue("redis_url")
    flush_redis(url)
    yield
    flush_redis(url)


# ====================================================================== end redis
