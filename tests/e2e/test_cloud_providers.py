"""Cloud providers through the real server: each recogniser, failover, LLM minutes,
and usage that adds up to the audit log to the last decimal.

The vendors are local HTTP servers written from their documentation
(`tests/harness/vendors/`); the service talks to them exactly as to the real ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from meeting_agent.adapters.db.models import AuditLogRow
from meeting_agent.v1 import (
    common_pb2,
    minutes_service_pb2,
    task_pb2,
    task_service_pb2,
    transcript_service_pb2,
    usage_service_pb2,
)
from tests.e2e.conftest import DATA, Client, failure, watch
from tests.harness.server import ServerThread, settings_for_tests
from tests.harness.vendors.fleet import Vendors, running_vendors

AZURE_KEYS = ("azure-key-1", "azure-key-2")
GEMINI_KEYS = ("gemini-key-1",)


@pytest.fixture(scope="module")
def vendors() -> Iterator[Vendors]:
    with running_vendors(azure_keys=AZURE_KEYS, gemini_keys=GEMINI_KEYS) as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, vendors: Vendors) -> Iterator[ServerThread]:
    providers = {
        "asr_order": ["azure", "gemini", "local"],
        "llm_order": ["extractive"],
        "azure": {
            "enabled": True,
            "keys": list(AZURE_KEYS),
            "endpoint": vendors.azure.base_url,
            "max_attempts": 2,
        },
        "gemini": {
            "enabled": True,
            "keys": list(GEMINI_KEYS),
            "base_url": vendors.gemini.base_url,
            "llm": False,
            "max_attempts": 2,
        },
        "openai": {
            "enabled": True,
            "name": "ollama",
            "base_url": vendors.llm.base_url,
            "model": "qwen2.5:14b",
            "max_attempts": 1,
        },
        # The local store cannot presign, so Volcano Engine takes the flash variant.
        "volcengine": {
            "enabled": True,
            "keys": ["app-1:access-1"],
            "mode": "auto",
            "base_url": vendors.volcengine.base_url,
            "poll_interval_seconds": 0.05,
        },
        "iflytek": {
            "enabled": True,
            "keys": ["595f23df:d9f4aa7ea6d94faca62cd88a28fd5234"],
            "base_url": vendors.iflytek.base_url,
            "poll_interval_seconds": 0.05,
        },
    }
    settings = settings_for_tests(
        tmp_path_factory.mktemp("cloud"),
        providers=providers,
        jobs={
            "inline_workers": 1,
            "reconcile_interval_seconds": 0.5,
            "heartbeat_seconds": 0.5,
            "heartbeat_timeout_seconds": 5,
        },
        processing={"max_attempts": 3},
    )
    running = ServerThread(settings).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(server: ServerThread) -> Iterator[Client]:
    with server.channel() as channel:
        yield Client(channel, server.token("olu", "cloud-tenant"))


def run_task(client: Client, **options: Any) -> task_pb2.Task:
    task = client.create_task(
        client.upload((DATA / "jfk.flac").read_bytes(), filename="jfk.flac"),
        options=task_pb2.TaskOptions(**options),
        labels={"team": "research"},
    )
    return watch(client, task.name)[-1].task


def transcript(client: Client, name: str):
    return client.transcripts.GetTranscript(
        transcript_service_pb2.GetTranscriptRequest(name=f"{name}/transcript"),
        metadata=client.metadata,
    ).transcript


@pytest.mark.parametrize("provider", ["azure", "gemini", "volcengine", "iflytek"])
def test_each_recogniser_returns_speaker_labelled_segments(client: Client, provider: str) -> None:
    final = run_task(client, asr_providers=[common_pb2.ProviderChoice(provider=provider)])

    result = transcript(client, final.name)
    assert final.state == task_pb2.TASK_STATE_SUCCEEDED, final.error
    assert result.asr_provider == provider
    assert result.segments and all(s.speaker_label.startswith("SPEAKER_") for s in result.segments)
    assert len({s.speaker_label for s in result.segments}) >= 2


def test_a_provider_out_of_quota_on_every_key_fails_over_to_the_next(
    client: Client, vendors: Vendors
) -> None:
    calls_before = len(vendors.azure.requests)
    for key in AZURE_KEYS:
        vendors.azure.throttle(retry_after=600, key=key, times=None)
    try:
        final = run_task(client)  # the deployment order: azure, then gemini
    finally:
        vendors.azure.clear_faults()

    assert final.state == task_pb2.TASK_STATE_SUCCEEDED, final.error
    assert transcript(client, final.name).asr_provider == "gemini"
    # The keys rest until their quota resets; azure is not asked again meanwhile.
    assert not [r for r in vendors.azure.requests[calls_before:] if r.key not in AZURE_KEYS]


def test_minutes_come_from_the_chosen_llm(client: Client) -> None:
    final = run_task(client, llm_providers=[common_pb2.ProviderChoice(provider="ollama")])

    artifacts = client.minutes.ListArtifacts(
        minutes_service_pb2.ListArtifactsRequest(parent=final.name), metadata=client.metadata
    ).artifacts
    assert final.state == task_pb2.TASK_STATE_SUCCEEDED, final.error
    assert [(a.llm_provider, a.extractive) for a in artifacts] == [("ollama", False)]


def test_a_job_resumed_after_transcription_does_not_bill_it_again(
    server: ServerThread, client: Client, vendors: Vendors
) -> None:
    # The first attempt fails writing the minutes, after the transcript is stored.
    vendors.llm.server_error(status=503, times=1)
    final = run_task(
        client,
        asr_providers=[common_pb2.ProviderChoice(provider="gemini")],
        llm_providers=[common_pb2.ProviderChoice(provider="ollama")],
    )

    rows = _audit(server, task=final.name.split("/")[1])
    assert final.state == task_pb2.TASK_STATE_SUCCEEDED, final.error
    assert _attempts(server, final.name) == 2
    transcriptions = [r for r in rows if r.operation == "transcribe" and r.outcome == "succeeded"]
    assert len(transcriptions) == 1
    assert final.cost.currency_code == "USD" and Decimal(final.cost.amount) > 0
    assert Decimal(final.cost.amount) == sum(r.cost_amount for r in rows)


def test_get_usage_adds_up_to_the_audit_log(server: ServerThread, client: Client) -> None:
    run_task(client, asr_providers=[common_pb2.ProviderChoice(provider="gemini")])
    start, end = timestamp_pb2.Timestamp(), timestamp_pb2.Timestamp()
    start.FromDatetime(datetime.now(UTC) - timedelta(days=1))
    end.FromDatetime(datetime.now(UTC) + timedelta(minutes=1))

    usage = client.usage.GetUsage(
        usage_service_pb2.GetUsageRequest(
            start_time=start,
            end_time=end,
            group_by=[
                usage_service_pb2.USAGE_DIMENSION_PROVIDER,
                usage_service_pb2.USAGE_DIMENSION_LABEL,
            ],
            label_key="team",
        ),
        metadata=client.metadata,
    )
    rows = _audit(server)

    by_provider: dict[str, Decimal] = {}
    for row in rows:
        by_provider[row.provider] = by_provider.get(row.provider, Decimal(0)) + row.cost_amount
    reported = {
        r.provider: sum((Decimal(c.amount) for c in r.costs), Decimal(0)) for r in usage.rows
    }
    assert usage.total.attempt_count == len(rows)
    assert usage.total.call_count == sum(1 for r in rows if r.final)
    assert usage.total.failed_attempt_count == sum(1 for r in rows if r.outcome == "failed")
    assert {r.label_value for r in usage.rows} == {"research"}
    assert reported == by_provider
    assert Decimal(usage.total.costs[0].amount) == sum(r.cost_amount for r in rows)
    assert by_provider["azure"] > 0


def _audit(
    server: ServerThread, *, tenant: str = "cloud-tenant", task: str | None = None
) -> list[AuditLogRow]:
    """The audit rows as stored, read through the ORM so money keeps its Decimal type."""
    stmt = select(AuditLogRow).where(AuditLogRow.tenant_id == tenant)
    if task is not None:
        stmt = stmt.where(AuditLogRow.task_id == task)
    with Session(server.container.database.engine) as session:
        return list(session.scalars(stmt))


def _attempts(server: ServerThread, name: str) -> int:
    with server.container.database.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT attempts FROM tasks WHERE id = :id"), {"id": name.split("/")[1]}
            ).scalar_one()
        )


def test_keys_never_reach_the_logs(caplog: pytest.LogCaptureFixture, client: Client) -> None:
    run_task(client, asr_providers=[common_pb2.ProviderChoice(provider="gemini")])

    assert not any(key in caplog.text for key in (*AZURE_KEYS, *GEMINI_KEYS))


def test_a_url_only_recogniser_on_a_store_that_cannot_presign_fails_at_creation(
    tmp_path_factory: pytest.TempPathFactory, vendors: Vendors
) -> None:
    settings = settings_for_tests(
        tmp_path_factory.mktemp("presign"),
        providers={
            "asr_order": ["volcengine"],
            "volcengine": {
                "enabled": True,
                "keys": ["app-1:access-1"],
                "mode": "standard",
                "base_url": vendors.volcengine.base_url,
            },
        },
    )
    running = ServerThread(settings).start()
    try:
        with running.channel() as channel:
            client = Client(channel, running.token())
            with pytest.raises(grpc.RpcError) as caught:
                client.create_task(client.upload((DATA / "jfk.flac").read_bytes()))
    finally:
        running.stop()

    got = failure(caught.value)
    assert (got.code, got.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "PRESIGN_UNSUPPORTED")


def _task_error_info(task: task_pb2.Task) -> tuple[int, str, dict[str, str]]:
    info = error_details_pb2.ErrorInfo()
    assert any(d.Unpack(info) for d in task.error.details), task.error
    return task.error.code, info.reason, dict(info.metadata)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unreachable", "PROVIDER_UNREACHABLE"),
        ("key-rejected", "PROVIDER_KEY_REJECTED"),
        ("quota", "PROVIDER_QUOTA_EXHAUSTED"),
    ],
)
def test_a_chain_of_failed_providers_tells_the_first_real_cause(
    tmp_path_factory: pytest.TempPathFactory, vendors: Vendors, case: str, reason: str
) -> None:
    volcengine: dict[str, object] = {
        "enabled": True,
        "keys": ["app-1:access-1"],
        "mode": "flash",
        "base_url": vendors.volcengine.base_url,
        "max_attempts": 2,
    }
    if case == "unreachable":
        volcengine["base_url"] = "http://127.0.0.1:9"  # discard: nothing listens
    elif case == "key-rejected":
        volcengine["keys"] = ["app-1:not-the-access-key"]
    else:
        vendors.volcengine.exhaust("app-2")
        volcengine["keys"] = ["app-2:access-2"]
    providers = {
        # The embedded engine is configured, but no order names it: it must not run.
        "asr_order": ["volcengine", "iflytek"],
        "volcengine": volcengine,
        "iflytek": {
            "enabled": True,
            "keys": ["595f23df:wrong-secret"],
            "base_url": vendors.iflytek.base_url,
            "max_attempts": 1,
        },
    }
    settings = settings_for_tests(
        tmp_path_factory.mktemp(f"chain-{case}"),
        providers=providers,
        processing={"max_attempts": 1},
    )
    running = ServerThread(settings).start()
    try:
        with running.channel() as channel:
            client = Client(channel, running.token())
            final = run_task(client, language_code="zh-CN")
            fetched = client.tasks.GetTask(
                task_service_pb2.GetTaskRequest(name=final.name), metadata=client.metadata
            ).task
    finally:
        running.stop()
        vendors.volcengine.exhausted.discard("app-2")

    assert final.state == task_pb2.TASK_STATE_FAILED
    code, got_reason, metadata = _task_error_info(fetched)
    assert (code, got_reason) == (grpc.StatusCode.UNAVAILABLE.value[0], reason)
    assert "LANGUAGE_UNSUPPORTED" not in str(fetched.error)
    assert set(metadata) >= {"volcengine", "iflytek"}
    assert metadata["volcengine"].startswith(reason)
    assert metadata["iflytek"].startswith("PROVIDER_KEY_REJECTED")
    if case == "key-rejected":
        assert "HTTP 401" in metadata["volcengine"] and metadata["http_status"] == "401"
    if case == "quota":
        assert "HTTP 429" in metadata["volcengine"]
