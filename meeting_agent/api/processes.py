"""Serving from several processes on one port, so one pod uses all its cores.

Python serves RPCs on one core per process (the GIL). With `server.processes` above 1,
`meeting-agent serve` becomes a supervisor: it reserves the port, starts that many
server processes that each bind it with SO_REUSEPORT (the kernel spreads connections
across them, as in grpc's own multiprocessing example), restarts one that dies, and on
SIGTERM passes the signal on and waits for every process's graceful shutdown.

Only the production profile can do this: each process is a replica of its own, so jobs
must run in RQ workers and events must travel through Redis.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from types import FrameType

from meeting_agent.config import Settings

_LOGGER = logging.getLogger(__name__)

LISTEN_ADDRESS_VARIABLE = "MEETING_AGENT_SERVER__LISTEN_ADDRESS"
AUTO_MIGRATE_VARIABLE = "MEETING_AGENT_AUTO_MIGRATE"
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# A process that dies again this soon after starting is not restarted in a tight loop.
_RESTART_BACKOFF_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


@contextlib.contextmanager
def reserved_port(address: str) -> Iterator[str]:
    """Bind `address` with SO_REUSEPORT (port 0 picks a free port) and keep it bound, so
    no other program takes the port while the server processes come and go; yields
    the address with the port filled in."""
    host, port = _split(address)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        bound = sock.getsockname()[1]
        yield f"[{host}]:{bound}" if family == socket.AF_INET6 else f"{host}:{bound}"


def serve_in_processes(settings: Settings, run_server: Callable[[], int]) -> int:
    """Supervise `settings.server.processes` processes, each calling `run_server` (which
    reads the listen address from the environment); returns the exit code."""
    count = settings.server.processes
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    _prepare_once(settings)
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with reserved_port(settings.server.listen_address) as address:
            os.environ[LISTEN_ADDRESS_VARIABLE] = address
            _LOGGER.info("serving %s from %d processes", address, count)
            processes = [_start(context, run_server, i) for i in range(count)]
            restarts = [0] * count
            while not stopping:
                sentinels = [p.sentinel for p in processes]
                multiprocessing.connection.wait(sentinels, timeout=0.5)
                for index, process in enumerate(processes):
                    if stopping or process.is_alive():
                        continue
                    delay = _RESTART_BACKOFF_SECONDS[
                        min(restarts[index], len(_RESTART_BACKOFF_SECONDS) - 1)
                    ]
                    _LOGGER.warning(
                        "server process %d exited with %s; starting another in %.1f s",
                        process.pid,
                        process.exitcode,
                        delay,
                    )
                    time.sleep(delay)
                    restarts[index] += 1
                    processes[index] = _start(context, run_server, index)
            return _stop_all(processes, settings)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _prepare_once(settings: Settings) -> None:
    """What every process would otherwise race to do: migrate the schema, create the
    development key (two processes would each make their own)."""
    if settings.resolved_auto_migrate:
        from meeting_agent.adapters.db.database import upgrade_to_head

        upgrade_to_head(settings.resolved_database_url)
    os.environ[AUTO_MIGRATE_VARIABLE] = "false"
    if settings.auth.dev_key and settings.environment != "production":
        from meeting_agent.auth.dev_keys import ensure_dev_key

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        ensure_dev_key(settings.data_dir)


def _start(
    context: multiprocessing.context.SpawnContext, run_server: Callable[[], int], index: int
) -> multiprocessing.process.BaseProcess:
    process = context.Process(
        target=_child, args=(run_server,), name=f"meeting-agent-server-{index}", daemon=False
    )
    process.start()
    return process


def _child(run_server: Callable[[], int]) -> None:
    _stop_with_parent()
    raise SystemExit(run_server())


def _stop_with_parent() -> None:
    """Ask Linux for a SIGTERM when the supervisor dies (even by SIGKILL), so no server
    process outlives it and keeps the port; elsewhere nothing happens."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the supervisor died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _stop_all(processes: list[multiprocessing.process.BaseProcess], settings: Settings) -> int:
    for process in processes:
        if process.is_alive() and process.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
    server = settings.server
    deadline = time.monotonic() + server.shutdown_delay_seconds + server.shutdown_grace_seconds + 10
    code = 0
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            _LOGGER.warning("server process %d did not stop in time; killing it", process.pid)
            process.kill()
            process.join(5)
        code = code or (process.exitcode or 0)
    return code
