"""Where people speak: Silero VAD (the ONNX model faster-whisper ships) over the audio.

The model gives a speech probability per 32 ms; regions follow with hysteresis (start
above `onset`, end below `offset`), short pauses bridged and blips dropped. The audio
is read a block at a time from the memory-mapped file, so hours cost one block of
memory plus 31 probabilities per second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meeting_agent.adapters.audio import read_window
from meeting_agent.ports import CancellationCheck, NormalizedAudio, ProgressReporter

__all__ = ["VadSettings", "speech_probabilities", "speech_regions"]

_WINDOW = 512  # samples per probability at 16 kHz, fixed by the model
# The model restarts its state at each block; five minutes make that negligible.
_BLOCK_WINDOWS = 9_375


@dataclass(frozen=True)
class VadSettings:
    onset: float = 0.5
    offset: float = 0.35
    # Pauses shorter than this stay inside one region ...
    min_silence_seconds: float = 0.5
    # ... and regions shorter than this are dropped as noise.
    min_speech_seconds: float = 0.1
    # Silero's decision lags the signal a little; a pad on both sides recovers onsets.
    pad_seconds: float = 0.15


def speech_probabilities(
    audio: NormalizedAudio, *, check_cancelled: CancellationCheck, progress: ProgressReporter
) -> npt.NDArray[np.float32]:
    """One speech probability per 512 samples (32 ms) of the whole recording."""
    if audio.sample_rate != 16_000:
        raise ValueError("Silero VAD runs at 16 kHz")
    # Imported here: faster-whisper brings CTranslate2, which only jobs need.
    from faster_whisper.vad import get_vad_model

    model = get_vad_model()
    block_seconds = _BLOCK_WINDOWS * _WINDOW / audio.sample_rate
    pieces: list[npt.NDArray[np.float32]] = []
    start = 0.0
    while start < audio.duration_seconds:
        check_cancelled()
        samples = read_window(audio, start, start + block_seconds)
        if samples.size == 0:
            break
        padded = np.pad(samples, (0, -samples.size % _WINDOW))
        pieces.append(np.asarray(model(padded), dtype=np.float32).reshape(-1))
        start += block_seconds
        progress(min(start / max(audio.duration_seconds, 1e-6), 1.0))
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


def speech_regions(
    probabilities: npt.NDArray[np.float32],
    duration_seconds: float,
    settings: VadSettings = VadSettings(),
    sample_rate: int = 16_000,
) -> list[tuple[float, float]]:
    """Speech regions `(start, end)` in seconds, sorted and disjoint."""
    step = _WINDOW / sample_rate
    regions: list[list[float]] = []
    speaking = False
    start = 0
    for i, p in enumerate(probabilities.tolist()):
        if not speaking and p >= settings.onset:
            speaking, start = True, i
        elif speaking and p < settings.offset:
            speaking = False
            regions.append([start * step, i * step])
    if speaking:
        regions.append([start * step, len(probabilities) * step])
    merged: list[list[float]] = []
    for region in regions:
        if merged and region[0] - merged[-1][1] < settings.min_silence_seconds:
            merged[-1][1] = region[1]
        else:
            merged.append(region)
    result: list[tuple[float, float]] = []
    for begin, end in merged:
        if end - begin < settings.min_speech_seconds:
            continue
        begin = max(begin - settings.pad_seconds, result[-1][1] if result else 0.0, 0.0)
        end = min(end + settings.pad_seconds, duration_seconds)
        if end > begin:
            result.append((round(begin, 3), round(end, 3)))
    return result
