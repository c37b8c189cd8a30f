"""Sweeps of what this service may have left at a vendor (`LeftoverSweep`).

Tasks delete their uploads themselves (`VendorFiles.release`); these catch the rest: a
worker killed between an upload and its checkpoint, a DELETE that failed, a task
deleted while queued with a file from an earlier attempt.

- `GeminiFileSweep`: every configured key's project is listed with `files.list`
  (`GET /v1beta/files`, `pageSize` ≤ 100, `{files, nextPageToken}`;
  ai.google.dev/api/rest/v1beta/files/list), and files whose `displayName` carries
  our prefix and whose `createTime` is older than the limit are deleted with that key.
  Files of anyone else in the project are never touched.
- `ProviderAudioSweep`: audio published for URL-only vendors (`provider-audio/` in our
  object store) older than the lifetime of its presigned URLs, past which no vendor
  can fetch it anyway.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

from meeting_agent.adapters.providers._gemini_client import GeminiClient
from meeting_agent.adapters.providers.calls import ApiKey, VendorError
from meeting_agent.adapters.providers.gemini import FILE_DISPLAY_PREFIX
from meeting_agent.adapters.providers.published_audio import (
    PROVIDER_AUDIO_PREFIX,
    PROVIDER_AUDIO_URL_SECONDS,
)
from meeting_agent.errors import MeetingAgentError
from meeting_agent.ports import ObjectStore

__all__ = ["GeminiFileSweep", "ProviderAudioSweep"]

logger = logging.getLogger(__name__)

# RFC 3339 with up to nanoseconds ("2024-04-19T10:00:00.123456789Z"); Python takes
# microseconds at most.
_FRACTION = re.compile(r"(\.\d{6})\d+")


class GeminiFileSweep:
    """Deletes our Gemini Files API uploads older than `max_age_seconds`, per project."""

    def __init__(
        self,
        client: GeminiClient,
        *,
        max_age_seconds: float,
        display_prefix: str = FILE_DISPLAY_PREFIX,
    ) -> None:
        self._client = client
        self._max_age = timedelta(seconds=max_age_seconds)
        self._prefix = display_prefix

    @property
    def name(self) -> str:
        return f"{self._client.name}-files"

    def sweep(self, now: datetime) -> int:
        deleted = 0
        for key in self._client.pool.keys:
            try:
                doomed = self._stale(key, now)
            except (VendorError, MeetingAgentError) as exc:
                # One project unreachable or its key revoked: the others still get swept.
                logger.warning(
                    "%s: could not list the files of %s: %s", self.name, key.fingerprint, exc
                )
                continue
            deleted += sum(self._client.delete_file(key, name) for name in doomed)
        return deleted

    def _stale(self, key: ApiKey, now: datetime) -> list[str]:
        """Names of our files older than the limit, collected before any is deleted
        (deleting while paging could shift what a page token points at)."""
        doomed: list[str] = []
        token = ""
        while True:
            files, token = self._client.list_files(key, page_token=token)
            for file in files:
                created = _timestamp(str(file.get("createTime") or ""))
                if (
                    str(file.get("displayName") or "").startswith(self._prefix)
                    and file.get("name")
                    and created is not None
                    and now - created > self._max_age
                ):
                    doomed.append(str(file["name"]))
            if not token:
                return doomed


class ProviderAudioSweep:
    """Deletes audio published for URL-only vendors once its URLs have expired."""

    def __init__(
        self, store: ObjectStore, *, max_age_seconds: float = PROVIDER_AUDIO_URL_SECONDS
    ) -> None:
        self._store = store
        self._max_age = timedelta(seconds=max_age_seconds)

    @property
    def name(self) -> str:
        return "provider-audio"

    def sweep(self, now: datetime) -> int:
        doomed = [
            info.key
            for info in self._store.list_objects(PROVIDER_AUDIO_PREFIX)
            if info.modify_time is not None and now - info.modify_time > self._max_age
        ]
        for key in doomed:
            self._store.delete(key)
        return len(doomed)


def _timestamp(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(_FRACTION.sub(r"\1", value.replace("Z", "+00:00")))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
