"""Resemblyzer's speaker encoder, run in NumPy.

The network (Resemblyzer's `VoiceEncoder`, a GE2E-trained d-vector model): a 3-layer
LSTM with 256 hidden units over 40-band mel power frames, whose last layer's final
hidden state goes through a linear layer to 256 dimensions, a ReLU and L2
normalisation. Resemblyzer runs it with PyTorch; here the same arithmetic runs on
NumPy arrays, batched over windows, with the weights read from the `.pt` file the
PyPI package ships (`meeting_agent.adapters.diarization.torch_weights`).

Only the weights file of the `resemblyzer` package is used: its Python modules
import torch and webrtcvad, so they are never imported.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from meeting_agent.adapters.diarization.mel import N_MELS
from meeting_agent.adapters.diarization.torch_weights import load_state

__all__ = ["EMBEDDING_SIZE", "PARTIAL_FRAMES", "VoiceEncoder", "default_weights_path"]

logger = logging.getLogger(__name__)

EMBEDDING_SIZE = 256
# Resemblyzer embeds "partial utterances" of 160 frames (1.6 s); it was trained on those.
PARTIAL_FRAMES = 160
_HIDDEN = 256
_LAYERS = 3

_Array = npt.NDArray[np.float32]


def default_weights_path() -> Path:
    """`resemblyzer/pretrained.pt` of the installed package, found without importing it."""
    spec = importlib.util.find_spec("resemblyzer")
    locations = spec.submodule_search_locations if spec is not None else None
    if not locations:
        raise FileNotFoundError(
            "the resemblyzer package is not installed (pip install --no-deps resemblyzer==0.1.4)"
        )
    return Path(next(iter(locations))) / "pretrained.pt"


class VoiceEncoder:
    """Maps batches of mel windows to unit-length, non-negative 256-d speaker vectors.

    Instances are immutable after construction and safe to share between threads.
    """

    def __init__(self, weights: Mapping[str, npt.NDArray[Any]]) -> None:
        def take(name: str, shape: tuple[int, ...]) -> _Array:
            array = weights.get(name)
            if array is None or array.shape != shape:
                found = None if array is None else array.shape
                raise ValueError(f"voice encoder weight {name}: expected {shape}, got {found}")
            return np.ascontiguousarray(array, dtype=np.float32)

        gates = 4 * _HIDDEN
        # PyTorch orders the gates input, forget, cell candidate, output. They are
        # reordered to input, forget, output, candidate, and the three sigmoid gates
        # are pre-scaled by 1/2, because sigmoid(x) = (tanh(x / 2) + 1) / 2: then one
        # tanh over all four gates does each step's non-linear work.
        order = np.r_[0 : 2 * _HIDDEN, 3 * _HIDDEN : 4 * _HIDDEN, 2 * _HIDDEN : 3 * _HIDDEN]
        scale = np.r_[np.full(3 * _HIDDEN, 0.5), np.ones(_HIDDEN)].astype(np.float32)
        self._w_ih: list[_Array] = []
        self._w_hh: list[_Array] = []
        self._bias: list[_Array] = []
        for layer in range(_LAYERS):
            inputs = N_MELS if layer == 0 else _HIDDEN
            w_ih = take(f"lstm.weight_ih_l{layer}", (gates, inputs))[order] * scale[:, None]
            w_hh = take(f"lstm.weight_hh_l{layer}", (gates, _HIDDEN))[order] * scale[:, None]
            bias = (
                take(f"lstm.bias_ih_l{layer}", (gates,)) + take(f"lstm.bias_hh_l{layer}", (gates,))
            )[order] * scale
            # Transposed once, so each step is a plain (batch, in) @ (in, 4h) product.
            self._w_ih.append(np.ascontiguousarray(w_ih.T))
            self._w_hh.append(np.ascontiguousarray(w_hh.T))
            self._bias.append(bias.astype(np.float32))
        self._linear_w = take("linear.weight", (EMBEDDING_SIZE, _HIDDEN)).T.copy()
        self._linear_b = take("linear.bias", (EMBEDDING_SIZE,))

    @classmethod
    def load(cls, path: Path | None = None) -> VoiceEncoder:
        """Read a Resemblyzer checkpoint; the one the `resemblyzer` package ships when None.

        Raises:
            FileNotFoundError: No such file, or resemblyzer is not installed.
            UnsafeCheckpoint: The file is not a plain weights checkpoint.
            ValueError: The weights do not have the shapes of this network.
        """
        path = path or default_weights_path()
        if not path.is_file():
            raise FileNotFoundError(f"no voice encoder weights at {path}")
        return cls(load_state(path, key="model_state"))

    def embed(self, mels: _Array) -> _Array:
        """Embeddings of `mels`, shape (batch, frames, 40) → (batch, 256), rows of norm 1."""
        if mels.ndim != 3 or mels.shape[2] != N_MELS:
            raise ValueError(f"expected (batch, frames, {N_MELS}) mel frames, got {mels.shape}")
        batch, steps, _ = mels.shape
        if batch == 0 or steps == 0:
            return np.zeros((batch, EMBEDDING_SIZE), dtype=np.float32)
        # Time-major, so each step reads one contiguous (batch, features) slice.
        sequence = np.ascontiguousarray(np.swapaxes(mels, 0, 1), dtype=np.float32)
        hidden = np.zeros((batch, _HIDDEN), dtype=np.float32)
        gates = np.empty((batch, 4 * _HIDDEN), dtype=np.float32)
        h3 = 3 * _HIDDEN
        for layer in range(_LAYERS):
            # Input contributions for every step at once: one large matrix product.
            projected = (
                sequence.reshape(steps * batch, -1) @ self._w_ih[layer] + self._bias[layer]
            ).reshape(steps, batch, 4 * _HIDDEN)
            last = layer == _LAYERS - 1
            outputs = None if last else np.empty((steps, batch, _HIDDEN), dtype=np.float32)
            hidden = np.zeros((batch, _HIDDEN), dtype=np.float32)
            cell = np.zeros((batch, _HIDDEN), dtype=np.float32)
            w_hh = self._w_hh[layer]
            for t in range(steps):
                np.matmul(hidden, w_hh, out=gates)
                gates += projected[t]
                np.tanh(gates, out=gates)
                sig = gates[:, :h3]
                sig *= 0.5
                sig += 0.5
                # cell = forget * cell + input * candidate; hidden = output * tanh(cell)
                cell *= gates[:, _HIDDEN : 2 * _HIDDEN]
                cell += gates[:, :_HIDDEN] * gates[:, h3:]
                hidden = np.tanh(cell) * gates[:, 2 * _HIDDEN : h3]
                if outputs is not None:
                    outputs[t] = hidden
            if outputs is not None:
                sequence = outputs
        raw = np.maximum(hidden @ self._linear_w + self._linear_b, 0.0)
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        # An all-zero ReLU output (silence can give one) stays zero instead of NaN.
        result: _Array = (raw / np.maximum(norms, 1e-12)).astype(np.float32)
        return result


_shared: dict[Path, VoiceEncoder] = {}
_shared_lock = threading.Lock()


def shared_encoder(path: Path | None = None) -> VoiceEncoder:
    """One encoder per weights file for the whole process (loading takes ~0.1 s, 6 MB)."""
    resolved = (path or default_weights_path()).resolve()
    with _shared_lock:
        encoder = _shared.get(resolved)
        if encoder is None:
            logger.info("loading voice encoder weights from %s", resolved)
            encoder = _shared[resolved] = VoiceEncoder.load(resolved)
        return encoder
