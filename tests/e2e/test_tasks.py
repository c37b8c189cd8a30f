"""TaskService over a real socket."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import timestamp_pb2

from meeting_agent.domain.models import Principal, TaskEventType, TaskState
from meeting_agent.service.tasks import record_event
from meeting_agent.v1 import task_pb2, task_service_pb2
from tests.e2e.conftest import Client, failure


def _get(client: Client, name: str) -> task_pb2.Task:
    task: task_pb2.Task = client.tasks.GetTask(
        task_service_pb2.GetTaskRequest(name=name), metadata=client.metadata
    ).task
    return task


def _events(client: Client, name: str, after: int = 0) -> list[task_service_pb2.WatchTaskResponse]:
    stream = client.tasks.WatchTask(
        task_service_pb2.WatchTaskRequest(name=name, after_sequence=after),
        metadata=client.metadata,
        timeout=10,
    )
    return list(stream)


def test_created_task_is_queued_with_its_first_event(alice: Client, jfk: bytes) -> None:
    upload = alice.upload(jfk)

    task = alice.create_task(upload, display_name="Weekly sync", labels={"team": "sales"})

    assert task.name.startswith("tasks/")
    assert task.state == task_pb2.TASK_STATE_QUEUED
    assert task.creator == "users/alice"
    assert task.last_event_sequence == 1
    assert list(task.audio_sources) == [task_pb2.AudioSource(upload=upload.name)]
    assert dict(task.labels) == {"team": "sales"}
    assert _get(alice, task.name) == task


def test_request_id_makes_create_idempotent(alice: Client, jfk: bytes) -> None:
    request_id = str(uuid.uuid4())
    upload = alice.upload(jfk)

    first = alice.create_task(upload, request_id=request_id, display_name="once")
    again = alice.create_task(upload, request_id=request_id, display_name="once")

    assert again == first


def test_request_id_reused_for_another_request_is_refused(alice: Client, jfk: bytes) -> None:
    request_id = str(uuid.uuid4())
    alice.create_task(alice.upload(jfk), request_id=request_id)

    with pytest.raises(grpc.RpcError) as caught:
        alice.create_task(alice.upload(jfk), request_id=request_id)

    got = failure(caught.value)
    assert (got.code, got.reason) == (grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")


def test_an_upload_belongs_to_one_task(alice: Client, jfk: bytes) -> None:
    upload = alice.upload(jfk)
    alice.create_task(upload)

    with pytest.raises(grpc.RpcError) as caught:
        alice.create_task(upload)

    got = failure(caught.value)
    assert (got.code, got.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "UPLOAD_IN_USE")


def test_the_same_upload_twice_in_one_task_is_an_invalid_argument(
    alice: Client, jfk: bytes
) -> None:
    upload = alice.upload(jfk)

    with pytest.raises(grpc.RpcError) as caught:
        alice.create_task(upload, upload)

    got = failure(caught.value)
    assert (got.code, got.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
    assert "task.audio_sources[1]" in got.fields
    # Nothing was claimed: the upload still makes a task.
    assert alice.create_task(upload).state == task_pb2.TASK_STATE_QUEUED


def test_create_reports_every_invalid_field_at_once(alice: Client) -> None:
    task = task_pb2.Task(
        display_name="x" * 201,
        audio_sources=[task_pb2.AudioSource(upload="files/1"), task_pb2.AudioSource()],
        labels={"Bad Key": "v"},
        options=task_pb2.TaskOptions(
            language_code="not a language",
            speaker_count=task_pb2.SpeakerCountHint(exact=99),
            hotword_set="hotwords/1",
        ),
    )

    with pytest.raises(grpc.RpcError) as caught:
        alice.tasks.CreateTask(
            task_service_pb2.CreateTaskRequest(task=task, request_id="a b"), metadata=alice.metadata
        )

    got = failure(caught.value)
    assert got.code == grpc.StatusCode.INVALID_ARGUMENT
    assert got.fields >= {
        "task.display_name",
        "task.audio_sources[0].upload",
        "task.audio_sources[1]",
        "task.labels['Bad Key']",
        "task.options.language_code",
        "task.options.speaker_count.exact",
        "task.options.hotword_set",
        "request_id",
    }


@pytest.mark.parametrize(
    ("options", "code", "reason"),
    [
        (
            task_pb2.TaskOptions(language_code="zh"),
            grpc.StatusCode.FAILED_PRECONDITION,
            "LANGUAGE_UNSUPPORTED",
        ),
        (
            task_pb2.TaskOptions(asr_providers=[{"provider": "nope"}]),
            grpc.StatusCode.INVALID_ARGUMENT,
            "UNKNOWN_PROVIDER",
        ),
        (
            task_pb2.TaskOptions(hotword_set="hotwordSets/missing"),
            grpc.StatusCode.NOT_FOUND,
            "NOT_FOUND",
        ),
        (
            task_pb2.TaskOptions(prompt_template="promptTemplates/missing"),
            grpc.StatusCode.NOT_FOUND,
            "NOT_FOUND",
        ),
    ],
    ids=["chinese-on-english-model", "unknown-provider", "missing-hotword-set", "missing-template"],
)
def test_create_refuses_what_cannot_be_processed(
    alice: Client, jfk: bytes, options: task_pb2.TaskOptions, code: grpc.StatusCode, reason: str
) -> None:
    upload = alice.upload(jfk)

    with pytest.raises(grpc.RpcError) as caught:
        alice.create_task(upload, options=options)

    assert (failure(caught.value).code, failure(caught.value).reason) == (code, reason)
    # The refused request did not consume the upload.
    alice.create_task(upload)


def test_missing_upload_is_not_found(alice: Client) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        alice.tasks.CreateTask(
            task_service_pb2.CreateTaskRequest(
                task=task_pb2.Task(
                    audio_sources=[task_pb2.AudioSource(upload=f"uploads/{uuid.uuid4()}")]
                )
            ),
            metadata=alice.metadata,
        )

    assert failure(caught.value).code == grpc.StatusCode.NOT_FOUND


def test_list_pages_through_tasks_newest_first(server, jfk: bytes) -> None:
    client = Client(server.channel(), server.token("lister", "paging-tenant"))
    created = [client.create_task(client.upload(jfk), display_name=f"t{i}") for i in range(5)]

    names, token = [], ""
    while True:
        page = client.tasks.ListTasks(
            task_service_pb2.ListTasksRequest(page_size=2, page_token=token),
            metadata=client.metadata,
        )
        assert len(page.tasks) <= 2
        names += [t.name for t in page.tasks]
        token = page.next_page_token
        if not token:
            break

    assert names == [t.name for t in reversed(created)]


def test_list_filters_by_state_and_time(server, jfk: bytes) -> None:
    client = Client(server.channel(), server.token("filter", "filter-tenant"))
    kept = client.create_task(client.upload(jfk))
    cancelled = client.create_task(client.upload(jfk))
    client.tasks.CancelTask(
        task_service_pb2.CancelTaskRequest(name=cancelled.name), metadata=client.metadata
    )

    queued = client.tasks.ListTasks(
        task_service_pb2.ListTasksRequest(states=[task_pb2.TASK_STATE_QUEUED]),
        metadata=client.metadata,
    ).tasks
    future = timestamp_pb2.Timestamp()
    future.FromDatetime(datetime.now(UTC) + timedelta(hours=1))
    none_yet = client.tasks.ListTasks(
        task_service_pb2.ListTasksRequest(create_time_start=future), metadata=client.metadata
    ).tasks

    assert [t.name for t in queued] == [kept.name]
    assert list(none_yet) == []


@pytest.mark.parametrize(
    ("request_kwargs", "field", "reason"),
    [
        ({"page_size": -1}, "page_size", "INVALID_ARGUMENT"),
        ({"page_token": "garbage"}, "page_token", "INVALID_PAGE_TOKEN"),
        ({"states": [42]}, "states[0]", "INVALID_ARGUMENT"),
        (
            {"create_time_start": timestamp_pb2.Timestamp(seconds=1, nanos=1_000_000_000)},
            "create_time_start",
            "INVALID_ARGUMENT",
        ),
        (
            {"create_time_start": timestamp_pb2.Timestamp(nanos=-1)},
            "create_time_start",
            "INVALID_ARGUMENT",
        ),
        (
            {"create_time_end": timestamp_pb2.Timestamp(seconds=253_402_300_800)},
            "create_time_end",
            "INVALID_ARGUMENT",
        ),
        (
            {"create_time_end": timestamp_pb2.Timestamp(seconds=-62_135_596_801)},
            "create_time_end",
            "INVALID_ARGUMENT",
        ),
    ],
    ids=[
        "negative-page-size",
        "garbage-token",
        "unknown-state",
        "nanos-of-a-whole-second",
        "negative-nanos",
        "after-year-9999",
        "before-year-1",
    ],
)
def test_list_validates_its_request(
    alice: Client, request_kwargs: dict[str, object], field: str, reason: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        alice.tasks.ListTasks(
            task_service_pb2.ListTasksRequest(**request_kwargs),  # type: ignore[arg-type]
            metadata=alice.metadata,
        )

    got = failure(caught.value)
    assert (got.code, got.reason, field in got.fields) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        reason,
        True,
    )


def test_page_token_is_bound_to_its_filters(server, jfk: bytes) -> None:
    client = Client(server.channel(), server.token("binder", "binding-tenant"))
    for _ in range(2):
        client.create_task(client.upload(jfk))
    token = client.tasks.ListTasks(
        task_service_pb2.ListTasksRequest(page_size=1), metadata=client.metadata
    ).next_page_token

    with pytest.raises(grpc.RpcError) as caught:
        client.tasks.ListTasks(
            task_service_pb2.ListTasksRequest(
                page_size=1, page_token=token, states=[task_pb2.TASK_STATE_QUEUED]
            ),
            metadata=client.metadata,
        )

    assert failure(caught.value).reason == "INVALID_PAGE_TOKEN"


def test_cancel_then_watch_replays_every_event_and_ends(alice: Client, jfk: bytes) -> None:
    task = alice.create_task(alice.upload(jfk))

    cancelled = alice.tasks.CancelTask(
        task_service_pb2.CancelTaskRequest(name=task.name), metadata=alice.metadata
    ).task
    again = alice.tasks.CancelTask(
        task_service_pb2.CancelTaskRequest(name=task.name), metadata=alice.metadata
    ).task
    events = _events(alice, task.name)
    tail = _events(alice, task.name, after=1)

    assert cancelled.state == task_pb2.TASK_STATE_CANCELLED
    assert again == cancelled
    assert [e.event.sequence for e in events] == [1, 2]
    assert [e.event.state for e in events] == [
        task_pb2.TASK_STATE_QUEUED,
        task_pb2.TASK_STATE_CANCELLED,
    ]
    assert events[-1].task == cancelled
    assert [e.event.sequence for e in tail] == [2]


def test_watch_sends_heartbeats_while_nothing_happens(server, jfk: bytes) -> None:
    client = Client(server.channel(), server.token("watcher", "acme"))
    task = client.create_task(client.upload(jfk))
    interval = server.settings.server.watch_heartbeat_seconds
    stream = client.tasks.WatchTask(
        task_service_pb2.WatchTaskRequest(name=task.name),
        metadata=client.metadata,
        timeout=interval * 3,
    )

    first, second = next(stream), next(stream)
    stream.cancel()

    assert first.event.type == task_pb2.TASK_EVENT_TYPE_STATE_CHANGED
    assert second.event.type == task_pb2.TASK_EVENT_TYPE_HEARTBEAT
    assert second.event.sequence == first.event.sequence


def test_delete_removes_the_task_and_its_audio(server, alice: Client, jfk: bytes) -> None:
    upload = alice.upload(jfk)
    task = alice.create_task(upload)
    store = server.container.store
    key = server.container.uploads.get(
        Principal(tenant_id="acme", user_id="alice"), upload.name.split("/")[1]
    ).object_key
    assert store.head(key) is not None

    alice.tasks.DeleteTask(
        task_service_pb2.DeleteTaskRequest(name=task.name), metadata=alice.metadata
    )

    with pytest.raises(grpc.RpcError) as caught:
        _get(alice, task.name)
    assert failure(caught.value).code == grpc.StatusCode.NOT_FOUND
    assert store.head(key) is None


def test_cancelling_a_finished_task_is_refused(server, alice: Client, jfk: bytes) -> None:
    task = alice.create_task(alice.upload(jfk))
    _finish(server, task.name)

    with pytest.raises(grpc.RpcError) as caught:
        alice.tasks.CancelTask(
            task_service_pb2.CancelTaskRequest(name=task.name), metadata=alice.metadata
        )

    got = failure(caught.value)
    assert (got.code, got.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "TASK_ALREADY_FINISHED")


def _finish(server, name: str) -> None:
    """Mark a task succeeded the way the pipeline does, through the unit of work."""
    container = server.container
    with container.database.unit_of_work() as uow:
        task = uow.tasks.get("acme", name.split("/")[1], for_update=True)
        task.state = TaskState.SUCCEEDED
        done = task.event(TaskEventType.STATE_CHANGED, "done", container.clock.now())
        record_event(uow, task, done)
        uow.tasks.save(task)
        uow.commit()
