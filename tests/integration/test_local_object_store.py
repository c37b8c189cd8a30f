"""LocalObjectStore against real files in a temporary directory."""

from __future__ import annotations

import hashlib
import os
import shutil
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from meeting_agent.adapters.storage.local import LocalObjectStore
from meeting_agent.domain.object_keys import artifact_key, task_prefix, upload_key
from meeting_agent.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from meeting_agent.ports import ObjectStore, iter_chunks

MiB = 1024 * 1024


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "objects"


@pytest.fixture
def store(root: Path) -> LocalObjectStore:
    return LocalObjectStore(root, max_object_bytes=128 * MiB)


def _put(store: LocalObjectStore, key: str, data: bytes) -> None:
    with store.open_writer(key) as writer:
        writer.write(data)
        writer.commit()


def _read(store: ObjectStore, key: str) -> bytes:
    with store.open_reader(key) as reader:
        return reader.read()


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


def test_implements_the_port(store: LocalObjectStore) -> None:
    port: ObjectStore = store
    assert port.scheme == "local"
    assert port.supports_presign is False


def test_constructor_creates_root(root: Path) -> None:
    LocalObjectStore(root / "deep" / "er", max_object_bytes=1)
    assert (root / "deep" / "er").is_dir()


def test_multi_chunk_round_trip(store: LocalObjectStore) -> None:
    chunks = [os.urandom(size) for size in (1, 4096, 65536, 0, 300_000, 7)]
    expected = b"".join(chunks)
    key = upload_key("acme", "u1")

    writer = store.open_writer(key, content_type="audio/wav")
    for chunk in chunks:
        writer.write(chunk)
    info = writer.commit()

    assert info.key == key
    assert info.size_bytes == len(expected)
    assert info.sha256 == hashlib.sha256(expected).hexdigest()
    assert writer.commit() == info  # repeated commit returns the same result
    writer.abort()  # abort after commit keeps the object
    assert _read(store, key) == expected
    assert store.head(key) is not None
    assert store.head(key) == type(info)(key=key, size_bytes=len(expected), sha256=None)


def test_overwrite_replaces_object(store: LocalObjectStore) -> None:
    _put(store, "a/b", b"old")
    _put(store, "a/b", b"new!")
    assert _read(store, "a/b") == b"new!"


def test_empty_object(store: LocalObjectStore) -> None:
    with store.open_writer("empty") as writer:
        info = writer.commit()
    assert info.size_bytes == 0
    assert info.sha256 == hashlib.sha256(b"").hexdigest()
    assert _read(store, "empty") == b""


def test_nothing_is_visible_before_commit(store: LocalObjectStore, root: Path) -> None:
    key = "tenants/acme/uploads/u1"
    writer = store.open_writer(key)
    writer.write(b"partial")
    assert store.head(key) is None
    with pytest.raises(NotFound) as info:
        store.open_reader(key)
    assert info.value.reason == "OBJECT_NOT_FOUND"
    # The bytes are in a temporary file that no key can name.
    (temp,) = _files(root)
    assert "~" in temp
    writer.commit()
    assert _files(root) == [key]


def test_abort_removes_temp_file_and_is_idempotent(store: LocalObjectStore, root: Path) -> None:
    writer = store.open_writer("a/b")
    writer.write(b"x" * 1000)
    writer.abort()
    writer.abort()
    assert _files(root) == []
    assert store.head("a/b") is None
    with pytest.raises(ValueError):
        writer.write(b"more")
    with pytest.raises(ValueError):
        writer.commit()


def test_abort_keeps_previous_version(store: LocalObjectStore) -> None:
    _put(store, "k", b"v1")
    with store.open_writer("k") as writer:
        writer.write(b"v2")
        writer.abort()
    assert _read(store, "k") == b"v1"


def test_context_manager_aborts_without_commit(store: LocalObjectStore, root: Path) -> None:
    with store.open_writer("a/b") as writer:
        writer.write(b"data")
    assert _files(root) == []

    with pytest.raises(RuntimeError), store.open_writer("a/c") as writer:
        writer.write(b"data")
        raise RuntimeError("caller failed mid-upload")
    assert _files(root) == []


def test_size_limit(root: Path) -> None:
    store = LocalObjectStore(root, max_object_bytes=10)
    with store.open_writer("exact") as writer:
        writer.write(b"12345")
        writer.write(b"67890")
        assert writer.commit().size_bytes == 10

    writer = store.open_writer("big")
    writer.write(b"123456")
    with pytest.raises(ResourceExhausted) as info:
        writer.write(b"12345")
    assert info.value.reason == "OBJECT_TOO_LARGE"
    assert _files(root) == ["exact"]  # the temp file is gone
    writer.abort()  # still safe
    with pytest.raises(ValueError):
        writer.write(b"1")
    assert store.head("big") is None


def test_memory_stays_bounded_for_a_large_object(store: LocalObjectStore) -> None:
    chunk = os.urandom(MiB)
    expected = hashlib.sha256()
    tracemalloc.start()
    try:
        with store.open_writer("big/object") as writer:
            for _ in range(64):
                writer.write(chunk)
                expected.update(chunk)
            info = writer.commit()
        actual = hashlib.sha256()
        with store.open_reader("big/object") as reader:
            for part in iter_chunks(reader):
                actual.update(part)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.size_bytes == 64 * MiB
    assert info.sha256 == expected.hexdigest() == actual.hexdigest()
    assert peak < 4 * MiB


@pytest.mark.parametrize(
    "key", ["../x", "a/../../b", "/etc/passwd", "a//b", "a\\b", ".", "..", "a\x00b", "", "a/"]
)
def test_traversal_keys_are_rejected_everywhere(
    store: LocalObjectStore, root: Path, key: str
) -> None:
    calls: list[Callable[[], object]] = [
        lambda: store.open_writer(key),
        lambda: store.open_reader(key),
        lambda: store.head(key),
        lambda: store.delete(key),
        lambda: store.uri(key),
        lambda: store.presign_put(key, content_type="audio/wav", expires_in_seconds=60),
    ]
    for call in calls:
        with pytest.raises(InvalidArgument) as info:
            call()
        assert info.value.reason == "INVALID_OBJECT_KEY"
    if key not in ("a/",):  # "a/" is a valid prefix spelling
        with pytest.raises(InvalidArgument):
            store.delete_prefix(key)
    assert list(root.iterdir()) == []
    assert list(root.parent.iterdir()) == [root]


def test_symlinked_directory_pointing_outside_is_rejected(
    store: LocalObjectStore, root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    (root / "tenants").symlink_to(outside, target_is_directory=True)

    calls: list[Callable[[], object]] = [
        lambda: store.open_reader("tenants/secret"),
        lambda: store.head("tenants/secret"),
        lambda: store.open_writer("tenants/new"),
        lambda: store.delete("tenants/secret"),
        lambda: store.delete_prefix("tenants/"),
    ]
    for call in calls:
        with pytest.raises(InvalidArgument) as info:
            call()
        assert info.value.reason == "INVALID_OBJECT_KEY"
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]


def test_symlinked_file_pointing_outside_is_rejected(
    store: LocalObjectStore, root: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "passwd"
    secret.write_bytes(b"root:x:0:0")
    (root / "leak").symlink_to(secret)
    with pytest.raises(InvalidArgument):
        store.open_reader("leak")
    with pytest.raises(InvalidArgument):
        store.open_writer("leak")
    assert secret.read_bytes() == b"root:x:0:0"


def test_symlink_inside_root_is_rejected_too(store: LocalObjectStore, root: Path) -> None:
    # A link to another tenant's directory would alias its objects.
    _put(store, "tenants/b/uploads/u1", b"b's audio")
    (root / "tenants" / "a").symlink_to(root / "tenants" / "b", target_is_directory=True)
    with pytest.raises(InvalidArgument):
        store.open_reader("tenants/a/uploads/u1")
    with pytest.raises(InvalidArgument):
        store.delete_prefix("tenants/a/")
    assert _read(store, "tenants/b/uploads/u1") == b"b's audio"


def test_delete(store: LocalObjectStore) -> None:
    _put(store, "a/b", b"1")
    store.delete("a/b")
    assert store.head("a/b") is None
    store.delete("a/b")  # absent: ignored
    store.delete("never/was/there")
    _put(store, "dir/obj", b"1")
    store.delete("dir")  # a prefix, not an object: ignored
    assert store.head("dir/obj") is not None


def test_delete_prefix(store: LocalObjectStore, root: Path) -> None:
    prefix = task_prefix("acme", "t1")
    keys = [
        artifact_key("acme", "t1", "a1", "md"),
        artifact_key("acme", "t1", "a1", "json"),
        prefix + "audio/0",
        prefix + "deep/er/still",
    ]
    for key in keys:
        _put(store, key, b"x")
    other_task = artifact_key("acme", "t10", "a1", "md")  # shares the string prefix ".../t1"
    _put(store, other_task, b"keep")
    pending = store.open_writer(prefix + "pending")  # a temp file, not an object
    pending.write(b"x")

    assert store.delete_prefix(prefix) == len(keys)
    assert not (root / prefix).exists()
    assert _read(store, other_task) == b"keep"
    assert store.delete_prefix(prefix) == 0
    assert store.delete_prefix("missing/prefix") == 0
    pending.abort()


def test_delete_prefix_without_trailing_slash_means_the_same_directory(
    store: LocalObjectStore,
) -> None:
    _put(store, "a/b/c", b"1")
    _put(store, "a/bc", b"2")
    assert store.delete_prefix("a/b") == 1
    assert store.head("a/bc") is not None
    assert store.delete_prefix("a/bc") == 0  # an object, not a prefix


def test_delete_prefix_refuses_the_whole_store(store: LocalObjectStore) -> None:
    _put(store, "a", b"1")
    for prefix in ("", "/"):
        with pytest.raises(InvalidArgument):
            store.delete_prefix(prefix)
    assert store.head("a") is not None


def test_key_conflict_between_object_and_prefix(store: LocalObjectStore) -> None:
    _put(store, "a/b", b"1")
    with pytest.raises(FailedPrecondition) as info:
        store.open_writer("a/b/c")
    assert info.value.reason == "OBJECT_KEY_CONFLICT"
    assert store.head("a/b/c") is None
    with pytest.raises(NotFound):
        store.open_reader("a/b/c")


def test_presign_is_unsupported(store: LocalObjectStore) -> None:
    with pytest.raises(FailedPrecondition) as info:
        store.presign_put("a/b", content_type="audio/wav", expires_in_seconds=600)
    assert info.value.reason == "PRESIGN_UNSUPPORTED"
    assert "UploadAudio" in info.value.message


@pytest.mark.parametrize("key", ["a", "tenants/a.40b/uploads/u-1", "x/.y/z_1.json"])
def test_uri_round_trip(store: LocalObjectStore, key: str) -> None:
    uri = store.uri(key)
    assert uri.startswith("local://")
    assert store.key_from_uri(uri) == key
    assert store.uri(store.key_from_uri(uri)) == uri


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "a/b",
        "tos://objects/a",
        "s3://objects/a",
        "local:/objects/a",
        "local:///a",
        "local://other/a",
        "LOCAL://objects/a",
        "local://objects/",
        "local://objects//a",
        "local://objects/../a",
        "local://objects/a/../../b",
        "local://objects/a%2Fb",
        "local://objects/a?x=1",
        "local://objects/a#f",
        "local://objects/a\n",
    ],
)
def test_key_from_uri_rejects_malformed(store: LocalObjectStore, uri: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        store.key_from_uri(uri)
    assert info.value.reason == "INVALID_OBJECT_URI"


def test_check_passes_on_a_healthy_root(store: LocalObjectStore, root: Path) -> None:
    store.check()
    assert list(root.iterdir()) == []  # the probe cleans up after itself


def test_check_fails_on_a_removed_root(store: LocalObjectStore, root: Path) -> None:
    shutil.rmtree(root)
    with pytest.raises(Unavailable) as info:
        store.check()
    assert info.value.reason == "OBJECT_STORE_UNAVAILABLE"
    # Writes do not silently recreate the root either.
    with pytest.raises(Unavailable):
        store.open_writer("a/b")
    assert not root.exists()


def test_check_fails_when_root_is_replaced_by_a_file(store: LocalObjectStore, root: Path) -> None:
    shutil.rmtree(root)
    root.write_bytes(b"")
    with pytest.raises(Unavailable):
        store.check()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_check_fails_on_a_read_only_root(store: LocalObjectStore, root: Path) -> None:
    root.chmod(0o500)
    try:
        with pytest.raises(Unavailable):
            store.check()
    finally:
        root.chmod(0o700)
