"""The committed nginx configuration, run by Debian's nginx with a test certificate, in
front of a real server: an upload, a task and its whole WatchTask stream pass through."""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

from meeting_agent.v1 import task_pb2, task_service_pb2
from tests.e2e.conftest import DATA, Client, watch
from tests.harness.server import ServerThread, settings_for_tests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from render_nginx_conf import render  # noqa: E402

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "meeting-agent.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("meeting-agent.test")]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited {process.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("nginx did not listen within 20 s")


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    settings = settings_for_tests(
        tmp_path_factory.mktemp("nginx-upstream"), jobs={"inline_workers": 1}
    )
    running = ServerThread(settings).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def proxy(
    tmp_path_factory: pytest.TempPathFactory, upstream: ServerThread
) -> Iterator[tuple[str, bytes]]:
    """nginx on a free port; yields its address and the root certificate to trust."""
    directory = tmp_path_factory.mktemp("nginx")
    cert, key = _certificate(directory)
    port = _free_port()
    conf = render(directory / "prefix", upstream=upstream.address, port=port, cert=cert, key=key)
    assert NGINX is not None
    subprocess.run(
        [NGINX, "-p", str(conf.parent), "-c", str(conf), "-t"], check=True, capture_output=True
    )
    process = subprocess.Popen(
        [NGINX, "-p", str(conf.parent), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process, conf.parent / "error.log")
        yield f"127.0.0.1:{port}", cert.read_bytes()
    finally:
        process.terminate()  # SIGTERM: nginx's fast shutdown
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def client(proxy: tuple[str, bytes], upstream: ServerThread) -> Iterator[Client]:
    address, root = proxy
    # The certificate names meeting-agent.test; the channel dials 127.0.0.1.
    channel = grpc.secure_channel(
        address,
        grpc.ssl_channel_credentials(root),
        options=[("grpc.ssl_target_name_override", "meeting-agent.test")],
    )
    with channel:
        yield Client(channel, upstream.token("nina", "nginx-tenant"))


def test_health_answers_through_tls_termination(client: Client) -> None:
    stub = health_pb2_grpc.HealthStub(client.channel)
    deadline = time.monotonic() + 10
    while True:
        status = stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status
        if status == health_pb2.HealthCheckResponse.SERVING or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status == health_pb2.HealthCheckResponse.SERVING


def test_upload_create_and_watch_to_succeeded_through_nginx(client: Client) -> None:
    content = (DATA / "jfk.flac").read_bytes()
    upload = client.upload(content, filename="jfk.flac", chunk=256 * 1024)
    assert upload.size_bytes == len(content)

    task = client.create_task(upload, display_name="through nginx")
    messages = watch(client, task.name)

    events = [m.event for m in messages]
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert events[-1].state == task_pb2.TASK_STATE_SUCCEEDED
    assert messages[-1].task.state == task_pb2.TASK_STATE_SUCCEEDED


def test_errors_keep_their_grpc_status_through_the_proxy(client: Client) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        client.tasks.GetTask(
            task_service_pb2.GetTaskRequest(name="tasks/does-not-exist"),
            metadata=client.metadata,
            timeout=10,
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
