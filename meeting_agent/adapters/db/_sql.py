"""Small SQL helpers shared by the repositories: savepoint inserts, upserts, keyset pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import QueryableAttribute, Session

from meeting_agent.adapters.db.codec import CursorValue, decode_cursor, encode_cursor
from meeting_agent.errors import AlreadyExists, NotFound

R = TypeVar("R")
S = TypeVar("S", bound=Select[Any])

# PostgreSQL SQLSTATEs and SQLite extended result codes of constraint violations.
_UNIQUE = frozenset({"23505", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})
_FOREIGN_KEY = frozenset({"23503", "SQLITE_CONSTRAINT_FOREIGNKEY"})


def _violation(exc: IntegrityError) -> str:
    orig = exc.orig
    return str(getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", ""))


@contextmanager
def constraint_errors(
    session: Session, *, duplicate: str | None = None, parent: str | None = None
) -> Iterator[None]:
    """Run writes in a SAVEPOINT, turning constraint violations into domain errors.

    `duplicate` names the resource whose key was taken (`AlreadyExists`); `parent` the
    resource a foreign key points at (`NotFound`, which is also what a task of another
    tenant looks like). The savepoint keeps the caller's transaction usable afterwards:
    PostgreSQL would otherwise refuse every further statement in it.
    """
    try:
        with session.begin_nested():
            yield
    except IntegrityError as exc:
        violation = _violation(exc)
        if duplicate is not None and violation in _UNIQUE:
            raise AlreadyExists(
                f"{duplicate} already exists", metadata={"resource": duplicate}
            ) from exc
        if parent is not None and violation in _FOREIGN_KEY:
            raise NotFound(parent) from exc
        raise


def insert_on_conflict(session: Session, entity: type[Any]) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that supports `ON CONFLICT` for the session's dialect."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(entity)
    if dialect == "sqlite":
        return sqlite.insert(entity)
    raise NotImplementedError(f"no upsert for the {dialect} dialect")


def newest_first(
    stmt: S,
    create_time: QueryableAttribute[datetime],
    row_id: QueryableAttribute[str],
    *,
    cursor: str | None,
    limit: int,
) -> S:
    """`stmt` newest first by `(create_time, id)`, resumed after the row `cursor` names,
    fetching the `limit + 1` rows `page_of` cuts to a page."""
    if cursor:
        after_time, after_id = decode_cursor(cursor, datetime, str)
        stmt = stmt.where(
            or_(create_time < after_time, and_(create_time == after_time, row_id < after_id))
        )
    return stmt.order_by(create_time.desc(), row_id.desc()).limit(check_limit(limit) + 1)


def by_id(stmt: S, row_id: QueryableAttribute[str], *, cursor: str | None, limit: int) -> S:
    """`stmt` in id order, resumed after the row `cursor` names, fetching the `limit + 1`
    rows `page_of` cuts to a page."""
    if cursor:
        (after_id,) = decode_cursor(cursor, str)
        stmt = stmt.where(row_id > after_id)
    return stmt.order_by(row_id).limit(check_limit(limit) + 1)


def page_of(
    rows: Sequence[R], limit: int, key: Callable[[R], Sequence[CursorValue | datetime]]
) -> tuple[list[R], str | None]:
    """Cut `limit + 1` fetched rows to a page, with a cursor when more rows follow."""
    if len(rows) <= limit:
        return list(rows), None
    kept = list(rows[:limit])
    return kept, encode_cursor(*key(kept[-1]))


def task_name(task_id: str) -> str:
    return f"tasks/{task_id}"


def check_limit(limit: int) -> int:
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    return limit
