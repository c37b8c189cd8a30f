"""Job entry points that RQ workers import by name.

Each worker process builds its container once, on its first job, from the same
settings the server reads.
"""

from __future__ import annotations

import functools

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
    retries it. The job's trace continues the one stored on the task."""
    try:
        _container().pipeline.run(task_id)
    finally:
        # A forked job process ends with os._exit, which skips the SDK's exit hooks.
        flush_telemetry()
