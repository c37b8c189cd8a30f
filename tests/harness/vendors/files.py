"""A test `AudioPublisher`: files served over HTTP on 127.0.0.1 behind a fake signature.

Stands in for the object store's presigned GET URLs, so a fake vendor can download the
audio it was given a URL for, as the real one does. The signature is a secret like a
real one: tests check that it never reaches logs or errors.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from pathlib import Path

from tests.harness.vendors.http_fake import FakeVendor, Recorded, Reply

SIGNATURE = "tos-signature-do-not-log-7f3a"


class LocalAudioPublisher(FakeVendor):
    """Publishes files into `directory` and serves them at signed URLs."""

    def __init__(self, directory: Path, *, signature: str = SIGNATURE) -> None:
        super().__init__()
        self._directory = directory
        self._signature = signature
        self._files: dict[str, tuple[Path, str]] = {}
        self._files_lock = threading.Lock()
        self._owners: dict[str, str] = {}
        self.published: list[str] = []
        self.withdrawn: list[str] = []
        self.downloads = 0

    def publish(self, path: Path, *, content_type: str, name: str, owner: str) -> str:
        token = uuid.uuid4().hex
        stored = self._directory / token
        shutil.copyfile(path, stored)
        with self._files_lock:
            self._files[token] = (stored, content_type)
            self._owners[token] = owner
            self.published.append(name)
        return (
            f"{self.base_url}/audio/{token}/{name}"
            f"?X-Tos-Expires=900&X-Tos-Signature={self._signature}"
        )

    def withdraw(self, owner: str) -> int:
        with self._files_lock:
            tokens = [t for t, o in self._owners.items() if o == owner]
            for token in tokens:
                stored, _ = self._files.pop(token)
                del self._owners[token]
                stored.unlink(missing_ok=True)
            self.withdrawn.extend([owner] * len(tokens))
        return len(tokens)

    def live(self) -> list[str]:
        """Owners of what is still published (one entry per object)."""
        with self._files_lock:
            return sorted(self._owners.values())

    def handle(self, request: Recorded) -> Reply:
        parts = request.path.strip("/").split("/")
        if request.method != "GET" or len(parts) != 3 or parts[0] != "audio":
            return Reply(404)
        if request.query.get("X-Tos-Signature") != self._signature:
            return Reply(403)
        with self._files_lock:
            entry = self._files.get(parts[1])
            if entry is not None:
                self.downloads += 1
        if entry is None:
            return Reply(404)
        stored, content_type = entry
        return Reply(200, {"Content-Type": content_type}, stored.read_bytes())
