"""A real meeting-agent gRPC server on a free port, in a background thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from meeting_agent.api.server import RunningServer, start_server
from meeting_agent.auth import build_authenticator, mint_dev_token
from meeting_agent.bootstrap import Container, bootstrap
from meeting_agent.config import Settings, load_settings


def settings_for_tests(data_dir: Path, **overrides: Any) -> Settings:
    """Embedded-default settings in a private data directory, listening on port 0."""
    server = {
        "listen_address": "127.0.0.1:0",
        "watch_poll_seconds": 0.05,
        "watch_heartbeat_seconds": 0.5,
        "health_check_interval_seconds": 0.2,
    }
    server.update(overrides.pop("server", {}))
    return load_settings(data_dir=data_dir, server=server, **overrides)


class ServerThread:
    """Runs `start_server` on its own event loop so tests can use blocking stubs."""

    def __init__(
        self, settings: Settings, customize: Callable[[Container], None] | None = None
    ) -> None:
        self.settings = settings
        self._customize = customize
        self.port = 0
        self._container: Container | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="meeting-agent-server", daemon=True)

    @property
    def container(self) -> Container:
        """What the server runs on, once `start` has returned."""
        assert self._container is not None, "the server has not started"
        return self._container

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(timeout=60):
            raise TimeoutError("server did not start within 60 s")
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # surfaced to the test thread by start()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        container = bootstrap(self.settings)
        if self._customize is not None:
            self._customize(container)
        self._container = container
        running: RunningServer = await start_server(container, build_authenticator(self.settings))
        self.port = running.port
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            container.pipeline.interrupt()
            await running.stop(1.0)
            await asyncio.to_thread(container.close, 30.0)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)

    def token(self, user: str = "alice", tenant: str = "acme") -> str:
        return mint_dev_token(self.settings, user_id=user, tenant_id=tenant)

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(self.address)
