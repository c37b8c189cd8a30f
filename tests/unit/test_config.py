"""Settings from `MEETING_AGENT_*` variables and the optional YAML file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from meeting_agent.config import (
    CONFIG_FILE_VARIABLE,
    ConfigurationError,
    Settings,
    load_settings,
)

VARIABLE = re.compile(r"\bMEETING_AGENT_[A-Z0-9_]*[A-Z0-9]\b")


pytestmark = pytest.mark.usefixtures("clean_env")


def named_variables(error: ConfigurationError) -> set[str]:
    return set(VARIABLE.findall(str(error)))


def config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str) -> Path:
    path = tmp_path / "meeting-agent.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv(CONFIG_FILE_VARIABLE, str(path))
    return path


def load_error(**overrides: object) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        load_settings(**overrides)
    return info.value


# ---------------------------------------------------------------- defaults and env


def test_defaults_need_no_configuration() -> None:
    settings = load_settings()

    assert isinstance(settings, Settings)
    assert settings.environment == "development"
    assert settings.resolved_database_url.startswith("sqlite:///")
    assert settings.resolved_auto_migrate is True
    assert settings.auth.dev_key is True


def test_nested_fields_use_a_double_underscore(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETING_AGENT_AUTH__ISSUER", "https://id.example.test")
    monkeypatch.setenv("MEETING_AGENT_SERVER__WORKER_THREADS", "4")
    monkeypatch.setenv("MEETING_AGENT_AUTH__ALGORITHMS", '["RS256", "ES256"]')
    monkeypatch.setenv("MEETING_AGENT_LOG_LEVEL", "DEBUG")

    settings = load_settings()

    assert settings.auth.issuer == "https://id.example.test"
    assert settings.server.worker_threads == 4
    assert settings.auth.algorithms == ["RS256", "ES256"]
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MEETING_AGENT_SERVER__WORKER_THREADS", "0"),
        ("MEETING_AGENT_SERVER__WORKER_THREADS", "many"),
        ("MEETING_AGENT_SERVER__MAX_RECEIVE_MESSAGE_BYTES", "10"),
        ("MEETING_AGENT_STORAGE__BACKEND", "s3-someday"),
        ("MEETING_AGENT_STORAGE__MAX_UPLOAD_BYTES", "-1"),
        ("MEETING_AGENT_LOG_LEVEL", "CHATTY"),
        ("MEETING_AGENT_ENVIRONMENT", "staging"),
        ("MEETING_AGENT_AUTH__LEEWAY_SECONDS", "3600"),
        ("MEETING_AGENT_AUTH__TRUSTED_GATEWAY", "perhaps"),
        ("MEETING_AGENT_LIMITS__MAX_AUDIO_SOURCES", "0"),
    ],
)
def test_invalid_env_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)

    error = load_error()

    assert named_variables(error) == {variable}


def test_every_invalid_variable_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETING_AGENT_SERVER__WORKER_THREADS", "0")
    monkeypatch.setenv("MEETING_AGENT_LOG_LEVEL", "CHATTY")

    error = load_error()

    assert named_variables(error) == {
        "MEETING_AGENT_SERVER__WORKER_THREADS",
        "MEETING_AGENT_LOG_LEVEL",
    }


def test_invalid_list_item_names_the_list_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETING_AGENT_AUTH__ALGORITHMS", '["RS256", "HS256"]')

    error = load_error()

    assert named_variables(error) == {"MEETING_AGENT_AUTH__ALGORITHMS"}, (
        "load_settings turns the list index of the bad item into a variable name "
        "(MEETING_AGENT_AUTH__ALGORITHMS__1) that does not exist"
    )


def test_misspelt_nested_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # A typo must not silently leave the default in force.
    monkeypatch.setenv("MEETING_AGENT_AUTH__ISUER", "https://id.example.test")

    try:
        settings = load_settings()
    except ConfigurationError as error:
        assert any(name.startswith("MEETING_AGENT_AUTH") for name in named_variables(error))
        return
    pytest.fail(
        f"MEETING_AGENT_AUTH__ISUER was ignored (issuer={settings.auth.issuer!r}): "
        "the nested settings models do not forbid extra fields"
    )


# ---------------------------------------------------------------- the YAML file


def test_yaml_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config_file(
        monkeypatch,
        tmp_path,
        """\
server:
  worker_threads: 8
auth:
  issuer: 会议-issuer
  algorithms: [RS256, PS256]
""",
    )

    settings = load_settings()

    assert settings.server.worker_threads == 8
    assert settings.auth.issuer == "会议-issuer"
    assert settings.auth.algorithms == ["RS256", "PS256"]


def test_env_wins_over_yaml_field_by_field(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config_file(
        monkeypatch,
        tmp_path,
        """\
log_level: WARNING
server:
  worker_threads: 8
  listen_address: "0.0.0.0:6000"
""",
    )
    monkeypatch.setenv("MEETING_AGENT_SERVER__LISTEN_ADDRESS", "127.0.0.1:7000")
    monkeypatch.setenv("MEETING_AGENT_LOG_LEVEL", "ERROR")

    settings = load_settings()

    assert settings.server.listen_address == "127.0.0.1:7000"
    assert settings.log_level == "ERROR"
    assert settings.server.worker_threads == 8, "the YAML value of a sibling field survives"


def test_missing_config_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    monkeypatch.setenv(CONFIG_FILE_VARIABLE, str(missing))

    error = load_error()

    assert CONFIG_FILE_VARIABLE in named_variables(error)
    assert str(missing) in str(error)


def test_config_file_that_is_a_directory_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CONFIG_FILE_VARIABLE, str(tmp_path))

    assert CONFIG_FILE_VARIABLE in named_variables(load_error())


def test_invalid_yaml_value_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config_file(monkeypatch, tmp_path, "server:\n  worker_threads: 0\n")

    error = load_error()

    assert any("WORKER_THREADS" in name for name in named_variables(error))


def test_unknown_top_level_yaml_key_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config_file(monkeypatch, tmp_path, "databse_url: sqlite:///typo.db\n")

    load_error()


def test_unknown_nested_yaml_key_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config_file(monkeypatch, tmp_path, "server:\n  worker_thread: 8\n")

    try:
        settings = load_settings()
    except ConfigurationError:
        return
    pytest.fail(
        f"server.worker_thread was ignored (worker_threads={settings.server.worker_threads}): "
        "the nested settings models do not forbid extra fields"
    )


def test_malformed_yaml_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config_file(monkeypatch, tmp_path, "server: [\n")

    try:
        load_settings()
    except ConfigurationError as error:
        assert CONFIG_FILE_VARIABLE in named_variables(error)
    except Exception as exc:
        pytest.fail(
            f"a YAML syntax error escaped load_settings as {type(exc).__name__}, not as a "
            "ConfigurationError naming MEETING_AGENT_CONFIG_FILE"
        )
    else:
        pytest.fail("malformed YAML was accepted")


# ---------------------------------------------------------------- cross-field rules


def test_production_with_the_dev_key_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = tmp_path / "issuer.pem"
    key.write_text("not read at load time")
    monkeypatch.setenv("MEETING_AGENT_ENVIRONMENT", "production")
    monkeypatch.setenv("MEETING_AGENT_AUTH__PUBLIC_KEY_FILES", f'["{key}"]')

    error = load_error()

    assert "MEETING_AGENT_AUTH__DEV_KEY" in named_variables(error)


def test_production_needs_a_trust_anchor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETING_AGENT_ENVIRONMENT", "production")
    monkeypatch.setenv("MEETING_AGENT_AUTH__DEV_KEY", "false")

    error = load_error()

    assert "MEETING_AGENT_AUTH__PUBLIC_KEY_FILES" in named_variables(error)


def test_production_with_explicit_keys_loads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MEETING_AGENT_ENVIRONMENT", "production")
    monkeypatch.setenv("MEETING_AGENT_AUTH__DEV_KEY", "false")
    monkeypatch.setenv("MEETING_AGENT_AUTH__JWKS_URL", "https://id.example.test/jwks.json")

    settings = load_settings()

    assert settings.environment == "production"
    assert settings.resolved_auto_migrate is False


def _production_with_rq(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETING_AGENT_ENVIRONMENT", "production")
    monkeypatch.setenv("MEETING_AGENT_AUTH__DEV_KEY", "false")
    monkeypatch.setenv("MEETING_AGENT_AUTH__JWKS_URL", "https://id.example.test/jwks.json")
    monkeypatch.setenv("MEETING_AGENT_JOBS__BACKEND", "rq")


def test_production_with_rq_refuses_a_local_store_not_said_to_be_shared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _production_with_rq(monkeypatch)

    error = load_error()

    assert "MEETING_AGENT_STORAGE__LOCAL_SHARED" in str(error)


def test_production_with_rq_takes_a_shared_local_directory_or_tos(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _production_with_rq(monkeypatch)
    monkeypatch.setenv("MEETING_AGENT_STORAGE__LOCAL_SHARED", "true")
    assert load_settings().storage.local_shared

    monkeypatch.delenv("MEETING_AGENT_STORAGE__LOCAL_SHARED")
    for name, value in (
        ("BACKEND", "tos"),
        ("TOS__BUCKET", "b"),
        ("TOS__REGION", "cn-beijing"),
        ("TOS__ACCESS_KEY", "ak"),
        ("TOS__SECRET_KEY", "sk"),
    ):
        monkeypatch.setenv(f"MEETING_AGENT_STORAGE__{name}", value)
    assert load_settings().storage.backend == "tos"


@pytest.mark.parametrize("present", ["TLS_CERT_FILE", "TLS_KEY_FILE"])
def test_tls_needs_both_cert_and_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, present: str
) -> None:
    monkeypatch.setenv(f"MEETING_AGENT_SERVER__{present}", str(tmp_path / "server.pem"))

    error = load_error()

    assert any(name.startswith("MEETING_AGENT_SERVER") for name in named_variables(error))


def test_tls_with_cert_and_key_loads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEETING_AGENT_SERVER__TLS_CERT_FILE", str(tmp_path / "cert.pem"))
    monkeypatch.setenv("MEETING_AGENT_SERVER__TLS_KEY_FILE", str(tmp_path / "key.pem"))

    settings = load_settings()

    assert settings.server.tls_key_file == tmp_path / "key.pem"


def test_overrides_are_validated_too() -> None:
    error = load_error(log_level="CHATTY")

    assert named_variables(error) == {"MEETING_AGENT_LOG_LEVEL"}
