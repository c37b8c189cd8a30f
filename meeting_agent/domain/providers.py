"""What a configured provider offers: its models, languages and features."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AsrProvider:
    name: str
    models: tuple[str, ...]
    language_codes: tuple[str, ...]
    diarization: bool = False
    # A task's hotwords apply: sent to the engine, or by post-correction of its output.
    hotwords: bool = False
    word_timestamps: bool = False
    # The engine itself is sent the hotwords; otherwise post-correction alone applies them.
    native_hotwords: bool = False


@dataclass(frozen=True)
class LlmProvider:
    name: str
    models: tuple[str, ...]
    extractive: bool = False
