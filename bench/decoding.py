"""How accurate and how fast is each local decoding? WER and seconds, in one run.

    python -m bench.decoding [--renditions 2] [--repeats 2] [--work-dir DIR]

The meetings and their voices are those of `bench.hotwords` (espeak-ng, see
`bench.synth_meeting`), decoded by `normalize_audio` and transcribed by the bundled
tiny.en three ways:

- `raw defaults`: faster-whisper's `WhisperModel.transcribe` with nothing but the
  language: its own defaults (beam 5, temperature fallback, conditioning on previous
  text, no VAD, no word timestamps). The baseline.
- `accurate`: `LocalWhisperAsr` with the default preset, chunking, VAD and word
  timestamps included, as the pipeline runs it.
- `fast`: `LocalWhisperAsr` with the fast preset (greedy, independent windows).

Prints corpus WER (`bench.wer`), decode seconds (the best of `--repeats` runs of each
meeting, as other jobs share the CPU) and real-time factor per decoding, and how many
meetings each one transcribed worse or better than the baseline. Needs Debian's
espeak-ng and jiwer; about six minutes per rendition and repeat on 2 cores.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.hotwords import synthesized, transcribe
from bench.wer import WerCounts, wer
from meeting_agent.adapters.asr.local_whisper import ACCURATE, FAST, LocalWhisperAsr
from meeting_agent.adapters.audio import read_window
from meeting_agent.ports import NormalizedAudio

DECODINGS = ("raw defaults", "accurate", "fast")


@dataclass
class MeetingResult:
    name: str
    audio_seconds: float
    counts: dict[str, WerCounts] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def run(renditions: int, repeats: int, work_dir: Path) -> list[MeetingResult]:
    accurate = LocalWhisperAsr(decoding=ACCURATE)
    fast = LocalWhisperAsr(decoding=FAST)
    model = accurate._model()  # one loaded model, shared by both adapters and the baseline

    def raw(audio: NormalizedAudio) -> str:
        samples = read_window(audio, 0, audio.duration_seconds)
        pieces, _ = model.transcribe(samples, language="en")
        return " ".join(p.text.strip() for p in pieces)

    def adapter(asr: LocalWhisperAsr) -> Callable[[NormalizedAudio], str]:
        return lambda audio: " ".join(s.text for s in transcribe(asr, audio))

    decoders = {"raw defaults": raw, "accurate": adapter(accurate), "fast": adapter(fast)}
    results = []
    for made, audio in synthesized(renditions, work_dir):
        result = MeetingResult(made.name, audio.duration_seconds)
        for repeat in range(repeats):
            # Each repeat starts from another decoding, so a burst of load from other
            # jobs does not always land on the same one.
            order = DECODINGS[repeat % 3 :] + DECODINGS[: repeat % 3]
            for name in order:
                started = time.perf_counter()
                text = decoders[name](audio)
                seconds = time.perf_counter() - started
                result.seconds[name] = min(seconds, result.seconds.get(name, seconds))
                if name not in result.counts:
                    result.counts[name] = wer([made.reference], [text])
        results.append(result)
        cells = "  ".join(
            f"{n}={result.counts[n].wer:.3f}/{result.seconds[n]:.1f}s" for n in DECODINGS
        )
        print(f"  {result.name:<24} {cells}", flush=True)
    return results


def table(results: list[MeetingResult]) -> str:
    """A Markdown table: corpus WER, seconds and meetings changed, per decoding."""

    def row(cells: list[str]) -> str:
        return "| " + " | ".join(f"{c:>14}" for c in cells) + " |"

    audio = sum(r.audio_seconds for r in results)
    head = row(["decoding", "WER", "vs raw", "seconds", "RTF", "worse / better"])
    lines = [head, re.sub(r"[^|]", "-", head)]
    base = sum((r.counts["raw defaults"] for r in results), WerCounts(0, 0))
    for name in DECODINGS:
        counts = sum((r.counts[name] for r in results), WerCounts(0, 0))
        seconds = sum(r.seconds[name] for r in results)
        worse = sum(r.counts[name].errors > r.counts["raw defaults"].errors for r in results)
        better = sum(r.counts[name].errors < r.counts["raw defaults"].errors for r in results)
        lines.append(
            row(
                [
                    name,
                    f"{counts.wer:.3f}",
                    f"{counts.wer - base.wer:+.3f}",
                    f"{seconds:.1f}",
                    f"{seconds / audio:.4f}",
                    f"{worse} / {better}",
                ]
            )
        )
    words = base.reference_words
    lines.append(f"\n{len(results)} meetings, {audio:.0f} s of audio, {words} reference words")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--renditions",
        type=int,
        default=2,
        help="how many voice castings of each meeting (default 2)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="runs of each decoding per meeting; the fastest counts (default 2)",
    )
    parser.add_argument(
        "--work-dir", type=Path, help="keep the audio here (a temporary directory otherwise)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        results = run(args.renditions, max(1, args.repeats), args.work_dir or Path(scratch))
    print()
    print(table(results))


if __name__ == "__main__":
    main()
