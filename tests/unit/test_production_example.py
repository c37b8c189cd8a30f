"""The shipped production configuration example loads, given its secrets from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from meeting_agent.config import load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "production.example.yaml"


def test_the_production_example_is_a_valid_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for vendor in ("volcengine", "azure", "gemini"):
        keys = tmp_path / f"{vendor}-keys"
        keys.write_text("key-1\nkey-2\n")
        monkeypatch.setenv(f"MEETING_AGENT_PROVIDERS__{vendor.upper()}__KEYS_FILE", str(keys))
    monkeypatch.setenv("MEETING_AGENT_CONFIG_FILE", str(EXAMPLE))
    monkeypatch.setenv("MEETING_AGENT_STORAGE__TOS__ACCESS_KEY", "ak")
    monkeypatch.setenv("MEETING_AGENT_STORAGE__TOS__SECRET_KEY", "sk")

    settings = load_settings()

    assert settings.environment == "production"
    assert settings.jobs.backend == "rq"
    assert settings.storage.backend == "tos"
    assert settings.providers.asr_order[0] == "volcengine"
    assert settings.providers.azure.secrets() == ["key-1", "key-2"]
