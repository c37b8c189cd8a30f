"""Which way of using hotwords helps tiny.en? WER on synthetic meetings, per method.

    python -m bench.hotwords [--renditions 2] [--work-dir DIR] [--json FILE]

Each meeting of `bench.meetings` is spoken by espeak-ng (see `bench.synth_meeting`),
decoded by `normalize_audio` and transcribed by the bundled tiny.en with the decoding
the pipeline uses by default (`LocalWhisperAsr().transcribe_options`: the accurate
preset, VAD, word timestamps):

- `none`: `LocalWhisperAsr` itself, no hotwords: the baseline;
- `hotwords`: faster-whisper's `hotwords=` (the phrases, comma-separated);
- `prompt`: faster-whisper's `initial_prompt=` (the same text);
- `correction`: the baseline's segments through
  `meeting_agent.service.hotword_correction.apply_hotwords`.

The table shows each meeting's WER per method and, for each method, its change
against the baseline of the same run and the number of meetings it made worse.
Rendition N > 0 re-speaks every meeting with other voices: a second sample, not a
repeat. Runs on 2 cores in about four minutes per rendition.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from faster_whisper import WhisperModel

from bench.meetings import MEETINGS
from bench.synth_meeting import SynthesizedMeeting, synthesize
from bench.wer import WerCounts, wer
from meeting_agent.adapters.asr import LocalWhisperAsr
from meeting_agent.adapters.audio import normalize_audio, read_window
from meeting_agent.domain.models import Hotword, TranscriptSegment
from meeting_agent.ports import AsrRequest, NormalizedAudio
from meeting_agent.service.hotword_correction import apply_hotwords

METHODS = ("none", "hotwords", "prompt", "correction")


@dataclass
class MeetingResult:
    name: str
    audio_seconds: float
    counts: dict[str, WerCounts] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    asr_seconds: dict[str, float] = field(default_factory=dict)


class _NoCheckpoints:
    def load(self, name: str) -> bytes | None:
        return None

    def save(self, name: str, data: bytes) -> None:
        pass


def synthesized(
    renditions: int, work_dir: Path
) -> Iterator[tuple[SynthesizedMeeting, NormalizedAudio]]:
    """Every meeting of `MEETINGS` in each rendition, spoken and decoded as an upload is."""
    for rendition in range(renditions):
        for meeting in MEETINGS:
            made = synthesize(meeting, work_dir, rendition=rendition)
            yield (
                made,
                normalize_audio([made.audio], work_dir / f"{made.name}.f32", max_seconds=3600),
            )


def transcribe(
    asr: LocalWhisperAsr, audio: NormalizedAudio, hotwords: tuple[Hotword, ...] = ()
) -> list[TranscriptSegment]:
    """The adapter's segments, as the pipeline would get them on a first attempt."""
    request = AsrRequest(
        language_code="en", model="", hotwords=hotwords, speaker_count=None, diarization=False
    )
    return asr.transcribe(
        audio,
        request,
        checkpoints=_NoCheckpoints(),
        progress=lambda fraction, message="": None,
        check_cancelled=lambda: None,
    ).segments


def run(renditions: int, work_dir: Path) -> list[MeetingResult]:
    asr = LocalWhisperAsr()
    model = asr._model()  # the same loaded model the adapter uses
    results = []
    for made, audio in synthesized(renditions, work_dir):
        results.append(_measure(made, audio, asr, model))
        _print_progress(results[-1])
    return results


def _measure(
    made: SynthesizedMeeting, audio: NormalizedAudio, asr: LocalWhisperAsr, model: WhisperModel
) -> MeetingResult:
    result = MeetingResult(made.name, audio.duration_seconds)
    hotwords = tuple(Hotword(phrase) for phrase in made.hotwords)
    glossary = ", ".join(made.hotwords)

    segments = _timed(result, "none", lambda: transcribe(asr, audio, hotwords))
    _timed(result, "hotwords", lambda: _direct(asr, model, audio, hotwords=glossary))
    _timed(result, "prompt", lambda: _direct(asr, model, audio, initial_prompt=glossary + "."))
    _timed(result, "correction", lambda: apply_hotwords(segments, hotwords))
    for method in METHODS:
        result.counts[method] = wer([made.reference], [result.texts[method]])
    return result


def _timed(
    result: MeetingResult, method: str, produce: Callable[[], list[TranscriptSegment]]
) -> list[TranscriptSegment]:
    started = time.perf_counter()
    segments = produce()
    result.asr_seconds[method] = time.perf_counter() - started
    result.texts[method] = " ".join(s.text for s in segments)
    return segments


def _direct(
    asr: LocalWhisperAsr, model: WhisperModel, audio: NormalizedAudio, **biasing: str
) -> list[TranscriptSegment]:
    """The adapter's settings, plus one of faster-whisper's biasing options."""
    samples = read_window(audio, 0, audio.duration_seconds)
    pieces, _ = model.transcribe(samples, language="en", **asr.transcribe_options, **biasing)
    return [TranscriptSegment(i, "", p.start, p.end, p.text.strip()) for i, p in enumerate(pieces)]


def _print_progress(result: MeetingResult) -> None:
    cells = "  ".join(f"{m}={result.counts[m].wer:.3f}" for m in METHODS)
    print(f"  {result.name:<24} {cells}", flush=True)


def table(results: list[MeetingResult]) -> str:
    """A Markdown table: WER per meeting and method, then totals against `none`."""

    def row(label: str, seconds: str, words: str, cells: list[str]) -> str:
        return (
            f"| {label:<24} | {seconds:>7} | {words:>5} | "
            + " | ".join(f"{c:>10}" for c in cells)
            + " |"
        )

    head = row("meeting", "audio s", "words", list(METHODS))
    lines = [head, re.sub(r"[^|]", "-", head)]
    for r in results:
        lines.append(
            row(
                r.name,
                f"{r.audio_seconds:.1f}",
                str(r.counts["none"].reference_words),
                [f"{r.counts[m].wer:.3f}" for m in METHODS],
            )
        )
    totals = {m: sum((r.counts[m] for r in results), WerCounts(0, 0)) for m in METHODS}
    audio = sum(r.audio_seconds for r in results)
    seconds = {m: sum(r.asr_seconds[m] for r in results) for m in METHODS}
    lines += [
        row(
            "all (corpus WER)",
            f"{audio:.1f}",
            str(totals["none"].reference_words),
            [f"{totals[m].wer:.3f}" for m in METHODS],
        ),
        row(
            "change vs none",
            "",
            "",
            [f"{totals[m].wer - totals['none'].wer:+.3f}" for m in METHODS],
        ),
        row(
            "meetings worse / better",
            "",
            "",
            [f"{_worse(results, m)} / {_better(results, m)}" for m in METHODS],
        ),
        row("real-time factor", "", "", [f"{seconds[m] / audio:.4f}" for m in METHODS]),
    ]
    return "\n".join(lines)


def _worse(results: list[MeetingResult], method: str) -> int:
    return sum(r.counts[method].errors > r.counts["none"].errors for r in results)


def _better(results: list[MeetingResult], method: str) -> int:
    return sum(r.counts[method].errors < r.counts["none"].errors for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--renditions",
        type=int,
        default=2,
        help="how many voice castings of each meeting (default 2)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        help="keep the audio and transcripts here (a temporary directory otherwise)",
    )
    parser.add_argument("--json", type=Path, help="also write every transcript and count here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work_dir = args.work_dir or Path(scratch)
        results = run(args.renditions, work_dir)
    print()
    print(table(results))
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "meeting": r.name,
                        "audio_seconds": r.audio_seconds,
                        "texts": r.texts,
                        "errors": {m: r.counts[m].errors for m in METHODS},
                        "reference_words": r.counts["none"].reference_words,
                    }
                    for r in results
                ],
                indent=2,
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
