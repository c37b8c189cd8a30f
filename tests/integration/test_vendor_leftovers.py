"""What is left at vendors: Gemini uploads released with their own key, audio published
for Volcano withdrawn per task, and the periodic sweep of whatever escaped both."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from meeting_agent.adapters.providers.calls import KeyPool
from meeting_agent.adapters.providers.gemini import (
    FILE_CHECKPOINT,
    FILE_DISPLAY_PREFIX,
    GeminiAsr,
    GeminiClient,
)
from meeting_agent.adapters.providers.leftovers import GeminiFileSweep, ProviderAudioSweep
from meeting_agent.adapters.providers.published_audio import (
    PROVIDER_AUDIO_PREFIX,
    StoreAudioPublisher,
)
from meeting_agent.adapters.providers.volcengine import AUDIO_CHECKPOINT, VolcengineAsr
from meeting_agent.adapters.storage.local import LocalObjectStore
from meeting_agent.domain.models import CallContext
from meeting_agent.errors import Unavailable
from meeting_agent.ports import NormalizedAudio, TaskCancelled
from meeting_agent.service.leftovers import LeftoverSweeper
from tests.fakes import FakeClock, FakeObjectStore, MemoryCheckpoints
from tests.harness.vendors.files import LocalAudioPublisher
from tests.harness.vendors.gemini import FakeGemini
from tests.harness.vendors.volcengine import VolcengineFake
from tests.integration.cloud_support import (
    POLICY,
    Sleeps,
    asr_request,
    normalized_jfk,
    transcribe,
)

KEY1 = "AIzaSy-leftover-key-one-0000000000"
KEY2 = "AIzaSy-leftover-key-two-1111111111"
HOUR = timedelta(hours=1)


@pytest.fixture(scope="module")
def jfk(tmp_path_factory: pytest.TempPathFactory) -> NormalizedAudio:
    return normalized_jfk(tmp_path_factory.mktemp("leftover-audio"))


@pytest.fixture
def fake() -> Iterator[FakeGemini]:
    with FakeGemini(keys=[KEY1, KEY2]) as vendor:
        yield vendor


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def gemini_client(
    fake: FakeGemini, http: httpx.Client, keys: tuple[str, ...] = (KEY1, KEY2)
) -> GeminiClient:
    return GeminiClient(
        pool=KeyPool("gemini", keys),
        base_url=fake.base_url,
        policy=POLICY,
        http=http,
        sleep=Sleeps(),
    )


def files_asr(fake: FakeGemini, http: httpx.Client, **kwargs: object) -> GeminiAsr:
    return GeminiAsr(
        client=gemini_client(fake, http, **kwargs),  # type: ignore[arg-type]
        inline_limit_bytes=1000,
        file_poll_seconds=0.01,
    )


# ====================================================================== Gemini uploads


def test_rotation_deletes_the_first_keys_upload_with_that_key(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.quota("day", key=KEY1, times=1)
    request = replace(asr_request(), context=CallContext("t", "u", task_id="task-42"))

    result = transcribe(files_asr(fake, http), jfk, request)

    assert len(result.segments) == 3
    first, second = (f for f in fake.files.values() if f.finalized)
    assert (first.key, second.key) == (KEY1, KEY2)
    assert first.display_name == second.display_name == f"{FILE_DISPLAY_PREFIX}task-42"
    assert fake.live_files() == []
    [delete_first] = [r for r in fake.calls("DELETE") if r.path.endswith(first.name)]
    assert delete_first.key == KEY1


def test_a_file_kept_for_a_retry_goes_on_release(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.quota("day", times=None)
    checkpoints = MemoryCheckpoints()
    asr = files_asr(fake, http)
    with pytest.raises(Unavailable):
        transcribe(asr, jfk, checkpoints=checkpoints)
    # Key 1's file went on the rotation; key 2's stays, a retry of the job may use it.
    assert [f.key for f in fake.live_files()] == [KEY2]

    asr.release(checkpoints)  # the task ended

    assert fake.live_files() == []
    assert json.loads(checkpoints.data[FILE_CHECKPOINT]) == {}
    asr.release(checkpoints)  # idempotent
    assert len(fake.calls("DELETE")) == 2


def test_a_cancel_while_processing_keeps_the_file_until_release(
    fake: FakeGemini, http: httpx.Client, jfk: NormalizedAudio
) -> None:
    fake.processing_polls = 1_000_000
    checkpoints = MemoryCheckpoints()
    asr = files_asr(fake, http)

    def cancel_once_polled() -> None:
        if fake.polled_processing.is_set():
            raise TaskCancelled("t")

    with pytest.raises(TaskCancelled):
        asr.transcribe(
            jfk,
            asr_request(),
            checkpoints=checkpoints,
            progress=lambda *a: None,
            check_cancelled=cancel_once_polled,
        )
    assert len(fake.live_files()) == 1
    asr.release(checkpoints)
    assert fake.live_files() == []


# ====================================================================== the sweep


def test_the_sweep_deletes_our_stale_files_in_every_project_and_nothing_else(
    fake: FakeGemini, http: httpx.Client
) -> None:
    stale = [
        fake.plant(KEY1, display_name=f"{FILE_DISPLAY_PREFIX}old-{i}", age=8 * HOUR)
        for i in range(3)
    ]
    stale.append(fake.plant(KEY2, display_name=f"{FILE_DISPLAY_PREFIX}old-k2", age=30 * HOUR))
    fresh = fake.plant(KEY1, display_name=f"{FILE_DISPLAY_PREFIX}running", age=HOUR / 60)
    # Someone else's files in the same project, enough to need a second page.
    foreign = [fake.plant(KEY1, display_name=f"notebook-{i}", age=40 * HOUR) for i in range(120)]
    sweep = GeminiFileSweep(gemini_client(fake, http), max_age_seconds=7 * 3600)

    deleted = sweep.sweep(datetime.now(UTC))

    assert deleted == 4
    assert {f.name for f in fake.live_files()} == {fresh.name, *(f.name for f in foreign)}
    assert all(f.deleted for f in stale)
    lists = fake.calls("GET", "/v1beta/files")
    assert [r.param("pageToken") is not None for r in lists if r.key == KEY1] == [False, True]
    assert {r.param("pageSize") for r in lists} == {"100"}


def test_a_project_that_cannot_be_listed_does_not_stop_the_others(
    fake: FakeGemini, http: httpx.Client
) -> None:
    fake.plant(KEY2, display_name=f"{FILE_DISPLAY_PREFIX}old", age=8 * HOUR)
    client = gemini_client(fake, http, keys=("AIzaSy-revoked", KEY2))

    assert GeminiFileSweep(client, max_age_seconds=3600).sweep(datetime.now(UTC)) == 1
    assert fake.live_files() == []


# ====================================================================== published audio


def test_published_audio_is_per_task_and_withdrawn_per_task(tmp_path: Path) -> None:
    store = FakeObjectStore(supports_presign=True)
    publisher = StoreAudioPublisher(store)
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF same audio")

    publisher.publish(audio, content_type="audio/wav", name="v.wav", owner="task-a")
    publisher.publish(audio, content_type="audio/wav", name="v.wav", owner="task-a")
    publisher.publish(audio, content_type="audio/wav", name="v.wav", owner="task-b")

    owners = [key.split("/")[1] for key in sorted(store.objects)]
    assert owners == ["task-a", "task-b"]
    assert publisher.withdraw("task-a") == 1
    assert [key.split("/")[1] for key in store.objects] == ["task-b"]  # same audio, kept


def test_volcano_withdraws_its_audio_once_answered(tmp_path: Path, jfk: NormalizedAudio) -> None:
    with LocalAudioPublisher(tmp_path) as publisher, VolcengineFake(pending_polls=1) as fake:
        asr = VolcengineAsr(
            pool=KeyPool("volcengine", ["app-1:access-1"]),
            base_url=fake.base_url,
            mode="standard",
            publisher=publisher,
            poll_interval_seconds=0.01,
        )
        request = replace(
            asr_request(language_code="zh-CN"), context=CallContext("t", "u", task_id="task-7")
        )
        transcribe(asr, jfk, request)
        asr.close()

        assert fake.downloaded and publisher.withdrawn == ["task-7"]
        assert publisher.live() == []


def test_volcano_releases_audio_of_a_cancelled_task(tmp_path: Path, jfk: NormalizedAudio) -> None:
    with LocalAudioPublisher(tmp_path) as publisher, VolcengineFake(pending_polls=1_000) as fake:
        asr = VolcengineAsr(
            pool=KeyPool("volcengine", ["app-1:access-1"]),
            base_url=fake.base_url,
            mode="standard",
            publisher=publisher,
            poll_interval_seconds=0.01,
        )
        checkpoints = MemoryCheckpoints()
        calls = 0

        def cancel_on_the_first_poll() -> None:
            nonlocal calls
            calls += 1
            if calls > 1:  # the first check comes before the submit
                raise TaskCancelled("t")

        with pytest.raises(TaskCancelled):
            asr.transcribe(
                jfk,
                asr_request(language_code="zh-CN"),
                checkpoints=checkpoints,
                progress=lambda *a: None,
                check_cancelled=cancel_on_the_first_poll,
            )
        assert len(publisher.live()) == 1

        asr.release(checkpoints)
        asr.close()

    assert publisher.live() == []
    assert checkpoints.data[AUDIO_CHECKPOINT] == b"{}"


def test_the_sweep_deletes_published_audio_past_its_urls_lifetime() -> None:
    clock = FakeClock()
    store = FakeObjectStore(supports_presign=True, clock=clock)
    store.put(f"{PROVIDER_AUDIO_PREFIX}task-old/x.wav", b"old")
    clock.advance(hours=20)
    store.put(f"{PROVIDER_AUDIO_PREFIX}task-new/y.wav", b"new")
    store.put("tenants/t/tasks/a/source", b"not ours to sweep")
    clock.advance(hours=5)

    sweeper = LeftoverSweeper([ProviderAudioSweep(store)], clock)

    assert sweeper.run_once() == {"provider-audio": 1}
    assert store.keys() == [f"{PROVIDER_AUDIO_PREFIX}task-new/y.wav", "tenants/t/tasks/a/source"]


class _DownSweep:
    name = "down"

    def sweep(self, now: datetime) -> int:
        raise Unavailable("the vendor is down", reason="PROVIDER_UNAVAILABLE")


def test_a_failing_sweep_is_reported_and_the_others_still_run() -> None:
    clock = FakeClock()
    store = FakeObjectStore(supports_presign=True, clock=clock)
    store.put(f"{PROVIDER_AUDIO_PREFIX}t/x.wav", b"old")
    clock.advance(hours=25)

    report = LeftoverSweeper([_DownSweep(), ProviderAudioSweep(store)], clock).run_once()

    assert report == {"down": -1, "provider-audio": 1} and store.keys() == []


def test_the_local_store_lists_objects_with_their_times(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects", max_object_bytes=1 << 20)
    for key in ("provider-audio/a/1.wav", "provider-audio/b/2.wav", "provider-audiox/3"):
        writer = store.open_writer(key)
        writer.write(b"abc")
        writer.commit()

    listed = sorted(store.list_objects("provider-audio"), key=lambda info: info.key)

    assert [(i.key, i.size_bytes) for i in listed] == [
        ("provider-audio/a/1.wav", 3),
        ("provider-audio/b/2.wav", 3),
    ]
    assert all(
        i.modify_time is not None and abs(i.modify_time - datetime.now(UTC)) < HOUR for i in listed
    )
