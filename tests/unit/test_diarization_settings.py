"""The `diarization` settings section and how bootstrap turns it into a diarizer."""

from __future__ import annotations

from pathlib import Path

import pytest

from meeting_agent.adapters.diarization import LocalDiarizer, LocalDiarizerSettings
from meeting_agent.bootstrap import build_diarizer
from meeting_agent.config import ConfigurationError, DiarizationSettings, load_settings


def test_diarization_is_on_by_default() -> None:
    diarizer = build_diarizer(DiarizationSettings())

    assert isinstance(diarizer, LocalDiarizer)
    assert diarizer.settings == LocalDiarizerSettings()  # the tuned defaults
    assert diarizer.settings.weights_path is None


def test_environment_switches_it_off_and_tunes_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MEETING_AGENT_DIARIZATION__ENABLED", "false")
    assert build_diarizer(load_settings(data_dir=tmp_path).diarization) is None

    monkeypatch.setenv("MEETING_AGENT_DIARIZATION__ENABLED", "true")
    monkeypatch.setenv("MEETING_AGENT_DIARIZATION__CLUSTERING_THRESHOLD", "0.8")
    monkeypatch.setenv("MEETING_AGENT_DIARIZATION__EMBEDDING_MODEL_PATH", "/models/enc.pt")
    diarizer = build_diarizer(load_settings(data_dir=tmp_path).diarization)

    assert isinstance(diarizer, LocalDiarizer)
    assert diarizer.settings.threshold == 0.8
    assert diarizer.settings.weights_path == Path("/models/enc.pt")


def test_a_step_longer_than_the_window_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="DIARIZATION"):
        load_settings(data_dir=tmp_path, diarization={"window_seconds": 1.0, "step_seconds": 2.0})
