"""UsageService: range and grouping validation, and exact totals per currency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from meeting_agent.domain.models import Principal, UsageGroup, UsageRecord
from meeting_agent.errors import InvalidArgument
from meeting_agent.service.usage import UsageQuery, UsageService
from tests.fakes import FakeDatabase, FakeUnitOfWorkFactory

ALICE = Principal(tenant_id="acme", user_id="alice")
MALLORY = Principal(tenant_id="globex", user_id="mallory")
START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)


@dataclass
class Env:
    factory: FakeUnitOfWorkFactory
    service: UsageService

    def record(
        self,
        *,
        tenant: str = "acme",
        user: str = "alice",
        provider: str = "volcengine",
        cost: str = "0.10",
        currency: str = "CNY",
        succeeded: bool = True,
        when: datetime = START + timedelta(days=1),
        audio: float = 60.0,
        tokens: tuple[int, int] = (0, 0),
        labels: dict[str, str] | None = None,
    ) -> None:
        with self.factory() as uow:
            uow.audit_logs.add(
                UsageRecord(
                    tenant_id=tenant,
                    user_id=user,
                    task_id=None,
                    provider=provider,
                    model="m",
                    operation="transcribe",
                    labels=labels or {},
                    audio_seconds=audio,
                    input_tokens=tokens[0],
                    output_tokens=tokens[1],
                    cost_amount=Decimal(cost),
                    currency=currency,
                    succeeded=succeeded,
                    create_time=when,
                ),
                call_key=f"call-{len(self.factory.opened)}",
            )
            uow.commit()


@pytest.fixture
def env() -> Env:
    factory = FakeUnitOfWorkFactory(FakeDatabase())
    return Env(factory, UsageService(factory))


def query(**changes: object) -> UsageQuery:
    values: dict[str, object] = {"start": START, "end": END, "group_by": ["provider"]}
    values.update(changes)
    return UsageQuery(**values)  # type: ignore[arg-type]


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"end": START}, "end_time"),
        ({"end": START - timedelta(seconds=1)}, "end_time"),
        ({"end": START + timedelta(days=366, seconds=1)}, "end_time"),
        ({"group_by": ["label"]}, "label_key"),
        ({"group_by": ["provider", "label"], "label_key": ""}, "label_key"),
    ],
    ids=[
        "empty-range",
        "reversed-range",
        "range-too-long",
        "label-without-key",
        "label-among-others-without-key",
    ],
)
def test_invalid_queries(env: Env, changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        env.service.get_usage(ALICE, query(**changes))

    assert [v.field for v in info.value.violations] == [field]


def test_longest_allowed_range_and_label_grouping_with_key(env: Env) -> None:
    env.record(labels={"project": "apollo"})

    rows, _ = env.service.get_usage(
        ALICE, query(end=START + timedelta(days=366), group_by=["label"], label_key="project")
    )

    assert [row.label_value for row in rows] == ["apollo"]


# ---------------------------------------------------------------- totals


def test_totals_sum_rows_per_currency_exactly(env: Env) -> None:
    # 0.1 + 0.2 is not 0.3 in binary floating point; Decimal sums must be exact.
    env.record(provider="volcengine", cost="0.1")
    env.record(provider="volcengine", cost="0.2", succeeded=False)
    env.record(provider="iflytek", cost="0.000001", audio=30.0)
    env.record(provider="gemini", cost="0.30", currency="USD", audio=0.0, tokens=(1000, 250))
    env.record(provider="gemini", cost="0.000000001", currency="USD", audio=0.0, tokens=(10, 5))

    rows, total = env.service.get_usage(ALICE, query())

    assert [row.provider for row in rows] == ["gemini", "iflytek", "volcengine"]
    assert total.costs == {"CNY": Decimal("0.300001"), "USD": Decimal("0.300000001")}
    assert all(type(amount) is Decimal for amount in total.costs.values())
    assert total.call_count == 5
    assert total.failed_call_count == 1
    assert total.audio_seconds == pytest.approx(150.0)
    assert (total.input_tokens, total.output_tokens) == (1010, 255)
    assert total.call_count == sum(row.call_count for row in rows)


def test_total_has_no_dimension_values(env: Env) -> None:
    env.record(provider="volcengine")

    _, total = env.service.get_usage(ALICE, query(group_by=["provider", "user"]))

    assert (total.provider, total.user_id, total.label_value, total.day) == ("", "", "", "")


def test_no_usage_gives_empty_rows_and_a_zero_total(env: Env) -> None:
    rows, total = env.service.get_usage(ALICE, query())

    assert rows == []
    assert total == UsageGroup()


def test_usage_is_per_tenant_and_within_the_range(env: Env) -> None:
    env.record(cost="1")
    env.record(tenant="globex", user="mallory", cost="100")
    env.record(cost="1000", when=START - timedelta(seconds=1))
    env.record(cost="10000", when=END)

    _, alices = env.service.get_usage(ALICE, query())
    _, mallorys = env.service.get_usage(MALLORY, query())

    assert alices.costs == {"CNY": Decimal("1")}
    assert mallorys.costs == {"CNY": Decimal("100")}


def test_filters_by_provider_and_user(env: Env) -> None:
    env.record(provider="volcengine", user="alice", cost="1")
    env.record(provider="volcengine", user="bob", cost="2")
    env.record(provider="iflytek", user="alice", cost="4")

    _, by_provider = env.service.get_usage(ALICE, query(provider="volcengine"))
    _, by_user = env.service.get_usage(ALICE, query(user_id="alice"))

    assert by_provider.costs == {"CNY": Decimal("3")}
    assert by_user.costs == {"CNY": Decimal("5")}
