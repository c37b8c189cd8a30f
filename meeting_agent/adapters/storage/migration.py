"""Copying every object of the local store into another store (`migrate-files`).

Each object is streamed from its file into the target's writer; the SHA-256 of what was
read must equal the one the writer computed over what it sent (which TOS confirmed by
CRC-64), and the target's size must equal the file's. Verified copies are appended to a
state file (one JSON line each), so a re-run skips them once the target still holds an
object of that size: an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from meeting_agent.adapters.storage.local import LocalObjectStore
from meeting_agent.domain.object_keys import validate_key
from meeting_agent.errors import InvalidArgument, MeetingAgentError
from meeting_agent.ports import ObjectStore

__all__ = ["CopyOutcome", "MigrationReport", "SourceObject", "StateFile", "copy_all", "scan"]

_CHUNK = 1024 * 1024
# The local store's temporary files (see local.py); never objects.
_TEMP_PREFIX = ".~"


@dataclass(frozen=True)
class SourceObject:
    key: str
    path: Path
    size: int


@dataclass(frozen=True)
class CopyOutcome:
    key: str
    size: int
    status: Literal["copied", "skipped", "failed", "planned"]
    sha256: str = ""
    error: str = ""


@dataclass
class MigrationReport:
    outcomes: list[CopyOutcome] = field(default_factory=list)
    invalid_paths: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def bytes_total(self) -> int:
        return sum(outcome.size for outcome in self.outcomes)

    @property
    def failed(self) -> list[CopyOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]


def scan(root: Path, report: MigrationReport) -> list[SourceObject]:
    """Every object under the local store's root, in key order."""
    objects: list[SourceObject] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath, name)
            relative = path.relative_to(root).as_posix()
            if name.startswith(_TEMP_PREFIX) or path.is_symlink() or not path.is_file():
                continue
            try:
                key = validate_key(relative)
            except InvalidArgument:
                # Not written by the store (it validates every key): reported, not copied.
                report.invalid_paths.append(relative)
                continue
            objects.append(SourceObject(key, path, path.stat().st_size))
    return sorted(objects, key=lambda item: item.key)


class StateFile:
    """Verified copies, one JSON line each; safe to append to from several threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.done: dict[str, tuple[int, str]] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                    self.done[entry["key"]] = (int(entry["size"]), str(entry["sha256"]))
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by the interruption

    def record(self, key: str, size: int, sha256: str) -> None:
        line = json.dumps({"key": key, "size": size, "sha256": sha256}) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as file:
                file.write(line)
                file.flush()
                os.fsync(file.fileno())
            self.done[key] = (size, sha256)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def copy_one(
    source: LocalObjectStore, target: ObjectStore, item: SourceObject, state: StateFile
) -> CopyOutcome:
    try:
        recorded = state.done.get(item.key)
        if recorded is not None and recorded[0] == item.size:
            head = target.head(item.key)
            if (
                head is not None
                and head.size_bytes == item.size
                and (recorded[1] == _sha256_of(item.path))
            ):
                return CopyOutcome(item.key, item.size, "skipped", recorded[1])
        digest = hashlib.sha256()
        writer = target.open_writer(item.key)
        try:
            with source.open_reader(item.key) as reader:
                for chunk in iter(lambda: reader.read(_CHUNK), b""):
                    digest.update(chunk)
                    writer.write(chunk)
            info = writer.commit()
        except BaseException:
            writer.abort()
            raise
        local_sha = digest.hexdigest()
        if info.sha256 != local_sha or info.size_bytes != item.size:
            return CopyOutcome(
                item.key, item.size, "failed", local_sha, "the file changed while it was copied"
            )
        head = target.head(item.key)
        if head is None or head.size_bytes != item.size:
            return CopyOutcome(
                item.key, item.size, "failed", local_sha, "the target reports another size"
            )
        state.record(item.key, item.size, local_sha)
        return CopyOutcome(item.key, item.size, "copied", local_sha)
    except MeetingAgentError as exc:
        return CopyOutcome(item.key, item.size, "failed", error=f"{exc.reason}: {exc.message}")
    except OSError as exc:
        return CopyOutcome(item.key, item.size, "failed", error=str(exc))


def copy_all(
    source: LocalObjectStore,
    target: ObjectStore,
    objects: list[SourceObject],
    state: StateFile,
    *,
    concurrency: int,
    on_done: Callable[[CopyOutcome], None],
) -> Iterator[CopyOutcome]:
    """Copy on `concurrency` threads; yields each outcome as it completes."""
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="migrate") as pool:
        for outcome in pool.map(lambda item: copy_one(source, target, item, state), objects):
            on_done(outcome)
            yield outcome
