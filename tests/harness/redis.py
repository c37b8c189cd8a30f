"""A Redis server for integration tests.

`MEETING_AGENT_TEST_REDIS_URL` names an existing server; tests then use the first empty
logical database from the one in the URL on (as rq's own `RQTestCase` does), so a
developer's data is never flushed. Otherwise `LocalRedis` starts a private
`redis-server` (Debian's, or `MEETING_AGENT_TEST_REDIS_SERVER`) on a free port of
127.0.0.1, without persistence, in a temporary directory, and removes it afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

URL_VARIABLE = "MEETING_AGENT_TEST_REDIS_URL"
SERVER_VARIABLE = "MEETING_AGENT_TEST_REDIS_SERVER"
DEFAULT_SERVER = Path("/usr/bin/redis-server")
# Logical databases of a default server configuration.
DATABASE_COUNT = 16


class RedisUnavailable(Exception):
    """No server was configured and none can be started here."""


def find_server_binary() -> Path | None:
    configured = os.environ.get(SERVER_VARIABLE)
    candidates = (
        [Path(configured)]
        if configured
        else [DEFAULT_SERVER, *([Path(found)] if (found := shutil.which("redis-server")) else [])]
    )
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_ready(
    url: str, *, timeout_seconds: float = 10.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until the server at `url` answers PING."""
    deadline = time.monotonic() + timeout_seconds
    client = Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        while True:
            try:
                if client.ping():
                    return
            except RedisError:
                pass
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"redis-server exited with code {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Redis at {url} did not answer PING in {timeout_seconds} s")
            time.sleep(0.05)
    finally:
        client.close()


class LocalRedis:
    """A throwaway server: `start()` runs redis-server; `stop()` shuts it down and cleans up.

    It can be started again after `stop()` on the same port, which tests use to simulate
    an outage and a recovery.
    """

    def __init__(self, binary: Path) -> None:
        self._binary = binary
        self._root: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="meeting-agent-redis-"))
        last_error: Exception | None = None
        for _ in range(3):  # the free port may be taken before the server binds it
            port = self.port or _free_port()
            log = self._root / "redis.log"
            self._process = subprocess.Popen(
                [
                    str(self._binary),
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(self._root),
                    "--logfile",
                    str(log),
                    # Nothing to keep: no RDB snapshots, no append-only file.
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.port = port
            try:
                wait_until_ready(self.url, process=self._process)
                return
            except RuntimeError as exc:
                last_error = exc
                self._kill()
                if (
                    self.port == port
                    and log.exists()
                    and "Address already in use" in log.read_text(errors="replace")
                ):
                    self.port = 0
        raise RuntimeError(f"redis-server did not start: {last_error}")

    def stop(self, *, cleanup: bool = True) -> None:
        """Stop the server; with `cleanup`, also remove its directory."""
        self._kill()
        if cleanup and self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def local_redis() -> Iterator[LocalRedis]:
    """A private server for one test or session; raises `RedisUnavailable` without a binary."""
    binary = find_server_binary()
    if binary is None:
        raise RedisUnavailable(
            f"redis-server not found (apt-get install redis-server, or set {SERVER_VARIABLE}) "
            f"and {URL_VARIABLE} is not set"
        )
    server = LocalRedis(binary)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def find_empty_database(url: str) -> str:
    """The URL of the first empty logical database from the URL's own one on."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        return url  # a unix socket names its database in the query; use it as given
    path = parts.path.strip("/")
    first = int(path) if path.isdigit() else 0
    for db in range(first, DATABASE_COUNT):
        candidate = urllib.parse.urlunsplit(parts._replace(path=f"/{db}"))
        probe = Redis.from_url(candidate, socket_connect_timeout=2, socket_timeout=2)
        try:
            if probe.dbsize() == 0:
                return candidate
        finally:
            probe.close()
    raise RedisUnavailable(
        f"no empty logical database on {parts.hostname}:{parts.port}; tests flush the one they use"
    )


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """The URL of a database the tests may flush: on the configured server, or a private one.

    Raises `RedisUnavailable` when there is neither.
    """
    configured = os.environ.get(URL_VARIABLE)
    if configured:
        wait_until_ready(configured)
        yield find_empty_database(configured)
        return
    with local_redis() as server:
        yield server.url


def flush(url: str) -> None:
    """Empty the database at `url` (only that logical database)."""
    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.flushdb()
    finally:
        client.close()
