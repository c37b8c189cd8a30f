"""Audio published for URL-only vendors (Volcano Engine's standard variant) as presigned
objects of our store, and withdrawn when the task is done with it."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from meeting_agent.ports import ObjectStore

__all__ = ["PROVIDER_AUDIO_PREFIX", "PROVIDER_AUDIO_URL_SECONDS", "StoreAudioPublisher"]

PROVIDER_AUDIO_PREFIX = "provider-audio/"
PROVIDER_AUDIO_URL_SECONDS = 24 * 3600
_SAFE_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


class StoreAudioPublisher:
    """Publishes audio for URL-only vendors through the object store's presigned GETs.

    Objects live under `provider-audio/<owner>/`, named by content hash: a retried job
    of the same task publishes the same object again instead of a new one, and two
    tasks with the same audio never share one, so `withdraw` (when a task is done with
    it) cannot pull audio from under another. What a withdraw misses the sweep
    (`ProviderAudioSweep`) deletes once its URLs have expired.
    """

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def publish(self, path: Path, *, content_type: str, name: str, owner: str) -> str:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        suffix = Path(name).suffix or ".bin"
        key = f"{_owner_prefix(owner)}{digest.hexdigest()}{suffix}"
        if self._store.head(key) is None:
            writer = self._store.open_writer(key, content_type=content_type)
            try:
                with path.open("rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        writer.write(block)
                writer.commit()
            except BaseException:
                writer.abort()
                raise
        return self._store.presign_get(key, expires_in_seconds=PROVIDER_AUDIO_URL_SECONDS)

    def withdraw(self, owner: str) -> int:
        return self._store.delete_prefix(_owner_prefix(owner))


def _owner_prefix(owner: str) -> str:
    """One key segment per owner: a task id as is, anything else by its hash."""
    segment = (
        owner if _SAFE_OWNER.fullmatch(owner) else hashlib.sha256(owner.encode()).hexdigest()[:32]
    )
    return f"{PROVIDER_AUDIO_PREFIX}{segment}/"
