"""Long meetings with many voices that come back after long gaps, for diarization.

    python -m bench.long_meeting OUT.wav --minutes 30 [--parts en-a,call,zh,en-b]

A recording is built from *parts*, each spoken by one fixed group of voices:

- `en-a`, `en-b`: three espeak-ng English voices each (accent, pitch and speed apart),
  reading the scripts of `bench.meetings` in turn, so the words change every time the
  group comes back;
- `zh`: three Mandarin voices reading the rows of `bench.zh_minutes_set`, spoken from
  tone-numbered pinyin (espeak-ng reads Hanzi as English letters);
- `call`: `tests/data/sample.wav`, two real people on the telephone, with its RTTM.

Parts follow each other in a shuffled order that changes every round, so each group
returns minutes (or, on long recordings, an hour) after it last spoke, saying other
things. Every speaker keeps one identity across the recording: the reference labels
are `<part>:<voice>`. Audio is written as it is made (16 kHz mono WAV), so hours of it
need no more memory than one part.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.meetings import DEMO, MEETINGS
from bench.zh_minutes_set import ZH_MEETINGS

__all__ = ["PARTS", "LongMeeting", "Span", "build", "part_names"]

RATE = 16_000
_ESPEAK_RATE = 22_050
_DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


@dataclass(frozen=True)
class Voice:
    label: str
    espeak: str
    speed: int
    pitch: int


@dataclass(frozen=True)
class Span:
    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class LongMeeting:
    audio: Path
    seconds: float
    spans: tuple[Span, ...]

    @property
    def speakers(self) -> list[str]:
        return sorted({s.speaker for s in self.spans})

    def to_json(self) -> str:
        return json.dumps(
            {"seconds": self.seconds, "spans": [[s.start, s.end, s.speaker] for s in self.spans]}
        )


# Voices within a group differ the way colleagues do: accent, pitch, pace.
_GROUPS: dict[str, tuple[Voice, ...]] = {
    "en-a": (
        Voice("us", "en-us", 160, 50),
        Voice("gb-f", "gmw/en+f2", 170, 40),
        Voice("scot", "en-gb-scotland+m3", 150, 60),
    ),
    "en-b": (
        Voice("us-f", "en-us+f3", 175, 45),
        Voice("rp", "en-gb-x-rp+m5", 185, 75),
        Voice("carib", "en-029", 150, 35),
    ),
    "zh": (
        Voice("m", "cmn-latn-pinyin", 150, 45),
        Voice("f", "cmn-latn-pinyin+f3", 165, 65),
        Voice("m2", "cmn-latn-pinyin+m4", 140, 30),
    ),
}
PARTS = (*_GROUPS, "call")


def part_names(text: str) -> tuple[str, ...]:
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in names if p not in PARTS]
    if unknown or not names:
        raise ValueError(f"parts are some of {', '.join(PARTS)}; not {unknown or text!r}")
    return names


def _english_turns(round_number: int) -> list[tuple[int, str]]:
    scripts = (DEMO, *MEETINGS)
    meeting = scripts[round_number % len(scripts)]
    order = list(dict.fromkeys(t.voice for t in meeting.turns))
    # Four-voice scripts give their fourth voice's lines to the first speaker.
    return [(order.index(t.voice) % 3, t.text) for t in meeting.turns]


def _mandarin_turns(round_number: int) -> list[tuple[int, str]]:
    meeting = ZH_MEETINGS[round_number % len(ZH_MEETINGS)]
    order = list(meeting.speakers)
    return [(order.index(speaker) % 3, text) for speaker, text in meeting.rows]


class _Speaker:
    """espeak-ng utterances at 16 kHz, each (voice, text) spoken once per process."""

    def __init__(self, scratch: Path) -> None:
        espeak = shutil.which("espeak-ng")
        if espeak is None:
            raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
        self._espeak = espeak
        self._scratch = scratch
        self._cache: dict[tuple[Voice, str], npt.NDArray[np.int16]] = {}

    def __call__(self, voice: Voice, text: str) -> npt.NDArray[np.int16]:
        key = (voice, text)
        if key not in self._cache:
            self._cache[key] = self._speak(voice, text)
        return self._cache[key]

    def _speak(self, voice: Voice, text: str) -> npt.NDArray[np.int16]:
        from scipy.signal import resample_poly  # type: ignore[import-untyped]

        if voice.espeak.startswith("cmn"):
            from pypinyin import Style, lazy_pinyin

            text = " ".join(lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True))
        path = self._scratch / "utterance.wav"
        subprocess.run(
            [
                self._espeak,
                "-v",
                voice.espeak,
                "-s",
                str(voice.speed),
                "-p",
                str(voice.pitch),
                "-w",
                str(path),
                text,
            ],
            check=True,
            capture_output=True,
        )
        with wave.open(str(path), "rb") as wav:
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        common = gcd(RATE, _ESPEAK_RATE)
        resampled = np.asarray(
            resample_poly(samples.astype(np.float32), RATE // common, _ESPEAK_RATE // common),
            dtype=np.float32,
        )
        result: npt.NDArray[np.int16] = np.clip(resampled, -32768, 32767).astype(np.int16)
        return result


def _call() -> tuple[npt.NDArray[np.int16], list[Span]]:
    with wave.open(str(_DATA / "sample.wav"), "rb") as wav:
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    spans = []
    for line in (_DATA / "sample.rttm").read_text(encoding="utf-8").splitlines():
        fields = line.split()
        start, length = float(fields[3]), float(fields[4])
        spans.append(Span(start, start + length, f"call:{fields[7]}"))
    return samples, spans


def _part(
    name: str, round_number: int, speak: _Speaker, gap: int
) -> tuple[npt.NDArray[np.int16], list[Span]]:
    """The audio of one part and its spans, in seconds from the part's start."""
    if name == "call":
        return _call()
    voices = _GROUPS[name]
    turns = (_mandarin_turns if name == "zh" else _english_turns)(round_number)
    pieces: list[npt.NDArray[np.int16]] = []
    spans: list[Span] = []
    position = 0
    for voice_number, text in turns:
        voice = voices[voice_number]
        speech = speak(voice, text)
        spans.append(
            Span(position / RATE, (position + speech.size) / RATE, f"{name}:{voice.label}")
        )
        pieces += [speech, np.zeros(gap, dtype=np.int16)]
        position += speech.size + gap
    return np.concatenate(pieces), spans


def _schedule(parts: Sequence[str], seed: int) -> Iterator[str]:
    """Parts forever: every round holds each part once, in a new order."""
    rng = random.Random(seed)
    first = True
    while True:
        order = list(parts)
        if not first:
            rng.shuffle(order)
        first = False
        yield from order


def build(
    out: Path,
    seconds: float,
    *,
    parts: Sequence[str] = PARTS,
    seed: int = 7,
    sequence: Sequence[str] | None = None,
    turn_gap_seconds: float = 0.6,
    part_gap_seconds: float = 1.5,
    noise_dbfs: float = -60.0,
) -> LongMeeting:
    """Write at least `seconds` of meeting to `out` (whole parts only) and its reference.

    `sequence`, when given, is the exact order of parts instead of shuffled rounds of
    `parts` (and `seconds` is then ignored). A part that comes back reads its next
    script. The reference is also written beside the audio as `<out>.json`.
    """
    rng = np.random.default_rng(seed)
    noise = 32768 * 10 ** (noise_dbfs / 20)
    spans: list[Span] = []
    position = 0
    with (
        tempfile.TemporaryDirectory(prefix="long-meeting-") as scratch,
        wave.open(str(out), "wb") as wav,
    ):
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        speak = _Speaker(Path(scratch))
        heard: dict[str, int] = {}
        for name in _schedule(parts, seed) if sequence is None else sequence:
            if sequence is None and position >= seconds * RATE:
                break
            round_number = heard.get(name, 0)
            heard[name] = round_number + 1
            audio, part_spans = _part(name, round_number, speak, round(turn_gap_seconds * RATE))
            audio = np.concatenate(
                [audio, np.zeros(round(part_gap_seconds * RATE), dtype=np.int16)]
            )
            # A faint noise floor, so the recording is never digital silence.
            hiss = rng.normal(0.0, noise, audio.size)
            wav.writeframes(np.clip(audio + hiss, -32768, 32767).astype("<i2").tobytes())
            offset = position / RATE
            spans += [
                Span(round(offset + s.start, 3), round(offset + s.end, 3), s.speaker)
                for s in part_spans
            ]
            position += audio.size
    made = LongMeeting(out, position / RATE, tuple(spans))
    out.with_suffix(out.suffix + ".json").write_text(made.to_json(), encoding="utf-8")
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument(
        "--parts",
        type=part_names,
        default=PARTS,
        help=f"comma-separated, some of {','.join(PARTS)}",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    made = build(args.out, args.minutes * 60, parts=args.parts, seed=args.seed)
    print(
        f"{made.audio}: {made.seconds / 60:.1f} min, {len(made.speakers)} speakers, "
        f"{len(made.spans)} turns"
    )


if __name__ == "__main__":
    main()
