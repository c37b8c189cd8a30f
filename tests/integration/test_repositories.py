"""Every SQL repository against a migrated database, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from meeting_agent.adapters.db.database import SqlDatabase
from meeting_agent.adapters.db.models import (
    ArtifactRow,
    AuditLogRow,
    SpeakerMappingRow,
    SpeakerMappingSetRow,
    TaskEventRow,
    TaskRow,
    TranscriptRow,
    TranscriptSegmentRow,
    UserRow,
)
from meeting_agent.adapters.db.repositories import (
    SqlAuditLogRepository,
    speaker_mappings_etag,
)
from meeting_agent.domain.models import (
    Artifact,
    ArtifactState,
    AudioSource,
    Hotword,
    HotwordSet,
    Principal,
    PromptTemplate,
    ProviderChoice,
    SpeakerCount,
    SpeakerIdentity,
    SpeakerMappings,
    Task,
    TaskError,
    TaskEvent,
    TaskEventType,
    TaskOptions,
    TaskStage,
    TaskState,
    Transcript,
    TranscriptSegment,
    Upload,
    UploadState,
    UsageRecord,
    Word,
)
from meeting_agent.errors import AlreadyExists, InvalidArgument, NotFound
from meeting_agent.ports import TaskFilter

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
BEIJING = timezone(timedelta(hours=8))


@pytest.fixture
def db(migrated_database_url: str) -> Iterator[SqlDatabase]:
    database = SqlDatabase(migrated_database_url)
    yield database
    database.dispose()


def make_task(
    task_id: str = "t1", tenant_id: str = "acme", *, at: datetime = T0, **changes: object
) -> Task:
    task = Task(
        id=task_id,
        tenant_id=tenant_id,
        creator_id="alice",
        display_name="Weekly sync 周会",
        audio_sources=[AudioSource(upload_id="u1", object_key="tenants/acme/uploads/u1")],
        options=TaskOptions(language_code="zh-CN"),
        labels={"team": "search"},
        state=TaskState.QUEUED,
        stage=TaskStage.UNSPECIFIED,
        progress_percent=0,
        create_time=at,
        update_time=at,
    )
    return replace(task, **changes)  # type: ignore[arg-type]


def add_tasks(db: SqlDatabase, *tasks: Task) -> None:
    with db.unit_of_work() as uow:
        for task in tasks:
            uow.tasks.add(task)
        uow.commit()


# ---------------------------------------------------------------- tasks


def test_task_round_trips_every_field(db: SqlDatabase) -> None:
    task = make_task(
        audio_sources=[
            AudioSource(upload_id="u1", object_key="tenants/acme/uploads/u1"),
            AudioSource(uri="local://bucket/a.wav", object_key="a.wav"),
        ],
        options=TaskOptions(
            language_code="zh-CN",
            asr_providers=[ProviderChoice("volcengine", "bigmodel"), ProviderChoice("azure")],
            hotword_set_id="product-names",
            prompt_template_id="standard",
            llm_providers=[ProviderChoice("gemini", "gemini-2.5-flash")],
            speaker_count=SpeakerCount(2, 4),
            disable_diarization=True,
        ),
        labels={"team": "search", "项目": "会议"},
        state=TaskState.FAILED,
        stage=TaskStage.TRANSCRIBE,
        progress_percent=40,
        error=TaskError(14, "ASR_UNAVAILABLE", "provider down", {"provider": "azure"}),
        cancel_requested=True,
        audio_duration_seconds=3600.25,
        last_event_sequence=7,
        # Given in UTC+8; must come back as the same instant, in UTC.
        start_time=datetime(2026, 3, 1, 17, 31, 0, 123456, tzinfo=BEIJING),
        end_time=T0 + timedelta(minutes=5),
        has_transcript=True,
        cost_amount=Decimal("123456789012.123456"),
        cost_currency="CNY",
    )
    add_tasks(db, task)

    with db.unit_of_work() as uow:
        stored = uow.tasks.get("acme", "t1")

    assert stored == task
    assert stored is not None
    for moment in (stored.create_time, stored.update_time, stored.start_time, stored.end_time):
        assert moment is not None and moment.utcoffset() == timedelta(0)
    assert stored.cost_amount == Decimal("123456789012.123456")


def test_another_tenants_task_reads_as_absent(db: SqlDatabase) -> None:
    add_tasks(db, make_task())

    with db.unit_of_work() as uow:
        assert uow.tasks.get("globex", "t1") is None
        assert uow.tasks.list("globex", TaskFilter(), limit=10, cursor=None).items == []
        with pytest.raises(NotFound):
            uow.tasks.save(make_task(tenant_id="globex", display_name="hijacked"))
        uow.tasks.delete("globex", "t1")
        uow.commit()

    with db.unit_of_work() as uow:
        stored = uow.tasks.get("acme", "t1")
    assert stored is not None and stored.display_name == "Weekly sync 周会"


def test_adding_a_taken_task_id_raises_already_exists_and_keeps_the_transaction(
    db: SqlDatabase,
) -> None:
    add_tasks(db, make_task("t1"))

    with db.unit_of_work() as uow:
        uow.tasks.add(make_task("t2"))
        with pytest.raises(AlreadyExists):
            uow.tasks.add(make_task("t1", display_name="again"))
        # Task ids are global: another tenant cannot take it either.
        with pytest.raises(AlreadyExists):
            uow.tasks.add(make_task("t1", tenant_id="globex"))
        uow.tasks.add(make_task("t3"))
        uow.commit()

    with db.unit_of_work() as uow:
        ids = [t.id for t in uow.tasks.list("acme", TaskFilter(), limit=10, cursor=None).items]
    assert sorted(ids) == ["t1", "t2", "t3"]


def test_save_writes_back_mutable_fields(db: SqlDatabase) -> None:
    add_tasks(db, make_task())

    with db.unit_of_work() as uow:
        task = uow.tasks.get("acme", "t1", for_update=True)
        assert task is not None
        task.state = TaskState.SUCCEEDED
        task.stage = TaskStage.DONE
        task.progress_percent = 100
        task.labels = {"team": "ads"}
        task.cost_amount = Decimal("0.000001")
        task.end_time = T0 + timedelta(hours=1)
        uow.tasks.save(task)
        uow.commit()

    with db.unit_of_work() as uow:
        assert uow.tasks.get("acme", "t1") == task


def test_task_list_pages_newest_first_with_cursors(db: SqlDatabase) -> None:
    # Two tasks share each creation time, so the id breaks ties.
    tasks = [make_task(f"t{i}", at=T0 + timedelta(minutes=i // 2)) for i in range(7)]
    add_tasks(db, *tasks, make_task("other", tenant_id="globex", at=T0 + timedelta(days=1)))
    expected = [t.id for t in sorted(tasks, key=lambda t: (t.create_time, t.id), reverse=True)]

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        with db.unit_of_work() as uow:
            page = uow.tasks.list("acme", TaskFilter(), limit=3, cursor=cursor)
            if pages == 0:
                # Keyset pages do not shift when a newer task arrives between requests.
                uow.tasks.add(make_task("newest", at=T0 + timedelta(hours=1)))
                uow.commit()
        seen += [t.id for t in page.items]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
        assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)  # opaque and URL-safe

    assert seen == expected
    assert pages == 3


def test_task_list_filters_by_state_and_creation_time(db: SqlDatabase) -> None:
    add_tasks(
        db,
        make_task("a", at=T0, state=TaskState.SUCCEEDED),
        make_task("b", at=T0 + timedelta(hours=1), state=TaskState.FAILED),
        make_task("c", at=T0 + timedelta(hours=2), state=TaskState.SUCCEEDED),
        make_task("d", at=T0 + timedelta(hours=3), state=TaskState.QUEUED),
    )

    def ids(flt: TaskFilter) -> list[str]:
        with db.unit_of_work() as uow:
            return [t.id for t in uow.tasks.list("acme", flt, limit=10, cursor=None).items]

    assert ids(TaskFilter(states=[TaskState.SUCCEEDED, TaskState.FAILED])) == ["c", "b", "a"]
    assert ids(
        TaskFilter(
            create_time_start=T0 + timedelta(hours=1), create_time_end=T0 + timedelta(hours=3)
        )
    ) == ["c", "b"]


@pytest.mark.parametrize("cursor", ["not base64!", "bm90IGpzb24", "WyJ4Il0", "WzEsMl0"])
def test_a_foreign_cursor_is_an_invalid_argument(db: SqlDatabase, cursor: str) -> None:
    with db.unit_of_work() as uow, pytest.raises(InvalidArgument) as raised:
        uow.tasks.list("acme", TaskFilter(), limit=10, cursor=cursor)
    assert raised.value.reason == "INVALID_PAGE_TOKEN"


def test_locked_read_sees_a_change_committed_after_an_earlier_read(
    db: SqlDatabase, migrated_database_url: str
) -> None:
    if migrated_database_url.startswith("sqlite"):
        pytest.skip("SQLite serialises whole transactions: the concurrent writer cannot run")
    add_tasks(db, make_task())

    with db.unit_of_work() as uow:
        assert uow.tasks.get("acme", "t1") is not None
        with db.unit_of_work() as other:
            task = other.tasks.get("acme", "t1")
            assert task is not None
            task.cancel_requested = True
            other.tasks.save(task)
            other.commit()
        locked = uow.tasks.get("acme", "t1", for_update=True)

    assert locked is not None and locked.cancel_requested


def _count(db: SqlDatabase, row: type, task_id: str) -> int:
    with db.unit_of_work() as uow:
        column = row.task_id  # type: ignore[attr-defined]
        return uow.session.scalar(select(func.count()).where(column == task_id)) or 0


def test_deleting_a_task_removes_what_belongs_to_it_but_keeps_the_audit_log(
    db: SqlDatabase,
) -> None:
    add_tasks(db, make_task("t1"), make_task("t2"))
    for task_id in ("t1", "t2"):
        with db.unit_of_work() as uow:
            uow.task_events.append(make_event(task_id, 1), "acme")
            uow.speaker_mappings.replace(
                "acme", SpeakerMappings(task_id, {"SPEAKER_1": SpeakerIdentity("Alice")}, "e1", T0)
            )
            uow.transcripts.put(make_transcript(task_id))
            uow.artifacts.add(make_artifact("a1", task_id))
            uow.audit_logs.add(make_usage(task_id=task_id), call_key=f"{task_id}-asr")
            uow.commit()

    with db.unit_of_work() as uow:
        uow.tasks.delete("acme", "t1")
        uow.commit()

    for row in (
        TaskEventRow,
        SpeakerMappingSetRow,
        SpeakerMappingRow,
        TranscriptRow,
        TranscriptSegmentRow,
        ArtifactRow,
    ):
        assert _count(db, row, "t1") == 0, row.__tablename__
        assert _count(db, row, "t2") > 0, row.__tablename__
    assert _count(db, AuditLogRow, "t1") == 1
    with db.unit_of_work() as uow:
        assert uow.tasks.get("acme", "t1") is None
        assert uow.session.get(TaskRow, "t2") is not None


# ---------------------------------------------------------------- task events


def make_event(task_id: str, sequence: int, **changes: object) -> TaskEvent:
    event = TaskEvent(
        task_id=task_id,
        sequence=sequence,
        type=TaskEventType.PROGRESS,
        state=TaskState.RUNNING,
        stage=TaskStage.TRANSCRIBE,
        progress_percent=sequence * 10,
        message=f"step {sequence}",
        event_time=T0 + timedelta(seconds=sequence),
    )
    return replace(event, **changes)  # type: ignore[arg-type]


def test_events_append_and_replay_after_a_sequence(db: SqlDatabase) -> None:
    add_tasks(db, make_task())
    failed = make_event(
        "t1",
        3,
        type=TaskEventType.STATE_CHANGED,
        state=TaskState.FAILED,
        error=TaskError(13, "INTERNAL", "boom"),
    )
    with db.unit_of_work() as uow:
        uow.task_events.append(make_event("t1", 1), "acme")
        uow.task_events.append(make_event("t1", 2), "acme")
        uow.task_events.append(failed, "acme")
        uow.commit()

    with db.unit_of_work() as uow:
        assert uow.task_events.list_after("t1", 0, limit=10) == [
            make_event("t1", 1),
            make_event("t1", 2),
            failed,
        ]
        assert [e.sequence for e in uow.task_events.list_after("t1", 1, limit=1)] == [2]
        assert uow.task_events.list_after("t1", 3, limit=10) == []


def test_an_event_needs_a_free_sequence_and_the_tenants_task(db: SqlDatabase) -> None:
    add_tasks(db, make_task())
    with db.unit_of_work() as uow:
        uow.task_events.append(make_event("t1", 1), "acme")
        with pytest.raises(AlreadyExists):
            uow.task_events.append(make_event("t1", 1), "acme")
        with pytest.raises(NotFound):
            uow.task_events.append(make_event("t1", 2), "globex")
        with pytest.raises(NotFound):
            uow.task_events.append(make_event("missing", 1), "acme")
        uow.task_events.append(make_event("t1", 2), "acme")
        uow.commit()

    with db.unit_of_work() as uow:
        assert [e.sequence for e in uow.task_events.list_after("t1", 0, limit=10)] == [1, 2]


# ---------------------------------------------------------------- uploads


def make_upload(upload_id: str = "u1", tenant_id: str = "acme") -> Upload:
    return Upload(
        id=upload_id,
        tenant_id=tenant_id,
        creator_id="alice",
        filename="会议.m4a",
        content_type="audio/mp4",
        size_bytes=3 * 1024**3,
        sha256="ab" * 32,
        object_key=f"tenants/{tenant_id}/uploads/{upload_id}",
        state=UploadState.PENDING,
        create_time=T0,
    )


def test_uploads_round_trip_and_stay_in_their_tenant(db: SqlDatabase) -> None:
    upload = make_upload()
    with db.unit_of_work() as uow:
        uow.uploads.add(upload)
        with pytest.raises(AlreadyExists):
            uow.uploads.add(make_upload())
        uow.commit()

    with db.unit_of_work() as uow:
        assert uow.uploads.get("acme", "u1") == upload
        assert uow.uploads.get("globex", "u1") is None
        with pytest.raises(NotFound):
            uow.uploads.save(replace(upload, tenant_id="globex"))
        upload.state = UploadState.READY
        upload.sha256 = "cd" * 32
        uow.uploads.save(upload)
        uow.commit()

    with db.unit_of_work() as uow:
        assert uow.uploads.get("acme", "u1") == upload


# ---------------------------------------------------------------- users


def test_user_upsert_creates_then_refreshes_without_erasing_the_profile(db: SqlDatabase) -> None:
    with db.unit_of_work() as uow:
        uow.users.upsert(Principal("acme", "alice", "alice@acme.test", "Alice"), T0)
        uow.users.upsert(Principal("globex", "alice"), T0)
        uow.commit()
    later = T0 + timedelta(hours=2)
    with db.unit_of_work() as uow:
        uow.users.upsert(Principal("acme", "alice"), later)
        uow.commit()

    with db.unit_of_work() as uow:
        alice = uow.session.get(UserRow, ("acme", "alice"))
        assert alice is not None
        assert (alice.email, alice.display_name) == ("alice@acme.test", "Alice")
        assert (alice.create_time, alice.last_seen_time) == (T0, later)
        other = uow.session.get(UserRow, ("globex", "alice"))
        assert other is not None and other.email is None


# ---------------------------------------------------------------- idempotency keys


def test_idempotency_keys_record_once_per_tenant_user_and_method(db: SqlDatabase) -> None:
    with db.unit_of_work() as uow:
        assert uow.idempotency.get("acme", "alice", "CreateTask", "r1") is None
        uow.idempotency.add("acme", "alice", "CreateTask", "r1", "t1", "print-1", T0)
        uow.idempotency.add("acme", "bob", "CreateTask", "r1", "t2", "print-2", T0)
        with pytest.raises(AlreadyExists):
            uow.idempotency.add("acme", "alice", "CreateTask", "r1", "t9", "print-9", T0)
        uow.commit()

    with db.unit_of_work() as uow:
        assert uow.idempotency.get("acme", "alice", "CreateTask", "r1") == ("t1", "print-1")
        assert uow.idempotency.get("acme", "bob", "CreateTask", "r1") == ("t2", "print-2")
        assert uow.idempotency.get("globex", "alice", "CreateTask", "r1") is None
        assert uow.idempotency.get("acme", "alice", "CreateUpload", "r1") is None


# ---------------------------------------------------------------- hotword sets and templates


def make_hotword_set(set_id: str, tenant_id: str = "acme") -> HotwordSet:
    return HotwordSet(
        id=set_id,
        tenant_id=tenant_id,
        display_name=f"Set {set_id}",
        hotwords=[Hotword("火山引擎", 5), Hotword("Kubernetes")],
        language_code="zh-CN",
        etag="e1",
        create_time=T0,
        update_time=T0,
    )


def make_template(template_id: str, tenant_id: str | None = "acme") -> PromptTemplate:
    return PromptTemplate(
        id=template_id,
        tenant_id=tenant_id,
        display_name=f"Template {template_id}",
        description="销售周会",
        system_prompt="You write minutes.",
        body="{{ transcript }}",
        language_code="zh-CN",
        etag="e1",
        create_time=T0,
        update_time=T0,
    )


def test_hotword_sets_round_trip_page_by_id_and_stay_in_their_tenant(db: SqlDatabase) -> None:
    ids = ["b", "a", "e", "c", "d"]
    with db.unit_of_work() as uow:
        for set_id in ids:
            uow.hotword_sets.add(make_hotword_set(set_id))
        uow.hotword_sets.add(make_hotword_set("a", tenant_id="globex"))  # ids are per tenant
        with pytest.raises(AlreadyExists):
            uow.hotword_sets.add(make_hotword_set("a"))
        uow.commit()

    with db.unit_of_work() as uow:
        assert uow.hotword_sets.get("acme", "a") == make_hotword_set("a")
        assert uow.hotword_sets.get("initech", "a") is None
        first = uow.hotword_sets.list("acme", limit=2, cursor=None)
        second = uow.hotword_sets.list("acme", limit=2, cursor=first.next_cursor)
        third = uow.hotword_sets.list("acme", limit=2, cursor=second.next_cursor)
    assert [s.id for s in first.items + second.items + third.items] == sorted(ids)
    assert third.next_cursor is None

    updated = replace(
        make_hotword_set("a"),
        hotwords=[Hotword("new")],
        etag="e2",
        update_time=T0 + timedelta(days=1),
    )
    with db.unit_of_work() as uow:
        uow.hotword_sets.save(updated)
        with pytest.raises(NotFound):
            uow.hotword_sets.save(make_hotword_set("zzz"))
        uow.hotword_sets.delete("acme", "b")
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.hotword_sets.get("acme", "a") == updated
        assert uow.hotword_sets.get("globex", "a") == make_hotword_set("a", tenant_id="globex")
        assert uow.hotword_sets.get("acme", "b") is None


def test_prompt_templates_round_trip_page_by_id_and_stay_in_their_tenant(
    db: SqlDatabase,
) -> None:
    with db.unit_of_work() as uow:
        for template_id in ("standard-sales", "brief", "detailed"):
            uow.prompt_templates.add(make_template(template_id))
        uow.prompt_templates.add(make_template("brief", tenant_id="globex"))
        with pytest.raises(AlreadyExists):
            uow.prompt_templates.add(make_template("brief"))
        with pytest.raises(ValueError, match="built-in"):
            uow.prompt_templates.add(make_template("standard", tenant_id=None))
        uow.commit()

    with db.unit_of_work() as uow:
        assert uow.prompt_templates.get("acme", "brief") == make_template("brief")
        assert uow.prompt_templates.get("initech", "brief") is None
        first = uow.prompt_templates.list("acme", limit=2, cursor=None)
        rest = uow.prompt_templates.list("acme", limit=2, cursor=first.next_cursor)
        assert [t.id for t in first.items + rest.items] == ["brief", "detailed", "standard-sales"]
        assert rest.next_cursor is None

        changed = replace(make_template("brief"), body="new body", etag="e2")
        uow.prompt_templates.save(changed)
        uow.prompt_templates.delete("acme", "detailed")
        uow.commit()

    with db.unit_of_work() as uow:
        assert uow.prompt_templates.get("acme", "brief") == changed
        assert uow.prompt_templates.get("acme", "detailed") is None
        assert uow.prompt_templates.get("globex", "brief") == make_template("brief", "globex")


# ---------------------------------------------------------------- speaker mappings


def test_speaker_mappings_keep_the_stored_etag(db: SqlDatabase) -> None:
    add_tasks(db, make_task())
    with db.unit_of_work() as uow:
        empty = uow.speaker_mappings.get("acme", "t1")
    assert empty == SpeakerMappings("t1", {}, speaker_mappings_etag({}), None)

    mappings = SpeakerMappings(
        "t1",
        {"SPEAKER_1": SpeakerIdentity("张伟", "u-zhang"), "SPEAKER_2": SpeakerIdentity("Bob")},
        "etag-1",
        T0,
    )
    with db.unit_of_work() as uow:
        uow.speaker_mappings.replace("acme", mappings)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.speaker_mappings.get("acme", "t1") == mappings
        assert uow.speaker_mappings.get("acme", "t1") == mappings  # stable across reads
        assert uow.speaker_mappings.get("globex", "t1").mappings == {}

    cleared = SpeakerMappings("t1", {}, "etag-2", T0 + timedelta(minutes=1))
    with db.unit_of_work() as uow:
        uow.speaker_mappings.replace("acme", cleared)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.speaker_mappings.get("acme", "t1") == cleared


def test_speaker_mappings_need_the_tenants_task(db: SqlDatabase) -> None:
    add_tasks(db, make_task())
    mappings = SpeakerMappings("t1", {"SPEAKER_1": SpeakerIdentity("Eve")}, "e", T0)
    with db.unit_of_work() as uow:
        with pytest.raises(NotFound):
            uow.speaker_mappings.replace("globex", mappings)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.speaker_mappings.get("acme", "t1").mappings == {}


# ---------------------------------------------------------------- transcripts


def make_transcript(task_id: str = "t1", tenant_id: str = "acme", segments: int = 3) -> Transcript:
    return Transcript(
        task_id=task_id,
        tenant_id=tenant_id,
        language_code="zh-CN",
        segments=[
            TranscriptSegment(
                index=i,
                speaker_label=f"SPEAKER_{i % 2 + 1}",
                start=i * 2.5,
                end=i * 2.5 + 2.0,
                text=f"我们决定 item {i}",
                words=[
                    Word("我们", i * 2.5, i * 2.5 + 0.4, 0.98),
                    Word("决定", i * 2.5 + 0.4, i * 2.5 + 0.9),
                ],
                source_index=i // 2,
            )
            for i in range(segments)
        ],
        duration_seconds=segments * 2.5,
        asr_provider="whisper",
        asr_model="tiny.en",
        create_time=T0,
        update_time=T0,
    )


def test_transcripts_round_trip_with_and_without_words(db: SqlDatabase) -> None:
    add_tasks(db, make_task())
    transcript = make_transcript()
    with db.unit_of_work() as uow:
        uow.transcripts.put(transcript)
        uow.commit()

    with db.unit_of_work() as uow:
        assert uow.transcripts.get("acme", "t1", with_words=True) == transcript
        bare = uow.transcripts.get("acme", "t1", with_words=False)
        assert uow.transcripts.get("globex", "t1", with_words=True) is None
    assert bare is not None
    assert [s.words for s in bare.segments] == [[], [], []]
    assert [s.text for s in bare.segments] == [s.text for s in transcript.segments]


def test_putting_a_transcript_replaces_the_earlier_one(db: SqlDatabase) -> None:
    add_tasks(db, make_task())
    with db.unit_of_work() as uow:
        uow.transcripts.put(make_transcript(segments=5))
        uow.commit()
    shorter = replace(
        make_transcript(segments=2), asr_provider="azure", update_time=T0 + timedelta(hours=1)
    )
    with db.unit_of_work() as uow:
        assert uow.transcripts.get("acme", "t1", with_words=False) is not None  # identity map
        uow.transcripts.put(shorter)
        uow.commit()

    with db.unit_of_work() as uow:
        assert uow.transcripts.get("acme", "t1", with_words=True) == shorter


def test_a_transcript_needs_the_tenants_task(db: SqlDatabase) -> None:
    add_tasks(db, make_task())
    with db.unit_of_work() as uow, pytest.raises(NotFound):
        uow.transcripts.put(make_transcript(tenant_id="globex"))


# ---------------------------------------------------------------- artifacts


def make_artifact(
    artifact_id: str, task_id: str = "t1", tenant_id: str = "acme", *, at: datetime = T0
) -> Artifact:
    return Artifact(
        id=artifact_id,
        task_id=task_id,
        tenant_id=tenant_id,
        prompt_template_id="standard",
        state=ArtifactState.SUCCEEDED,
        llm_provider="extractive",
        llm_model="",
        extractive=True,
        create_time=at,
        update_time=at,
        minutes={"summary": "决定上线", "action_items": [{"owner": "张伟", "due": "2026-03-08"}]},
        json_object_key=f"tenants/{tenant_id}/tasks/{task_id}/{artifact_id}.json",
        markdown_object_key=f"tenants/{tenant_id}/tasks/{task_id}/{artifact_id}.md",
    )


def test_artifacts_round_trip_and_page_newest_first(db: SqlDatabase) -> None:
    add_tasks(db, make_task("t1"), make_task("t2"))
    artifacts = [make_artifact(f"a{i}", at=T0 + timedelta(minutes=i)) for i in range(5)]
    with db.unit_of_work() as uow:
        for artifact in artifacts:
            uow.artifacts.add(artifact)
        uow.artifacts.add(make_artifact("a0", "t2"))  # ids are per task
        with pytest.raises(AlreadyExists):
            uow.artifacts.add(make_artifact("a0"))
        with pytest.raises(NotFound):
            uow.artifacts.add(make_artifact("x", tenant_id="globex"))
        uow.commit()

    with db.unit_of_work() as uow:
        assert uow.artifacts.get("acme", "t1", "a3") == artifacts[3]
        assert uow.artifacts.get("globex", "t1", "a3") is None
        first = uow.artifacts.list("acme", "t1", limit=3, cursor=None)
        rest = uow.artifacts.list("acme", "t1", limit=3, cursor=first.next_cursor)
        assert uow.artifacts.list("globex", "t1", limit=3, cursor=None).items == []
    assert [a.id for a in first.items + rest.items] == ["a4", "a3", "a2", "a1", "a0"]
    assert rest.next_cursor is None


def test_artifact_save_records_failure(db: SqlDatabase) -> None:
    add_tasks(db, make_task())
    generating = replace(make_artifact("a1"), state=ArtifactState.GENERATING, minutes=None)
    with db.unit_of_work() as uow:
        uow.artifacts.add(generating)
        uow.commit()
    failed = replace(
        generating, state=ArtifactState.FAILED, error=TaskError(8, "LLM_QUOTA", "quota exhausted")
    )
    with db.unit_of_work() as uow:
        uow.artifacts.save(failed)
        with pytest.raises(NotFound):
            uow.artifacts.save(replace(failed, tenant_id="globex"))
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.artifacts.get("acme", "t1", "a1") == failed


# ---------------------------------------------------------------- audit log


def make_usage(**changes: object) -> UsageRecord:
    record = UsageRecord(
        tenant_id="acme",
        user_id="alice",
        task_id="t1",
        provider="volcengine",
        model="bigmodel",
        operation="transcribe",
        labels={"team": "search"},
        audio_seconds=60.0,
        input_tokens=0,
        output_tokens=0,
        cost_amount=Decimal("0.1"),
        currency="CNY",
        succeeded=True,
        create_time=T0,
    )
    return replace(record, **changes)  # type: ignore[arg-type]


def test_audit_add_is_idempotent_per_tenant_and_call_key(db: SqlDatabase) -> None:
    with db.unit_of_work() as uow:
        assert uow.audit_logs.add(make_usage(), call_key="job-1/asr/0") is True
        assert (
            uow.audit_logs.add(make_usage(cost_amount=Decimal(9)), call_key="job-1/asr/0") is False
        )
        assert uow.audit_logs.add(make_usage(tenant_id="globex"), call_key="job-1/asr/0") is True
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.audit_logs.add(make_usage(), call_key="job-1/asr/0") is False
        totals = uow.audit_logs.aggregate("acme", start=T0, end=T0 + timedelta(days=1), group_by=[])
    assert len(totals) == 1
    assert (totals[0].call_count, totals[0].costs) == (1, {"CNY": Decimal("0.1")})


@pytest.fixture
def usage(db: SqlDatabase) -> SqlDatabase:
    day2 = T0 + timedelta(days=1)
    records = [
        make_usage(),
        make_usage(cost_amount=Decimal("0.2"), audio_seconds=30.5),
        make_usage(
            user_id="bob",
            labels={"team": "ads"},
            succeeded=False,
            cost_amount=Decimal(0),
            audio_seconds=0.0,
        ),
        make_usage(
            provider="gemini",
            model="flash",
            operation="minutes",
            audio_seconds=0.0,
            input_tokens=1000,
            output_tokens=200,
            cost_amount=Decimal("0.000123"),
            currency="USD",
            labels={},
        ),
        # 23:30 UTC on day 2, though 07:30 on day 3 in Beijing: the day is the UTC one.
        make_usage(create_time=(day2.replace(hour=23, minute=30)).astimezone(BEIJING)),
        make_usage(tenant_id="globex", cost_amount=Decimal(100)),
        make_usage(create_time=T0 + timedelta(days=5)),  # outside the window
    ]
    with db.unit_of_work() as uow:
        # The adapter also takes the call's latency and unit prices, which the port omits.
        audit_logs = SqlAuditLogRepository(uow.session)
        for i, record in enumerate(records):
            assert audit_logs.add(
                record,
                call_key=f"call-{i}",
                latency_ms=1200,
                unit_prices={"per_hour": Decimal("1.2")},
            )
        uow.commit()
    return db


def _aggregate(db: SqlDatabase, *group_by: str, **filters: str) -> list[tuple[object, ...]]:
    with db.unit_of_work() as uow:
        groups = uow.audit_logs.aggregate(
            "acme",
            start=T0.replace(hour=0),
            end=T0 + timedelta(days=3),
            group_by=list(group_by),
            **filters,
        )
    return [
        (
            g.provider,
            g.user_id,
            g.label_value,
            g.day,
            g.call_count,
            g.failed_call_count,
            g.audio_seconds,
            g.input_tokens,
            g.output_tokens,
            g.costs,
        )
        for g in groups
    ]


def test_audit_aggregates_by_provider_with_exact_costs_per_currency(usage: SqlDatabase) -> None:
    assert _aggregate(usage, "provider") == [
        ("gemini", "", "", "", 1, 0, 0.0, 1000, 200, {"USD": Decimal("0.000123")}),
        ("volcengine", "", "", "", 4, 1, 150.5, 0, 0, {"CNY": Decimal("0.4")}),
    ]


def test_audit_aggregates_by_user_and_day(usage: SqlDatabase) -> None:
    assert _aggregate(usage, "user", "day") == [
        (
            "",
            "alice",
            "",
            "2026-03-01",
            3,
            0,
            90.5,
            1000,
            200,
            {"CNY": Decimal("0.3"), "USD": Decimal("0.000123")},
        ),
        ("", "alice", "", "2026-03-02", 1, 0, 60.0, 0, 0, {"CNY": Decimal("0.1")}),
        ("", "bob", "", "2026-03-01", 1, 1, 0.0, 0, 0, {"CNY": Decimal(0)}),
    ]


def test_audit_aggregates_by_label_with_filters(usage: SqlDatabase) -> None:
    with usage.unit_of_work() as uow:
        groups = uow.audit_logs.aggregate(
            "acme",
            start=T0.replace(hour=0),
            end=T0 + timedelta(days=3),
            group_by=["label", "provider"],
            label_key="team",
        )
    assert [(g.label_value, g.provider, g.call_count) for g in groups] == [
        ("", "gemini", 1),
        ("ads", "volcengine", 1),
        ("search", "volcengine", 3),
    ]

    assert _aggregate(usage, "label", provider="volcengine", user_id="alice", label_key="team") == [
        ("", "", "search", "", 3, 0, 150.5, 0, 0, {"CNY": Decimal("0.4")}),
    ]


def test_audit_aggregate_rejects_unknown_dimensions(db: SqlDatabase) -> None:
    with db.unit_of_work() as uow:
        with pytest.raises(InvalidArgument):
            uow.audit_logs.aggregate("acme", start=T0, end=T0, group_by=["model"])
        with pytest.raises(InvalidArgument):
            uow.audit_logs.aggregate("acme", start=T0, end=T0, group_by=["label"])
