"""TaskService with fakes of its ports: create, idempotency, references, cancel, delete."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest

from meeting_agent.domain import object_keys
from meeting_agent.domain.models import (
    Artifact,
    ArtifactState,
    HotwordSet,
    Principal,
    PromptTemplate,
    ProviderChoice,
    SpeakerIdentity,
    SpeakerMappings,
    Task,
    TaskEventType,
    TaskOptions,
    TaskStage,
    TaskState,
    Transcript,
    TranscriptSegment,
    Upload,
    UploadState,
)
from meeting_agent.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    MeetingAgentError,
    NotFound,
)
from meeting_agent.ports import TaskFilter
from meeting_agent.service.catalog import embedded_catalog
from meeting_agent.service.common import new_id
from meeting_agent.service.tasks import NewTask, SourceSpec, TaskService
from tests.fakes import (
    FakeClock,
    FakeDatabase,
    FakeObjectStore,
    FakeUnitOfWork,
    FakeUnitOfWorkFactory,
)

ALICE = Principal(tenant_id="acme", user_id="alice")
BOB = Principal(tenant_id="acme", user_id="bob")
MALLORY = Principal(tenant_id="globex", user_id="mallory")
AUDIO = b"RIFF....WAVEfmt fake audio bytes"


@dataclass
class Env:
    db: FakeDatabase
    uow_factory: FakeUnitOfWorkFactory
    store: FakeObjectStore
    clock: FakeClock
    service: TaskService
    queued: list[str] = field(default_factory=list)

    def upload(
        self,
        principal: Principal = ALICE,
        *,
        data: bytes = AUDIO,
        state: UploadState = UploadState.READY,
        stored: bool = True,
    ) -> str:
        """A committed upload row (and its object unless `stored` is false)."""
        upload_id = new_id()
        key = object_keys.upload_key(principal.tenant_id, upload_id)
        self.db.uploads[(principal.tenant_id, upload_id)] = Upload(
            id=upload_id,
            tenant_id=principal.tenant_id,
            creator_id=principal.user_id,
            filename="meeting.wav",
            content_type="audio/wav",
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            object_key=key,
            state=state,
            create_time=self.clock.now(),
        )
        if stored:
            self.store.put(key, data)
        return upload_id

    def object_uri(self, principal: Principal = ALICE, name: str = "meeting.wav") -> str:
        """The URI of an object of the tenant that is not an upload of ours."""
        key = f"{object_keys.tenant_prefix(principal.tenant_id)}imports/{name}"
        return self.store.put(key, AUDIO)

    def state_of(self, principal: Principal, task_id: str) -> Task:
        return self.db.tasks[(principal.tenant_id, task_id)]


@pytest.fixture
def env() -> Env:
    db = FakeDatabase()
    clock = FakeClock()
    store = FakeObjectStore(clock=clock)
    factory = FakeUnitOfWorkFactory(db)
    queued: list[str] = []
    service = TaskService(factory, store, clock, embedded_catalog(), on_queued=queued.append)
    return Env(db, factory, store, clock, service, queued)


def new_task(*sources: SourceSpec, **options: object) -> NewTask:
    return NewTask(
        display_name="Weekly sync",
        sources=list(sources),
        options=TaskOptions(**options),  # type: ignore[arg-type]
        labels={"team": "platform"},
    )


def upload_source(upload_id: str) -> SourceSpec:
    return SourceSpec(upload_id=upload_id)


def uri_source(uri: str) -> SourceSpec:
    return SourceSpec(uri=uri)


def assert_error(
    info: pytest.ExceptionInfo[MeetingAgentError], cls: type[MeetingAgentError], reason: str
) -> None:
    assert type(info.value) is cls, f"expected {cls.__name__}, got {type(info.value).__name__}"
    assert info.value.reason == reason


def make_task(env: Env, principal: Principal = ALICE, state: TaskState = TaskState.QUEUED) -> Task:
    task = env.service.create(principal, new_task(upload_source(env.upload(principal))), "")
    if state is not TaskState.QUEUED:
        stored = env.state_of(principal, task.id)
        stored.state = state
        stored.stage = TaskStage.TRANSCRIBE
    return env.state_of(principal, task.id)


# ---------------------------------------------------------------- create


def test_create_from_upload_queues_the_task_and_claims_the_upload(env: Env) -> None:
    upload_id = env.upload()

    task = env.service.create(ALICE, new_task(upload_source(upload_id)), "")

    assert task.state is TaskState.QUEUED
    assert task.stage is TaskStage.UNSPECIFIED
    assert task.progress_percent == 0
    assert (task.tenant_id, task.creator_id) == ("acme", "alice")
    assert task.create_time == env.clock.now()
    [source] = task.audio_sources
    assert source.upload_id == upload_id
    assert source.object_key == object_keys.upload_key("acme", upload_id)
    assert env.state_of(ALICE, task.id) == task
    assert env.db.uploads[("acme", upload_id)].task_id == task.id
    assert env.db.discarded_writes == 0


def test_create_records_the_first_event_with_sequence_one(env: Env) -> None:
    task = env.service.create(ALICE, new_task(upload_source(env.upload())), "")

    [event] = env.db.events_of(task.id)
    assert event.sequence == 1
    assert event.state is TaskState.QUEUED
    assert event.type is TaskEventType.STATE_CHANGED
    assert event.event_time == env.clock.now()
    assert task.last_event_sequence == 1
    assert env.state_of(ALICE, task.id).last_event_sequence == 1


def test_create_from_uri_in_the_tenant_prefix(env: Env) -> None:
    uri = env.object_uri()

    task = env.service.create(ALICE, new_task(uri_source(uri)), "")

    [source] = task.audio_sources
    assert source.uri == uri
    assert source.upload_id is None
    assert source.object_key == env.store.key_from_uri(uri)
    assert source.object_key.startswith(object_keys.tenant_prefix("acme"))


def test_create_keeps_the_order_of_mixed_sources(env: Env) -> None:
    first, third = env.upload(), env.upload()
    uri = env.object_uri()

    task = env.service.create(
        ALICE, new_task(upload_source(first), uri_source(uri), upload_source(third)), ""
    )

    assert [(s.upload_id, s.uri) for s in task.audio_sources] == [
        (first, None),
        (None, uri),
        (third, None),
    ]


@pytest.mark.parametrize(
    ("key_of", "reason"),
    [
        (lambda: object_keys.tenant_prefix("globex") + "imports/x.wav", "OBJECT_OUTSIDE_TENANT"),
        (lambda: "shared/x.wav", "OBJECT_OUTSIDE_TENANT"),
    ],
    ids=["other-tenant", "no-tenant"],
)
def test_create_refuses_uris_outside_the_tenant(env: Env, key_of, reason: str) -> None:
    uri = env.store.put(key_of(), AUDIO)

    with pytest.raises(InvalidArgument) as info:
        env.service.create(ALICE, new_task(uri_source(uri)), "")

    assert_error(info, InvalidArgument, reason)
    assert env.db.tasks == {}
    assert env.queued == []


def test_create_refuses_uris_of_another_store(env: Env) -> None:
    with pytest.raises(InvalidArgument) as info:
        env.service.create(ALICE, new_task(uri_source("s3://elsewhere/tenants/acme/x")), "")

    assert_error(info, InvalidArgument, "INVALID_OBJECT_URI")


def test_create_with_uri_of_missing_object_is_not_found(env: Env) -> None:
    uri = env.store.uri(object_keys.tenant_prefix("acme") + "imports/missing.wav")

    with pytest.raises(NotFound) as info:
        env.service.create(ALICE, new_task(uri_source(uri)), "")

    assert_error(info, NotFound, "OBJECT_NOT_FOUND")


# ---------------------------------------------------------------- idempotency


def test_same_request_id_and_request_returns_the_same_task(env: Env) -> None:
    request = new_task(upload_source(env.upload()))

    first = env.service.create(ALICE, request, "req-1")
    again = env.service.create(ALICE, request, "req-1")

    assert again.id == first.id
    assert list(env.db.tasks) == [("acme", first.id)]
    assert env.queued == [first.id]


def test_same_request_id_with_another_payload_is_refused(env: Env) -> None:
    env.service.create(ALICE, new_task(upload_source(env.upload())), "req-1")

    with pytest.raises(AlreadyExists) as info:
        env.service.create(ALICE, new_task(upload_source(env.upload())), "req-1")

    assert_error(info, AlreadyExists, "REQUEST_ID_REUSED")
    assert info.value.metadata["request_id"] == "req-1"
    assert len(env.db.tasks) == 1


def test_request_ids_are_scoped_per_user(env: Env) -> None:
    uri = env.object_uri()

    alices = env.service.create(ALICE, new_task(uri_source(uri)), "req-1")
    bobs = env.service.create(BOB, new_task(uri_source(uri)), "req-1")

    assert alices.id != bobs.id


def test_request_id_of_a_deleted_task_is_a_failed_precondition(env: Env) -> None:
    request = new_task(upload_source(env.upload()))
    task = env.service.create(ALICE, request, "req-1")
    env.service.delete(ALICE, task.id)

    with pytest.raises(FailedPrecondition) as info:
        env.service.create(ALICE, request, "req-1")

    assert_error(info, FailedPrecondition, "REQUEST_ID_TASK_DELETED")


def test_request_without_request_id_creates_a_new_task_each_time(env: Env) -> None:
    uri = env.object_uri()

    first = env.service.create(ALICE, new_task(uri_source(uri)), "")
    second = env.service.create(ALICE, new_task(uri_source(uri)), "")

    assert first.id != second.id
    assert env.db.idempotency == {}


def _race(env: Env, request: NewTask, request_id: str) -> list[Task]:
    """Make a concurrent identical create commit between the lookup and the insert.

    `create` with a request id opens one unit of work to look the key up and a second
    one to write; the twin commits when the second one is opened.
    """
    winners: list[Task] = []

    def concurrent_twin(uow: FakeUnitOfWork) -> None:
        if len(env.uow_factory.opened) == 2 and not winners:
            winners.append(env.service.create(ALICE, request, request_id))

    env.uow_factory.on_open = concurrent_twin
    return winners


def test_concurrent_retry_with_uri_sources_returns_the_winner(env: Env) -> None:
    request = new_task(uri_source(env.object_uri()))
    winners = _race(env, request, "req-1")

    loser = env.service.create(ALICE, request, "req-1")

    assert loser.id == winners[0].id
    assert env.db.rollbacks == 1  # the loser hit the taken key and rolled back
    assert list(env.db.tasks) == [("acme", loser.id)]
    assert env.queued == [loser.id]


def test_concurrent_retry_with_upload_sources_returns_the_winner(env: Env) -> None:
    # The common case: a client retries UploadAudio-then-CreateTask with the same key.
    request = new_task(upload_source(env.upload()))
    winners = _race(env, request, "req-1")

    try:
        loser = env.service.create(ALICE, request, "req-1")
    except FailedPrecondition as exc:
        pytest.fail(
            f"a concurrent retry with the same request_id got {exc.reason} instead of the "
            "task its twin created: TaskService.create claims uploads before it records the "
            "request id, so the twin's claim wins over idempotency"
        )
    assert loser.id == winners[0].id


# ---------------------------------------------------------------- references


def test_missing_upload_is_not_found(env: Env) -> None:
    with pytest.raises(NotFound) as info:
        env.service.create(ALICE, new_task(upload_source(new_id())), "")

    assert_error(info, NotFound, "NOT_FOUND")
    assert info.value.resource_name.startswith("uploads/")


@pytest.mark.parametrize(
    ("options", "resource"),
    [
        ({"hotword_set_id": "missing-set"}, "hotwordSets/missing-set"),
        ({"prompt_template_id": "missing-template"}, "promptTemplates/missing-template"),
    ],
)
def test_missing_referenced_library_items_are_not_found(env: Env, options, resource) -> None:
    with pytest.raises(NotFound) as info:
        env.service.create(ALICE, new_task(upload_source(env.upload()), **options), "")

    assert info.value.resource_name == resource
    assert env.db.tasks == {}


def test_existing_library_items_and_built_in_templates_are_accepted(env: Env) -> None:
    now = env.clock.now()
    env.db.hotword_sets[("acme", "jargon")] = HotwordSet(
        "jargon", "acme", "Jargon", [], "en", "e1", now, now
    )
    env.db.prompt_templates[("acme", "mine")] = PromptTemplate(
        "mine", "acme", "Mine", "", "", "{{ date }}", "en", "e1", now, now
    )

    for template_id in ("mine", "default", "zh-standard"):
        env.service.create(
            ALICE,
            new_task(
                upload_source(env.upload()), hotword_set_id="jargon", prompt_template_id=template_id
            ),
            "",
        )

    assert len(env.db.tasks) == 3


def test_library_items_of_another_tenant_are_not_found(env: Env) -> None:
    now = env.clock.now()
    env.db.hotword_sets[("globex", "jargon")] = HotwordSet(
        "jargon", "globex", "Jargon", [], "en", "e1", now, now
    )

    with pytest.raises(NotFound):
        env.service.create(
            ALICE, new_task(upload_source(env.upload()), hotword_set_id="jargon"), ""
        )


def test_upload_used_by_another_task_is_refused(env: Env) -> None:
    upload_id = env.upload()
    first = env.service.create(ALICE, new_task(upload_source(upload_id)), "")

    with pytest.raises(FailedPrecondition) as info:
        env.service.create(ALICE, new_task(upload_source(upload_id)), "")

    assert_error(info, FailedPrecondition, "UPLOAD_IN_USE")
    assert info.value.metadata["task"] == f"tasks/{first.id}"
    assert len(env.db.tasks) == 1


def test_the_same_upload_twice_in_one_request_is_refused(env: Env) -> None:
    upload_id = env.upload()

    with pytest.raises(FailedPrecondition) as info:
        env.service.create(ALICE, new_task(upload_source(upload_id), upload_source(upload_id)), "")

    assert_error(info, FailedPrecondition, "UPLOAD_IN_USE")
    assert env.db.tasks == {}


def test_a_failed_create_claims_nothing(env: Env) -> None:
    claimable = env.upload()

    with pytest.raises(NotFound):
        env.service.create(
            ALICE, new_task(upload_source(claimable), upload_source(new_id())), "req-1"
        )

    assert env.db.uploads[("acme", claimable)].task_id is None
    assert env.db.tasks == {}
    assert env.db.task_events == {}
    assert env.db.idempotency == {}
    assert env.queued == []


def test_pending_upload_whose_bytes_never_arrived_is_refused(env: Env) -> None:
    upload_id = env.upload(state=UploadState.PENDING, stored=False)

    with pytest.raises(FailedPrecondition) as info:
        env.service.create(ALICE, new_task(upload_source(upload_id)), "")

    assert_error(info, FailedPrecondition, "UPLOAD_INCOMPLETE")


def test_pending_upload_whose_bytes_arrived_is_accepted(env: Env) -> None:
    upload_id = env.upload(state=UploadState.PENDING, stored=True)

    task = env.service.create(ALICE, new_task(upload_source(upload_id)), "")

    assert task.audio_sources[0].upload_id == upload_id


# ---------------------------------------------------------------- providers and languages


@pytest.mark.parametrize(
    ("options", "field", "reason"),
    [
        (
            {"asr_providers": [ProviderChoice("nope")]},
            "task.options.asr_providers[0].provider",
            "UNKNOWN_PROVIDER",
        ),
        (
            {"asr_providers": [ProviderChoice("local"), ProviderChoice("azure")]},
            "task.options.asr_providers[1].provider",
            "UNKNOWN_PROVIDER",
        ),
        (
            {"asr_providers": [ProviderChoice("local", "large-v3")]},
            "task.options.asr_providers[0].model",
            "UNKNOWN_MODEL",
        ),
        (
            {"llm_providers": [ProviderChoice("gpt")]},
            "task.options.llm_providers[0].provider",
            "UNKNOWN_PROVIDER",
        ),
    ],
)
def test_unknown_providers_and_models_are_invalid(env: Env, options, field, reason) -> None:
    with pytest.raises(InvalidArgument) as info:
        env.service.create(ALICE, new_task(upload_source(env.upload()), **options), "")

    assert_error(info, InvalidArgument, reason)
    assert [v.field for v in info.value.violations] == [field]
    assert env.db.tasks == {}


@pytest.mark.parametrize("language", ["zh", "zh-CN", "cmn-Hans-CN"])
def test_chinese_on_the_embedded_catalog_is_refused_at_creation(env: Env, language) -> None:
    with pytest.raises(FailedPrecondition) as info:
        env.service.create(ALICE, new_task(upload_source(env.upload()), language_code=language), "")

    assert_error(info, FailedPrecondition, "LANGUAGE_UNSUPPORTED")
    assert info.value.metadata["language_code"] == language
    assert env.db.tasks == {}


@pytest.mark.parametrize("language", ["", "en", "en-US", "EN-gb"])
def test_english_or_unspecified_language_is_accepted(env: Env, language) -> None:
    task = env.service.create(
        ALICE, new_task(upload_source(env.upload()), language_code=language), ""
    )

    assert task.options.language_code == language


# ---------------------------------------------------------------- on_queued


def test_on_queued_runs_once_after_commit(env: Env) -> None:
    seen_committed: list[bool] = []

    def on_queued(task_id: str) -> None:
        seen_committed.append(("acme", task_id) in env.db.tasks)

    service = TaskService(
        env.uow_factory, env.store, env.clock, embedded_catalog(), on_queued=on_queued
    )

    service.create(ALICE, new_task(upload_source(env.upload())), "")

    assert seen_committed == [True]


def test_on_queued_is_not_called_when_create_fails(env: Env) -> None:
    with pytest.raises(NotFound):
        env.service.create(ALICE, new_task(upload_source(new_id())), "")

    assert env.queued == []


# ---------------------------------------------------------------- read


def test_get_and_events_after(env: Env) -> None:
    task = env.service.create(ALICE, new_task(upload_source(env.upload())), "")
    env.service.cancel(ALICE, task.id)

    assert env.service.get(ALICE, task.id).state is TaskState.CANCELLED
    current, events = env.service.events_after(ALICE, task.id, 0)
    assert [e.sequence for e in events] == [1, 2]
    assert current.last_event_sequence == 2
    _, later = env.service.events_after(ALICE, task.id, 1)
    assert [e.sequence for e in later] == [2]


def test_list_is_newest_first_and_filters_by_state(env: Env) -> None:
    first = env.service.create(ALICE, new_task(upload_source(env.upload())), "")
    env.clock.advance(minutes=1)
    second = env.service.create(ALICE, new_task(upload_source(env.upload())), "")
    env.service.cancel(ALICE, first.id)

    page = env.service.list(ALICE, TaskFilter(), limit=10, cursor=None)
    queued = env.service.list(ALICE, TaskFilter(states=[TaskState.QUEUED]), limit=10, cursor=None)

    assert [t.id for t in page.items] == [second.id, first.id]
    assert [t.id for t in queued.items] == [second.id]


def test_list_pages_with_the_cursor(env: Env) -> None:
    ids = []
    for _ in range(3):
        ids.append(env.service.create(ALICE, new_task(upload_source(env.upload())), "").id)
        env.clock.advance(seconds=1)

    first = env.service.list(ALICE, TaskFilter(), limit=2, cursor=None)
    second = env.service.list(ALICE, TaskFilter(), limit=2, cursor=first.next_cursor)

    assert [t.id for t in first.items + second.items] == ids[::-1]
    assert second.next_cursor is None


# ---------------------------------------------------------------- cancel


def test_cancel_queued_task_cancels_it_with_an_event(env: Env) -> None:
    task = env.service.create(ALICE, new_task(upload_source(env.upload())), "")
    env.clock.advance(seconds=5)

    cancelled = env.service.cancel(ALICE, task.id)

    assert cancelled.state is TaskState.CANCELLED
    assert cancelled.end_time == env.clock.now()
    stored = env.state_of(ALICE, task.id)
    assert stored.state is TaskState.CANCELLED
    assert stored.last_event_sequence == 2
    last = env.db.events_of(task.id)[-1]
    assert (last.sequence, last.state, last.type) == (
        2,
        TaskState.CANCELLED,
        TaskEventType.STATE_CHANGED,
    )


def test_cancel_running_task_requests_cancellation(env: Env) -> None:
    task = make_task(env, state=TaskState.RUNNING)

    result = env.service.cancel(ALICE, task.id)

    assert result.state is TaskState.RUNNING
    assert result.cancel_requested is True
    stored = env.state_of(ALICE, task.id)
    assert stored.cancel_requested is True
    assert stored.state is TaskState.RUNNING
    events = env.db.events_of(task.id)
    assert events[-1].sequence == stored.last_event_sequence == 2


def test_cancel_is_idempotent(env: Env) -> None:
    queued = env.service.create(ALICE, new_task(upload_source(env.upload())), "")
    running = make_task(env, state=TaskState.RUNNING)

    for task in (queued, running):
        env.service.cancel(ALICE, task.id)
        again = env.service.cancel(ALICE, task.id)
        assert again.last_event_sequence == 2
        assert len(env.db.events_of(task.id)) == 2


@pytest.mark.parametrize("state", [TaskState.SUCCEEDED, TaskState.FAILED])
def test_cancel_finished_task_is_a_failed_precondition(env: Env, state: TaskState) -> None:
    task = make_task(env, state=state)

    with pytest.raises(FailedPrecondition) as info:
        env.service.cancel(ALICE, task.id)

    assert_error(info, FailedPrecondition, "TASK_ALREADY_FINISHED")
    assert env.state_of(ALICE, task.id).state is state
    assert len(env.db.events_of(task.id)) == 1


# ---------------------------------------------------------------- delete


def _with_children(env: Env, task: Task) -> None:
    """Give a task a transcript, speaker mappings, an artifact and its stored files."""
    now = env.clock.now()
    key = ("acme", task.id)
    env.db.transcripts[key] = Transcript(
        task.id,
        "acme",
        "en",
        [TranscriptSegment(0, "SPEAKER_1", 0.0, 1.0, "hello")],
        1.0,
        "local",
        "tiny.en",
        now,
        now,
    )
    env.db.speaker_mappings[key] = SpeakerMappings(
        task.id, {"SPEAKER_1": SpeakerIdentity("Ada")}, "etag", now
    )
    artifact_json = object_keys.artifact_key("acme", task.id, "a1", "json")
    env.db.artifacts[("acme", task.id, "a1")] = Artifact(
        "a1",
        task.id,
        "acme",
        "default",
        ArtifactState.SUCCEEDED,
        "extractive",
        "extractive-v1",
        True,
        now,
        now,
        json_object_key=artifact_json,
    )
    env.store.put(artifact_json, b"{}")


def test_delete_removes_rows_and_stored_audio(env: Env) -> None:
    upload_id = env.upload()
    uri = env.object_uri()
    task = env.service.create(ALICE, new_task(upload_source(upload_id), uri_source(uri)), "")
    _with_children(env, task)
    other = env.service.create(ALICE, new_task(upload_source(env.upload())), "")

    env.service.delete(ALICE, task.id)

    assert ("acme", task.id) not in env.db.tasks
    assert env.db.events_of(task.id) == []
    assert ("acme", task.id) not in env.db.transcripts
    assert ("acme", task.id) not in env.db.speaker_mappings
    assert [k for k in env.db.artifacts if k[1] == task.id] == []
    assert ("acme", upload_id) not in env.db.uploads
    assert env.store.head(object_keys.upload_key("acme", upload_id)) is None
    task_prefix = object_keys.task_prefix("acme", task.id)
    assert [k for k in env.store.objects if k.startswith(task_prefix)] == []
    # The caller's own object named by URI is theirs to keep; other tasks are untouched.
    assert env.store.head(env.store.key_from_uri(uri)) is not None
    assert env.service.get(ALICE, other.id).id == other.id
    with pytest.raises(NotFound):
        env.service.get(ALICE, task.id)


def test_delete_running_task(env: Env) -> None:
    task = make_task(env, state=TaskState.RUNNING)

    env.service.delete(ALICE, task.id)

    assert env.db.tasks == {}


def test_delete_missing_task_is_not_found(env: Env) -> None:
    with pytest.raises(NotFound):
        env.service.delete(ALICE, new_id())


# ---------------------------------------------------------------- tenancy


def test_another_tenant_sees_not_found_everywhere(env: Env) -> None:
    task = env.service.create(ALICE, new_task(upload_source(env.upload())), "")
    before = replace(env.state_of(ALICE, task.id))

    calls: list[Callable[[], object]] = [
        lambda: env.service.get(MALLORY, task.id),
        lambda: env.service.cancel(MALLORY, task.id),
        lambda: env.service.delete(MALLORY, task.id),
        lambda: env.service.events_after(MALLORY, task.id, 0),
    ]
    for call in calls:
        with pytest.raises(NotFound) as info:
            call()
        assert info.value.resource_name == f"tasks/{task.id}"

    assert env.service.list(MALLORY, TaskFilter(), limit=10, cursor=None).items == []
    assert env.state_of(ALICE, task.id) == before


def test_another_tenants_upload_is_not_found(env: Env) -> None:
    upload_id = env.upload(ALICE)

    with pytest.raises(NotFound):
        env.service.create(MALLORY, new_task(upload_source(upload_id)), "")

    assert env.db.uploads[("acme", upload_id)].task_id is None


def test_request_ids_do_not_cross_tenants(env: Env) -> None:
    alices = env.service.create(ALICE, new_task(uri_source(env.object_uri(ALICE))), "req-1")
    mallorys = env.service.create(MALLORY, new_task(uri_source(env.object_uri(MALLORY))), "req-1")

    assert mallorys.id != alices.id
    assert mallorys.tenant_id == "globex"


def test_time_moves_between_events(env: Env) -> None:
    task = env.service.create(ALICE, new_task(upload_source(env.upload())), "")
    env.clock.advance(timedelta(minutes=3))
    env.service.cancel(ALICE, task.id)

    first, second = env.db.events_of(task.id)
    assert second.event_time - first.event_time == timedelta(minutes=3)
