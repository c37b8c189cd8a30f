"""UploadService with fakes: streamed uploads, checksums, sizes, limits and presigned URLs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest

from meeting_agent.domain import object_keys
from meeting_agent.domain.models import Principal, UploadState
from meeting_agent.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from meeting_agent.service.uploads import PRESIGNED_URL_TTL, UploadMetadata, UploadService
from tests.fakes import FakeClock, FakeDatabase, FakeObjectStore, FakeUnitOfWorkFactory

ALICE = Principal(tenant_id="acme", user_id="alice")
MALLORY = Principal(tenant_id="globex", user_id="mallory")
LIMIT = 1024
DATA = bytes(range(256)) * 3  # 768 bytes


@dataclass
class Env:
    db: FakeDatabase
    store: FakeObjectStore
    clock: FakeClock
    service: UploadService


def make_env(*, presign: bool = False) -> Env:
    db = FakeDatabase()
    clock = FakeClock()
    store = FakeObjectStore(supports_presign=presign, clock=clock)
    service = UploadService(FakeUnitOfWorkFactory(db), store, clock, max_upload_bytes=LIMIT)
    return Env(db, store, clock, service)


@pytest.fixture
def env() -> Env:
    return make_env()


def metadata(
    data: bytes = DATA, *, size: int | None = None, sha256: str | None = None
) -> UploadMetadata:
    return UploadMetadata(
        filename="会议.wav",
        content_type="audio/wav",
        size_bytes=len(data) if size is None else size,
        sha256=hashlib.sha256(data).hexdigest() if sha256 is None else sha256,
    )


def chunks(data: bytes, size: int = 100) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def assert_nothing_left(env: Env) -> None:
    assert env.store.objects == {}, "an object was left behind"
    assert env.db.uploads == {}, "an upload row was left behind"
    assert all(w.state != "open" for w in env.store.writers), "a writer was left open"


# ---------------------------------------------------------------- streamed uploads


def test_streamed_upload_with_matching_checksum_is_ready(env: Env) -> None:
    session = env.service.begin(ALICE, metadata())
    for chunk in chunks(DATA):
        session.write(chunk)

    upload = session.finish()

    assert upload.state is UploadState.READY
    assert upload.size_bytes == len(DATA)
    assert upload.sha256 == hashlib.sha256(DATA).hexdigest()
    assert (upload.tenant_id, upload.creator_id) == ("acme", "alice")
    assert upload.filename == "会议.wav"
    assert upload.task_id is None
    assert upload.create_time == env.clock.now()
    assert upload.object_key == object_keys.upload_key("acme", upload.id)
    assert env.store.data(upload.object_key) == DATA
    assert env.db.uploads[("acme", upload.id)] == upload
    assert env.service.get(ALICE, upload.id) == upload


def test_empty_file_with_its_checksum_is_accepted(env: Env) -> None:
    session = env.service.begin(ALICE, metadata(b""))

    upload = session.finish()

    assert upload.size_bytes == 0
    assert env.store.data(upload.object_key) == b""


def test_wrong_checksum_leaves_nothing(env: Env) -> None:
    session = env.service.begin(ALICE, metadata(sha256=hashlib.sha256(b"other").hexdigest()))
    for chunk in chunks(DATA):
        session.write(chunk)

    with pytest.raises(InvalidArgument) as info:
        session.finish()

    assert info.value.reason == "UPLOAD_CHECKSUM_MISMATCH"
    assert [v.field for v in info.value.violations] == ["metadata.sha256"]
    assert_nothing_left(env)


def test_too_many_bytes_fail_on_the_write_that_overflows(env: Env) -> None:
    session = env.service.begin(ALICE, metadata(size=len(DATA) - 1))
    *head, last = chunks(DATA)
    for chunk in head:
        session.write(chunk)

    with pytest.raises(InvalidArgument) as info:
        session.write(last)

    assert info.value.reason == "UPLOAD_SIZE_MISMATCH"
    assert [v.field for v in info.value.violations] == ["metadata.size_bytes"]
    assert_nothing_left(env)


def test_too_few_bytes_fail_on_finish(env: Env) -> None:
    session = env.service.begin(ALICE, metadata(size=len(DATA) + 1))
    for chunk in chunks(DATA):
        session.write(chunk)

    with pytest.raises(InvalidArgument) as info:
        session.finish()

    assert info.value.reason == "UPLOAD_SIZE_MISMATCH"
    assert_nothing_left(env)


def test_declared_size_over_the_limit_is_refused_before_any_write(env: Env) -> None:
    with pytest.raises(ResourceExhausted) as info:
        env.service.begin(ALICE, metadata(size=LIMIT + 1))

    assert info.value.reason == "UPLOAD_TOO_LARGE"
    assert info.value.metadata["limit_bytes"] == str(LIMIT)
    assert env.store.writers == []
    assert_nothing_left(env)


def test_declared_size_at_the_limit_is_accepted(env: Env) -> None:
    data = b"x" * LIMIT
    session = env.service.begin(ALICE, metadata(data))
    session.write(data)

    assert session.finish().size_bytes == LIMIT


def test_abort_leaves_nothing_and_may_be_repeated(env: Env) -> None:
    session = env.service.begin(ALICE, metadata())
    session.write(DATA[:100])

    session.abort()
    session.abort()

    assert [w.state for w in env.store.writers] == ["aborted"]
    assert_nothing_left(env)


def test_abort_after_a_failed_write_is_safe(env: Env) -> None:
    session = env.service.begin(ALICE, metadata(size=10))
    with pytest.raises(InvalidArgument):
        session.write(DATA)

    session.abort()

    assert_nothing_left(env)


def test_object_is_removed_when_the_row_cannot_be_written(env: Env) -> None:
    session = env.service.begin(ALICE, metadata())
    session.write(DATA)
    env.db.fail_next_commit = Unavailable("database went away")

    with pytest.raises(Unavailable):
        session.finish()

    assert_nothing_left(env)


def test_each_upload_gets_its_own_id_and_key(env: Env) -> None:
    ids = set()
    for _ in range(3):
        session = env.service.begin(ALICE, metadata())
        session.write(DATA)
        ids.add(session.finish().id)

    assert len(ids) == 3
    assert len(env.store.objects) == 3


def test_uploads_of_another_tenant_are_not_found(env: Env) -> None:
    session = env.service.begin(ALICE, metadata())
    session.write(DATA)
    upload = session.finish()

    with pytest.raises(NotFound):
        env.service.get(MALLORY, upload.id)


# ---------------------------------------------------------------- presigned uploads


def test_presign_on_a_store_without_it_is_refused_and_stores_nothing(env: Env) -> None:
    with pytest.raises(FailedPrecondition) as info:
        env.service.create_upload_url(ALICE, metadata())

    assert info.value.reason == "PRESIGN_UNSUPPORTED"
    assert_nothing_left(env)


def test_presign_creates_a_pending_upload() -> None:
    env = make_env(presign=True)

    upload, presigned = env.service.create_upload_url(ALICE, metadata())

    assert upload.state is UploadState.PENDING
    assert upload.object_key == object_keys.upload_key("acme", upload.id)
    assert env.db.uploads[("acme", upload.id)] == upload
    assert presigned.method == "PUT"
    assert upload.object_key in presigned.url
    assert presigned.expire_time == env.clock.now() + PRESIGNED_URL_TTL
    assert env.store.objects == {}, "no bytes exist until the client uploads them"


def test_presign_over_the_limit_is_refused() -> None:
    env = make_env(presign=True)

    with pytest.raises(ResourceExhausted):
        env.service.create_upload_url(ALICE, metadata(size=LIMIT + 1))

    assert env.store.presigned == []
    assert env.db.uploads == {}
