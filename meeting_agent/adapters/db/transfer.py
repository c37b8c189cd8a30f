"""Copy every table of one database into another, resumably, and verify the copy.

Used by `meeting-agent migrate-data` to move an embedded SQLite deployment to
PostgreSQL. Rows travel through the `Table` objects of the ORM metadata, so each value
is converted by its column type on the way out and on the way in (money: integer micros
on SQLite, `numeric` on PostgreSQL). Each batch is its own transaction, and rows whose
primary key the target already holds are skipped, so a run that stopped half way is
resumed by running it again, and a second complete run changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, inspect, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from meeting_agent.adapters.db.checksum import (
    TableDigest,
    count_rows,
    digest_table,
    primary_key_order,
)
from meeting_agent.adapters.db.models import Base

__all__ = [
    "BatchCallback",
    "TableCopy",
    "TableVerification",
    "copy_table",
    "head_revisions",
    "schema_revision",
    "source_counts",
    "tables_in_dependency_order",
    "verify_tables",
]

# Called after each committed batch with the table, rows read and rows inserted.
BatchCallback = Callable[[Table, int, int], None]


@dataclass(frozen=True)
class TableCopy:
    """What copying one table did."""

    table: str
    read: int
    inserted: int

    @property
    def skipped(self) -> int:
        """Rows the target already had (an earlier, possibly interrupted, run)."""
        return self.read - self.inserted


@dataclass(frozen=True)
class TableVerification:
    """Source and target counts and checksums of one table."""

    table: str
    source: TableDigest
    target: TableDigest | None  # None: the table does not exist in the target

    @property
    def matches(self) -> bool:
        return self.target == self.source


def tables_in_dependency_order() -> list[Table]:
    """Every table of the schema, parents before the children that reference them."""
    return list(Base.metadata.sorted_tables)


def _insert_skipping_existing(table: Table, dialect: str) -> Insert:
    keys = list(table.primary_key.columns)
    # Only a primary-key conflict means "copied before"; a clash on another unique
    # constraint is a real divergence and must fail loudly.
    # RETURNING counts the rows really inserted: executemany's rowcount is unreliable.
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys).returning(*keys)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys).returning(*keys)
    raise ValueError(f"unsupported target database {dialect!r}")


def _batches(source: Engine, table: Table, batch_size: int) -> Iterator[list[dict[str, Any]]]:
    """Yield lists of row mappings in primary-key order, one short read transaction each.

    Keyset pagination (`WHERE (pk) > (last pk)`) rather than OFFSET: each batch costs the
    same however deep into the table it is.
    """
    keys = list(table.primary_key.columns)
    last: Sequence[Any] | None = None
    while True:
        with source.connect() as connection:
            order = primary_key_order(table, connection.dialect.name)
            statement = select(table).order_by(*order).limit(batch_size)
            if last is not None:
                statement = statement.where(tuple_(*order) > tuple_(*last))
            rows = [dict(row._mapping) for row in connection.execute(statement)]
        if not rows:
            return
        yield rows
        last = [rows[-1][key.name] for key in keys]


def _advance_sequences(connection: Connection, table: Table) -> None:
    # Copied rows carry explicit ids, which never advance PostgreSQL's sequence; without
    # this the next audit log insert would collide with id 1.
    if connection.dialect.name != "postgresql":
        return
    column = table.autoincrement_column
    if column is None:
        return
    quote = connection.dialect.identifier_preparer
    name = quote.quote(column.name)
    connection.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence(:table, :column), coalesce(max({name}), 1), "
            f"max({name}) IS NOT NULL) FROM {quote.format_table(table)}"
        ),
        {"table": table.name, "column": column.name},
    )


def copy_table(
    source: Engine,
    target: Engine,
    table: Table,
    *,
    batch_size: int = 1000,
    on_batch: BatchCallback | None = None,
) -> TableCopy:
    """Copy `table` from `source` to `target`, batch by batch, skipping existing keys."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    insert = _insert_skipping_existing(table, target.dialect.name)
    read = inserted = 0
    for rows in _batches(source, table, batch_size):
        with target.begin() as connection:
            added = len(connection.execute(insert, rows).all())
        read += len(rows)
        inserted += added
        if on_batch is not None:
            on_batch(table, len(rows), added)
    with target.begin() as connection:
        _advance_sequences(connection, table)
    return TableCopy(table=table.name, read=read, inserted=inserted)


def verify_tables(
    source: Engine, target: Engine, tables: Sequence[Table]
) -> list[TableVerification]:
    """Count and checksum each table on both sides, the same way."""
    existing = set(inspect(target).get_table_names())
    report: list[TableVerification] = []
    with source.connect() as source_connection, target.connect() as target_connection:
        for table in tables:
            target_digest = (
                digest_table(target_connection, table) if table.name in existing else None
            )
            report.append(
                TableVerification(table.name, digest_table(source_connection, table), target_digest)
            )
    return report


def source_counts(source: Engine, tables: Sequence[Table]) -> dict[str, int]:
    """Rows per table in `source`, for progress totals and the dry run."""
    with source.connect() as connection:
        return {table.name: count_rows(connection, table) for table in tables}


def schema_revision(engine: Engine) -> set[str]:
    """The Alembic revisions the database is at (empty when it was never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def head_revisions(url: str) -> set[str]:
    """The newest Alembic revisions this code knows."""
    from alembic.script import ScriptDirectory

    from meeting_agent.adapters.db.database import alembic_config

    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
