"""Reading PyTorch checkpoints (`.pt`) into NumPy arrays, without PyTorch.

The embedded voice encoder ships as a PyTorch checkpoint, and PyTorch itself (a
multi-gigabyte wheel on PyPI) is not a dependency. A checkpoint is a pickle whose
tensors point at raw storages; this module unpickles it with an allow-list of globals
(an ordinary `pickle.load` would run whatever code the file names) and rebuilds each
tensor as an array.

Both layouts `torch.save` has written are read:

* legacy (PyTorch < 1.6, what Resemblyzer ships): pickles of a magic number, the
  protocol version and system info, then the object, then the list of storage keys,
  then each storage as an int64 element count followed by its bytes;
* zip (PyTorch >= 1.6): `<archive>/data.pkl` plus one `<archive>/data/<key>` entry
  per storage.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

__all__ = ["UnsafeCheckpoint", "load_state"]

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001

# Storage classes by their pickled name, and the NumPy dtype of their elements.
_STORAGE_DTYPES: dict[str, np.dtype[Any]] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class UnsafeCheckpoint(ValueError):
    """The file is not a checkpoint this reader accepts (a foreign global, a bad layout)."""


@dataclass(frozen=True)
class _StorageType:
    dtype: np.dtype[Any]


class _Storage:
    """A storage whose bytes may arrive after the pickle that refers to it (legacy)."""

    def __init__(self, dtype: np.dtype[Any], numel: int) -> None:
        self.dtype = dtype
        self.numel = numel
        self.data: npt.NDArray[Any] | None = None


@dataclass(frozen=True)
class _PendingTensor:
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    def resolve(self) -> npt.NDArray[Any]:
        data = self.storage.data
        if data is None:
            raise UnsafeCheckpoint("a tensor refers to a storage the file does not contain")
        if not self.size:
            return data[self.offset : self.offset + 1].reshape(()).copy()
        # Bounds check before striding: a forged size/stride must not read past the storage.
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride, strict=True))
        if self.offset < 0 or min(self.stride) < 0 or last >= data.size:
            raise UnsafeCheckpoint("a tensor reaches outside its storage")
        itemsize = data.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :],
            shape=self.size,
            strides=tuple(s * itemsize for s in self.stride),
            writeable=False,
        )
        return np.array(view)


def _rebuild_tensor_v2(
    storage: object,
    storage_offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    requires_grad: bool = False,
    backward_hooks: object = None,
    metadata: object = None,
) -> _PendingTensor:
    if not isinstance(storage, _Storage):
        raise UnsafeCheckpoint("a tensor is built from something other than a storage")
    return _PendingTensor(
        storage, int(storage_offset), tuple(int(n) for n in size), tuple(int(s) for s in stride)
    )


def _rebuild_parameter(
    data: object, requires_grad: bool = False, backward_hooks: object = None
) -> object:
    return data


# Everything a checkpoint of plain tensors needs; any other global is refused.
_ALLOWED: dict[tuple[str, str], Callable[..., object] | type] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _Unpickler(pickle.Unpickler):
    def __init__(
        self, file: IO[bytes], load_storage: Callable[[tuple[Any, ...]], _Storage]
    ) -> None:
        super().__init__(file)
        self._load_storage = load_storage

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        found = _ALLOWED.get((module, name))
        if found is None:
            raise UnsafeCheckpoint(
                f"the checkpoint refers to {module}.{name}, which is not allowed in a weights file"
            )
        return found

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise UnsafeCheckpoint(f"unexpected persistent id {pid!r:.60}")
        return self._load_storage(pid[1:])


def _storage_args(record: tuple[Any, ...]) -> tuple[np.dtype[Any], str, int]:
    # (storage_type, key, location, numel[, view_metadata]); views are not supported.
    if len(record) < 4 or not isinstance(record[0], _StorageType):
        raise UnsafeCheckpoint("malformed storage record")
    if len(record) > 4 and record[4] is not None:
        raise UnsafeCheckpoint("storage views are not supported")
    return record[0].dtype, str(record[1]), int(record[3])


def _plain(obj: Any, depth: int = 0) -> Any:
    """The unpickled object with every pending tensor replaced by its array."""
    if depth > 50:
        raise UnsafeCheckpoint("the checkpoint nests too deeply")
    if isinstance(obj, _PendingTensor):
        return obj.resolve()
    if isinstance(obj, dict):
        return {k: _plain(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_plain(v, depth + 1) for v in obj)
    return obj


def _load_legacy(f: IO[bytes]) -> Any:
    # One unpickler per pickle, as torch.load reads them: an unpickler keeps its memo.
    if _HeaderUnpickler(f).load() != _LEGACY_MAGIC:
        raise UnsafeCheckpoint("not a PyTorch checkpoint (bad magic number)")
    if _HeaderUnpickler(f).load() != _LEGACY_PROTOCOL:
        raise UnsafeCheckpoint("unsupported PyTorch checkpoint protocol")
    info = _HeaderUnpickler(f).load()
    if not isinstance(info, dict) or not info.get("little_endian", False):
        raise UnsafeCheckpoint("only little-endian checkpoints are supported")
    storages: dict[str, _Storage] = {}

    def load_storage(record: tuple[Any, ...]) -> _Storage:
        dtype, key, numel = _storage_args(record)
        return storages.setdefault(key, _Storage(dtype, numel))

    result = _Unpickler(f, load_storage).load()
    keys = _HeaderUnpickler(f).load()
    if not isinstance(keys, list):
        raise UnsafeCheckpoint("malformed storage key list")
    for key in keys:
        storage = storages.get(str(key))
        if storage is None:
            raise UnsafeCheckpoint(f"storage {key} is listed but never used")
        header = f.read(8)
        if len(header) != 8:
            raise UnsafeCheckpoint("truncated checkpoint")
        (numel,) = struct.unpack("<q", header)
        if numel != storage.numel:
            raise UnsafeCheckpoint(f"storage {key} has {numel} elements, expected {storage.numel}")
        raw = f.read(numel * storage.dtype.itemsize)
        if len(raw) != numel * storage.dtype.itemsize:
            raise UnsafeCheckpoint("truncated checkpoint")
        storage.data = np.frombuffer(raw, dtype=storage.dtype)
    return _plain(result)


def _load_zip(archive: zipfile.ZipFile) -> Any:
    pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
    if len(pickles) != 1:
        raise UnsafeCheckpoint("a zip checkpoint must hold exactly one data.pkl")
    prefix = pickles[0][: -len("data.pkl")]
    storages: dict[str, _Storage] = {}

    def load_storage(record: tuple[Any, ...]) -> _Storage:
        dtype, key, numel = _storage_args(record)
        if key not in storages:
            storage = _Storage(dtype, numel)
            try:
                raw = archive.read(f"{prefix}data/{key}")
            except KeyError:
                raise UnsafeCheckpoint(f"storage {key} is missing") from None
            if len(raw) < numel * dtype.itemsize:
                raise UnsafeCheckpoint(f"storage {key} is truncated")
            storage.data = np.frombuffer(raw[: numel * dtype.itemsize], dtype=dtype)
            storages[key] = storage
        return storages[key]

    with archive.open(pickles[0]) as data:
        result = _Unpickler(io.BytesIO(data.read()), load_storage).load()
    return _plain(result)


class _HeaderUnpickler(pickle.Unpickler):
    """For the legacy format's plain-data pickles: no global at all."""

    def find_class(self, module: str, name: str) -> Any:
        raise UnsafeCheckpoint(f"unexpected global {module}.{name} in a checkpoint header")


def load_state(path: Path, key: str | None = None) -> dict[str, npt.NDArray[Any]]:
    """The tensors of a PyTorch checkpoint, by name, as NumPy arrays.

    Args:
        path: A `.pt` file written by `torch.save` (either layout).
        key: The entry holding the state dict (Resemblyzer's is "model_state"); the
            whole checkpoint is the state dict when None.

    Raises:
        UnsafeCheckpoint: The file names a global outside the allow-list (it could run
            code), is malformed, or holds no state dict under `key`.
        OSError: The file cannot be read.
    """
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                checkpoint = _load_zip(archive)
        else:
            with path.open("rb") as f:
                checkpoint = _load_legacy(f)
    except (
        pickle.UnpicklingError,
        EOFError,
        struct.error,
        TypeError,
        AttributeError,
        IndexError,
    ) as exc:
        raise UnsafeCheckpoint(f"{path} is not a readable PyTorch checkpoint: {exc}") from exc
    state = (
        checkpoint
        if key is None
        else (checkpoint.get(key) if isinstance(checkpoint, dict) else None)
    )
    if not isinstance(state, dict):
        raise UnsafeCheckpoint(f"{path} holds no state dict" + (f" under {key!r}" if key else ""))
    arrays = {str(k): v for k, v in state.items() if isinstance(v, np.ndarray)}
    if not arrays:
        raise UnsafeCheckpoint(f"{path} holds no tensors")
    return arrays
