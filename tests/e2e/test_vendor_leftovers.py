"""Nothing left at a vendor, through the real server: Gemini Files API uploads are gone
once the task ends, whether it succeeded after a key rotation, failed, or was cancelled.

The audio (jfk.flac) goes through the Files API because the inline limit is set below
its size; each test has a server of its own, since keys that ran out rest for the day.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from meeting_agent.v1 import common_pb2, task_pb2, task_service_pb2
from tests.e2e.conftest import DATA, Client, watch
from tests.harness.server import ServerThread, settings_for_tests
from tests.harness.vendors.gemini import FakeGemini

KEY1 = "gemini-leftover-key-1"
KEY2 = "gemini-leftover-key-2"


@pytest.fixture
def gemini() -> Iterator[FakeGemini]:
    with FakeGemini(keys=[KEY1, KEY2]) as vendor:
        yield vendor


@contextlib.contextmanager
def serving(data_dir: Path, gemini: FakeGemini) -> Iterator[Client]:
    settings = settings_for_tests(
        data_dir,
        providers={
            "asr_order": ["gemini"],
            "llm_order": ["extractive"],
            "gemini": {
                "enabled": True,
                "keys": [KEY1, KEY2],
                "base_url": gemini.base_url,
                "llm": False,
                "max_attempts": 2,
                "inline_limit_bytes": 1024,
            },
        },
        jobs={"inline_workers": 1, "heartbeat_seconds": 0.2, "heartbeat_timeout_seconds": 5},
        processing={"max_attempts": 1},
    )
    running = ServerThread(settings).start()
    try:
        with running.channel() as channel:
            yield Client(channel, running.token("olu", "leftovers"))
    finally:
        running.stop()


def start_task(client: Client) -> task_pb2.Task:
    return client.create_task(
        client.upload((DATA / "jfk.flac").read_bytes(), filename="jfk.flac"),
        options=task_pb2.TaskOptions(asr_providers=[common_pb2.ProviderChoice(provider="gemini")]),
    )


def test_a_rotation_leaves_no_file_in_either_project(tmp_path: Path, gemini: FakeGemini) -> None:
    # Key 1 uploads, then its daily quota runs out; key 2 uploads again and succeeds.
    gemini.quota("day", key=KEY1, times=1)
    with serving(tmp_path, gemini) as client:
        final = watch(client, start_task(client).name)[-1].task

    assert final.state == task_pb2.TASK_STATE_SUCCEEDED, final.error
    uploads = [f for f in gemini.files.values() if f.finalized]
    assert sorted(f.key for f in uploads) == [KEY1, KEY2]
    assert gemini.live_files() == []
    # Each file deleted with the key of its own project (others would get 403).
    deletes = {r.path.split("/v1beta/", 1)[1]: r.key for r in gemini.calls("DELETE")}
    assert {name: deletes.get(name) for name in (f.name for f in uploads)} == {
        f.name: f.key for f in uploads
    }


def test_a_failed_task_leaves_no_file(tmp_path: Path, gemini: FakeGemini) -> None:
    gemini.quota("day", times=None)  # every key, every time
    with serving(tmp_path, gemini) as client:
        final = watch(client, start_task(client).name)[-1].task

    assert final.state == task_pb2.TASK_STATE_FAILED
    assert len([f for f in gemini.files.values() if f.finalized]) == 2
    assert gemini.live_files() == []


def test_a_task_cancelled_while_gemini_processes_the_file_leaves_none(
    tmp_path: Path, gemini: FakeGemini
) -> None:
    gemini.processing_polls = 1_000_000  # the file never becomes ACTIVE
    with serving(tmp_path, gemini) as client:
        task = start_task(client)
        assert gemini.polled_processing.wait(60)
        client.tasks.CancelTask(
            task_service_pb2.CancelTaskRequest(name=task.name), metadata=client.metadata
        )
        final = watch(client, task.name)[-1].task

    assert final.state == task_pb2.TASK_STATE_CANCELLED
    assert len([f for f in gemini.files.values() if f.finalized]) == 1
    assert gemini.live_files() == []
    assert not gemini.calls("POST", ":generateContent")
