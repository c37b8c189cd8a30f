"""Audio decoding: any container/codec FFmpeg reads → 16 kHz mono float32 on disk."""

from meeting_agent.adapters.audio.decode import normalize_audio, read_window

__all__ = ["normalize_audio", "read_window"]
