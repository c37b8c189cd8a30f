"""Reading PyTorch checkpoints without PyTorch (`adapters.diarization.torch_weights`).

The checkpoints are written here the way `torch.save` lays them out, with stand-in
`torch` modules so that pickle can name torch's globals.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import sys
import types
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from meeting_agent.adapters.diarization.torch_weights import UnsafeCheckpoint, load_state
from meeting_agent.adapters.diarization.voice_encoder import default_weights_path


class FloatStorage:  # named like torch.FloatStorage once the stand-in module holds it
    pass


class _Tensor:
    def __init__(self, key: str, array: np.ndarray) -> None:
        self.key, self.array = key, array

    def __reduce__(self):
        stride = tuple(s // self.array.itemsize for s in self.array.strides)
        return (
            _rebuild_tensor_v2,
            (
                _StorageRef(self.key, self.array.size),
                0,
                self.array.shape,
                stride,
                False,
                OrderedDict(),
            ),
        )


class _StorageRef:
    def __init__(self, key: str, numel: int) -> None:
        self.key, self.numel = key, numel


def _rebuild_tensor_v2(*args):  # only its name is pickled
    raise AssertionError("never called while saving")


@pytest.fixture
def fake_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")
    torch.FloatStorage = FloatStorage  # type: ignore[attr-defined]
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2  # type: ignore[attr-defined]
    FloatStorage.__module__ = "torch"
    _rebuild_tensor_v2.__module__ = "torch._utils"
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _StorageRef):
            return ("storage", FloatStorage, obj.key, "cpu", obj.numel)
        return None


def _dump(obj) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


STATE = {
    "w": np.arange(6, dtype=np.float32).reshape(2, 3),
    "b": np.array([0.5, -1.5], dtype=np.float32),
}


def _checkpoint() -> dict[str, object]:
    return {
        "step": 7,
        "model_state": OrderedDict(
            (name, _Tensor(f"k{i}", array)) for i, (name, array) in enumerate(STATE.items())
        ),
    }


def write_legacy(path: Path) -> None:
    with path.open("wb") as f:
        for header in (
            0x1950A86A20F9469CFC6C,
            1001,
            {"protocol_version": 1001, "little_endian": True},
        ):
            pickle.dump(header, f, protocol=2)
        f.write(_dump(_checkpoint()))
        pickle.dump([f"k{i}" for i in range(len(STATE))], f, protocol=2)
        for array in STATE.values():
            f.write(struct.pack("<q", array.size) + array.astype("<f4").tobytes())


def write_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", _dump(_checkpoint()))
        for i, array in enumerate(STATE.values()):
            archive.writestr(f"archive/data/k{i}", array.astype("<f4").tobytes())


@pytest.mark.parametrize("write", [write_legacy, write_zip])
def test_both_layouts_load_as_arrays(fake_torch, tmp_path: Path, write) -> None:
    path = tmp_path / "model.pt"
    write(path)

    state = load_state(path, key="model_state")

    assert set(state) == {"w", "b"}
    np.testing.assert_array_equal(state["w"], STATE["w"])
    np.testing.assert_array_equal(state["b"], STATE["b"])
    assert state["w"].dtype == np.float32


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_a_checkpoint_naming_another_global_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"model_state": _Evil()}, protocol=2))

    with pytest.raises(UnsafeCheckpoint, match=r"(posix|os)\.system"):
        load_state(path, key="model_state")


def test_a_legacy_header_with_a_global_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps(_Evil(), protocol=2))

    with pytest.raises(UnsafeCheckpoint):
        load_state(path)


def test_a_tensor_reaching_past_its_storage_is_refused(fake_torch, tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    STATE_BIG = {"w": np.zeros((4, 4), dtype=np.float32)}
    with zipfile.ZipFile(path, "w") as archive:
        tensor = _Tensor("k0", STATE_BIG["w"])
        archive.writestr("archive/data.pkl", _dump({"model_state": {"w": tensor}}))
        archive.writestr("archive/data/k0", np.zeros(4, "<f4").tobytes())  # 4, not 16

    with pytest.raises(UnsafeCheckpoint):
        load_state(path, key="model_state")


def test_garbage_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "junk.pt"
    path.write_bytes(b"\x00\x01not a pickle")

    with pytest.raises(UnsafeCheckpoint):
        load_state(path)


def test_resemblyzers_shipped_weights_load() -> None:
    state = load_state(default_weights_path(), key="model_state")

    assert state["lstm.weight_ih_l0"].shape == (1024, 40)
    assert state["lstm.weight_hh_l2"].shape == (1024, 256)
    assert state["linear.weight"].shape == (256, 256)
    assert all(np.isfinite(a).all() for a in state.values())
