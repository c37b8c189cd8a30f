"""The audit log: one row per attempt of a provider call, and usage reports over it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, func, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from meeting_agent.adapters.db._sql import insert_on_conflict
from meeting_agent.adapters.db.models import AuditLogRow
from meeting_agent.domain.models import UsageGroup, UsageRecord
from meeting_agent.errors import InvalidArgument

GROUP_DIMENSIONS = ("provider", "user", "label", "day")
SUCCEEDED = "succeeded"
FAILED = "failed"


class UtcDay(FunctionElement[str]):
    """The UTC calendar day of a timestamp column, as `YYYY-MM-DD`."""

    type = String()
    name = "utc_day"
    inherit_cache = True


@compiles(UtcDay, "postgresql")
def _utc_day_postgresql(element: UtcDay, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"to_char(({column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@compiles(UtcDay, "sqlite")
def _utc_day_sqlite(element: UtcDay, compiler: SQLCompiler, **kw: Any) -> str:
    # Timestamps are stored as UTC text (see UtcDateTime), which date() reads as is.
    return f"date({compiler.process(element.clauses, **kw)})"


class SqlAuditLogRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self,
        record: UsageRecord,
        *,
        call_key: str,
        latency_ms: int | None = None,
        unit_prices: Mapping[str, Decimal] | None = None,
    ) -> bool:
        """Record a paid call once per `(tenant, call_key)`; False when already recorded.

        `ON CONFLICT DO NOTHING` rather than a caught unique violation: a retried job that
        reports the same call is expected, not an error, and must not abort the transaction.
        """
        stmt = insert_on_conflict(self._session, AuditLogRow).values(
            tenant_id=record.tenant_id,
            call_key=call_key,
            user_id=record.user_id,
            task_id=record.task_id,
            provider=record.provider,
            model=record.model,
            operation=record.operation,
            labels=dict(record.labels),
            audio_seconds=record.audio_seconds,
            input_tokens=record.input_tokens,
            output_tokens=record.output_tokens,
            cost_amount=record.cost_amount,
            currency=record.currency,
            outcome=SUCCEEDED if record.succeeded else FAILED,
            latency_ms=latency_ms,
            audio_input_tokens=record.audio_input_tokens,
            thinking_tokens=record.thinking_tokens,
            failure=record.failure,
            http_status=record.http_status,
            vendor_code=record.vendor_code[:64],
            key_fingerprint=record.key_fingerprint,
            final=record.final,
            unit_prices=(
                None
                if unit_prices is None
                else {name: str(price) for name, price in unit_prices.items()}
            ),
            create_time=record.create_time,
        )
        stmt = stmt.on_conflict_do_nothing(index_elements=["tenant_id", "call_key"])
        inserted = self._session.execute(stmt.returning(AuditLogRow.id)).first()
        return inserted is not None

    def aggregate(
        self,
        tenant_id: str,
        *,
        start: datetime,
        end: datetime,
        group_by: Sequence[str],
        label_key: str = "",
        provider: str = "",
        user_id: str = "",
    ) -> list[UsageGroup]:
        """Sum usage in `[start, end)` per combination of `group_by`, in SQL.

        Rows are also grouped by currency, so each group's `costs` holds one exact sum per
        currency. Groups come back sorted by their dimension values.
        """
        dimensions = _dimensions(group_by, label_key)
        row = AuditLogRow
        stmt = (
            select(
                *(expression.label(name) for name, expression in dimensions.items()),
                row.currency,
                func.sum(case((row.final, 1), else_=0)).label("calls"),
                func.sum(case((and_(row.final, row.outcome != SUCCEEDED), 1), else_=0)).label(
                    "failed"
                ),
                func.count().label("attempts"),
                func.sum(case((row.outcome == SUCCEEDED, 0), else_=1)).label("failed_attempts"),
                func.sum(row.audio_seconds).label("audio_seconds"),
                func.sum(row.input_tokens).label("input_tokens"),
                func.sum(row.output_tokens).label("output_tokens"),
                func.sum(row.cost_amount).label("cost"),
            )
            .where(
                row.tenant_id == tenant_id,
                row.create_time >= start,
                row.create_time < end,
            )
            # By position: a label expression carries a bound JSON path, and PostgreSQL
            # does not see two separately bound copies of it as the same expression.
            .group_by(*(_position(i) for i in range(len(dimensions) + 1)))
        )
        if provider:
            stmt = stmt.where(row.provider == provider)
        if user_id:
            stmt = stmt.where(row.user_id == user_id)

        groups: dict[tuple[str, ...], UsageGroup] = {}
        for result in self._session.execute(stmt):
            values = {name: result._mapping[name] or "" for name in dimensions}
            key = tuple(values[name] for name in dimensions)
            group = groups.get(key)
            if group is None:
                group = groups[key] = UsageGroup(
                    provider=values.get("provider", ""),
                    user_id=values.get("user", ""),
                    label_value=values.get("label", ""),
                    day=values.get("day", ""),
                )
            group.call_count += int(result.calls or 0)
            group.failed_call_count += int(result.failed or 0)
            group.attempt_count += int(result.attempts)
            group.failed_attempt_count += int(result.failed_attempts or 0)
            group.audio_seconds += float(result.audio_seconds or 0.0)
            group.input_tokens += int(result.input_tokens or 0)
            group.output_tokens += int(result.output_tokens or 0)
            cost: Decimal = result.cost if result.cost is not None else Decimal(0)
            if result.currency or cost:
                group.costs[result.currency] = group.costs.get(result.currency, Decimal(0)) + cost
        return [groups[key] for key in sorted(groups)]


def _dimensions(group_by: Sequence[str], label_key: str) -> dict[str, ColumnElement[Any]]:
    unknown = [name for name in group_by if name not in GROUP_DIMENSIONS]
    if unknown:
        raise InvalidArgument.field(
            "group_by",
            f"unknown dimension(s) {', '.join(unknown)}; "
            f"expected any of {', '.join(GROUP_DIMENSIONS)}",
        )
    if "label" in group_by and not label_key:
        raise InvalidArgument.field("label_key", "is required when grouping by label")
    row = AuditLogRow
    expressions: dict[str, ColumnElement[Any]] = {
        "provider": row.provider.expression,
        "user": row.user_id.expression,
        "label": row.labels[label_key].as_string(),
        "day": UtcDay(row.create_time),
    }
    # dict.fromkeys drops repeated dimensions while keeping the caller's order.
    return {name: expressions[name] for name in dict.fromkeys(group_by)}


def _position(index: int) -> ColumnElement[Any]:
    return literal_column(str(index + 1))
