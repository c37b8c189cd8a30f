"""The production profile end to end: server, separate RQ worker processes, Redis, PostgreSQL.

A worker killed in the middle of transcription loses nothing: the task's lease goes
stale, the server's reconciler queues it again, and a new worker resumes from the
ASR chunks already stored.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from meeting_agent.v1 import minutes_service_pb2, task_pb2, task_service_pb2
from tests.e2e.conftest import DATA, JFK, Client, normalized, watch
from tests.harness.postgres import temporary_database
from tests.harness.redis import local_redis
from tests.harness.server import ServerThread, settings_for_tests

ROOT = Path(__file__).resolve().parents[2]

PROFILE: dict[str, dict[str, Any]] = {
    "jobs": {
        "backend": "rq",
        "heartbeat_seconds": 0.5,
        "heartbeat_timeout_seconds": 3,
        "reconcile_interval_seconds": 1,
        "retry_intervals_seconds": [1],
    },
    "asr": {"chunk_seconds": 10},
}


def _env(prefix: str, values: dict[str, object]) -> dict[str, str]:
    env = {}
    for key, value in values.items():
        name = f"{prefix}{key.upper()}"
        if isinstance(value, dict):
            env.update(_env(f"{name}__", value))
        elif isinstance(value, list):
            env[name] = json.dumps(value)
        else:
            env[name] = str(value)
    return env


@pytest.fixture
def production(tmp_path: Path, redis_url: str, postgres_url: str) -> Iterator[dict[str, object]]:
    with temporary_database(postgres_url) as url:
        profile: dict[str, object] = {
            "data_dir": str(tmp_path),
            "database_url": url.render_as_string(False),
            "auto_migrate": True,
            **PROFILE,
        }
        profile["jobs"] = {**PROFILE["jobs"], "redis_url": redis_url}
        yield profile


def _descendants(pid: int) -> list[int]:
    """Every process below `pid`, read from /proc (RQ's job process leaves our session)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


class Worker:
    """`python worker.py`, killed with everything it started, as a host failure would."""

    def __init__(self, profile: dict[str, object], log: Path) -> None:
        env = {**os.environ, **_env("MEETING_AGENT_", profile)}
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")],
            env=env,
            cwd=ROOT,
            stdout=self._log,
            stderr=self._log,
        )

    def kill(self) -> None:
        for pid in [self.process.pid, *_descendants(self.process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


@pytest.fixture
def server(production: dict[str, object]) -> Iterator[ServerThread]:
    settings = settings_for_tests(
        Path(str(production["data_dir"])),
        **{k: v for k, v in production.items() if k != "data_dir"},
    )
    running = ServerThread(settings).start()
    yield running
    running.stop()


def test_a_worker_process_runs_the_task(server: ServerThread, production, tmp_path: Path) -> None:
    worker = Worker(production, tmp_path / "worker.log")
    try:
        with server.channel() as channel:
            client = Client(channel, server.token())
            task = client.create_task(client.upload((DATA / "jfk.flac").read_bytes()))
            messages = watch(client, task.name)
            transcript = client.transcripts.GetTranscript(
                _transcript_request(task.name), metadata=client.metadata
            ).transcript
    finally:
        worker.stop()

    assert messages[-1].task.state == task_pb2.TASK_STATE_SUCCEEDED, _log(tmp_path)
    assert normalized(" ".join(s.text for s in transcript.segments)) == normalized(JFK)


def test_killing_the_worker_mid_transcription_loses_nothing(
    server: ServerThread, production, tmp_path: Path
) -> None:
    sample = (DATA / "sample.wav").read_bytes()
    first = Worker(production, tmp_path / "worker-1.log")
    second = None
    try:
        with server.channel() as channel:
            client = Client(channel, server.token())
            uploads = [client.upload(sample, filename=f"part-{i}.wav") for i in range(6)]
            task = client.create_task(*uploads, display_name="Long call")
            _wait_for_transcription(client, task.name, at_least_percent=25)
            checkpoints = _checkpoints(server, task.name)
            assert checkpoints, "no ASR chunk was stored before the kill"

            first.kill()
            second = Worker(production, tmp_path / "worker-2.log")
            final = watch(client, task.name)[-1].task
            artifacts = client.minutes.ListArtifacts(
                minutes_service_pb2.ListArtifactsRequest(parent=task.name), metadata=client.metadata
            ).artifacts
            transcript = client.transcripts.GetTranscript(
                _transcript_request(task.name), metadata=client.metadata
            ).transcript
    finally:
        first.stop()
        if second is not None:
            second.stop()

    assert final.state == task_pb2.TASK_STATE_SUCCEEDED, _log(tmp_path)
    assert _attempts(server, task.name) == 2
    assert len(artifacts) == 1
    assert transcript.segments and max(s.source_index for s in transcript.segments) == 5
    # Chunks stored before the kill were reused, not transcribed (and paid for) again.
    after = _checkpoints(server, task.name)
    assert {name: after[name] for name in checkpoints} == checkpoints


def _transcript_request(task_name: str):
    from meeting_agent.v1 import transcript_service_pb2

    return transcript_service_pb2.GetTranscriptRequest(name=f"{task_name}/transcript")


def _wait_for_transcription(client: Client, name: str, *, at_least_percent: int) -> None:
    stream = client.tasks.WatchTask(
        task_service_pb2.WatchTaskRequest(name=name), metadata=client.metadata, timeout=300
    )
    for message in stream:
        event = message.event
        if (
            event.stage == task_pb2.TASK_STAGE_TRANSCRIBE
            and event.progress_percent >= at_least_percent
        ):
            stream.cancel()
            return
        assert event.state != task_pb2.TASK_STATE_SUCCEEDED, "finished before the kill"
    raise AssertionError("the stream ended before transcription progressed")


def _checkpoints(server: ServerThread, task_name: str) -> dict[str, tuple[int, int]]:
    """ASR chunk checkpoints by name, with their modification time and size."""
    root = server.settings.resolved_storage_root
    found = {}
    for path in root.rglob("*"):
        # ".~*.tmp" is a write in progress (the kill may catch one): not a checkpoint.
        if (
            path.is_file()
            and task_name.split("/")[1] in path.parts
            and "asr" in path.parts
            and not path.name.startswith(".~")
        ):
            stat = path.stat()
            found[path.name] = (stat.st_mtime_ns, stat.st_size)
    return found


def _attempts(server: ServerThread, task_name: str) -> int:
    with server.container.database.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT attempts FROM tasks WHERE id = :id"), {"id": task_name.split("/")[1]}
            ).scalar_one()
        )


def _log(tmp_path: Path) -> str:
    return "\n".join(p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("*.log"))


def test_a_task_accepted_while_redis_is_down_is_not_lost(tmp_path: Path, postgres_url: str) -> None:
    with local_redis() as redis, temporary_database(postgres_url) as url:
        profile: dict[str, object] = {
            "data_dir": str(tmp_path),
            "database_url": url.render_as_string(False),
            "auto_migrate": True,
            **PROFILE,
            "jobs": {**PROFILE["jobs"], "redis_url": redis.url},
        }
        running = ServerThread(
            settings_for_tests(tmp_path, **{k: v for k, v in profile.items() if k != "data_dir"})
        ).start()
        worker = None
        try:
            with running.channel() as channel:
                client = Client(channel, running.token())
                redis.stop(cleanup=False)
                task = client.create_task(client.upload((DATA / "jfk.flac").read_bytes()))
                assert task.state == task_pb2.TASK_STATE_QUEUED

                redis.start()
                worker = Worker(profile, tmp_path / "worker.log")
                final = watch(client, task.name)[-1].task
        finally:
            if worker is not None:
                worker.stop()
            running.stop()

    assert final.state == task_pb2.TASK_STATE_SUCCEEDED, _log(tmp_path)
