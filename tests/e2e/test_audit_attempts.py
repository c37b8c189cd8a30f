"""An audit log you can bill from: one row per attempt, failed or not, each with the
quantities per price class and the unit prices that give its cost exactly.

Through the real server, against the local Gemini, Azure and OpenAI-compatible servers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from google.protobuf import timestamp_pb2
from sqlalchemy import select
from sqlalchemy.orm import Session

from meeting_agent.adapters.db.models import AuditLogRow
from meeting_agent.adapters.providers.calls import ApiKey
from meeting_agent.config_providers import default_prices
from meeting_agent.service.billing import UNIT_PRICE_NAMES, Quantities, cost_of
from meeting_agent.v1 import common_pb2, task_pb2, usage_service_pb2
from tests.e2e.conftest import DATA, Client, watch
from tests.harness.server import ServerThread, settings_for_tests
from tests.harness.vendors.azure import FakeAzureSpeech
from tests.harness.vendors.gemini import FakeGemini
from tests.harness.vendors.openai_compat import FakeOpenAiCompatible

GEMINI_KEYS = ("gemini-key-1", "gemini-key-2")
AZURE_KEYS = ("azure-key-1",)
TENANT = "billing-tenant"


@pytest.fixture(scope="module")
def gemini() -> Iterator[FakeGemini]:
    with FakeGemini(keys=GEMINI_KEYS) as vendor:
        yield vendor


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeOpenAiCompatible]:
    with FakeOpenAiCompatible(models=("qwen2.5:14b",), flavor="ollama") as vendor:
        yield vendor


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, gemini: FakeGemini, llm: FakeOpenAiCompatible
) -> Iterator[ServerThread]:
    with contextlib.ExitStack() as stack:
        azure = stack.enter_context(FakeAzureSpeech(keys=AZURE_KEYS))
        # The shipped table, and a price for the self-hosted model (its GPU hours).
        prices = [p.model_dump(mode="json") for p in default_prices()] + [
            {
                "provider": "ollama",
                "currency": "USD",
                "per_million_input_tokens": "0.10",
                "per_million_output_tokens": "0.40",
            }
        ]
        providers = {
            "prices": prices,
            "asr_order": ["gemini"],
            "llm_order": ["ollama"],
            "gemini": {
                "enabled": True,
                "keys": list(GEMINI_KEYS),
                "base_url": gemini.base_url,
                "max_attempts": 5,
            },
            "azure": {"enabled": True, "keys": list(AZURE_KEYS), "endpoint": azure.base_url},
            "openai": {
                "enabled": True,
                "name": "ollama",
                "base_url": llm.base_url,
                "model": "qwen2.5:14b",
            },
        }
        settings = settings_for_tests(tmp_path_factory.mktemp("billing"), providers=providers)
        running = ServerThread(settings).start()
        yield running
        running.stop()


@pytest.fixture(scope="module")
def client(server: ServerThread) -> Iterator[Client]:
    with server.channel() as channel:
        yield Client(channel, server.token("olu", TENANT))


def _run(client: Client, **options: Any) -> task_pb2.Task:
    task = client.create_task(
        client.upload((DATA / "jfk.flac").read_bytes(), filename="jfk.flac"),
        options=task_pb2.TaskOptions(**options),
    )
    return watch(client, task.name)[-1].task


def _rows(server: ServerThread, task: str | None = None) -> list[AuditLogRow]:
    stmt = select(AuditLogRow).where(AuditLogRow.tenant_id == TENANT).order_by(AuditLogRow.id)
    if task is not None:
        stmt = stmt.where(AuditLogRow.task_id == task)
    with Session(server.container.database.engine) as session:
        return list(session.scalars(stmt))


def _usage(client: Client) -> usage_service_pb2.GetUsageResponse:
    start, end = timestamp_pb2.Timestamp(), timestamp_pb2.Timestamp()
    start.FromDatetime(datetime.now(UTC) - timedelta(days=1))
    end.FromDatetime(datetime.now(UTC) + timedelta(minutes=1))
    usage: usage_service_pb2.GetUsageResponse = client.usage.GetUsage(
        usage_service_pb2.GetUsageRequest(
            start_time=start, end_time=end, group_by=[usage_service_pb2.USAGE_DIMENSION_PROVIDER]
        ),
        metadata=client.metadata,
    )
    return usage


def test_every_attempt_is_a_row_with_the_vendors_answer(
    server: ServerThread, client: Client, gemini: FakeGemini
) -> None:
    before = _usage(client)
    gemini.quota("minute", retry_delay="0s", times=1)
    gemini.server_error(status=500, times=1)
    final = _run(client)

    assert final.state == task_pb2.TASK_STATE_SUCCEEDED, final.error
    rows = [r for r in _rows(server, final.name.split("/")[1]) if r.provider == "gemini"]
    assert [(r.outcome, r.failure, r.http_status, r.final) for r in rows] == [
        ("failed", "quota", 429, False),
        ("failed", "transient", 500, False),
        ("succeeded", "", None, True),
    ]
    assert rows[0].vendor_code == "RESOURCE_EXHAUSTED"
    fingerprints = {ApiKey(k).fingerprint for k in GEMINI_KEYS}
    assert all(r.key_fingerprint in fingerprints for r in rows)
    assert all(r.latency_ms is not None and r.latency_ms >= 0 for r in rows)
    assert [r.cost_amount for r in rows[:2]] == [Decimal(0), Decimal(0)]
    assert rows[2].cost_amount > 0

    after = {r.provider: r for r in _usage(client).rows}
    earlier = {r.provider: r for r in before.rows}
    gained = {
        field: getattr(after["gemini"], field)
        - getattr(earlier.get("gemini", usage_service_pb2.UsageRow()), field)
        for field in ("call_count", "failed_call_count", "attempt_count", "failed_attempt_count")
    }
    assert gained == {
        "call_count": 1,
        "failed_call_count": 0,
        "attempt_count": 3,
        "failed_attempt_count": 2,
    }


def test_a_call_that_fails_on_every_attempt_is_one_failed_call(
    server: ServerThread, client: Client, gemini: FakeGemini
) -> None:
    gemini.server_error(status=503, times=None)
    try:
        final = _run(client, no_fallback=True)
    finally:
        gemini.clear_faults()

    rows = [r for r in _rows(server, final.name.split("/")[1]) if r.provider == "gemini"]
    assert final.state == task_pb2.TASK_STATE_FAILED
    assert rows and all(
        (r.outcome, r.failure, r.http_status) == ("failed", "transient", 503) for r in rows
    )
    # Each run of the job made one call of five attempts; its last attempt ends it.
    runs = [rows[i : i + 5] for i in range(0, len(rows), 5)]
    assert len(rows) == 5 * len(runs)
    assert all([r.final for r in run] == [False] * 4 + [True] for run in runs)


def test_every_rows_cost_is_recomputed_from_its_own_fields(
    server: ServerThread, client: Client
) -> None:
    _run(client)  # gemini, audio and text tokens apart
    _run(client, asr_providers=[common_pb2.ProviderChoice(provider="azure")])  # audio hours

    rows = _rows(server)
    assert {r.provider for r in rows} >= {"gemini", "azure", "ollama"}
    gemini_rows = [r for r in rows if r.provider == "gemini" and r.outcome == "succeeded"]
    assert gemini_rows and all(0 < r.audio_input_tokens < r.input_tokens for r in gemini_rows)
    for row in rows:
        quantities = Quantities(
            audio_seconds=row.audio_seconds,
            input_tokens=row.input_tokens,
            audio_input_tokens=row.audio_input_tokens,
            output_tokens=row.output_tokens,
            thinking_tokens=row.thinking_tokens,
        )
        billed = row.outcome == "succeeded" or row.failure == "bad_answer"
        if not billed or row.unit_prices is None:
            assert row.cost_amount == 0, row.id
            continue
        prices = {name: Decimal(row.unit_prices[name]) for name in UNIT_PRICE_NAMES}
        assert cost_of(quantities, prices) == row.cost_amount, (row.provider, row.id)
    assert sum(r.cost_amount for r in rows if r.provider == "azure") > 0
    assert sum(r.cost_amount for r in rows if r.provider == "ollama") > 0


def test_an_unusable_answer_is_billed_on_a_row_of_its_own(
    server: ServerThread, client: Client, llm: FakeOpenAiCompatible
) -> None:
    llm.truncate(times=1)  # cut at max_tokens: paid for, not usable; the generator asks again
    final = _run(client)

    assert final.state == task_pb2.TASK_STATE_SUCCEEDED, final.error
    rows = [r for r in _rows(server, final.name.split("/")[1]) if r.provider == "ollama"]
    assert [(r.outcome, r.failure) for r in rows] == [("failed", "bad_answer"), ("succeeded", "")]
    assert all(r.cost_amount > 0 and r.output_tokens > 0 for r in rows)
    assert Decimal(final.cost.amount) == sum(
        r.cost_amount for r in _rows(server, final.name.split("/")[1])
    )
