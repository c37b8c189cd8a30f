"""Decode a task's audio files into one 16 kHz mono float32 file with PyAV.

Each input may be any container and codec FFmpeg reads (WAV, FLAC, MP3, Ogg/Opus,
MP4/M4A with AAC, a video with a sound track…). Only the first audio stream of a file
is decoded; video and other streams are never demuxed. Frames are resampled and
written to disk as they come, so a three-hour meeting costs no more memory than a
three-minute one.

Failures are domain errors the task fails with:

- `AUDIO_UNDECODABLE` (with `source_index`): FFmpeg cannot open or decode the file,
  or it has no audio stream;
- `AUDIO_EMPTY`: a file decodes to no samples at all (with `source_index`), or the
  whole meeting is shorter than `MIN_SECONDS` or digital silence;
- `AUDIO_TOO_LONG`: the meeting passes `max_seconds`; decoding stops right there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import av.container
import numpy as np
import numpy.typing as npt

from meeting_agent.errors import InvalidArgument
from meeting_agent.ports import CancellationCheck, NormalizedAudio, ProgressReporter, SourceSpan
from meeting_agent.reasons import AUDIO_EMPTY, AUDIO_TOO_LONG, AUDIO_UNDECODABLE

__all__ = [
    "AUDIO_EMPTY",
    "AUDIO_TOO_LONG",
    "AUDIO_UNDECODABLE",
    "MIN_SECONDS",
    "SAMPLE_RATE",
    "SILENCE_PEAK",
    "normalize_audio",
    "read_window",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
# Shorter than this there is no word to recognise.
MIN_SECONDS = 0.1
# A peak below -80 dBFS is digital silence: a 16-bit recording's least significant
# bit is -90 dBFS, so dither and codec round-off stay under it, while the quietest
# real speech is some 40 dB louder.
SILENCE_PEAK = 1e-4
# How often (in seconds of decoded audio) to ask whether the task was cancelled and
# to report progress. The cancellation check may read the database, so not per frame.
_CHECK_EVERY_SECONDS = 30.0

_DTYPE = np.dtype("<f4")
_BYTES_PER_SAMPLE = _DTYPE.itemsize


def normalize_audio(
    inputs: Sequence[Path],
    out_path: Path,
    *,
    max_seconds: float,
    check_cancelled: CancellationCheck | None = None,
    progress: ProgressReporter | None = None,
) -> NormalizedAudio:
    """Decode `inputs` in order and write them, concatenated, to `out_path`.

    Args:
        inputs: The meeting's audio files, in the order they were recorded.
        out_path: Where to write raw little-endian float32 samples at 16 kHz, mono.
            Replaced if it exists; removed again when decoding fails.
        max_seconds: The longest meeting accepted.
        check_cancelled: Called between files and every 30 s of audio; raises
            `TaskCancelled` to stop.
        progress: Receives the fraction of files decoded, refined within a file by its
            declared duration.

    Returns:
        The normalised audio, with where each input sits in it.

    Raises:
        InvalidArgument: with reason `AUDIO_UNDECODABLE`, `AUDIO_EMPTY` or
            `AUDIO_TOO_LONG` (see the module docstring).
        TaskCancelled: from `check_cancelled`.
    """
    if not inputs:
        raise InvalidArgument("the task has no audio", reason=AUDIO_EMPTY)
    max_samples = int(max_seconds * SAMPLE_RATE)
    spans: list[SourceSpan] = []
    total = 0
    peak = 0.0
    try:
        with out_path.open("wb") as out:
            for index, path in enumerate(inputs):
                if check_cancelled is not None:
                    check_cancelled()
                if progress is not None:
                    progress(index / len(inputs))
                sink = _Sink(
                    out,
                    index,
                    len(inputs),
                    total,
                    max_samples,
                    max_seconds,
                    check_cancelled,
                    progress,
                )
                _decode_file(path, index, sink)
                if sink.samples == 0:
                    raise InvalidArgument(
                        f"audio file {index} contains no audio samples",
                        reason=AUDIO_EMPTY,
                        metadata={"source_index": str(index)},
                    )
                spans.append(SourceSpan(index, total / SAMPLE_RATE, sink.samples / SAMPLE_RATE))
                total += sink.samples
                peak = max(peak, sink.peak)
    except BaseException:
        out_path.unlink(missing_ok=True)
        raise
    if total < MIN_SECONDS * SAMPLE_RATE or peak < SILENCE_PEAK:
        out_path.unlink(missing_ok=True)
        raise InvalidArgument("the audio is empty or silent", reason=AUDIO_EMPTY)
    if progress is not None:
        progress(1.0)
    logger.info("normalised %d file(s) into %.1f s of audio", len(inputs), total / SAMPLE_RATE)
    return NormalizedAudio(
        path=out_path,
        duration_seconds=total / SAMPLE_RATE,
        sources=tuple(spans),
        sample_rate=SAMPLE_RATE,
    )


def read_window(audio: NormalizedAudio, start_s: float, end_s: float) -> npt.NDArray[np.float32]:
    """The samples between `start_s` and `end_s` (clamped to the audio), as a copy.

    The file is memory-mapped, so only the window's pages are read.
    """
    total = _sample_count(audio.path)
    start = min(max(round(start_s * audio.sample_rate), 0), total)
    end = min(max(round(end_s * audio.sample_rate), start), total)
    if end == start:
        return np.zeros(0, dtype=np.float32)
    mapped = np.memmap(
        audio.path, dtype=_DTYPE, mode="r", offset=start * _BYTES_PER_SAMPLE, shape=(end - start,)
    )
    # A copy, so the mapping is released when `mapped` goes out of scope.
    return np.array(mapped, dtype=np.float32)


def _sample_count(path: Path) -> int:
    return path.stat().st_size // _BYTES_PER_SAMPLE


@dataclass
class _Sink:
    """Writes one file's resampled frames and enforces the limits as it goes."""

    out: BinaryIO
    index: int
    file_count: int
    offset: int  # samples of the files before this one
    max_samples: int
    max_seconds: float
    check_cancelled: CancellationCheck | None
    progress: ProgressReporter | None
    expected_seconds: float = 0.0  # declared duration of the file, 0 when unknown
    samples: int = 0
    peak: float = 0.0
    _next_check: int = int(_CHECK_EVERY_SECONDS * SAMPLE_RATE)

    def write(self, samples: npt.NDArray[np.float32]) -> None:
        if samples.size == 0:
            return
        self.out.write(samples.astype(_DTYPE, copy=False).tobytes())
        self.samples += samples.size
        self.peak = max(self.peak, float(np.max(np.abs(samples))))
        if self.offset + self.samples > self.max_samples:
            raise InvalidArgument(
                f"the audio is longer than the limit of {self.max_seconds:g} seconds",
                reason=AUDIO_TOO_LONG,
                metadata={"max_seconds": f"{self.max_seconds:g}", "source_index": str(self.index)},
            )
        if self.samples >= self._next_check:
            self._next_check += int(_CHECK_EVERY_SECONDS * SAMPLE_RATE)
            if self.check_cancelled is not None:
                self.check_cancelled()
            self._report()

    def _report(self) -> None:
        if self.progress is None:
            return
        within = 0.0
        if self.expected_seconds > 0:
            within = min(self.samples / SAMPLE_RATE / self.expected_seconds, 0.99)
        self.progress((self.index + within) / self.file_count)


def _decode_file(path: Path, index: int, sink: _Sink) -> None:
    """Decode the first audio stream of one file into `sink`."""
    # FFmpeg reports an empty file as "invalid data"; say what it is instead.
    if path.is_file() and path.stat().st_size == 0:
        raise InvalidArgument(
            f"audio file {index} is empty",
            reason=AUDIO_EMPTY,
            metadata={"source_index": str(index)},
        )
    try:
        with av.open(str(path), mode="r") as container:
            for frame in _frames(container, index, sink):
                sink.write(frame)
    except (av.FFmpegError, ValueError) as exc:
        # ValueError: PyAV's own complaints about malformed streams. Plain OSErrors
        # (writing `out_path`) are ours, not the file's, and pass through.
        raise _undecodable(
            index, f"audio file {index} cannot be decoded: {_reason(exc, path)}"
        ) from exc


def _frames(
    container: av.container.InputContainer, index: int, sink: _Sink
) -> Iterator[npt.NDArray[np.float32]]:
    if not container.streams.audio:
        raise _undecodable(index, f"audio file {index} has no audio stream")
    stream = container.streams.audio[0]
    if stream.duration is not None and stream.time_base is not None:
        sink.expected_seconds = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        sink.expected_seconds = container.duration / av.time_base
    resampler: av.AudioResampler | None = None
    source_format: tuple[str, str, int] | None = None
    for frame in container.decode(stream):
        # Some streams change layout or rate midway (a phone call going stereo);
        # a resampler is fixed to its first frame's, so start a new one.
        fmt = (frame.format.name, frame.layout.name, frame.sample_rate)
        if resampler is None or fmt != source_format:
            if resampler is not None:
                yield from _flush(resampler)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            source_format = fmt
        for out in resampler.resample(frame):
            yield _mono(out)
    if resampler is not None:
        yield from _flush(resampler)


def _flush(resampler: av.AudioResampler) -> Iterator[npt.NDArray[np.float32]]:
    for out in resampler.resample(None):
        yield _mono(out)


def _mono(frame: av.AudioFrame) -> npt.NDArray[np.float32]:
    # Packed mono float: one row of samples.
    array: npt.NDArray[np.float32] = frame.to_ndarray().reshape(-1).astype(np.float32, copy=False)
    return array


def _reason(exc: Exception, path: Path) -> str:
    """What FFmpeg said, without the path of our scratch copy: callers see this text."""
    if isinstance(exc, av.FFmpegError) and exc.strerror:
        return str(exc.strerror)
    return str(exc).replace(str(path), "the file")


def _undecodable(index: int, message: str) -> InvalidArgument:
    return InvalidArgument(message, reason=AUDIO_UNDECODABLE, metadata={"source_index": str(index)})
