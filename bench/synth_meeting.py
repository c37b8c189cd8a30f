"""Synthesize a multi-voice meeting with espeak-ng: audio plus its reference transcript.

    python -m bench.synth_meeting OUT_DIR [--meeting NAME ...]

For each meeting of `bench.meetings` this writes `NAME.wav` (22.05 kHz mono 16-bit,
what espeak-ng speaks, with pauses between turns and a faint noise floor so the audio
is never digital silence), `NAME.txt` (the reference transcript, one turn a line) and
`NAME.json` (hotwords, and each turn's voice and time span). Needs Debian's espeak-ng.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.meetings import (
    CARIB,
    DEMO,
    GB,
    GB_F,
    MEETINGS,
    NYC,
    RP,
    SCOT,
    US,
    US_F,
    Meeting,
)

__all__ = ["SynthesizedMeeting", "synthesize"]

_RATE = 22_050  # espeak-ng's native rate
# Words per minute and pitch per voice, so speakers differ as people do.
_SPEEDS = (160, 170, 150, 175, 165)
_PITCHES = (50, 40, 60, 45, 55)
# Renditions other than 0 give each speaker another voice, so the same script meets
# the recogniser's errors anew (a second sample rather than a repeat).
_VOICE_POOL = (US, GB_F, SCOT, US_F, RP, NYC, CARIB, GB)


@dataclass(frozen=True)
class SynthesizedMeeting:
    name: str
    audio: Path
    reference: str
    hotwords: tuple[str, ...]


def synthesize(
    meeting: Meeting,
    out_dir: Path,
    *,
    rendition: int = 0,
    gap_seconds: float = 0.6,
    noise_dbfs: float = -60.0,
) -> SynthesizedMeeting:
    """Speak `meeting` into `out_dir` and return where it is and what was said.

    Rendition 0 uses the script's voices and is named after the meeting; rendition N
    swaps every voice for another and is named `<meeting>-rN`.
    """
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    out_dir.mkdir(parents=True, exist_ok=True)
    name = meeting.name if rendition == 0 else f"{meeting.name}-r{rendition}"
    turns = [(_recast(turn.voice, rendition), turn.text) for turn in meeting.turns]
    voices = sorted({voice for voice, _ in turns})
    gap = np.zeros(int(gap_seconds * _RATE), dtype=np.float32)
    pieces: list[npt.NDArray[np.float32]] = [gap]
    spans = []
    position = gap.size
    with tempfile.TemporaryDirectory() as scratch:
        for i, (voice, text) in enumerate(turns):
            style = (voices.index(voice) + rendition) % len(_SPEEDS)
            speech = _speak(
                espeak, voice, _SPEEDS[style], _PITCHES[style], text, Path(scratch) / f"{i}.wav"
            )
            spans.append(
                {
                    "voice": voice,
                    "text": text,
                    "start": round(position / _RATE, 3),
                    "end": round((position + speech.size) / _RATE, 3),
                }
            )
            pieces += [speech, gap]
            position += speech.size + gap.size
    audio = np.concatenate(pieces)
    rng = np.random.default_rng(rendition)
    audio += rng.normal(0.0, 10 ** (noise_dbfs / 20), audio.size).astype(np.float32)
    wav_path = out_dir / f"{name}.wav"
    _write_wav(wav_path, audio)
    reference = "\n".join(turn.text for turn in meeting.turns)
    (out_dir / f"{name}.txt").write_text(reference + "\n", encoding="utf-8")
    (out_dir / f"{name}.json").write_text(
        json.dumps({"name": name, "hotwords": list(meeting.hotwords), "turns": spans}, indent=2),
        encoding="utf-8",
    )
    return SynthesizedMeeting(name, wav_path, reference, meeting.hotwords)


def _recast(voice: str, rendition: int) -> str:
    if rendition == 0:
        return voice
    return _VOICE_POOL[(_VOICE_POOL.index(voice) + 3 * rendition) % len(_VOICE_POOL)]


def _speak(
    espeak: str, voice: str, speed: int, pitch: int, text: str, path: Path
) -> npt.NDArray[np.float32]:
    subprocess.run(
        [espeak, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path), text],
        check=True,
        capture_output=True,
    )
    with wave.open(str(path), "rb") as wav:
        if wav.getframerate() != _RATE or wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            raise RuntimeError(f"unexpected espeak-ng output format in {path}")
        frames = wav.readframes(wav.getnframes())
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0


def _write_wav(path: Path, audio: npt.NDArray[np.float32]) -> None:
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(_RATE)
        wav.writeframes(pcm.tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument(
        "--meeting",
        action="append",
        default=[],
        help="a meeting name from bench.meetings; all when omitted",
    )
    parser.add_argument(
        "--rendition",
        type=int,
        default=0,
        help="0 for the script's voices; N > 0 recasts every speaker",
    )
    args = parser.parse_args()
    chosen = [
        m
        for m in (*MEETINGS, DEMO)
        if m.name in args.meeting or (not args.meeting and m is not DEMO)
    ]
    for meeting in chosen:
        made = synthesize(meeting, args.out_dir, rendition=args.rendition)
        with wave.open(str(made.audio), "rb") as wav:
            seconds = wav.getnframes() / wav.getframerate()
        print(f"{made.audio}  {seconds:6.1f} s  {len(made.reference.split())} words")


if __name__ == "__main__":
    main()
