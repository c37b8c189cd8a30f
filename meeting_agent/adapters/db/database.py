"""The engine, the unit of work, health checks and schema upgrades.

`SqlDatabase` is built once by the composition root (no engine exists at import time)
and hands out `SqlAlchemyUnitOfWork`s, one per use case or job step:

    database = SqlDatabase(settings.resolved_database_url)
    with database.unit_of_work() as uow:
        uow.tasks.add(task)
        uow.commit()
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from meeting_agent.adapters.db.repositories import (
    SqlArtifactRepository,
    SqlAuditLogRepository,
    SqlHotwordSetRepository,
    SqlIdempotencyRepository,
    SqlPromptTemplateRepository,
    SqlSpeakerMappingRepository,
    SqlTaskEventRepository,
    SqlTaskRepository,
    SqlTranscriptRepository,
    SqlUploadRepository,
    SqlUserRepository,
)
from meeting_agent.errors import Aborted, MeetingAgentError, Unavailable
from meeting_agent.ports import (
    ArtifactRepository,
    AuditLogRepository,
    HotwordSetRepository,
    IdempotencyRepository,
    PromptTemplateRepository,
    SpeakerMappingRepository,
    TaskEventRepository,
    TaskRepository,
    TranscriptRepository,
    UploadRepository,
    UserRepository,
)

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "MIGRATIONS_DIR",
    "SqlAlchemyUnitOfWork",
    "SqlDatabase",
    "alembic_config",
    "normalize_url",
    "upgrade_to_head",
]

logger = logging.getLogger(__name__)

# migrations/ sits at the repository root, beside the package (SPEC §2).
MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "migrations"

# Execution option: begin a SQLite transaction DEFERRED (read-only) instead of IMMEDIATE.
_SQLITE_DEFERRED = "meeting_agent_sqlite_deferred"

# PostgreSQL serialization failure and deadlock: retrying the transaction helps.
_RETRY_TRANSACTION_SQLSTATES = frozenset({"40001", "40P01"})


def normalize_url(url: str | URL) -> URL:
    """Parse a database URL, choosing psycopg 3 for a bare `postgresql://` URL."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _is_sqlite_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _ensure_sqlite_directory(url: URL) -> None:
    if url.get_backend_name() == "sqlite" and not _is_sqlite_memory(url) and url.database:
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling cannot do SAVEPOINTs correctly; turn it off
        # and emit BEGIN ourselves (the recipe from SQLAlchemy's SQLite dialect docs).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            if wal:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front. A DEFERRED transaction that reads and
        # then writes fails at once with "database is locked" when another writer got
        # there first (the busy timeout does not apply), and it gives SQLite what
        # `SELECT ... FOR UPDATE` gives PostgreSQL: no lost read-modify-write. The price,
        # transactions running one at a time, is small: SQLite has one writer anyway, and
        # units of work are short.
        deferred = connection.get_execution_options().get(_SQLITE_DEFERRED, False)
        # Straight to the driver: this runs for every unit of work, and SQLAlchemy's own
        # execution path (events, result set-up) would double the cost of a small read.
        # The pool's rollback ends it as usual.
        connection.connection.driver_connection.execute(  # type: ignore[union-attr]
            "BEGIN DEFERRED" if deferred else "BEGIN IMMEDIATE"
        )


def _ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection before use only when it sat idle for a while.

    `pool_pre_ping` would add a round trip to every unit of work, doubling a small
    read. A connection in steady use needs none: if the server restarted, its first
    failure invalidates the whole pool (SQLAlchemy does that for disconnects), so one
    request pays; an idle server pays nothing, because the ping finds the dead
    connection first and the pool opens a fresh one.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["meeting_agent_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("meeting_agent_idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            dbapi_connection.execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as exc:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError("the pooled connection is dead") from exc


def _translate(exc: BaseException) -> MeetingAgentError | None:
    """The domain error for a database failure that a retry may fix, or None."""
    if isinstance(exc, DBAPIError):
        if getattr(exc.orig, "sqlstate", None) in _RETRY_TRANSACTION_SQLSTATES:
            return Aborted(
                "the database aborted a conflicting transaction; retry", reason="DATABASE_CONFLICT"
            )
        if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
            return Unavailable("the database is unavailable", reason="DATABASE_UNAVAILABLE")
    elif isinstance(exc, PoolTimeoutError | DisconnectionError):
        return Unavailable("the database is unavailable", reason="DATABASE_UNAVAILABLE")
    return None


class SqlDatabase:
    """One database: its engine, a session factory and health checks.

    `url` is a SQLAlchemy URL: `sqlite:///path/to/file.db` for the embedded default or
    `postgresql+psycopg://user:pass@host/db` in production (`postgresql://` is read as
    psycopg 3 too). A SQLite file's directory is created when missing.
    """

    def __init__(
        self,
        url: str | URL,
        *,
        connect_timeout_seconds: float = 5.0,
        check_timeout_seconds: float = 2.0,
        sqlite_busy_timeout_seconds: float = 10.0,
        pool_size: int = 20,
        max_overflow: int = 20,
        ping_after_idle_seconds: float = 2.0,
        sqlite_pool_size: int = 64,
        echo: bool = False,
    ) -> None:
        self._url = normalize_url(url)
        self._check_timeout_seconds = check_timeout_seconds
        backend = self._url.get_backend_name()
        if backend == "sqlite":
            _ensure_sqlite_directory(self._url)
            memory = _is_sqlite_memory(self._url)
            self._engine = create_engine(
                self._url,
                echo=echo,
                connect_args={
                    # Sessions move between the gRPC and worker threads; the pool hands a
                    # connection to one thread at a time.
                    "check_same_thread": False,
                    "timeout": sqlite_busy_timeout_seconds,
                },
                # One shared connection, or every connection would see its own database.
                # A file's connections are cheap to keep but not to open (each sets its
                # pragmas): a pool as large as the threads that use it never reopens one.
                **(
                    {"poolclass": StaticPool}
                    if memory
                    else {"pool_size": sqlite_pool_size, "max_overflow": sqlite_pool_size}
                ),
            )
            _configure_sqlite(self._engine, wal=not memory)
            self._wal = not memory
        elif backend == "postgresql":
            self._wal = False
            self._engine = create_engine(
                self._url,
                echo=echo,
                pool_size=pool_size,
                max_overflow=max_overflow,
                # libpq takes whole seconds and treats values below 2 as 2.
                connect_args={"connect_timeout": max(2, math.ceil(connect_timeout_seconds))},
            )
            _ping_idle_connections(self._engine, ping_after_idle_seconds)
        else:
            raise ValueError(f"unsupported database backend {backend!r}: use sqlite or postgresql")
        self._session_factory = sessionmaker(bind=self._engine, expire_on_commit=False)
        # Reads share the pool. On SQLite they begin DEFERRED: readers never queue for
        # the write lock (WAL lets them read beside the one writer), and a transaction
        # is one snapshot anyway. On PostgreSQL a plain read runs in autocommit, one
        # round trip per statement instead of three (BEGIN, the query, ROLLBACK); a
        # snapshot read is a REPEATABLE READ transaction, whose statements see one
        # moment (a read-only one never fails for it).
        if backend == "sqlite":
            reads = snapshots = self._engine.execution_options(**{_SQLITE_DEFERRED: True})
        else:
            reads = self._engine.execution_options(isolation_level="AUTOCOMMIT")
            snapshots = self._engine.execution_options(isolation_level="REPEATABLE READ")
        self._read_session_factory = sessionmaker(bind=reads, expire_on_commit=False)
        self._snapshot_session_factory = sessionmaker(bind=snapshots, expire_on_commit=False)

    @property
    def url(self) -> URL:
        return self._url

    @property
    def reads_never_wait(self) -> bool:
        """Whether a small read is answered from local memory without ever waiting for a
        lock or a network: true of a SQLite file in WAL mode, whose readers never queue
        behind its writer; so such reads may run on an event loop."""
        return self._wal

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def session_factory(self) -> sessionmaker[Session]:
        return self._session_factory

    def unit_of_work(
        self, *, read_only: bool = False, snapshot: bool = False
    ) -> SqlAlchemyUnitOfWork:
        if not read_only:
            return SqlAlchemyUnitOfWork(self._session_factory)
        return SqlAlchemyUnitOfWork(
            self._snapshot_session_factory if snapshot else self._read_session_factory
        )

    def check(self) -> None:
        """Run `SELECT 1`; raise `Unavailable` when it fails or takes too long."""
        try:
            with self._engine.connect() as connection:
                if self._engine.dialect.name == "postgresql":
                    timeout_ms = max(1, int(self._check_timeout_seconds * 1000))
                    connection.exec_driver_sql(f"SET LOCAL statement_timeout = {timeout_ms}")
                else:
                    # A health probe must not queue behind writers for the write lock.
                    connection.execution_options(**{_SQLITE_DEFERRED: True})
                connection.exec_driver_sql("SELECT 1").scalar_one()
        except SQLAlchemyError as exc:
            logger.warning("database check failed: %s", exc.__class__.__name__)
            raise Unavailable("the database is unavailable", reason="DATABASE_UNAVAILABLE") from exc

    def dispose(self) -> None:
        """Close every pooled connection; the object is unusable afterwards."""
        self._engine.dispose()


class SqlAlchemyUnitOfWork:
    """A `UnitOfWork` over one SQLAlchemy session per `with` block.

    Leaving the block without `commit()` rolls back. Database failures that a retry may
    fix surface as `Unavailable` (connection lost, SQLite busy) or `Aborted`
    (serialization failure, deadlock). The object can be entered again after it exits,
    with a fresh session each time.
    """

    # Typed as the ports: a Protocol's attributes are mutable, hence invariant, so the
    # concrete repository types would not satisfy `UnitOfWork`.
    users: UserRepository
    tasks: TaskRepository
    task_events: TaskEventRepository
    uploads: UploadRepository
    hotword_sets: HotwordSetRepository
    prompt_templates: PromptTemplateRepository
    speaker_mappings: SpeakerMappingRepository
    transcripts: TranscriptRepository
    artifacts: ArtifactRepository
    audit_logs: AuditLogRepository
    idempotency: IdempotencyRepository

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        """The open session, for queries no repository offers (reports, tests)."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open; use it in a `with` block")
        return self._session

    def __enter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("the unit of work is already open")
        session = self._session_factory()
        self._session = session
        self.users = SqlUserRepository(session)
        self.tasks = SqlTaskRepository(session)
        self.task_events = SqlTaskEventRepository(session)
        self.uploads = SqlUploadRepository(session)
        self.hotword_sets = SqlHotwordSetRepository(session)
        self.prompt_templates = SqlPromptTemplateRepository(session)
        self.speaker_mappings = SqlSpeakerMappingRepository(session)
        self.transcripts = SqlTranscriptRepository(session)
        self.artifacts = SqlArtifactRepository(session)
        self.audit_logs = SqlAuditLogRepository(session)
        self.idempotency = SqlIdempotencyRepository(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        try:
            # close() rolls back whatever was not committed and returns the connection.
            session.close()
        except SQLAlchemyError as cleanup_error:
            if exc is None:
                raise (_translate(cleanup_error) or cleanup_error) from cleanup_error
            # The error already on its way out says more than this one.
            logger.warning("closing a failed session failed too: %r", cleanup_error)
        if exc is not None:
            translated = _translate(exc)
            if translated is not None:
                raise translated from exc

    def commit(self) -> None:
        try:
            self.session.commit()
        except SQLAlchemyError as exc:
            translated = _translate(exc)
            if translated is None:
                raise
            raise translated from exc

    def rollback(self) -> None:
        self.session.rollback()


# ---------------------------------------------------------------- migrations


def alembic_config(url: str | URL) -> Config:
    """An Alembic configuration for `url` that needs no alembic.ini (and sets up no logging)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # An attribute, not a main option: ini interpolation would choke on `%` in passwords.
    config.attributes["sqlalchemy.url"] = normalize_url(url).render_as_string(hide_password=False)
    return config


def upgrade_to_head(url: str | URL) -> None:
    """Migrate the database at `url` to the newest schema (idempotent).

    The embedded default calls this on start-up. Production runs `alembic upgrade head`
    as a deploy step instead; on PostgreSQL an advisory lock in `migrations/env.py` keeps
    concurrent upgrades from racing either way.
    """
    from alembic import command

    parsed = normalize_url(url)
    _ensure_sqlite_directory(parsed)
    logger.info("upgrading the %s database schema", parsed.get_backend_name())
    command.upgrade(alembic_config(parsed), "head")
