"""Row counts and checksums of a table that come out equal on SQLite and PostgreSQL.

A checksum is SHA-256 over one canonical line per row, in primary-key order. Rows are
read through the `Table`'s column types, so what is compared is what the application
sees (a `Decimal`, an aware UTC `datetime`, a JSON document), not how a backend stores
it: money is integer micros on SQLite and `numeric` on PostgreSQL, yet both read back as
the same `Decimal`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, String, Table, func, select

__all__ = ["TableDigest", "canonical_row", "count_rows", "digest_table", "primary_key_order"]

# Rows fetched per round trip while hashing; bounds memory on large tables.
_FETCH_SIZE = 1000


@dataclass(frozen=True)
class TableDigest:
    """How many rows a table holds and the SHA-256 of their canonical rendering."""

    rows: int
    sha256: str


def primary_key_order(table: Table, dialect: str) -> list[ColumnElement[Any]]:
    """The table's primary-key columns as sort keys that order rows identically everywhere.

    SQLite compares text bytewise (its BINARY collation, on UTF-8); PostgreSQL uses the
    database's collation (`zh_CN.UTF-8` in the old guide), which orders differently. The
    "C" collation compares bytes too, so both sides walk rows in the same order.
    """
    keys: list[ColumnElement[Any]] = []
    for column in table.primary_key.columns:
        if dialect == "postgresql" and isinstance(column.type, String):
            keys.append(column.collate("C"))
        else:
            keys.append(column)
    return keys


def _canonical(value: Any) -> Any:
    # Every type a model column can produce, reduced to JSON with a single spelling.
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)  # shortest round-tripping form; JSON would accept NaN unquoted
    if isinstance(value, Decimal):
        # `normalize` drops the scale, which differs between a quantized and a parsed value.
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} in a UTC column")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    raise TypeError(f"no canonical rendering for {type(value).__name__}")


def canonical_row(table: Table, row: Any) -> bytes:
    """One line for a row: its columns in table order, as sorted-key JSON."""
    mapping = row._mapping
    values = [_canonical(mapping[column]) for column in table.columns]
    return (
        json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8"
        )
        + b"\n"
    )


def _rows(connection: Connection, table: Table) -> Iterator[Any]:
    statement = select(table).order_by(*primary_key_order(table, connection.dialect.name))
    # A server-side cursor on PostgreSQL, so a large table is never held in memory.
    result = connection.execution_options(yield_per=_FETCH_SIZE).execute(statement)
    yield from result


def digest_table(connection: Connection, table: Table) -> TableDigest:
    """Count and hash every row of `table`, in primary-key order."""
    digest = hashlib.sha256()
    rows = 0
    for row in _rows(connection, table):
        digest.update(canonical_row(table, row))
        rows += 1
    return TableDigest(rows=rows, sha256=digest.hexdigest())


def count_rows(connection: Connection, table: Table) -> int:
    """`SELECT count(*)` of a table."""
    return int(connection.execute(select(func.count()).select_from(table)).scalar_one())
