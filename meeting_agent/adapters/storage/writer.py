"""What every object store's writer does alike, whatever holds the bytes.

`StreamingObjectWriter` counts, hashes and caps the bytes and keeps the writer's states
(open, then committed or aborted); a store's writer says only where the bytes go.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Literal, Self

from meeting_agent.errors import ResourceExhausted
from meeting_agent.ports import ObjectInfo

__all__ = ["OBJECT_TOO_LARGE", "StreamingObjectWriter"]

OBJECT_TOO_LARGE = "OBJECT_TOO_LARGE"


class StreamingObjectWriter(ABC):
    """An `ObjectWriter` less its storage.

    As a context manager it aborts on exit unless committed. Exceeding `max_bytes`
    aborts the write and raises `ResourceExhausted` (reason `OBJECT_TOO_LARGE`).
    """

    def __init__(self, key: str, *, max_bytes: int) -> None:
        self._key = key
        self._max_bytes = max_bytes
        self._sha256 = hashlib.sha256()
        self._size = 0
        self._state: Literal["open", "committed", "aborted"] = "open"
        self._info: ObjectInfo | None = None

    @property
    def key(self) -> str:
        return self._key

    @property
    def size_bytes(self) -> int:
        """Bytes written so far."""
        return self._size

    def write(self, data: bytes) -> None:
        self._check_open()
        if self._size + len(data) > self._max_bytes:
            self.abort()
            raise ResourceExhausted(
                f"object is larger than the limit of {self._max_bytes} bytes",
                reason=OBJECT_TOO_LARGE,
                metadata={"limit_bytes": str(self._max_bytes)},
            )
        self._append(data)
        self._sha256.update(data)
        self._size += len(data)

    def commit(self) -> ObjectInfo:
        if self._info is not None:
            return self._info
        self._check_open()
        self._publish()
        self._state = "committed"
        self._info = ObjectInfo(
            key=self._key, size_bytes=self._size, sha256=self._sha256.hexdigest()
        )
        return self._info

    def abort(self) -> None:
        if self._state == "committed":
            return
        self._state = "aborted"
        self._discard()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._state != "committed":
            self.abort()

    def _check_open(self) -> None:
        if self._state != "open":
            # Like a closed file object: using a finished writer is a programming error.
            raise ValueError(f"object writer is {self._state}")

    @abstractmethod
    def _append(self, data: bytes) -> None:
        """Store the bytes after those written before; on failure abort and raise."""

    @abstractmethod
    def _publish(self) -> None:
        """Make what was written the object under the key; on failure abort and raise."""

    @abstractmethod
    def _discard(self) -> None:
        """Throw away what was written; never raises, and may run twice."""
