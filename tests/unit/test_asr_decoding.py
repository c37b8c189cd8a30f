"""The local recogniser's decoding presets: configuration, composition, `--fast`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from meeting_agent.adapters.asr.local_whisper import (
    ACCURATE,
    DECODINGS,
    DEFAULT_DECODING,
    FAST,
    LocalWhisperAsr,
    decoding_for,
)
from meeting_agent.cli import app
from meeting_agent.cli.process import with_fast_decoding
from meeting_agent.config import (
    CONFIG_FILE_VARIABLE,
    AsrSettings,
    ConfigurationError,
    Settings,
    load_settings,
)

pytestmark = pytest.mark.usefixtures("clean_env")


def test_the_default_is_the_accurate_preset() -> None:
    settings = load_settings()
    assert settings.asr.preset == "accurate"
    assert settings.asr.beam_size is None
    assert decoding_for(settings.asr.preset, beam_size=settings.asr.beam_size) is ACCURATE
    assert DEFAULT_DECODING is ACCURATE
    assert LocalWhisperAsr().decoding is ACCURATE


def test_accurate_is_faster_whispers_own_search() -> None:
    assert ACCURATE.beam_size == 5
    assert ACCURATE.best_of == 5
    assert ACCURATE.temperatures == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    assert ACCURATE.condition_on_previous_text


def test_fast_is_greedy_on_independent_windows() -> None:
    assert (FAST.beam_size, FAST.best_of, FAST.temperatures) == (1, 1, (0.0,))
    assert not FAST.condition_on_previous_text


def test_every_configurable_preset_has_a_decoding() -> None:
    names = AsrSettings.model_fields["preset"].annotation.__args__  # type: ignore[union-attr]
    assert set(names) == set(DECODINGS)


def test_preset_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETING_AGENT_ASR__PRESET", "fast")
    assert load_settings().asr.preset == "fast"


def test_preset_from_the_yaml_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "meeting-agent.yaml"
    path.write_text("asr:\n  preset: fast\n  beam_size: 3\n", encoding="utf-8")
    monkeypatch.setenv(CONFIG_FILE_VARIABLE, str(path))
    asr = load_settings().asr
    assert (asr.preset, asr.beam_size) == ("fast", 3)


def test_unknown_preset_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETING_AGENT_ASR__PRESET", "turbo")
    with pytest.raises(ConfigurationError, match="MEETING_AGENT_ASR__PRESET"):
        load_settings()


@pytest.mark.parametrize("beam_size", ["0", "11"])
def test_beam_size_out_of_range_is_refused(monkeypatch: pytest.MonkeyPatch, beam_size: str) -> None:
    monkeypatch.setenv("MEETING_AGENT_ASR__BEAM_SIZE", beam_size)
    with pytest.raises(ConfigurationError, match="MEETING_AGENT_ASR__BEAM_SIZE"):
        load_settings()


def test_beam_size_overrides_only_the_beam() -> None:
    decoding = decoding_for("accurate", beam_size=2)
    assert decoding.beam_size == 2
    assert decoding.temperatures == ACCURATE.temperatures
    assert decoding.condition_on_previous_text


def test_unknown_preset_name_is_refused() -> None:
    with pytest.raises(ValueError, match="turbo"):
        decoding_for("turbo")


def test_the_adapter_passes_what_it_exposes() -> None:
    options = LocalWhisperAsr(decoding=FAST, vad=False).transcribe_options
    assert options == {
        "beam_size": 1,
        "best_of": 1,
        "temperature": [0.0],
        "condition_on_previous_text": False,
        "word_timestamps": True,
        "vad_filter": False,
    }
    accurate = LocalWhisperAsr().transcribe_options
    assert accurate["beam_size"] == 5
    assert accurate["word_timestamps"] and accurate["vad_filter"]


def test_bootstrap_builds_the_configured_decoding(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from meeting_agent import bootstrap as composition

    built: list[Any] = []

    def record(*args: Any, **kwargs: Any) -> LocalWhisperAsr:
        built.append(kwargs["decoding"])
        raise _Stop

    monkeypatch.setattr(composition, "LocalWhisperAsr", record)
    settings = load_settings(data_dir=tmp_path, asr={"preset": "fast", "beam_size": 2})
    with pytest.raises(_Stop):
        composition.bootstrap(settings, role="cli")
    assert built == [decoding_for("fast", beam_size=2)]


def test_with_fast_decoding_drops_a_configured_beam() -> None:
    settings = Settings(asr=AsrSettings(preset="accurate", beam_size=5, vad=False))
    fast = with_fast_decoding(settings)
    assert (fast.asr.preset, fast.asr.beam_size, fast.asr.vad) == ("fast", None, False)
    assert settings.asr.preset == "accurate"


@pytest.mark.parametrize(("flags", "preset"), [([], "accurate"), (["--fast"], "fast")])
def test_process_fast_flag_picks_the_fast_preset(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, flags: list[str], preset: str
) -> None:
    from meeting_agent import bootstrap as composition

    seen: list[Settings] = []

    def fake_bootstrap(settings: Settings, **kwargs: Any) -> Any:
        seen.append(settings)
        raise _Stop

    monkeypatch.setattr(composition, "bootstrap", fake_bootstrap)
    audio = tmp_path / "meeting.wav"
    audio.write_bytes(b"")
    result = CliRunner().invoke(
        app, ["process", str(audio), *flags, "--data-dir", str(tmp_path / "data")]
    )
    assert isinstance(result.exception, _Stop), result.output
    assert [s.asr.preset for s in seen] == [preset]


def test_process_help_names_the_fast_flag() -> None:
    result = CliRunner().invoke(app, ["process", "--help"])
    assert result.exit_code == 0
    assert "--fast" in result.output


class _Stop(Exception):
    """Ends a command once the settings it built are recorded."""
