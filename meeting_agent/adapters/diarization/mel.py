"""Mel spectrograms as Resemblyzer's voice encoder was trained on them, in NumPy.

Resemblyzer computes `librosa.feature.melspectrogram(y, sr=16000, n_fft=400,
hop_length=160, n_mels=40)`: a periodic Hann window of 25 ms, a 10 ms hop, the power
spectrum (not its log), and librosa's Slaney-style mel filterbank with area
normalisation. librosa itself is not a dependency (it brings numba and LLVM), so the
filterbank is written out here, following `librosa.filters.mel` and
`librosa.mel_frequencies` (htk=False).
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

__all__ = [
    "HOP_LENGTH",
    "N_FFT",
    "N_MELS",
    "SAMPLE_RATE",
    "hz_to_mel",
    "mel_filterbank",
    "mel_frames",
    "mel_to_hz",
]

SAMPLE_RATE = 16_000
N_FFT = 400  # 25 ms
HOP_LENGTH = 160  # 10 ms
N_MELS = 40

# The Slaney scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOG_STEP = float(np.log(6.4) / 27.0)


def hz_to_mel(hz: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Frequencies in Hz on the Slaney mel scale (librosa's default, htk=False)."""
    f = np.asarray(hz, dtype=np.float64)
    linear = f / _F_SP
    logarithmic = _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOG_STEP
    return np.where(f >= _MIN_LOG_HZ, logarithmic, linear)


def mel_to_hz(mel: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The inverse of `hz_to_mel`."""
    m = np.asarray(mel, dtype=np.float64)
    linear = _F_SP * m
    logarithmic = _MIN_LOG_HZ * np.exp(_LOG_STEP * (np.maximum(m, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(m >= _MIN_LOG_MEL, logarithmic, linear)


@functools.cache
def mel_filterbank(
    sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS
) -> npt.NDArray[np.float32]:
    """Triangular filters, shape (n_mels, n_fft // 2 + 1), each of unit area (Slaney)."""
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2.0), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    bank = weights.astype(np.float32)
    bank.flags.writeable = False
    return bank


@functools.cache
def _window(n_fft: int) -> npt.NDArray[np.float32]:
    # Periodic Hann, as scipy.signal.get_window("hann", n, fftbins=True) gives librosa.
    window = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    window.flags.writeable = False
    return window


def mel_frames(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Mel power frames of 16 kHz audio, shape (frames, 40), without centre padding.

    Frame `i` covers samples `[i * 160, i * 160 + 400)`: what librosa's centred frame
    `i` sees of audio that starts 200 samples later. Callers pass that much context on
    either side instead of letting the edges be padded, so a window cut out of a long
    recording gets the frames the whole recording would have given it.
    """
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError("mel_frames takes one channel")
    count = 1 + (x.size - N_FFT) // HOP_LENGTH if x.size >= N_FFT else 0
    if count == 0:
        return np.zeros((0, N_MELS), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP_LENGTH][:count]
    spectrum = np.fft.rfft(frames * _window(N_FFT), axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    return power @ mel_filterbank().T
