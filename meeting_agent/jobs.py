"""Job entry points that RQ workers import by name.

Each worker process builds its container once, on its first job, from the same
settings the server reads.

Layer: composition, beside `api`: it builds the container with `bootstrap`.
"""

from __future__ import annotations

import functools
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from meeting_agent.bootstrap import Container, bootstrap
from meeting_agent.config import load_settings
from meeting_agent.telemetry import configure_telemetry, flush_telemetry


@functools.cache
def _container() -> Container:
    # Telemetry is set up here, in the process that runs the job, not in the worker
    # that forks it: the exporter's gRPC channel and threads do not survive a fork.
    configure_telemetry("worker")
    return bootstrap(load_settings(), role="worker")


def process_task(task_id: str) -> None:
    """Run a task's pipeline, or its pending minutes; raises on transient failures so RQ
    retries it. The job's trace continues the one stored on the task.

    SIGTERM, whether sent to this process by a supervisor or passed on by the worker
    (`rq_queue.HandBackWorker`), makes the job hand its task back at the next safe point
    instead of dying in the middle: RQ's job process would otherwise die at once.
    """
    container = _container()
    try:
        with _hand_back_on(signal.SIGTERM, container.pipeline.interrupt):
            container.pipeline.run(task_id)
    finally:
        # A forked job process ends with os._exit, which skips the SDK's exit hooks.
        flush_telemetry()


@contextmanager
def _hand_back_on(signum: int, interrupt: Callable[[], None]) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are the main thread's; a job run elsewhere keeps them as they are
        return
    previous = signal.getsignal(signum)

    def handle(number: int, frame: FrameType | None) -> None:
        interrupt()
        # A worker running jobs in its own process (SimpleWorker) still hears of it.
        if callable(previous):
            previous(number, frame)

    signal.signal(signum, handle)
    try:
        yield
    finally:
        signal.signal(signum, _as_handler(previous))


def _as_handler(value: Any) -> Any:
    # getsignal returns None for handlers not installed from Python; keep the default.
    return signal.SIG_DFL if value is None else value
