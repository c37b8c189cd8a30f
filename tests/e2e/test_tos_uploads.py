"""Direct uploads on the TOS store, through the server: CreateUploadUrl, a presigned PUT,
then a task that uses the upload and is processed from the bucket."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest

from meeting_agent.v1 import audio_pb2, audio_service_pb2, task_pb2
from tests.e2e.conftest import DATA, JFK, Client, normalized, transcript_text, watch
from tests.harness.server import ServerThread, settings_for_tests
from tests.harness.tos import FakeTos

BUCKET = "meetings"


@pytest.fixture(scope="module")
def tos() -> Iterator[FakeTos]:
    with FakeTos() as fake:
        yield fake


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tos: FakeTos) -> Iterator[ServerThread]:
    storage = {
        "backend": "tos",
        "tos": {
            "bucket": BUCKET,
            "region": tos.region,
            "endpoint": tos.endpoint,
            "access_key": tos.access_key,
            "secret_key": tos.secret_key,
            # The harness is the proxy for its own virtual hosts (see tests/harness/tos.py).
            "proxy_host": "127.0.0.1",
            "proxy_port": tos.port,
            "max_retry_count": 0,
        },
    }
    running = ServerThread(
        settings_for_tests(tmp_path_factory.mktemp("tos"), storage=storage)
    ).start()
    yield running
    running.stop()


def test_a_presigned_upload_feeds_a_task(server: ServerThread, tos: FakeTos) -> None:
    audio = (DATA / "jfk.flac").read_bytes()
    with server.channel() as channel:
        client = Client(channel, server.token())
        granted = client.audio.CreateUploadUrl(
            audio_service_pb2.CreateUploadUrlRequest(
                metadata=audio_pb2.UploadMetadata(
                    filename="jfk.flac",
                    content_type="audio/flac",
                    size_bytes=len(audio),
                    sha256=hashlib.sha256(audio).hexdigest(),
                )
            ),
            metadata=client.metadata,
        )
        with httpx.Client(proxy=tos.proxy_url) as http:
            put = http.request(
                granted.method, granted.url, content=audio, headers=dict(granted.headers)
            )
        final = watch(client, client.create_task(granted.upload).name)[-1].task
        text = transcript_text(client, final.name)

    assert granted.upload.state == audio_pb2.UPLOAD_STATE_PENDING
    assert put.status_code == 200, put.text
    assert final.state == task_pb2.TASK_STATE_SUCCEEDED, final.error
    assert normalized(text) == normalized(JFK)
    assert any(key.endswith(granted.upload.name.split("/")[1]) for key in tos.bucket(BUCKET))
