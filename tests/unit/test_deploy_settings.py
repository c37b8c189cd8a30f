"""The settings the deployment files set are ones the service accepts, in production."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from meeting_agent.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def _env_example() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    return {key: value for key, value in pairs}


def _interpolate(value: str, env: dict[str, str]) -> str:
    # Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, with .env.example's values.
    def one(match: re.Match[str]) -> str:
        name, operator, rest = match.group(1), match.group(2), match.group(3)
        if name in env:
            return env[name]
        assert operator == ":-", f"{name} is required but missing from .env.example"
        return rest

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def _load(environ: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in [k for k in os.environ if k.startswith("MEETING_AGENT_")]:
        monkeypatch.delenv(key)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    return Settings()


@pytest.mark.parametrize("service", ["migrate", "server", "worker"])
def test_compose_environment_is_a_valid_production_configuration(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = _env_example()
    environment = {
        key: _interpolate(str(value), env)
        for key, value in compose["services"][service]["environment"].items()
    }
    settings = _load(environment, monkeypatch)
    assert settings.environment == "production"
    assert settings.jobs.backend == "rq"
    assert settings.resolved_database_url.startswith("postgresql+psycopg://")
    assert not settings.resolved_auto_migrate
    # Every container reaches the same objects.
    assert settings.storage.backend == "tos"


def test_kubernetes_configmap_and_secrets_are_a_valid_production_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configmap = yaml.safe_load((ROOT / "deploy/k8s/configmap.yaml").read_text())
    server = next(
        doc
        for doc in yaml.safe_load_all((ROOT / "deploy/k8s/server.yaml").read_text())
        if doc["kind"] == "Deployment"
    )
    container = server["spec"]["template"]["spec"]["containers"][0]
    examples = {
        "DATABASE_URL": "postgresql+psycopg://u:p@db/x",
        "REDIS_URL": "redis://:p@redis:6379/0",
        "ACCESS_KEY": "ak",
        "SECRET_KEY": "sk",
    }
    secrets = {
        item["name"]: next(v for k, v in examples.items() if item["name"].endswith(k))
        for item in container["env"]
    }
    assert all("secretKeyRef" in item["valueFrom"] for item in container["env"])
    settings = _load({**configmap["data"], **secrets}, monkeypatch)
    assert settings.server.listen_address == "[::]:50051"
    assert settings.storage.backend == "tos"
    # Readiness and liveness are different questions (meeting_agent.api.server).
    assert container["readinessProbe"]["grpc"]["service"] == "readiness"
    assert container["livenessProbe"]["grpc"]["service"] == "liveness"
    grace = server["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > settings.server.shutdown_delay_seconds + settings.server.shutdown_grace_seconds
