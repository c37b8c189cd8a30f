"""Job entry points that RQ workers import by name.

Each worker process builds its container once, on its first job, from the same
settings the server reads.
"""

from __future__ import annotations

import functools

from meeting_agent.bootstrap import Container, bootstrap
from meeting_agent.config import load_settings


@functools.cache
def _container() -> Container:
    return bootstrap(load_settings(), role="worker")


def process_task(task_id: str) -> None:
    """Run a task's pipeline, or its pending minutes; raises on transient failures so RQ
    retries it."""
    _container().pipeline.run(task_id)
