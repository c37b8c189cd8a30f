"""Fallbacks that say so, a task that would rather fail, and hotwords never dropped
without a word: through the real server, against the local vendor servers.

The order of the deployment names azure, then gemini, for transcription and ollama,
then extractive, for minutes; providers the order does not name never run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2

from meeting_agent.v1 import (
    artifact_pb2,
    capabilities_service_pb2,
    common_pb2,
    hotword_set_pb2,
    hotword_set_service_pb2,
    minutes_service_pb2,
    task_pb2,
    task_service_pb2,
    transcript_service_pb2,
)
from tests.e2e.conftest import DATA, Client, watch
from tests.harness.server import ServerThread, settings_for_tests
from tests.harness.vendors.fleet import Vendors, running_vendors
from tests.harness.vendors.silent import SilentServer

AZURE_KEYS = ("azure-key-1",)
GEMINI_KEYS = ("gemini-key-1",)
# The discard port: connections are refused, as when an LLM server is down.
NOTHING_LISTENS = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def vendors() -> Iterator[Vendors]:
    with running_vendors(azure_keys=AZURE_KEYS, gemini_keys=GEMINI_KEYS) as running:
        yield running


def _providers(vendors: Vendors, *, llm_url: str, llm_order: list[str]) -> dict[str, Any]:
    return {
        "asr_order": ["azure", "gemini"],
        "llm_order": llm_order,
        # The default api-version (2024-11-15), which takes no phrase lists.
        "azure": {
            "enabled": True,
            "keys": list(AZURE_KEYS),
            "endpoint": vendors.azure.base_url,
            "max_attempts": 1,
        },
        "gemini": {
            "enabled": True,
            "keys": list(GEMINI_KEYS),
            "base_url": vendors.gemini.base_url,
            "llm": False,
            "max_attempts": 1,
        },
        "openai": {
            "enabled": True,
            "name": "ollama",
            "base_url": llm_url,
            "model": "qwen2.5:14b",
            "max_attempts": 1,
        },
    }


@contextlib.contextmanager
def _deployment(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    providers: dict[str, Any],
    *,
    max_attempts: int = 1,
) -> Iterator[Client]:
    """A server of its own with these providers, and a client of it."""
    settings = settings_for_tests(
        tmp_path_factory.mktemp(name),
        providers=providers,
        processing={"max_attempts": max_attempts},
    )
    running = ServerThread(settings).start()
    try:
        with running.channel() as channel:
            yield Client(channel, running.token("olu", "fallback-tenant"))
    finally:
        running.stop()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, vendors: Vendors) -> Iterator[Client]:
    """A deployment whose LLM server is down, with extractive minutes after it."""
    providers = _providers(vendors, llm_url=NOTHING_LISTENS, llm_order=["ollama", "extractive"])
    with _deployment(tmp_path_factory, "llm-down", providers) as client:
        yield client


def _run(
    client: Client, *, hotword_set: str = "", **options: Any
) -> tuple[task_pb2.Task, list[task_pb2.TaskEvent]]:
    upload = client.upload((DATA / "jfk.flac").read_bytes(), filename="jfk.flac")
    task = client.create_task(
        upload, display_name="JFK", options=task_pb2.TaskOptions(hotword_set=hotword_set, **options)
    )
    events = [m.event for m in watch(client, task.name)]
    fetched: task_pb2.Task = client.tasks.GetTask(
        task_service_pb2.GetTaskRequest(name=task.name), metadata=client.metadata
    ).task
    return fetched, events


def _warnings(events: list[task_pb2.TaskEvent]) -> list[task_pb2.TaskEvent]:
    return [e for e in events if e.type == task_pb2.TASK_EVENT_TYPE_WARNING]


def _artifact(client: Client, task: task_pb2.Task) -> artifact_pb2.Artifact:
    listed: minutes_service_pb2.ListArtifactsResponse = client.minutes.ListArtifacts(
        minutes_service_pb2.ListArtifactsRequest(parent=task.name), metadata=client.metadata
    )
    assert len(listed.artifacts) == 1
    return listed.artifacts[0]


def _markdown(client: Client, artifact: artifact_pb2.Artifact) -> str:
    content: bytes = client.minutes.ExportArtifact(
        minutes_service_pb2.ExportArtifactRequest(
            name=artifact.name, format=artifact_pb2.MINUTES_FORMAT_MARKDOWN
        ),
        metadata=client.metadata,
    ).content
    return content.decode()


def test_minutes_from_a_fallback_say_so_on_the_artifact_the_task_and_the_markdown(
    client: Client,
) -> None:
    task, events = _run(client)

    assert task.state == task_pb2.TASK_STATE_SUCCEEDED, task.error
    artifact = _artifact(client, task)
    assert (artifact.llm_provider, artifact.extractive) == ("extractive", True)
    assert artifact.fallback.output == "minutes"
    assert artifact.fallback.provider == "extractive"
    assert [(s.provider, s.reason) for s in artifact.fallback.skipped] == [
        ("ollama", "PROVIDER_UNREACHABLE")
    ]
    assert [f.output for f in task.fallbacks] == ["minutes"]
    assert task.fallbacks[0] == artifact.fallback
    warnings = [e for e in _warnings(events) if e.reason == "PROVIDER_FALLBACK"]
    assert [e.message.split(":")[0] for e in warnings] == ["minutes from extractive"]
    assert "ollama unavailable (PROVIDER_UNREACHABLE" in warnings[0].message
    markdown = _markdown(client, artifact)
    assert (
        "> **Note:** these minutes came from extractive, not ollama: ollama unavailable "
        "(PROVIDER_UNREACHABLE)." in markdown
    )
    # The note sits under the title, before the minutes themselves.
    assert markdown.index("**Note:**") < markdown.index("## Summary")


def test_a_transcript_from_a_fallback_says_so(client: Client, vendors: Vendors) -> None:
    vendors.azure.server_error(status=503, times=None)
    try:
        task, events = _run(client)
    finally:
        vendors.azure.clear_faults()

    assert task.state == task_pb2.TASK_STATE_SUCCEEDED, task.error
    transcript = client.transcripts.GetTranscript(
        transcript_service_pb2.GetTranscriptRequest(name=f"{task.name}/transcript"),
        metadata=client.metadata,
    ).transcript
    assert transcript.asr_provider == "gemini"
    by_output = {f.output: f for f in task.fallbacks}
    assert by_output["transcript"].provider == "gemini"
    assert [(s.provider, s.reason) for s in by_output["transcript"].skipped] == [
        ("azure", "PROVIDER_UNAVAILABLE")
    ]
    assert any(
        e.reason == "PROVIDER_FALLBACK" and e.message.startswith("transcript from gemini")
        for e in _warnings(events)
    )
    markdown = _markdown(client, _artifact(client, task))
    assert "> **Note:** the transcript came from gemini, not azure" in markdown


def test_a_task_can_ask_to_fail_rather_than_fall_back(client: Client, vendors: Vendors) -> None:
    gemini_calls = len(vendors.gemini.requests)
    vendors.azure.server_error(status=503, times=None)
    try:
        task, events = _run(client, no_fallback=True)
    finally:
        vendors.azure.clear_faults()

    assert task.state == task_pb2.TASK_STATE_FAILED
    assert task.error.code == grpc.StatusCode.UNAVAILABLE.value[0]
    assert "azure" in task.error.message
    assert len(vendors.gemini.requests) == gemini_calls  # the next provider never ran
    assert not task.fallbacks and not _warnings(events)
    assert task.options.no_fallback


def test_minutes_that_may_not_fall_back_fail_with_the_llms_reason(client: Client) -> None:
    task, _ = _run(client, no_fallback=True)

    assert task.state == task_pb2.TASK_STATE_FAILED
    assert "ollama" in task.error.message
    artifact = _artifact(client, task)
    assert artifact.state == artifact_pb2.ARTIFACT_STATE_FAILED
    assert not artifact.extractive and not artifact.HasField("fallback")


def test_an_order_without_extractive_never_falls_back_to_it(
    tmp_path_factory: pytest.TempPathFactory, vendors: Vendors
) -> None:
    providers = _providers(vendors, llm_url=NOTHING_LISTENS, llm_order=["ollama"])
    with _deployment(tmp_path_factory, "llm-only", providers) as client:
        task, _ = _run(client)
        artifact = _artifact(client, task)

    assert task.state == task_pb2.TASK_STATE_FAILED
    assert task.error.code == grpc.StatusCode.UNAVAILABLE.value[0]
    assert artifact.state == artifact_pb2.ARTIFACT_STATE_FAILED
    assert artifact.llm_provider != "extractive" and not artifact.extractive


def test_minutes_from_the_first_provider_carry_no_fallback(
    tmp_path_factory: pytest.TempPathFactory, vendors: Vendors
) -> None:
    providers = _providers(
        vendors, llm_url=vendors.llm.base_url, llm_order=["ollama", "extractive"]
    )
    with _deployment(tmp_path_factory, "llm-up", providers) as client:
        task, events = _run(client)
        artifact = _artifact(client, task)
        markdown = _markdown(client, artifact)

    assert task.state == task_pb2.TASK_STATE_SUCCEEDED, task.error
    assert artifact.llm_provider == "ollama" and not artifact.HasField("fallback")
    assert not task.fallbacks and not _warnings(events)
    assert "**Note:**" not in markdown


def _hotword_set(client: Client, *phrases: str) -> str:
    created: hotword_set_pb2.HotwordSet = client.hotwords.CreateHotwordSet(
        hotword_set_service_pb2.CreateHotwordSetRequest(
            hotword_set=hotword_set_pb2.HotwordSet(
                display_name="names", hotwords=[hotword_set_pb2.Hotword(phrase=p) for p in phrases]
            )
        ),
        metadata=client.metadata,
    ).hotword_set
    return created.name


def test_hotwords_a_recogniser_cannot_take_are_warned_about(
    client: Client, vendors: Vendors
) -> None:
    hotwords = _hotword_set(client, "Kennedy", "肯尼迪", "ask not")
    task, events = _run(
        client, hotword_set=hotwords, asr_providers=[common_pb2.ProviderChoice(provider="azure")]
    )

    assert task.state == task_pb2.TASK_STATE_SUCCEEDED, task.error
    sent = vendors.azure.requests[-1]
    assert "phraseList" not in str(sent.body)
    warnings = [e for e in _warnings(events) if e.reason == "HOTWORDS_NOT_SENT"]
    assert len(warnings) == 1
    assert warnings[0].message.startswith(
        "azure was sent 0 of 3 hotwords (api-version 2024-11-15 has no phrase lists"
    )
    assert "post-correction" in warnings[0].message


def test_hotwords_a_recogniser_takes_raise_no_warning(client: Client) -> None:
    hotwords = _hotword_set(client, "Kennedy", "肯尼迪")
    task, events = _run(
        client, hotword_set=hotwords, asr_providers=[common_pb2.ProviderChoice(provider="gemini")]
    )

    assert task.state == task_pb2.TASK_STATE_SUCCEEDED, task.error
    assert not [e for e in _warnings(events) if e.reason == "HOTWORDS_NOT_SENT"]


def test_capabilities_say_which_recognisers_take_hotwords_natively(client: Client) -> None:
    response = client.capabilities.GetCapabilities(
        capabilities_service_pb2.GetCapabilitiesRequest(), metadata=client.metadata
    )

    native = {p.name: p.native_hotwords for p in response.asr_providers}
    assert native == {"azure": False, "gemini": True, "local": False}
    assert all(p.hotwords for p in response.asr_providers)


# ---------------------------------------------------------------- bounded waits


def test_a_provider_that_never_answers_is_failed_over_within_the_tasks_budget(
    tmp_path_factory: pytest.TempPathFactory, vendors: Vendors
) -> None:
    # Unbounded, 20 attempts at a 3 s first-byte deadline would take a minute per
    # provider; the task gives each 4 s in all.
    hanging = {"timeout_seconds": 3, "max_attempts": 20, "task_budget_seconds": 4}
    with SilentServer() as silent:
        providers = {
            "asr_order": ["azure", "gemini"],
            "llm_order": ["ollama", "extractive"],
            "azure": {
                "enabled": True,
                "keys": list(AZURE_KEYS),
                "endpoint": silent.base_url,
                **hanging,
            },
            "gemini": {
                "enabled": True,
                "keys": list(GEMINI_KEYS),
                "base_url": vendors.gemini.base_url,
                "llm": False,
            },
            "openai": {
                "enabled": True,
                "name": "ollama",
                "base_url": silent.base_url,
                "model": "qwen2.5:14b",
                **hanging,
            },
        }
        with _deployment(tmp_path_factory, "hanging", providers, max_attempts=3) as client:
            task, _ = _run(client)
            artifact = _artifact(client, task)

    assert task.state == task_pb2.TASK_STATE_SUCCEEDED, task.error
    by_output = {f.output: f for f in task.fallbacks}
    assert by_output["transcript"].provider == "gemini"
    assert [(s.provider, s.reason) for s in by_output["transcript"].skipped] == [
        ("azure", "PROVIDER_TIMEOUT")
    ]
    assert [(s.provider, s.reason) for s in artifact.fallback.skipped] == [
        ("ollama", "PROVIDER_TIMEOUT")
    ]
    # Two budgets of 4 s, and the rest of the pipeline; a minute if they did not hold.
    elapsed = task.end_time.ToDatetime() - task.start_time.ToDatetime()
    assert elapsed.total_seconds() < 40


def test_a_spent_budget_fails_the_task_with_provider_timeout_and_no_retry(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with SilentServer() as silent:
        providers = {
            "asr_order": ["azure"],
            "azure": {
                "enabled": True,
                "keys": list(AZURE_KEYS),
                "endpoint": silent.base_url,
                "timeout_seconds": 2,
                "max_attempts": 10,
                "task_budget_seconds": 3,
            },
        }
        with _deployment(tmp_path_factory, "spent", providers, max_attempts=3) as client:
            task, events = _run(client)

    assert task.state == task_pb2.TASK_STATE_FAILED
    info = error_details_pb2.ErrorInfo()
    assert any(d.Unpack(info) for d in task.error.details)
    assert info.reason == "PROVIDER_TIMEOUT"
    assert info.metadata["budget_seconds"] == "3"
    assert not [e for e in events if "will retry" in e.message]
