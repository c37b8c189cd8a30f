"""Object storage: the port for bytes kept by key, and the DTOs it answers with. Ports
are what the services need from infrastructure; the local directory and TOS stores in
`meeting_agent.adapters.storage` implement this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size_bytes: int
    sha256: str | None = None
    # When the object was last written; set by `list_objects`, None where unknown.
    modify_time: datetime | None = None


@dataclass(frozen=True)
class PresignedRequest:
    url: str
    method: str
    headers: dict[str, str]
    expire_time: datetime


class ObjectWriter(Protocol):
    """A streaming write. Nothing is visible under the key until `commit`."""

    def write(self, data: bytes) -> None: ...

    def commit(self) -> ObjectInfo:
        """Publish the object atomically and return its size and SHA-256."""
        ...

    def abort(self) -> None:
        """Discard what was written; safe to call after a failed `commit` or twice."""
        ...


class ObjectStore(Protocol):
    """Bytes by key. Keys are relative paths such as `tenants/acme/uploads/abc`.

    Adapters reject keys that are absolute or contain `..` with `InvalidArgument`.
    """

    @property
    def scheme(self) -> str:
        """URI scheme of this store's objects, for example "local" or "tos"."""
        ...

    @property
    def supports_presign(self) -> bool: ...

    def open_writer(self, key: str, *, content_type: str = "") -> ObjectWriter: ...

    def open_reader(self, key: str) -> BinaryIO:
        """A file-like reader; raises `NotFound` when the key is absent."""
        ...

    def head(self, key: str) -> ObjectInfo | None: ...

    def delete(self, key: str) -> None:
        """Delete one object; absent keys are ignored."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under a prefix; returns how many were deleted."""
        ...

    def list_objects(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object under a prefix (`a/b` and `a/b/` never list `a/bc`), with its
        size and `modify_time`, a page at a time."""
        ...

    def presign_put(
        self, key: str, *, content_type: str, expires_in_seconds: int
    ) -> PresignedRequest:
        """A URL to upload directly; raises `FailedPrecondition` where unsupported."""
        ...

    def presign_get(self, key: str, *, expires_in_seconds: int) -> str:
        """A URL to download the object, for vendors that fetch audio themselves;
        raises `FailedPrecondition` where unsupported."""
        ...

    def uri(self, key: str) -> str:
        """The URI callers use to name an object, `<scheme>://<bucket>/<key>`."""
        ...

    def key_from_uri(self, uri: str) -> str:
        """The key named by a URI of this store; raises `InvalidArgument` otherwise."""
        ...

    def check(self) -> None:
        """Raise `Unavailable` when the store cannot serve requests."""
        ...


def iter_chunks(reader: BinaryIO, size: int = 1024 * 1024) -> Iterator[bytes]:
    """Read a file-like object in chunks, so no caller holds a whole file in memory."""
    while chunk := reader.read(size):
        yield chunk
