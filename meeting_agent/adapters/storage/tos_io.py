"""Streaming reads and writes of TOS objects, used by `TosObjectStore`.

`TosObjectWriter` buffers what it is given in a spool (memory, then a temporary file)
and decides at the threshold: an object that ends below it goes up in one `put_object`
on commit; once the spool passes it, a multipart upload starts and every full part is
sent as it fills. At most one part (or the single-PUT body) is in memory at a time;
bytes, not file objects, go to the SDK so that its retries can resend them.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from collections.abc import Callable
from typing import Any

from tos import TosClientV2
from tos.exceptions import TosClientError, TosServerError

from meeting_agent.adapters.storage.tos_errors import map_tos_errors, translate
from meeting_agent.adapters.storage.writer import StreamingObjectWriter

__all__ = ["TosObjectReader", "TosObjectWriter", "WriterLimits"]

logger = logging.getLogger(__name__)


class WriterLimits:
    """The sizes a writer works with (from `TosSettings` and the store's size limit)."""

    def __init__(
        self, *, max_object_bytes: int, multipart_threshold: int, part_size: int, spool_memory: int
    ) -> None:
        self.max_object_bytes = max_object_bytes
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.spool_memory = spool_memory


class TosObjectWriter(StreamingObjectWriter):
    """A streaming write of one TOS object; implements `meeting_agent.ports.ObjectWriter`.

    Nothing is visible under the key until `commit`: a single PUT happens there, and a
    multipart upload only becomes an object when it is completed. `abort` (also on
    leaving a `with` block uncommitted) discards the spool and aborts the multipart upload.
    """

    def __init__(
        self, client: TosClientV2, bucket: str, key: str, *, content_type: str, limits: WriterLimits
    ) -> None:
        super().__init__(key, max_bytes=limits.max_object_bytes)
        self._client = client
        self._bucket = bucket
        self._content_type = content_type or None
        self._limits = limits
        self._spool = self._new_spool()
        self._spooled = 0
        self._upload_id: str | None = None
        self._parts: list[Any] = []

    def _append(self, data: bytes) -> None:
        self._guard(self._spool_bytes, data)

    def _publish(self) -> None:
        if self._upload_id is None:
            self._guard(self._put_single)
        else:
            self._guard(self._complete_multipart)
        self._close_spool()

    def _discard(self) -> None:
        self._close_spool()
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            try:
                self._client.abort_multipart_upload(self._bucket, self._key, upload_id)
            except (TosClientError, TosServerError) as exc:
                # abort runs on error paths; raising would hide the error being handled.
                # A lifecycle rule on the bucket removes parts of forgotten uploads.
                logger.warning(
                    "could not abort multipart upload of an object: %s",
                    translate(exc, "aborting a multipart upload").message,
                )

    # ------------------------------------------------------------ internals

    def _new_spool(self) -> tempfile.SpooledTemporaryFile[bytes]:
        return tempfile.SpooledTemporaryFile(max_size=self._limits.spool_memory)

    def _close_spool(self) -> None:
        with contextlib.suppress(OSError):
            self._spool.close()

    def _guard(self, step: Callable[..., None], *args: Any) -> None:
        """Run one step; on any failure abort the whole write and raise a domain error."""
        try:
            step(*args)
        except (TosClientError, TosServerError) as exc:
            self.abort()
            raise translate(exc, "writing an object") from exc
        except BaseException:
            self.abort()
            raise

    def _spool_bytes(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._upload_id is None:
                self._spool.write(view)
                self._spooled += len(view)
                if self._spooled > self._limits.multipart_threshold:
                    self._start_multipart()
                return
            room = self._limits.part_size - self._spooled
            self._spool.write(view[:room])
            self._spooled += min(room, len(view))
            view = view[room:]
            if self._spooled == self._limits.part_size and view:
                # Sent only when more follows: the final part is sent by `commit`.
                self._send_spooled_part()

    def _start_multipart(self) -> None:
        output = self._client.create_multipart_upload(
            self._bucket, self._key, content_type=self._content_type
        )
        self._upload_id = output.upload_id
        # The spool holds more than the threshold: send it in parts, keep the remainder.
        self._spool.seek(0)
        remaining = self._spooled
        tail = b""
        while remaining > 0:
            chunk = self._spool.read(min(self._limits.part_size, remaining))
            remaining -= len(chunk)
            if remaining == 0 and len(chunk) <= self._limits.part_size:
                tail = chunk
                break
            self._upload_part(chunk)
        self._spool.close()
        self._spool = self._new_spool()
        self._spool.write(tail)
        self._spooled = len(tail)

    def _send_spooled_part(self) -> None:
        self._spool.seek(0)
        self._upload_part(self._spool.read())
        self._spool.close()
        self._spool = self._new_spool()
        self._spooled = 0

    def _upload_part(self, chunk: bytes) -> None:
        assert self._upload_id is not None
        part = self._client.upload_part(
            self._bucket,
            self._key,
            self._upload_id,
            len(self._parts) + 1,
            content_length=len(chunk),
            content=chunk,
        )
        self._parts.append(part)

    def _put_single(self) -> None:
        self._spool.seek(0)
        body = self._spool.read()
        self._client.put_object(
            self._bucket,
            self._key,
            content_length=len(body),
            content_type=self._content_type,
            content=body,
        )

    def _complete_multipart(self) -> None:
        assert self._upload_id is not None
        if self._spooled:
            self._send_spooled_part()
        self._client.complete_multipart_upload(
            self._bucket, self._key, self._upload_id, parts=self._parts
        )
        self._upload_id = None


class TosObjectReader(io.RawIOBase):
    """A file-like view of a `get_object` response body.

    The SDK compares the CRC-64 of what it received with TOS's only when a read returns
    end of file; a caller that stops after exactly `size` bytes would skip that check,
    so the reader makes the final read itself once the size is reached.
    """

    def __init__(self, output: Any, *, key: str, size: int) -> None:
        super().__init__()
        self._output = output
        self._key = key
        self._size = size
        self._position = 0
        self._buffer = b""
        self._finished = False

    def readable(self) -> bool:
        return True

    @property
    def size_bytes(self) -> int:
        return self._size

    def readinto(self, buffer: Any) -> int:
        wanted = len(buffer)
        if not self._buffer and not self._finished:
            self._buffer = self._next(wanted)
        chunk, self._buffer = self._buffer[:wanted], self._buffer[wanted:]
        buffer[: len(chunk)] = chunk
        self._position += len(chunk)
        if self._position >= self._size and not self._buffer and not self._finished:
            self._finish()
        return len(chunk)

    def _next(self, wanted: int) -> bytes:
        with map_tos_errors("reading an object", key=self._key):
            data: bytes = self._output.read(max(wanted, 1))
        if not data:
            self._finished = True
            if self._position < self._size:
                raise translate(
                    TosClientError("connection closed before the whole object was read"),
                    "reading an object",
                )
        return data

    def _finish(self) -> None:
        # The end-of-file read runs the SDK's CRC comparison.
        extra = self._next(1)
        if extra:
            raise translate(
                TosClientError("object is longer than its announced size"), "reading an object"
            )

    def close(self) -> None:
        if not self.closed:
            # Releases the pooled connection of a body that was not read to the end.
            with contextlib.suppress(Exception):
                self._output.resp.resp.close()
        super().close()
