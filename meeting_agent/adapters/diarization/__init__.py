"""Local speaker diarization: Silero VAD, Resemblyzer voice vectors (NumPy), clustering."""

from meeting_agent.adapters.diarization.local import LocalDiarizer, LocalDiarizerSettings

__all__ = ["LocalDiarizer", "LocalDiarizerSettings"]
