"""Speech recognition adapters."""

from meeting_agent.adapters.asr.local_whisper import LocalWhisperAsr

__all__ = ["LocalWhisperAsr"]
