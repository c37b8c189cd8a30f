"""Mel features as Resemblyzer computes them (`adapters.diarization.mel`).

Reference numbers come from librosa 0.11 (`librosa.filters.mel(sr=16000, n_fft=400,
n_mels=40)` and `librosa.feature.melspectrogram(y, sr=16000, n_fft=400,
hop_length=160, n_mels=40)`), computed once outside this project.
"""

from __future__ import annotations

import numpy as np
import pytest

from meeting_agent.adapters.diarization.mel import (
    N_MELS,
    hz_to_mel,
    mel_filterbank,
    mel_frames,
    mel_to_hz,
)


def test_filterbank_matches_librosa() -> None:
    bank = mel_filterbank()

    assert bank.shape == (40, 201) and bank.dtype == np.float32
    np.testing.assert_allclose(
        bank[0, :5], [0.0, 0.00739021, 0.01240452, 0.00501431, 0.0], atol=1e-7
    )
    # Slaney normalisation: equal area per filter, so below 1 kHz equal sums.
    np.testing.assert_allclose(bank[:5].sum(axis=1), 0.02480904, rtol=1e-5)
    np.testing.assert_allclose(
        bank[[5, 10, 39]].sum(axis=1), [0.02573447, 0.02480904, 0.02497876], rtol=1e-5
    )


def test_slaney_scale_is_linear_below_1_khz_and_invertible() -> None:
    assert hz_to_mel(1000.0) == pytest.approx(15.0)
    assert hz_to_mel(200.0) == pytest.approx(3.0)
    freqs = np.array([0.0, 440.0, 1000.0, 2500.0, 8000.0])
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(freqs)), freqs, rtol=1e-9, atol=1e-9)


def test_frames_of_a_two_tone_signal_match_librosa() -> None:
    t = np.arange(16_000) / 16_000
    signal = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 2500 * t)).astype(
        np.float32
    )

    # librosa centres frames on zero-padded audio: the same as 200 zeros on each side.
    frames = mel_frames(np.pad(signal, 200))

    assert frames.shape == (101, N_MELS) and frames.dtype == np.float32
    np.testing.assert_allclose(
        frames[50, [4, 5, 6, 24, 25]],
        [1.9581243, 14.787984, 1.6037276, 0.28188032, 0.50911856],
        rtol=1e-4,
    )
    assert frames[50, [0, 10, 39]].max() < 1e-8  # no energy away from the two tones


def test_frame_count_and_short_input() -> None:
    assert mel_frames(np.zeros(400 + 159 * 160, dtype=np.float32)).shape == (160, N_MELS)
    assert mel_frames(np.zeros(399, dtype=np.float32)).shape == (0, N_MELS)
    with pytest.raises(ValueError):
        mel_frames(np.zeros((2, 400), dtype=np.float32))
