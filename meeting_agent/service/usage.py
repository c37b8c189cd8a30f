"""Reporting what provider calls cost, from the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from meeting_agent.domain.models import Principal, UsageGroup
from meeting_agent.errors import InvalidArgument
from meeting_agent.ports import UnitOfWorkFactory

MAX_RANGE = timedelta(days=366)
DIMENSIONS = ("provider", "user", "label", "day")


@dataclass(frozen=True)
class UsageQuery:
    start: datetime
    end: datetime
    group_by: Sequence[str]
    label_key: str = ""
    provider: str = ""
    user_id: str = ""


class UsageService:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    def get_usage(
        self, principal: Principal, query: UsageQuery
    ) -> tuple[list[UsageGroup], UsageGroup]:
        if query.end <= query.start:
            raise InvalidArgument.field("end_time", "must be after start_time")
        if query.end - query.start > MAX_RANGE:
            raise InvalidArgument.field("end_time", "must be at most 366 days after start_time")
        if "label" in query.group_by and not query.label_key:
            raise InvalidArgument.field("label_key", "is required when grouping by label")
        with self._uow_factory(read_only=True) as uow:
            rows = uow.audit_logs.aggregate(
                principal.tenant_id,
                start=query.start,
                end=query.end,
                group_by=list(query.group_by),
                label_key=query.label_key,
                provider=query.provider,
                user_id=query.user_id,
            )
        return rows, _total(rows)


def _total(rows: list[UsageGroup]) -> UsageGroup:
    total = UsageGroup()
    for row in rows:
        total.call_count += row.call_count
        total.failed_call_count += row.failed_call_count
        total.attempt_count += row.attempt_count
        total.failed_attempt_count += row.failed_attempt_count
        total.audio_seconds += row.audio_seconds
        total.input_tokens += row.input_tokens
        total.output_tokens += row.output_tokens
        for currency, amount in row.costs.items():
            total.costs[currency] = total.costs.get(currency, 0) + amount
    return total
