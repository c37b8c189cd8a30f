"""Split normalised audio into chunks that end in pauses, so no word is cut in two.

A chunk never spans two source files: the files are separate recordings, and a
segment that started in one and ended in the other would be nonsense. The plan only
depends on the audio and the settings, so a retried job cuts the same chunks and can
reuse the ones it checkpointed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meeting_agent.adapters.audio import read_window
from meeting_agent.ports import NormalizedAudio

__all__ = ["Chunk", "plan_chunks", "quietest_point"]

# Energy is measured in 10 ms frames and smoothed over 150 ms: a pause between words
# is at least that long, while a single quiet frame inside a plosive is not a pause.
_FRAME_SECONDS = 0.010
_SMOOTH_FRAMES = 15


@dataclass(frozen=True)
class Chunk:
    """A stretch of meeting time to transcribe in one go."""

    index: int
    source_index: int
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def plan_chunks(
    audio: NormalizedAudio, chunk_seconds: float, *, search_seconds: float = 5.0
) -> list[Chunk]:
    """Cut each source file into chunks of about `chunk_seconds`.

    Each cut falls at the quietest moment of the `search_seconds` (at most half a
    chunk) before the nominal boundary. A remainder shorter than that window joins the
    chunk before it rather than becoming a sliver the model would hallucinate on.
    """
    if chunk_seconds <= 0:
        raise ValueError("chunk_seconds must be positive")
    window = min(search_seconds, chunk_seconds / 2)
    chunks: list[Chunk] = []
    for span in audio.sources:
        start = span.offset_seconds
        stop = span.offset_seconds + span.duration_seconds
        while stop - start > 1e-6:
            if stop - start <= chunk_seconds + window:
                end = stop
            else:
                boundary = start + chunk_seconds
                end = quietest_point(audio, boundary - window, boundary)
            chunks.append(Chunk(len(chunks), span.index, start, end))
            start = end
    return chunks


def quietest_point(audio: NormalizedAudio, start_s: float, end_s: float) -> float:
    """The time (meeting seconds) of the lowest smoothed energy in a window."""
    samples = read_window(audio, start_s, end_s)
    frame = max(int(_FRAME_SECONDS * audio.sample_rate), 1)
    count = samples.size // frame
    if count == 0:
        return end_s
    energy = np.square(samples[: count * frame].reshape(count, frame), dtype=np.float64).mean(
        axis=1
    )
    width = min(_SMOOTH_FRAMES, count)
    smoothed = np.convolve(energy, np.ones(width) / width, mode="same")
    best = int(np.argmin(smoothed))
    return start_s + (best + 0.5) * frame / audio.sample_rate
