"""scripts/health_probe.py, the container HEALTHCHECK, against a real server."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.server import ServerThread, settings_for_tests

PROBE = Path(__file__).resolve().parents[2] / "scripts" / "health_probe.py"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    running = ServerThread(settings_for_tests(tmp_path_factory.mktemp("probe"))).start()
    yield running
    running.stop()


def _probe(address: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROBE), "--address", address, "--timeout", "2"],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_serving_server_passes(server: ServerThread) -> None:
    for _ in range(50):  # SERVING once the first dependency check has run
        result = _probe(server.address)
        if result.returncode == 0:
            break
    assert result.returncode == 0, result.stderr


def test_nothing_listening_fails() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = _probe(f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert "UNAVAILABLE" in result.stderr
