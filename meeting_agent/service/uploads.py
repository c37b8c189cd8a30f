"""Storing meeting audio: streamed uploads and presigned direct uploads."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from meeting_agent import reasons
from meeting_agent.domain import object_keys
from meeting_agent.domain.models import Principal, Upload, UploadState
from meeting_agent.errors import InvalidArgument, NotFound, ResourceExhausted
from meeting_agent.ports import (
    Clock,
    ObjectStore,
    ObjectWriter,
    PresignedRequest,
    UnitOfWorkFactory,
)
from meeting_agent.service.common import new_id

PRESIGNED_URL_TTL = timedelta(minutes=15)


@dataclass(frozen=True)
class UploadMetadata:
    """What a client declares before sending a file; already checked for shape."""

    filename: str
    content_type: str
    size_bytes: int
    sha256: str


class UploadSession:
    """One file being streamed in. Call `finish` once all chunks are written, or `abort`."""

    def __init__(
        self, service: UploadService, principal: Principal, metadata: UploadMetadata
    ) -> None:
        self._service = service
        self._principal = principal
        self._metadata = metadata
        self._upload_id = new_id()
        self._key = object_keys.upload_key(principal.tenant_id, self._upload_id)
        self._writer: ObjectWriter = service.store.open_writer(
            self._key, content_type=metadata.content_type
        )
        self._received = 0
        self._closed = False

    def write(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received > self._metadata.size_bytes:
            self.abort()
            raise InvalidArgument.field(
                "metadata.size_bytes",
                f"more bytes arrived than the declared {self._metadata.size_bytes}",
                reason=reasons.UPLOAD_SIZE_MISMATCH,
            )
        self._writer.write(chunk)

    def finish(self) -> Upload:
        meta = self._metadata
        if self._received != meta.size_bytes:
            self.abort()
            raise InvalidArgument.field(
                "metadata.size_bytes",
                f"declared {meta.size_bytes} bytes but received {self._received}",
                reason=reasons.UPLOAD_SIZE_MISMATCH,
            )
        info = self._writer.commit()
        self._closed = True
        if info.sha256 is None or not hmac.compare_digest(info.sha256, meta.sha256):
            self._service.store.delete(self._key)
            raise InvalidArgument.field(
                "metadata.sha256",
                "does not match the SHA-256 of the received bytes",
                reason=reasons.UPLOAD_CHECKSUM_MISMATCH,
            )
        upload = Upload(
            id=self._upload_id,
            tenant_id=self._principal.tenant_id,
            creator_id=self._principal.user_id,
            filename=meta.filename,
            content_type=meta.content_type,
            size_bytes=meta.size_bytes,
            sha256=meta.sha256,
            object_key=self._key,
            state=UploadState.READY,
            create_time=self._service.clock.now(),
        )
        try:
            with self._service.uow_factory() as uow:
                uow.uploads.add(upload)
                uow.commit()
        except BaseException:
            # Without its row nobody can reach the object; don't leave it behind.
            self._service.store.delete(self._key)
            raise
        return upload

    def abort(self) -> None:
        if not self._closed:
            self._closed = True
            self._writer.abort()


class UploadService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        store: ObjectStore,
        clock: Clock,
        *,
        max_upload_bytes: int,
    ) -> None:
        self.uow_factory = uow_factory
        self.store = store
        self.clock = clock
        self.max_upload_bytes = max_upload_bytes

    def _check_size(self, metadata: UploadMetadata) -> None:
        if metadata.size_bytes > self.max_upload_bytes:
            raise ResourceExhausted(
                f"file of {metadata.size_bytes} bytes exceeds the limit of "
                f"{self.max_upload_bytes} bytes",
                reason=reasons.UPLOAD_TOO_LARGE,
                metadata={"limit_bytes": str(self.max_upload_bytes)},
            )

    def begin(self, principal: Principal, metadata: UploadMetadata) -> UploadSession:
        self._check_size(metadata)
        return UploadSession(self, principal, metadata)

    def get(self, principal: Principal, upload_id: str) -> Upload:
        with self.uow_factory(read_only=True) as uow:
            upload = uow.uploads.get(principal.tenant_id, upload_id)
        if upload is None:
            raise NotFound(f"uploads/{upload_id}")
        return upload

    def create_upload_url(
        self, principal: Principal, metadata: UploadMetadata
    ) -> tuple[Upload, PresignedRequest]:
        self._check_size(metadata)
        upload_id = new_id()
        key = object_keys.upload_key(principal.tenant_id, upload_id)
        # Raises FailedPrecondition on stores that cannot presign, before any row exists.
        presigned = self.store.presign_put(
            key,
            content_type=metadata.content_type,
            expires_in_seconds=int(PRESIGNED_URL_TTL.total_seconds()),
        )
        upload = Upload(
            id=upload_id,
            tenant_id=principal.tenant_id,
            creator_id=principal.user_id,
            filename=metadata.filename,
            content_type=metadata.content_type,
            size_bytes=metadata.size_bytes,
            sha256=metadata.sha256,
            object_key=key,
            state=UploadState.PENDING,
            create_time=self.clock.now(),
        )
        with self.uow_factory() as uow:
            uow.uploads.add(upload)
            uow.commit()
        return upload, presigned
