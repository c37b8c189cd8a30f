"""`normalize_audio` on real files: every container and codec is made on the fly with PyAV."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import pytest

from meeting_agent.adapters.audio import normalize_audio, read_window
from meeting_agent.errors import InvalidArgument
from meeting_agent.ports import TaskCancelled

DATA = Path(__file__).resolve().parent.parent / "data"
JFK = DATA / "jfk.flac"
SAMPLE = DATA / "sample.wav"
JFK_SECONDS = 11.0
# Lossy encoders pad the start and end with a frame or two of silence.
CODEC_SLACK_SECONDS = 0.1


def transcode(
    src: Path,
    dst: Path,
    codec: str,
    *,
    rate: int = 16_000,
    layout: str = "mono",
    with_video: bool = False,
) -> Path:
    """Re-encode `src`'s audio with `codec` into `dst` (container from the suffix)."""
    with av.open(str(src)) as source, av.open(str(dst), "w") as out:
        audio = out.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(audio, av.AudioStream)
        video = None
        if with_video:
            video = out.add_stream("mpeg4", rate=5)
            video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        for frame in source.decode(source.streams.audio[0]):
            frame.pts = None  # let the encoder number its own frames
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
        if video is not None:
            for i in range(int(JFK_SECONDS * 5)):
                picture = av.VideoFrame.from_ndarray(
                    np.full((48, 64, 3), i * 4 % 256, dtype=np.uint8), format="rgb24"
                )
                out.mux(video.encode(picture))
            out.mux(video.encode(None))
    return dst


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """16-bit PCM WAV; `samples` is (frames,) or (frames, channels) in [-1, 1]."""
    frames = samples.reshape(len(samples), -1)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(frames.shape[1])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((frames * 32767).astype("<i2").tobytes())
    return path


def sine(seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return amplitude * np.sin(2 * np.pi * 440 * t)


def reason_of(excinfo: pytest.ExceptionInfo[InvalidArgument]) -> tuple[str, dict[str, str]]:
    return excinfo.value.reason, excinfo.value.metadata


@pytest.fixture()
def out(tmp_path: Path) -> Path:
    return tmp_path / "normalized.f32"


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("flac", lambda tmp: JFK),
        ("wav", lambda tmp: transcode(JFK, tmp / "jfk.wav", "pcm_s16le")),
        ("mp3", lambda tmp: transcode(JFK, tmp / "jfk.mp3", "libmp3lame")),
        ("ogg-opus", lambda tmp: transcode(JFK, tmp / "jfk.ogg", "libopus", rate=48_000)),
        ("m4a-aac", lambda tmp: transcode(JFK, tmp / "jfk.m4a", "aac", rate=44_100)),
        ("mp4-video-aac", lambda tmp: transcode(JFK, tmp / "jfk.mp4", "aac", with_video=True)),
    ],
)
def test_decodes_common_formats_to_16k_mono(name: str, make, tmp_path: Path, out: Path) -> None:
    source = make(tmp_path)
    audio = normalize_audio([source], out, max_seconds=60)

    assert audio.sample_rate == 16_000
    assert audio.duration_seconds == pytest.approx(JFK_SECONDS, abs=CODEC_SLACK_SECONDS)
    assert out.stat().st_size == round(audio.duration_seconds * 16_000) * 4
    assert audio.sources[0].index == 0
    assert audio.sources[0].offset_seconds == 0.0
    assert audio.sources[0].duration_seconds == audio.duration_seconds
    speech = read_window(audio, 0.5, 2.0)
    assert speech.dtype == np.float32
    assert 0.01 < float(np.sqrt(np.mean(speech**2))) < 1.0


def test_concatenates_files_and_records_their_offsets(out: Path) -> None:
    audio = normalize_audio([JFK, SAMPLE], out, max_seconds=60)

    assert [(s.index, s.offset_seconds, s.duration_seconds) for s in audio.sources] == [
        (0, 0.0, 11.0),
        (1, 11.0, 30.0),
    ]
    assert audio.duration_seconds == 41.0
    alone = normalize_audio([SAMPLE], out.with_name("sample.f32"), max_seconds=60)
    np.testing.assert_array_equal(read_window(audio, 11.0, 13.0), read_window(alone, 0.0, 2.0))


def test_stereo_44k_becomes_16k_mono_of_the_same_length(tmp_path: Path, out: Path) -> None:
    tone = sine(2.5, 44_100)
    source = write_wav(tmp_path / "stereo.wav", np.stack([tone, tone], axis=1), 44_100)

    audio = normalize_audio([source], out, max_seconds=60)

    assert audio.duration_seconds == pytest.approx(2.5, abs=0.001)
    assert out.stat().st_size == round(2.5 * 16_000) * 4
    # FFmpeg mixes each channel in at -3 dB (as `ffmpeg -ac 1`, which Whisper uses, does):
    # a 0.5 tone in both channels becomes a 0.707 tone, RMS 0.5.
    window = read_window(audio, 0.5, 2.0)
    assert float(np.sqrt(np.mean(window**2))) == pytest.approx(0.5, rel=0.02)
    spectrum = np.abs(np.fft.rfft(window))
    assert np.fft.rfftfreq(len(window), 1 / 16_000)[np.argmax(spectrum)] == pytest.approx(
        440, abs=2
    )


def test_undecodable_bytes_name_the_file(tmp_path: Path, out: Path) -> None:
    garbage = tmp_path / "garbage.mp3"
    garbage.write_bytes(np.random.default_rng(0).bytes(20_000))

    with pytest.raises(InvalidArgument) as excinfo:
        normalize_audio([JFK, garbage], out, max_seconds=60)

    assert reason_of(excinfo) == ("AUDIO_UNDECODABLE", {"source_index": "1"})
    assert not out.exists()


def test_a_file_without_audio_is_undecodable(tmp_path: Path, out: Path) -> None:
    video_only = tmp_path / "video.mp4"
    with av.open(str(video_only), "w") as container:
        stream = container.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))

    with pytest.raises(InvalidArgument) as excinfo:
        normalize_audio([video_only], out, max_seconds=60)

    assert reason_of(excinfo) == ("AUDIO_UNDECODABLE", {"source_index": "0"})


def test_an_empty_file_is_empty(tmp_path: Path, out: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")

    with pytest.raises(InvalidArgument) as excinfo:
        normalize_audio([JFK, empty], out, max_seconds=60)

    assert reason_of(excinfo) == ("AUDIO_EMPTY", {"source_index": "1"})
    assert not out.exists()


def test_digital_silence_is_empty(tmp_path: Path, out: Path) -> None:
    silent = write_wav(tmp_path / "silent.wav", np.zeros(3 * 16_000), 16_000)

    with pytest.raises(InvalidArgument) as excinfo:
        normalize_audio([silent], out, max_seconds=60)

    assert reason_of(excinfo) == ("AUDIO_EMPTY", {})


def test_quiet_speech_is_not_silence(tmp_path: Path, out: Path) -> None:
    quiet = write_wav(tmp_path / "quiet.wav", sine(1.0, 16_000, amplitude=0.002), 16_000)

    assert normalize_audio([quiet], out, max_seconds=60).duration_seconds == 1.0


def test_too_long_stops_within_the_file_that_passes_the_limit(out: Path) -> None:
    with pytest.raises(InvalidArgument) as excinfo:
        normalize_audio([JFK, SAMPLE], out, max_seconds=5)

    # Failing in file 0 shows decoding stopped there, without reading file 1.
    assert reason_of(excinfo) == ("AUDIO_TOO_LONG", {"max_seconds": "5", "source_index": "0"})
    assert not out.exists()


def test_cancellation_between_files(out: Path) -> None:
    calls = 0

    def check() -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise TaskCancelled()

    with pytest.raises(TaskCancelled):
        normalize_audio([JFK, SAMPLE], out, max_seconds=60, check_cancelled=check)
    assert calls == 2
    assert not out.exists()


def test_cancellation_within_a_long_file(tmp_path: Path, out: Path) -> None:
    long_file = write_wav(tmp_path / "long.wav", sine(70.0, 16_000), 16_000)
    seen: list[float] = []

    def check() -> None:
        if seen:  # the first check is before the file; the next one is inside it
            raise TaskCancelled()
        seen.append(0.0)

    with pytest.raises(TaskCancelled):
        normalize_audio([long_file], out, max_seconds=600, check_cancelled=check)


def test_progress_rises_to_one(out: Path) -> None:
    fractions: list[float] = []

    normalize_audio(
        [JFK, SAMPLE],
        out,
        max_seconds=60,
        progress=lambda fraction, message="": fractions.append(fraction),
    )

    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0
    assert fractions[-1] == 1.0


def test_read_window_clamps_to_the_audio(out: Path) -> None:
    audio = normalize_audio([JFK], out, max_seconds=60)

    assert read_window(audio, -5.0, 0.5).shape == (8_000,)
    assert read_window(audio, 10.5, 99.0).shape == (8_000,)
    assert read_window(audio, 20.0, 30.0).shape == (0,)
