"""`ObjectStore` on Volcano Engine TOS, through the `tos` SDK (`tos.TosClientV2`).

Object URIs look like `tos://<bucket>/<key>`. Keys are checked with
`meeting_agent.domain.object_keys.validate_key` before any request, so they need no
escaping. The SDK's CRC-64 checks stay on: uploads compare the CRC TOS reports with
the one computed while sending, downloads compare at end of file (`TosObjectReader`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

import tos
from tos import TosClientV2
from tos.exceptions import TosClientError, TosServerError

from meeting_agent.adapters.storage.tos_errors import is_not_found, map_tos_errors, translate
from meeting_agent.adapters.storage.tos_io import TosObjectReader, TosObjectWriter, WriterLimits
from meeting_agent.config import TosSettings
from meeting_agent.domain.object_keys import normalize_prefix, validate_key
from meeting_agent.errors import InvalidArgument, Unavailable
from meeting_agent.ports import ObjectInfo, PresignedRequest

__all__ = ["SCHEME", "TosObjectStore", "build_tos_client"]

SCHEME = "tos"
INVALID_OBJECT_URI = "INVALID_OBJECT_URI"
# TOS lists at most 1000 keys a page.
_LIST_PAGE = 1000
# The SDK accepts longer lifetimes, but TOS refuses URLs valid for more than 7 days.
_MAX_PRESIGN_SECONDS = 7 * 24 * 3600


def build_tos_client(settings: TosSettings) -> TosClientV2:
    token = settings.security_token.get_secret_value() if settings.security_token else None
    return TosClientV2(
        ak=settings.access_key.get_secret_value(),
        sk=settings.secret_key.get_secret_value(),
        endpoint=settings.endpoint,
        region=settings.region,
        security_token=token,
        enable_crc=True,
        max_retry_count=settings.max_retry_count,
        connection_time=settings.connect_timeout_seconds,
        socket_timeout=settings.socket_timeout_seconds,
        dns_cache_time=settings.dns_cache_minutes,
        is_custom_domain=settings.is_custom_domain,
        proxy_host=settings.proxy_host,
        proxy_port=settings.proxy_port,
        # Content types are ours to set; guessing from the key would label audio uploads
        # (which have no extension) as octet streams anyway.
        auto_recognize_content_type=False,
    )


class TosObjectStore:
    """Objects in one TOS bucket; implements `meeting_agent.ports.ObjectStore`.

    SDK errors become domain errors (`tos_errors.translate`): a missing object is
    `NotFound` (reason `OBJECT_NOT_FOUND`), refused credentials and outages `Unavailable`.
    """

    def __init__(
        self, settings: TosSettings, *, max_object_bytes: int, client: TosClientV2 | None = None
    ) -> None:
        if max_object_bytes <= 0:
            raise ValueError("max_object_bytes must be positive")
        self._bucket = settings.bucket
        self._client = client or build_tos_client(settings)
        self._limits = WriterLimits(
            max_object_bytes=max_object_bytes,
            multipart_threshold=settings.multipart_threshold_bytes,
            part_size=settings.part_size_bytes,
            spool_memory=settings.spool_memory_bytes,
        )
        self._uri_prefix = f"{SCHEME}://{self._bucket}/"

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def scheme(self) -> str:
        return SCHEME

    @property
    def supports_presign(self) -> bool:
        return True

    def open_writer(self, key: str, *, content_type: str = "") -> TosObjectWriter:
        validate_key(key)
        return TosObjectWriter(
            self._client, self._bucket, key, content_type=content_type, limits=self._limits
        )

    def open_reader(self, key: str) -> BinaryIO:
        validate_key(key)
        try:
            output = self._client.get_object(self._bucket, key)
        except (TosClientError, TosServerError) as exc:
            raise translate(exc, "opening an object for reading", key=key) from exc
        size = int(output.content_length or 0)
        return _as_binary(TosObjectReader(output, key=key, size=size))

    def head(self, key: str) -> ObjectInfo | None:
        """Size of the object, or None; `sha256` stays None (TOS keeps CRC-64 and ETag)."""
        validate_key(key)
        try:
            output = self._client.head_object(self._bucket, key)
        except (TosClientError, TosServerError) as exc:
            if is_not_found(exc):
                return None
            raise translate(exc, "reading object metadata") from exc
        return ObjectInfo(key=key, size_bytes=int(output.content_length or 0))

    def delete(self, key: str) -> None:
        validate_key(key)
        try:
            self._client.delete_object(self._bucket, key)
        except (TosClientError, TosServerError) as exc:
            if is_not_found(exc):  # TOS answers 204 for absent keys; some gateways 404
                return
            raise translate(exc, "deleting an object") from exc

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix`; `a/b` and `a/b/` never touch `a/bc`."""
        # The keys are collected first: deleting while paging could shift what a
        # continuation token points at.
        keys = list(self.list_keys(normalize_prefix(prefix)))
        for key in keys:
            self.delete(key)
        return len(keys)

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Every key under `prefix`, in key order, a page at a time."""
        for info in self._list(prefix):
            yield info.key

    def list_objects(self, prefix: str) -> Iterator[ObjectInfo]:
        return self._list(normalize_prefix(prefix))

    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        token: str | None = None
        while True:
            with map_tos_errors("listing objects"):
                # list_only_once: without it the SDK walks every page before returning.
                page = self._client.list_objects_type2(
                    self._bucket,
                    prefix=prefix or None,
                    continuation_token=token,
                    max_keys=_LIST_PAGE,
                    list_only_once=True,
                )
            for item in page.contents:
                modified = item.last_modified
                yield ObjectInfo(
                    key=str(item.key),
                    size_bytes=int(item.size or 0),
                    modify_time=modified if isinstance(modified, datetime) else None,
                )
            token = page.next_continuation_token
            if not page.is_truncated or not token:
                return

    def presign_put(
        self, key: str, *, content_type: str, expires_in_seconds: int
    ) -> PresignedRequest:
        """A PUT URL whose signature covers the content type: the client must send it."""
        validate_key(key)
        expires = self._expires(expires_in_seconds)
        headers = {"Content-Type": content_type} if content_type else {}
        with map_tos_errors("signing an upload URL"):
            output = self._client.pre_signed_url(
                tos.HttpMethodType.Http_Method_Put,
                self._bucket,
                key,
                expires=expires,
                header=dict(headers),
                is_signed_all_headers=bool(headers),
            )
        return PresignedRequest(
            url=output.signed_url,
            method="PUT",
            headers=headers,
            expire_time=datetime.now(UTC) + timedelta(seconds=expires),
        )

    def presign_get(self, key: str, *, expires_in_seconds: int) -> str:
        validate_key(key)
        with map_tos_errors("signing a download URL"):
            output = self._client.pre_signed_url(
                tos.HttpMethodType.Http_Method_Get,
                self._bucket,
                key,
                expires=self._expires(expires_in_seconds),
            )
        url: str = output.signed_url
        return url

    def uri(self, key: str) -> str:
        return self._uri_prefix + validate_key(key)

    def key_from_uri(self, uri: str) -> str:
        if not uri.startswith(self._uri_prefix):
            raise InvalidArgument(
                f"object URI must start with {self._uri_prefix!r}", reason=INVALID_OBJECT_URI
            )
        try:
            return validate_key(uri[len(self._uri_prefix) :])
        except InvalidArgument as exc:
            raise InvalidArgument(
                f"object URI is not valid: {exc.message}", reason=INVALID_OBJECT_URI
            ) from exc

    def check(self) -> None:
        """Raise `Unavailable` unless the bucket answers an authenticated request.

        A one-key listing needs read access only, so the check writes nothing.
        """
        try:
            self._client.list_objects_type2(self._bucket, max_keys=1, list_only_once=True)
        except (TosClientError, TosServerError) as exc:
            error = translate(exc, "checking the bucket")
            if isinstance(error, Unavailable):
                raise error from exc
            raise Unavailable(error.message, reason=error.reason) from exc

    def _expires(self, seconds: int) -> int:
        if not 1 <= seconds <= _MAX_PRESIGN_SECONDS:
            raise InvalidArgument(
                f"presigned URL lifetime must be 1 to {_MAX_PRESIGN_SECONDS} seconds"
            )
        return seconds


def _as_binary(reader: TosObjectReader) -> BinaryIO:
    # BufferedReader gives callers readline, peek and cheap small reads.
    return io.BufferedReader(reader)
