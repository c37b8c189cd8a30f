"""Encode a task's normalized audio into a file a vendor accepts, streaming from disk.

Cloud recognisers take containers, not raw samples: FLAC halves the upload of 16-bit
WAV without losing anything, and WAV is what every vendor reads. Either way the audio
goes through in blocks, so an hour costs no more memory than a minute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import av
import numpy as np

from meeting_agent.ports import NormalizedAudio

__all__ = ["CONTENT_TYPES", "encode_audio"]

Format = Literal["flac", "wav"]

CONTENT_TYPES: dict[str, str] = {"flac": "audio/flac", "wav": "audio/wav"}
_CODECS: dict[str, str] = {"flac": "flac", "wav": "pcm_s16le"}
_BLOCK_SAMPLES = 16_000 * 30


def encode_audio(audio: NormalizedAudio, out_path: Path, fmt: Format = "flac") -> Path:
    """Write `audio` as 16 kHz mono 16-bit `fmt` to `out_path` and return the path."""
    samples = np.memmap(audio.path, dtype="<f4", mode="r")
    with av.open(str(out_path), mode="w", format=fmt) as container:
        stream = container.add_stream(_CODECS[fmt], rate=audio.sample_rate)
        assert isinstance(stream, av.AudioStream)
        stream.layout = "mono"
        stream.format = "s16"
        for start in range(0, len(samples), _BLOCK_SAMPLES):
            block = np.clip(samples[start : start + _BLOCK_SAMPLES], -1.0, 1.0)
            pcm = (block * 32767.0).astype("<i2").reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
            frame.sample_rate = audio.sample_rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out_path
