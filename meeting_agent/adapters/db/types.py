"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Numeric
from sqlalchemy.types import TypeDecorator, TypeEngine

MONEY_SCALE = 6
_MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL stores `timestamptz`. SQLite has no timestamp type and drops the offset,
    so values are normalised to UTC before they are written (keeping text order equal to
    time order) and tagged as UTC when read back.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            # A naive value is ambiguous; guessing would silently shift times by hours.
            raise ValueError(f"naive datetime {value!r} cannot be stored; use UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """An exact amount with six decimal places, read back as `Decimal`.

    PostgreSQL stores `numeric(18, 6)`. SQLite would store a float, so there the amount is
    kept as an integer count of millionths: exact, and `SUM()` in SQL stays exact too.
    """

    impl = Numeric(18, MONEY_SCALE, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(18, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = Decimal(value).quantize(_MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)
        if dialect.name == "sqlite":
            return int(amount.scaleb(MONEY_SCALE))
        return amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-MONEY_SCALE)
        return Decimal(value).quantize(_MONEY_QUANTUM)
