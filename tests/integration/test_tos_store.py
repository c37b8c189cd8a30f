"""`TosObjectStore` through the real `tos` SDK against the TOS-protocol server of the harness."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import httpx
import pytest

from meeting_agent.adapters.storage.tos_errors import (
    OBJECT_CHECKSUM_MISMATCH,
    OBJECT_STORE_ACCESS_DENIED,
    OBJECT_STORE_UNAVAILABLE,
)
from meeting_agent.adapters.storage.tos_store import TosObjectStore
from meeting_agent.config import TosSettings
from meeting_agent.errors import InvalidArgument, NotFound, ResourceExhausted, Unavailable
from tests.harness.tos import FakeTos

BUCKET = "meetings"
PART = 64 * 1024


def tos_settings(fake: FakeTos, **overrides: object) -> TosSettings:
    values: dict[str, object] = {
        "bucket": BUCKET,
        "region": fake.region,
        "endpoint": fake.endpoint,
        "access_key": fake.access_key,
        "secret_key": fake.secret_key,
        # The harness is the proxy for its own virtual hosts (see tests/harness/tos.py).
        "proxy_host": "127.0.0.1",
        "proxy_port": fake.port,
        "multipart_threshold_bytes": 2 * PART,
        "part_size_bytes": PART,
        "spool_memory_bytes": PART // 2,
        "max_retry_count": 0,
        "dns_cache_minutes": 0,
        **overrides,
    }
    return TosSettings.model_validate(values)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTos]:
    with FakeTos() as server:
        yield server


@pytest.fixture
def store(fake: FakeTos) -> Iterator[TosObjectStore]:
    fake.corrupt_crc = False
    yield TosObjectStore(tos_settings(fake), max_object_bytes=10 * PART)
    fake.buckets.clear()


def write(store: TosObjectStore, key: str, data: bytes, *, chunk: int = 10_000) -> None:
    with store.open_writer(key, content_type="audio/wav") as writer:
        for start in range(0, len(data), chunk):
            writer.write(data[start : start + chunk])
        info = writer.commit()
    assert info.size_bytes == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()


def test_small_object_round_trip_uses_one_put(store: TosObjectStore, fake: FakeTos) -> None:
    data = os.urandom(PART)
    fake.requests.clear()
    write(store, "tenants/t/uploads/small", data)
    assert [method for method, _ in fake.requests] == ["PUT"]
    with store.open_reader("tenants/t/uploads/small") as reader:
        assert reader.read() == data
    head = store.head("tenants/t/uploads/small")
    assert head is not None and head.size_bytes == len(data)
    assert fake.bucket(BUCKET)["tenants/t/uploads/small"].content_type == "audio/wav"


def test_multipart_round_trip(store: TosObjectStore, fake: FakeTos) -> None:
    data = os.urandom(5 * PART + 123)
    fake.requests.clear()
    write(store, "tenants/t/uploads/big", data, chunk=7_777)
    parts = [path for method, path in fake.requests if method == "PUT" and "partNumber" in path]
    assert len(parts) == 6
    assert not fake.uploads  # completed
    with store.open_reader("tenants/t/uploads/big") as reader:
        assert b"".join(iter(lambda: reader.read(10_000), b"")) == data


def test_empty_object(store: TosObjectStore) -> None:
    write(store, "tenants/t/empty", b"")
    with store.open_reader("tenants/t/empty") as reader:
        assert reader.read() == b""


def test_abort_discards_multipart_upload(store: TosObjectStore, fake: FakeTos) -> None:
    writer = store.open_writer("tenants/t/aborted")
    writer.write(os.urandom(3 * PART))
    assert fake.uploads
    writer.abort()
    assert not fake.uploads
    assert store.head("tenants/t/aborted") is None


def test_size_limit(store: TosObjectStore, fake: FakeTos) -> None:
    writer = store.open_writer("tenants/t/huge")
    with pytest.raises(ResourceExhausted):
        for _ in range(11):
            writer.write(b"x" * PART)
    assert not fake.uploads and store.head("tenants/t/huge") is None


def test_missing_object(store: TosObjectStore) -> None:
    with pytest.raises(NotFound) as raised:
        store.open_reader("tenants/t/missing")
    assert raised.value.reason == "OBJECT_NOT_FOUND"
    assert store.head("tenants/t/missing") is None
    store.delete("tenants/t/missing")


def test_delete_and_delete_prefix(store: TosObjectStore) -> None:
    for key in ("tenants/a/x", "tenants/a/y/z", "tenants/ab/x", "tenants/b/x"):
        write(store, key, b"data")
    store.delete("tenants/b/x")
    assert store.head("tenants/b/x") is None
    assert store.delete_prefix("tenants/a") == 2
    assert store.head("tenants/a/x") is None
    assert store.head("tenants/ab/x") is not None


def test_delete_prefix_pages(store: TosObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("meeting_agent.adapters.storage.tos_store._LIST_PAGE", 3)
    for index in range(8):
        write(store, f"tenants/p/{index}", b"d")
    assert sorted(store.list_keys("tenants/p/")) == [f"tenants/p/{i}" for i in range(8)]
    assert store.delete_prefix("tenants/p/") == 8


def test_presigned_put_then_get(store: TosObjectStore, fake: FakeTos) -> None:
    key = "tenants/t/uploads/presigned"
    request = store.presign_put(key, content_type="audio/ogg", expires_in_seconds=600)
    assert request.method == "PUT" and "X-Tos-Signature=" in request.url
    with httpx.Client(proxy=fake.proxy_url) as client:
        # The content type is signed: another one is refused.
        refused = client.put(request.url, content=b"x", headers={"Content-Type": "audio/wav"})
        assert refused.status_code == 403
        put = client.put(request.url, content=b"ogg bytes", headers=request.headers)
        assert put.status_code == 200, put.text
        fetched = client.get(store.presign_get(key, expires_in_seconds=600))
        assert fetched.content == b"ogg bytes"
        tampered = client.get(store.presign_get(key, expires_in_seconds=600) + "0")
        assert tampered.status_code == 403
    assert fake.bucket(BUCKET)[key].content_type == "audio/ogg"


def test_crc_mismatch_is_detected(store: TosObjectStore, fake: FakeTos) -> None:
    write(store, "tenants/t/crc", b"payload")
    fake.corrupt_crc = True
    with pytest.raises(Unavailable) as on_read, store.open_reader("tenants/t/crc") as reader:
        reader.read()
    assert on_read.value.reason == OBJECT_CHECKSUM_MISMATCH
    with pytest.raises(Unavailable) as on_write:
        write(store, "tenants/t/crc2", b"payload")
    assert on_write.value.reason == OBJECT_CHECKSUM_MISMATCH


def test_bad_credentials(fake: FakeTos) -> None:
    for overrides in ({"secret_key": "wrong"}, {"access_key": "AKNOBODY"}):
        store = TosObjectStore(tos_settings(fake, **overrides), max_object_bytes=PART)
        with pytest.raises(Unavailable) as raised:
            store.check()
        assert raised.value.reason == OBJECT_STORE_ACCESS_DENIED
        with pytest.raises(Unavailable) as raised:
            write(store, "tenants/t/denied", b"x")
        assert raised.value.reason == OBJECT_STORE_ACCESS_DENIED


def test_check(store: TosObjectStore, fake: FakeTos) -> None:
    store.check()
    unreachable = TosObjectStore(
        tos_settings(fake, proxy_port=1, connect_timeout_seconds=1), max_object_bytes=PART
    )
    with pytest.raises(Unavailable) as raised:
        unreachable.check()
    assert raised.value.reason == OBJECT_STORE_UNAVAILABLE


def test_uris_and_keys(store: TosObjectStore) -> None:
    assert store.uri("tenants/t/x") == f"tos://{BUCKET}/tenants/t/x"
    assert store.key_from_uri(f"tos://{BUCKET}/tenants/t/x") == "tenants/t/x"
    for bad in ("tos://other/tenants/t/x", f"tos://{BUCKET}/../x", "local://objects/x"):
        with pytest.raises(InvalidArgument):
            store.key_from_uri(bad)
    with pytest.raises(InvalidArgument):
        store.open_writer("../escape")
