"""How well and how fast does the local diarizer label speakers? DER, and time added.

    python -m bench.diarization [--meeting NAME ...] [--renditions N] [--gap SECONDS]
                                [--lengths MINUTES,...] [--json FILE]

Diarization error rate (pyannote.metrics, 0.25 s collar, overlap scored) of
`LocalDiarizer` with its default settings:

- on `tests/data/sample.wav` (two people on the telephone) against `sample.rttm`,
  with no hint and with an exact hint of two speakers;
- on meetings of `bench.meetings` that espeak-ng speaks (`bench.synth_meeting`), against
  the voice and time span of each turn that the synthesis records, with no hint and
  with the true count as an exact hint. Rendition N > 0 recasts every voice; `--gap`
  shortens the pause between turns (0.6 s by default) below what the VAD splits at
  (0.5 s), so that changes of speaker fall inside speech regions.

Then, on long meetings (`bench.long_meeting`: three espeak-ng voice groups, English and
Mandarin, and the two people of `sample.wav`, 11 voices that come back round after round
saying other things), DER and the speaker count found against length (`--lengths`,
5 min, 30 min, 1 h and 3 h by default; empty to skip), with no hint and with the true
count, beside the DER of each part on its own, measured in the same run.

Each short recording is also transcribed by `LocalWhisperAsr` (the bundled tiny.en, as the
pipeline runs it) in the same process, so the last column is what diarization adds to
transcription time on this machine. Models are loaded before anything is timed, and
each timing is the best of two runs (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

from bench.long_meeting import PARTS, Span
from bench.long_meeting import build as build_long_meeting
from bench.meetings import DEMO, MEETINGS
from bench.synth_meeting import synthesize
from meeting_agent.adapters.asr import LocalWhisperAsr
from meeting_agent.adapters.audio import normalize_audio
from meeting_agent.adapters.diarization import LocalDiarizer
from meeting_agent.domain.models import SpeakerCount
from meeting_agent.ports import AsrRequest, NormalizedAudio, SpeakerTurn

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
COLLAR = 0.25
T = TypeVar("T")


@dataclass
class Result:
    name: str
    audio_seconds: float
    speakers: int
    found: int
    der: float
    found_hinted: int
    der_hinted: float
    asr_seconds: float
    diarize_seconds: float

    @property
    def added(self) -> float:
        return self.diarize_seconds / self.asr_seconds if self.asr_seconds else 0.0


class _NoCheckpoints:
    def load(self, name: str) -> bytes | None:
        return None

    def save(self, name: str, data: bytes) -> None:
        pass


def _nothing(*args: object, **kwargs: object) -> None:
    return None


def der(reference: Annotation, turns: list[SpeakerTurn], duration: float) -> float:
    hypothesis = Annotation()
    for turn in turns:
        hypothesis[Segment(turn.start, turn.end)] = turn.speaker
    metric = DiarizationErrorRate(collar=COLLAR)
    return float(metric(reference, hypothesis, uem=Timeline([Segment(0.0, duration)])))


def rttm_reference(path: Path) -> Annotation:
    annotation = Annotation()
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields and fields[0] == "SPEAKER":
            start, length = float(fields[3]), float(fields[4])
            annotation[Segment(start, start + length)] = fields[7]
    return annotation


def synth_reference(path: Path) -> Annotation:
    annotation = Annotation()
    for turn in json.loads(path.read_text(encoding="utf-8"))["turns"]:
        annotation[Segment(turn["start"], turn["end"])] = turn["voice"]
    return annotation


def _timed(run: Callable[[], T], repeats: int) -> tuple[T, float]:
    """The result of `run` and its best time: the machine is shared, so take the minimum."""
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    assert result is not None
    return result, best


def evaluate(
    name: str,
    audio: NormalizedAudio,
    reference: Annotation,
    asr: LocalWhisperAsr,
    diarizer: LocalDiarizer,
    *,
    repeats: int = 2,
) -> Result:
    _, asr_seconds = _timed(
        lambda: asr.transcribe(
            audio,
            AsrRequest("en", "", (), None, True),
            checkpoints=_NoCheckpoints(),
            progress=_nothing,
            check_cancelled=_nothing,
        ),
        repeats,
    )
    return _scored(name, audio, reference, diarizer, repeats=repeats, asr_seconds=asr_seconds)


def _scored(
    name: str,
    audio: NormalizedAudio,
    reference: Annotation,
    diarizer: LocalDiarizer,
    *,
    repeats: int,
    asr_seconds: float = 0.0,
) -> Result:
    """DER and speakers found with no hint (timed, best of `repeats`) and with the true
    count as an exact hint."""
    turns, diarize_seconds = _timed(
        lambda: diarizer.diarize(
            audio, speaker_count=None, progress=_nothing, check_cancelled=_nothing
        ),
        repeats,
    )
    count = len(reference.labels())
    hinted = diarizer.diarize(
        audio, speaker_count=SpeakerCount(count, count), progress=_nothing, check_cancelled=_nothing
    )
    return Result(
        name=name,
        audio_seconds=audio.duration_seconds,
        speakers=count,
        found=len({t.speaker for t in turns}),
        der=der(reference, turns, audio.duration_seconds),
        found_hinted=len({t.speaker for t in hinted}),
        der_hinted=der(reference, hinted, audio.duration_seconds),
        asr_seconds=asr_seconds,
        diarize_seconds=diarize_seconds,
    )


def _table(results: list[Result]) -> str:
    lines = [
        f"DER with a {COLLAR} s collar (pyannote.metrics); 'hint' = exact true count.",
        "",
        "| recording | audio s | speakers | found | DER | DER, hint | ASR s | diarize s | added |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.audio_seconds:.1f} | {r.speakers} | {r.found} "
            f"| {r.der:.1%} | {r.der_hinted:.1%} | {r.asr_seconds:.2f} "
            f"| {r.diarize_seconds:.2f} | {r.added:.0%} |"
        )
    synthetic = [r for r in results if r.name != "sample.wav"]
    if synthetic:

        def mean(values: list[float]) -> float:
            return sum(values) / len(values)

        added = sum(r.diarize_seconds for r in synthetic) / sum(r.asr_seconds for r in synthetic)
        lines.append(
            f"| synthesized, mean | {sum(r.audio_seconds for r in synthetic):.1f} | | "
            f"{sum(r.found == r.speakers for r in synthetic)}/{len(synthetic)} right "
            f"| {mean([r.der for r in synthetic]):.1%} "
            f"| {mean([r.der_hinted for r in synthetic]):.1%} "
            f"| {sum(r.asr_seconds for r in synthetic):.2f} "
            f"| {sum(r.diarize_seconds for r in synthetic):.2f} "
            f"| {added:.0%} |"
        )
    return "\n".join(lines)


def long_reference(spans: Sequence[Span]) -> Annotation:
    annotation = Annotation()
    for span in spans:
        annotation[Segment(span.start, span.end)] = span.speaker
    return annotation


def evaluate_long(
    name: str,
    path: Path,
    work: Path,
    minutes: float,
    parts: tuple[str, ...],
    diarizer: LocalDiarizer,
) -> Result:
    made = build_long_meeting(path, minutes * 60, parts=parts)
    audio = normalize_audio([made.audio], work / f"{name}.f32", max_seconds=6 * 3600)
    path.unlink()
    result = _scored(name, audio, long_reference(made.spans), diarizer, repeats=1)
    audio.path.unlink()
    return result


def _long_table(parts: list[Result], lengths: list[Result]) -> str:
    mean = sum(r.der for r in parts) / len(parts)
    mean_hinted = sum(r.der_hinted for r in parts) / len(parts)
    lines = [
        "Long meetings: every part alone, then the parts in rounds (no hint / exact hint).",
        "",
        "| recording | audio | speakers | found | DER | found, hint | DER, hint "
        "| diarize s | RTF |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in (*parts, *lengths):
        lines.append(
            f"| {r.name} | {r.audio_seconds / 60:.1f} min | {r.speakers} | {r.found} "
            f"| {r.der:.1%} | {r.found_hinted} | {r.der_hinted:.1%} "
            f"| {r.diarize_seconds:.1f} | {r.diarize_seconds / r.audio_seconds:.3f} |"
        )
    lines += [
        "",
        f"mean DER of the parts: {mean:.1%} (hint {mean_hinted:.1%}); goal on "
        f"each length: DER <= {mean + 0.05:.1%}, found within 1 of the speakers",
    ]
    return "\n".join(lines)


def long_meetings(lengths: list[float], work: Path, diarizer: LocalDiarizer) -> str:
    parts = [
        evaluate_long(f"part {name}", work / f"part-{name}.wav", work, 0.01, (name,), diarizer)
        for name in PARTS
    ]
    results = []
    for minutes in lengths:
        results.append(
            evaluate_long(f"{minutes:g} min", work / "long.wav", work, minutes, PARTS, diarizer)
        )
        r = results[-1]
        print(
            f"{r.name}: found {r.found}/{r.speakers}, DER {r.der:.1%}, {r.diarize_seconds:.0f} s",
            flush=True,
        )
    return _long_table(parts, results)


def _minutes_list(text: str) -> list[float]:
    return [float(m) for m in text.split(",") if m.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--meeting",
        action="append",
        default=[],
        help="a meeting of bench.meetings (launch-sync is the demo); all when omitted",
    )
    parser.add_argument(
        "--renditions",
        type=int,
        default=1,
        help="how many voice castings of each meeting (1 = the script's)",
    )
    parser.add_argument(
        "--gap",
        type=float,
        default=0.6,
        help="seconds of pause between turns of the synthesized meetings",
    )
    parser.add_argument(
        "--lengths",
        type=_minutes_list,
        default=[5.0, 30.0, 60.0, 180.0],
        help="minutes of each long meeting, comma-separated; '' skips them",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    meetings = [m for m in (DEMO, *MEETINGS) if not args.meeting or m.name in args.meeting]
    asr, diarizer = LocalWhisperAsr(), LocalDiarizer()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-diarization-") as scratch:
        work = Path(scratch)
        sample = normalize_audio([DATA / "sample.wav"], work / "sample.f32", max_seconds=3600)
        # Warm-up: load both models so that neither pays for loading in the timings.
        evaluate("warm-up", sample, rttm_reference(DATA / "sample.rttm"), asr, diarizer, repeats=1)
        reference = rttm_reference(DATA / "sample.rttm")
        results.append(evaluate("sample.wav", sample, reference, asr, diarizer))
        for rendition in range(args.renditions):
            for meeting in meetings:
                made = synthesize(meeting, work, rendition=rendition, gap_seconds=args.gap)
                audio = normalize_audio([made.audio], work / f"{made.name}.f32", max_seconds=3600)
                results.append(
                    evaluate(
                        made.name, audio, synth_reference(work / f"{made.name}.json"), asr, diarizer
                    )
                )
                print(f"{made.name}: DER {results[-1].der:.1%}", flush=True)
        print(_table(results), flush=True)
        if args.lengths:
            print()
            print(long_meetings(args.lengths, work, diarizer))
    if args.json:
        args.json.write_text(
            json.dumps([asdict(r) | {"added": r.added} for r in results], indent=2),
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
