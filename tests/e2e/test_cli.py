"""The command line as a script would run it: a real process, a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import DATA
from tests.harness.server import ServerThread, settings_for_tests

CLI = Path(sys.executable).parent / "meeting-agent"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A server that runs its tasks itself (the shared one only queues them)."""
    running = ServerThread(settings_for_tests(tmp_path_factory.mktemp("cli"))).start()
    yield running
    running.stop()


def _cli(
    server: ServerThread, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "MEETING_AGENT_ADDRESS": server.address,
        "MEETING_AGENT_TOKEN": server.token(),
        **(env or {}),
    }
    return subprocess.run(
        [str(CLI), *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        check=False,
    )


def test_watch_prints_progress_and_exits_zero_for_a_task_that_succeeds(
    server: ServerThread,
) -> None:
    done = _cli(
        server, "client", "create-task", str(DATA / "jfk.flac"), "--title", "JFK", "--watch"
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "TASK_STATE_SUCCEEDED"
    lines = done.stderr.splitlines()
    # One line per event when stderr is not a terminal: time, state, stage, percent.
    assert any(" running transcribe " in line and "%" in line for line in lines), lines
    assert lines[-1].split()[1:3] == ["succeeded", "done"], lines


def test_watch_exits_non_zero_with_the_reason_for_a_task_that_fails(
    server: ServerThread, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.wav"
    notes.write_bytes(b"this is not audio at all" * 100)

    failed = _cli(server, "client", "create-task", str(notes), "--watch")

    assert failed.returncode == 1, failed.stderr
    assert json.loads(failed.stdout)["state"] == "TASK_STATE_FAILED"
    assert "task FAILED: INVALID_ARGUMENT AUDIO_UNDECODABLE" in failed.stderr
    name = json.loads(failed.stdout)["name"]
    again = _cli(server, "client", "watch", name)
    assert again.returncode == 1 and "AUDIO_UNDECODABLE" in again.stderr


def test_process_keeps_its_data_in_the_configured_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "kept"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETING_AGENT_")}
    env["MEETING_AGENT_DATA_DIR"] = str(data_dir)
    done = subprocess.run(
        [str(CLI), "process", str(DATA / "jfk.flac"), "--json", "--no-diarization"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["transcript"]
    assert (data_dir / "meeting-agent.db").is_file()
    assert any((data_dir / "objects").rglob("*"))
