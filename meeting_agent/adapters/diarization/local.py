"""`Diarizer` on this machine's CPU: VAD, voice embeddings, clustering, turns.

1. Silero VAD finds the speech regions (`vad`).
2. Windows of 1.6 s (what the voice encoder was trained on) slide over each region
   every `step_seconds`; a region shorter than a window gets one window centred on it.
3. Each window becomes a 256-d voice vector (`voice_encoder`), computed in batches
   read straight from the memory-mapped audio, so memory holds one batch of audio
   plus 1 KB per window. Overlapping windows of a batch share one mel spectrogram.
4. The vectors are clustered (`clustering`): regions are cut into pieces where the
   voice changes, the pieces give the number of speakers unless a hint fixes it, and
   the windows, smoothed within their piece, are grouped into that many speakers.
5. Every 50 ms of speech scores each speaker by how much the windows covering it
   resemble the speaker's centroid on average; a Viterbi pass over each region picks
   the best sequence of speakers, paying `switch_penalty` for every change, so a
   change of speaker lands between windows rather than at a window's edge and a
   stray window does not make a turn. Turns shorter than `min_turn_seconds` are
   absorbed by their neighbours.
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
from meeting_agent.adapters.diarization.clustering import (
    CentredVectors,
    ClusteringSettings,
    cluster_vectors,
    group_sums,
    normalized,
)
from meeting_agent.adapters.diarization.mel import (
    HOP_LENGTH,
    N_FFT,
    N_MELS,
    SAMPLE_RATE,
    mel_frames,
)
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
from meeting_agent.reasons import DIARIZATION_MODEL_UNAVAILABLE as MODEL_UNAVAILABLE

__all__ = ["MODEL_UNAVAILABLE", "LocalDiarizer", "LocalDiarizerSettings"]

logger = logging.getLogger(__name__)

# Progress split between the steps, by their measured share of the time.
_VAD_SHARE = 0.1
_EMBED_SHARE = 0.85


@dataclass(frozen=True)
class LocalDiarizerSettings:
    """Tuning of `LocalDiarizer`; the defaults were chosen with `bench/diarization.py`."""

    # A Resemblyzer checkpoint; the one the resemblyzer package ships when None.
    weights_path: Path | None = None
    # Distance between the mean centred voice vectors of two groups of speech beyond
    # which they are different people when the count is estimated (short groups need
    # more, see `clustering`); smaller finds more speakers.
    threshold: float = 0.3
    # How much the noise of a group's mean vector widens that distance.
    noise_scale: float = 3.0
    # What cutting a speech region at a change of voice must gain, per second.
    change_penalty: float = 1.5
    # Windows are averaged with their piece's windows this close before grouping.
    smoothing_seconds: float = 2.0
    # Mean raw similarity to the meeting's mean voice above which it has one speaker.
    single_speaker_coherence: float = 0.88
    window_seconds: float = 1.6
    step_seconds: float = 0.5
    batch_size: int = 64
    # Longer meetings are clustered this many seconds at a time (see `clustering`).
    cluster_chunk_seconds: float = 600.0
    min_turn_seconds: float = 0.5
    # What a change of speaker costs the Viterbi pass, in similarity x seconds, within
    # a speech region and across a pause.
    switch_penalty: float = 0.2
    pause_switch_penalty: float = 0.1
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
            raise ValueError("threshold is a distance between centred vectors, in (0, 2]")
        if self.switch_penalty < 0 or self.pause_switch_penalty < 0:
            raise ValueError("switch penalties must not be negative")

    @property
    def clustering(self) -> ClusteringSettings:
        return ClusteringSettings(
            threshold=self.threshold,
            noise_scale=self.noise_scale,
            change_penalty=self.change_penalty,
            smoothing_seconds=self.smoothing_seconds,
            min_cluster_share=self.min_cluster_share,
            single_speaker_coherence=self.single_speaker_coherence,
            chunk_seconds=self.cluster_chunk_seconds,
        )


class LocalDiarizer:
    """Who spoke when, with no network and no weights beyond what PyPI packages ship.

    Safe to share between threads: the encoder is read-only and each call keeps its
    state on the stack.
    """

    def __init__(
        self, settings: LocalDiarizerSettings | None = None, encoder: VoiceEncoder | None = None
    ) -> None:
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
                    f"the speaker embedding model cannot be loaded: {exc}", reason=MODEL_UNAVAILABLE
                ) from exc
        return self._encoder

    def diarize(
        self,
        audio: NormalizedAudio,
        *,
        speaker_count: SpeakerCount | None,
        progress: ProgressReporter,
        check_cancelled: CancellationCheck,
    ) -> list[SpeakerTurn]:
        """Speaker turns over the whole recording, labelled `SPEAKER_1`, `SPEAKER_2`, …

        Raises:
            TaskCancelled: from `check_cancelled`.
            FailedPrecondition: the voice encoder weights are unusable.
        """
        s = self.settings
        encoder = self.encoder  # fail on missing weights before any work
        probabilities = speech_probabilities(
            audio,
            check_cancelled=check_cancelled,
            progress=lambda f, message="": progress(_VAD_SHARE * f, "detecting speech"),
        )
        regions = speech_regions(probabilities, audio.duration_seconds, s.vad)
        if not regions:
            progress(1.0)
            return []
        starts, speech, region_of = _plan_windows(regions, s.window_seconds, s.step_seconds)
        embeddings = np.empty((len(starts), EMBEDDING_SIZE), dtype=np.float32)
        frames = round(s.window_seconds * SAMPLE_RATE / HOP_LENGTH)
        for first in range(0, len(starts), s.batch_size):
            check_cancelled()
            batch = starts[first : first + s.batch_size]
            embeddings[first : first + len(batch)] = encoder.embed(
                self._batch_mels(audio, batch, frames)
            )
            progress(
                _VAD_SHARE + _EMBED_SHARE * (first + len(batch)) / len(starts), "comparing voices"
            )
        check_cancelled()
        # The centred vectors take the embeddings' place: one matrix for the meeting.
        vectors = CentredVectors.of(embeddings, in_place=True)
        labels = cluster_vectors(
            vectors,
            speaker_count=speaker_count,
            starts=starts,
            regions=region_of,
            speech=speech,
            step_seconds=s.step_seconds,
            settings=s.clustering,
        )
        turns = self._turns(regions, starts, vectors.z, labels)
        progress(1.0)
        logger.info(
            "diarized %.1f s: %d speech regions, %d windows, %d speakers, %d turns",
            audio.duration_seconds,
            len(regions),
            len(starts),
            len({t.speaker for t in turns}),
            len(turns),
        )
        return turns

    def _batch_mels(
        self, audio: NormalizedAudio, starts: npt.NDArray[np.float64], frames: int
    ) -> npt.NDArray[np.float32]:
        """The mel frames of each window; windows on one 10 ms grid share one spectrogram.

        Window `i` is exactly what `_window_mel` gives it: its frames are a slice of
        the run's frames, and its loudness normalisation (a gain on the samples, so its
        square on the power frames) uses the window's own samples.
        """
        mels = np.empty((len(starts), frames, N_MELS), dtype=np.float32)
        offsets = np.round(starts * SAMPLE_RATE).astype(np.int64)
        length = (frames - 1) * HOP_LENGTH + N_FFT
        i = 0
        while i < len(starts):
            stop = i + 1
            while (
                stop < len(starts)
                and offsets[stop] - offsets[stop - 1] < length
                and (offsets[stop] - offsets[i]) % HOP_LENGTH == 0
            ):
                stop += 1
            if stop - i == 1:
                mels[i] = self._window_mel(audio, float(starts[i]), frames)
                i = stop
                continue
            first = int(offsets[i]) - N_FFT // 2
            span = int(offsets[stop - 1] - offsets[i]) + length
            samples = _read_padded(audio, first, span)
            spectrum = mel_frames(samples)
            target = self.settings.normalize_dbfs
            energy = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
            for k in range(i, stop):
                shift = int(offsets[k] - offsets[i])
                mels[k] = spectrum[shift // HOP_LENGTH : shift // HOP_LENGTH + frames]
                if target is not None:
                    rms = math.sqrt((energy[shift + length] - energy[shift]) / length)
                    if rms > 1e-5:
                        mels[k] *= np.float32((10 ** (target / 20) / rms) ** 2)
            i = stop
        return mels

    def _window_mel(
        self, audio: NormalizedAudio, start: float, frames: int
    ) -> npt.NDArray[np.float32]:
        # Half an FFT of context on each side, so frame i is centred at start + i * 10 ms.
        first = round(start * SAMPLE_RATE) - N_FFT // 2
        samples = _read_padded(audio, first, (frames - 1) * HOP_LENGTH + N_FFT)
        target = self.settings.normalize_dbfs
        if target is not None:
            rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
            if rms > 1e-5:
                samples = samples * np.float32(10 ** (target / 20) / rms)
        return mel_frames(samples)

    def _turns(
        self,
        regions: Sequence[tuple[float, float]],
        starts: npt.NDArray[np.float64],
        z: npt.NDArray[np.float32],
        labels: npt.NDArray[np.int64],
    ) -> list[SpeakerTurn]:
        s = self.settings
        count = int(labels.max()) + 1
        scores = z @ normalized(group_sums(z, labels, count).astype(np.float32)).T
        cumulative = np.vstack([np.zeros((1, count)), np.cumsum(scores, axis=0, dtype=np.float64)])
        edges_of: list[npt.NDArray[np.float64]] = []
        frame_scores: list[npt.NDArray[np.float64]] = []
        for begin, end in regions:
            steps = max(1, math.ceil((end - begin) / s.frame_seconds - 1e-9))
            edges = np.minimum(begin + np.arange(steps + 1) * s.frame_seconds, end)
            centres = (edges[:-1] + edges[1:]) / 2
            lo = np.searchsorted(starts, centres - s.window_seconds, side="right")
            hi = np.searchsorted(starts, centres, side="right")
            covered = hi > lo
            mean = np.empty((steps, count))
            mean[covered] = (cumulative[hi[covered]] - cumulative[lo[covered]]) / (
                hi[covered] - lo[covered]
            )[:, None]
            if not covered.all():
                nearest = np.abs(
                    starts[None, :] + s.window_seconds / 2 - centres[~covered, None]
                ).argmin(axis=1)
                mean[~covered] = scores[nearest]
            edges_of.append(edges)
            frame_scores.append(mean * np.diff(edges)[:, None])
        # One pass over all regions: a change costs `switch_penalty` within a region and
        # `pause_switch_penalty` across a pause, so a short region with little to say
        # about its voice keeps the speaker around it.
        penalties = np.full(sum(len(f) for f in frame_scores), s.switch_penalty)
        penalties[np.cumsum([len(f) for f in frame_scores])[:-1]] = s.pause_switch_penalty
        path = _viterbi(np.concatenate(frame_scores), penalties)
        turns: list[tuple[float, float, int]] = []
        first = 0
        for edges in edges_of:
            runs = _runs(path[first : first + len(edges) - 1], edges)
            first += len(edges) - 1
            turns.extend(_absorb_short(runs, s.min_turn_seconds))
        return _relabel(turns)


def _read_padded(audio: NormalizedAudio, first: int, length: int) -> npt.NDArray[np.float32]:
    """`length` samples from sample `first` on, zeros where the audio has none."""
    samples = read_window(audio, max(first, 0) / SAMPLE_RATE, (first + length) / SAMPLE_RATE)
    lead = max(-first, 0)
    padded: npt.NDArray[np.float32] = np.pad(samples, (lead, max(length - lead - samples.size, 0)))[
        :length
    ]
    return padded


def _viterbi(
    scores: npt.NDArray[np.float64], penalties: npt.NDArray[np.float64]
) -> npt.NDArray[np.intp]:
    """The speaker per frame maximising the summed scores minus the penalty of each
    change (`penalties[t]`: changing between frames t - 1 and t).

    Plain Python over lists: with a handful of speakers per frame that is several
    times faster than NumPy calls on arrays of that size. Rows become lists a block
    at a time and the back pointers go to a small integer array, so hours of frames
    cost bytes per frame rather than a Python list each.
    """
    steps, count = scores.shape
    if count == 1 or steps == 0:
        return np.zeros(steps, dtype=np.intp)
    back = np.zeros((steps, count), dtype=np.int16 if count < 2**15 else np.int32)
    speakers = range(count)
    total = scores[0].tolist()
    block = 4096
    for first in range(1, steps, block):
        rows = scores[first : first + block].tolist()
        costs = penalties[first : first + block].tolist()
        for offset, row in enumerate(rows):
            leader = max(speakers, key=total.__getitem__)
            best = total[leader] - costs[offset]
            back[first + offset] = [leader if best > total[k] else k for k in speakers]
            total = [max(total[k], best) + row[k] for k in speakers]
    path = np.empty(steps, dtype=np.intp)
    path[-1] = last = max(speakers, key=total.__getitem__)
    for t in range(steps - 1, 0, -1):
        last = int(back[t, last])
        path[t - 1] = last
    return path


def _plan_windows(
    regions: Sequence[tuple[float, float]], window: float, step: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Window starts (sorted), the seconds of speech each holds, and its region."""
    starts: list[float] = []
    speech: list[float] = []
    region_of: list[int] = []
    for number, (begin, end) in enumerate(regions):
        length = end - begin
        if length <= window:
            starts.append(begin + length / 2 - window / 2)
            speech.append(length)
            region_of.append(number)
            continue
        count = math.ceil((length - window) / step - 1e-9)
        starts.extend(begin + i * step for i in range(count))
        starts.append(end - window)  # the last window ends with the region
        speech.extend([window] * (count + 1))
        region_of.extend([number] * (count + 1))
    # Regions are disjoint and in order, so their windows already are.
    return (
        np.asarray(starts, dtype=np.float64),
        np.asarray(speech, dtype=np.float64),
        np.asarray(region_of, dtype=np.int64),
    )


def _runs(
    labels: npt.NDArray[np.intp], edges: npt.NDArray[np.float64]
) -> list[tuple[float, float, int]]:
    runs: list[tuple[float, float, int]] = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            runs.append((float(edges[start]), float(edges[i]), int(labels[start])))
            start = i
    return runs


def _absorb_short(
    runs: list[tuple[float, float, int]], minimum: float
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
            runs[i - 1 : i + 1] = [(left[0], runs[i][1], left[2])]
        else:
            runs[i : i + 2] = [(runs[i][0], right[1], right[2])]
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
