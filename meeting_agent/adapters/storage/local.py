"""`ObjectStore` on a local directory: one file per key under a root directory.

Objects are written to a temporary file next to their final path and renamed into
place on commit, so readers see either the old object, the new one, or none. Object
URIs look like `local://objects/<key>`.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from meeting_agent.adapters.storage.writer import StreamingObjectWriter
from meeting_agent.domain.object_keys import INVALID_OBJECT_KEY, normalize_prefix, validate_key
from meeting_agent.errors import (
    FailedPrecondition,
    InvalidArgument,
    MeetingAgentError,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from meeting_agent.ports import ObjectInfo, PresignedRequest

__all__ = ["LocalObjectStore"]

logger = logging.getLogger(__name__)

SCHEME = "local"
URI_PREFIX = f"{SCHEME}://objects/"

INVALID_OBJECT_URI = "INVALID_OBJECT_URI"
OBJECT_NOT_FOUND = "OBJECT_NOT_FOUND"
OBJECT_KEY_CONFLICT = "OBJECT_KEY_CONFLICT"
OBJECT_STORE_FULL = "OBJECT_STORE_FULL"
OBJECT_STORE_UNAVAILABLE = "OBJECT_STORE_UNAVAILABLE"
PRESIGN_UNSUPPORTED = "PRESIGN_UNSUPPORTED"

# '~' is not allowed in keys, so no key can ever name (and read half of) a temporary file.
_TEMP_PREFIX = ".~"
_TEMP_SUFFIX = ".tmp"


def _translate(exc: OSError, action: str) -> MeetingAgentError:
    """The domain error for a filesystem failure; the path stays out of the message."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ResourceExhausted(
            f"object store is out of space while {action}", reason=OBJECT_STORE_FULL
        )
    if isinstance(exc, NotADirectoryError | IsADirectoryError | FileExistsError):
        # A filesystem cannot hold both `a/b` and `a/b/c`; S3-style stores can.
        return FailedPrecondition(
            f"object key conflicts with an existing object or prefix while {action}",
            reason=OBJECT_KEY_CONFLICT,
        )
    return Unavailable(
        f"object store failed while {action}: {exc.strerror or type(exc).__name__}",
        reason=OBJECT_STORE_UNAVAILABLE,
    )


@contextlib.contextmanager
def _map_os_errors(action: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise _translate(exc, action) from exc


def _fsync_dir(directory: Path) -> None:
    # A rename or create is durable only once the directory entry itself is flushed.
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _raise(exc: OSError) -> None:
    raise exc


class LocalObjectStore:
    """Objects as files under `root`; implements `meeting_agent.ports.ObjectStore`.

    The root is created on construction. Keys are checked with
    `meeting_agent.domain.object_keys.validate_key` before any filesystem access, and a
    key whose path runs through a symbolic link is refused. Filesystem errors become
    `Unavailable` (`ResourceExhausted` when the disk is full).
    """

    def __init__(self, root: Path, *, max_object_bytes: int) -> None:
        if max_object_bytes <= 0:
            raise ValueError("max_object_bytes must be positive")
        with _map_os_errors("creating the root directory"):
            root.mkdir(parents=True, exist_ok=True)
            self._root = root.resolve(strict=True)
        self._max_object_bytes = max_object_bytes

    @property
    def root(self) -> Path:
        return self._root

    @property
    def max_object_bytes(self) -> int:
        return self._max_object_bytes

    @property
    def scheme(self) -> str:
        return SCHEME

    @property
    def supports_presign(self) -> bool:
        return False

    def open_writer(self, key: str, *, content_type: str = "") -> LocalObjectWriter:
        """Start a streaming write; `content_type` is ignored (files carry no metadata)."""
        path = self._path(key)
        with _map_os_errors("opening an object for writing"):
            self._make_parents(path.parent)
            fd, temp_name = tempfile.mkstemp(
                prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX, dir=path.parent
            )
        return LocalObjectWriter(
            key=key,
            path=path,
            temp_path=Path(temp_name),
            fd=fd,
            max_bytes=self._max_object_bytes,
        )

    def open_reader(self, key: str) -> BinaryIO:
        path = self._path(key)
        try:
            return open(path, "rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise NotFound(key, reason=OBJECT_NOT_FOUND) from exc
        except OSError as exc:
            raise _translate(exc, "opening an object for reading") from exc

    def head(self, key: str) -> ObjectInfo | None:
        """Size of the object, or None; `sha256` stays None (it would mean reading it all)."""
        path = self._path(key)
        try:
            status = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise _translate(exc, "reading object metadata") from exc
        if not stat.S_ISREG(status.st_mode):
            return None
        return ObjectInfo(key=key, size_bytes=status.st_size)

    def delete(self, key: str) -> None:
        # Empty parent directories are left in place: removing them could race with a
        # writer that has just created them and is about to create its temporary file.
        path = self._path(key)
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            if path.is_dir():  # a prefix, not an object: nothing to delete
                return
            raise _translate(exc, "deleting an object") from exc

    def delete_prefix(self, prefix: str) -> int:
        """Delete the directory tree of a prefix; `a/b` and `a/b/` never touch `a/bc`."""
        top = self._path(normalize_prefix(prefix)[:-1])
        deleted = 0
        with _map_os_errors("deleting a prefix"):
            if not top.is_dir():
                return 0
            # os.walk does not descend into symbolic links; they are removed, not followed.
            for dirpath, dirnames, filenames in os.walk(top, topdown=False, onerror=_raise):
                for name in filenames:
                    file_path = os.path.join(dirpath, name)
                    with contextlib.suppress(FileNotFoundError):
                        is_object = stat.S_ISREG(os.lstat(file_path).st_mode) and not (
                            name.startswith(_TEMP_PREFIX)
                        )
                        os.unlink(file_path)
                        deleted += is_object
                for name in dirnames:
                    dir_path = os.path.join(dirpath, name)
                    with contextlib.suppress(FileNotFoundError):
                        if os.path.islink(dir_path):
                            os.unlink(dir_path)
                        else:
                            os.rmdir(dir_path)
            with contextlib.suppress(FileNotFoundError):
                top.rmdir()
        return deleted

    def list_objects(self, prefix: str) -> Iterator[ObjectInfo]:
        """The files under a prefix's directory (temporary files of writes left out)."""
        normalized = normalize_prefix(prefix)
        top = self._path(normalized[:-1])
        with _map_os_errors("listing objects"):
            if not top.is_dir():
                return
            for dirpath, _dirnames, filenames in os.walk(top, onerror=_raise):
                for name in sorted(filenames):
                    if name.startswith(_TEMP_PREFIX):
                        continue
                    path = Path(dirpath) / name
                    try:
                        status = path.lstat()
                    except FileNotFoundError:
                        continue  # deleted while listing
                    if not stat.S_ISREG(status.st_mode):
                        continue
                    key = path.relative_to(self._root).as_posix()
                    yield ObjectInfo(
                        key=key,
                        size_bytes=status.st_size,
                        modify_time=datetime.fromtimestamp(status.st_mtime, UTC),
                    )

    def presign_put(
        self, key: str, *, content_type: str, expires_in_seconds: int
    ) -> PresignedRequest:
        validate_key(key)
        raise FailedPrecondition(
            "the local object store cannot issue upload URLs; upload the audio with "
            "UploadAudio instead",
            reason=PRESIGN_UNSUPPORTED,
        )

    def presign_get(self, key: str, *, expires_in_seconds: int) -> str:
        validate_key(key)
        raise FailedPrecondition(
            "the local object store cannot issue download URLs; providers that fetch "
            "audio by URL need an object store that can (such as TOS)",
            reason=PRESIGN_UNSUPPORTED,
        )

    def uri(self, key: str) -> str:
        return URI_PREFIX + validate_key(key)

    def key_from_uri(self, uri: str) -> str:
        if not uri.startswith(URI_PREFIX):
            raise InvalidArgument(
                f"object URI must start with {URI_PREFIX!r}", reason=INVALID_OBJECT_URI
            )
        try:
            return validate_key(uri[len(URI_PREFIX) :])
        except InvalidArgument as exc:
            raise InvalidArgument(
                f"object URI is not valid: {exc.message}", reason=INVALID_OBJECT_URI
            ) from exc

    def check(self) -> None:
        """Raise `Unavailable` unless a file can be created and removed in the root.

        A missing root is not recreated: it usually means an unmounted volume, and
        writing to the directory underneath would put objects on the wrong disk.
        """
        try:
            if not self._root.is_dir():
                raise Unavailable(
                    "object store root directory is missing", reason=OBJECT_STORE_UNAVAILABLE
                )
            # Probing beats os.access: it also catches read-only mounts and works as root.
            fd, probe = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX, dir=self._root)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise Unavailable(
                f"object store root is not writable: {exc.strerror or type(exc).__name__}",
                reason=OBJECT_STORE_UNAVAILABLE,
            ) from exc

    def _path(self, key: str) -> Path:
        validate_key(key)
        path = self._root.joinpath(*key.split("/"))
        # The store never creates links, so any link on the way is foreign: following it
        # could leave the root or alias another tenant's directory.
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python 3.11)
            raise InvalidArgument(
                "object key does not resolve to a path", reason=INVALID_OBJECT_KEY
            ) from exc
        if resolved != path or not resolved.is_relative_to(self._root):
            raise InvalidArgument(
                "object key runs through a symbolic link", reason=INVALID_OBJECT_KEY
            )
        return path

    def _make_parents(self, directory: Path) -> None:
        # The root itself is never recreated here, for the reason given in `check`.
        missing: list[Path] = []
        current = directory
        while not current.is_dir():
            if current == self._root:
                raise Unavailable(
                    "object store root directory is missing", reason=OBJECT_STORE_UNAVAILABLE
                )
            missing.append(current)
            current = current.parent
        for new_dir in reversed(missing):
            try:
                new_dir.mkdir()
            except FileExistsError:
                continue  # made by a concurrent writer (a file here fails on the next step)
            _fsync_dir(new_dir.parent)


class LocalObjectWriter(StreamingObjectWriter):
    """A streaming write into a temporary file, renamed over the key on `commit`.

    Implements `meeting_agent.ports.ObjectWriter`. As a context manager it aborts on
    exit unless committed. Exceeding the store's size limit aborts the write and
    raises `ResourceExhausted` (reason `OBJECT_TOO_LARGE`).
    """

    def __init__(self, *, key: str, path: Path, temp_path: Path, fd: int, max_bytes: int) -> None:
        super().__init__(key, max_bytes=max_bytes)
        self._path = path
        self._temp_path = temp_path
        try:
            self._file: io.BufferedWriter | None = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            self._file = None
            self.abort()
            raise

    def _append(self, data: bytes) -> None:
        try:
            self._open_file().write(data)
        except OSError as exc:
            self.abort()
            raise _translate(exc, "writing an object") from exc

    def _publish(self) -> None:
        file = self._open_file()
        try:
            file.flush()
            os.fsync(file.fileno())
            file.close()
            self._file = None
            os.replace(self._temp_path, self._path)
            _fsync_dir(self._path.parent)
        except OSError as exc:
            # After a successful rename this removes nothing: the temp path is gone.
            self.abort()
            raise _translate(exc, "committing an object") from exc

    def _discard(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            with contextlib.suppress(OSError):
                file.close()
        try:
            self._temp_path.unlink(missing_ok=True)
        except OSError as exc:
            # abort runs on error paths; raising here would hide the error being handled.
            logger.warning("could not remove temporary object file %s: %s", self._temp_path, exc)

    def _open_file(self) -> io.BufferedWriter:
        if self._file is None:
            raise ValueError(f"object writer is {self._state}")
        return self._file
