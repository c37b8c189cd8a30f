"""Start an RQ worker for meeting-agent jobs: `python worker.py [--burst]`.

Needs `MEETING_AGENT_JOBS__BACKEND=rq`; run as many as you like, on any host that
reaches the same Redis, database and object store as the servers.
"""

from __future__ import annotations

import argparse
import logging
import sys

from redis.exceptions import RedisError, ResponseError

from meeting_agent.adapters.jobs.rq_queue import build_worker
from meeting_agent.cli.main import configure_logging
from meeting_agent.config import ConfigurationError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="worker.py", description=__doc__)
    parser.add_argument("--burst", action="store_true",
                        help="exit once the queue is empty instead of waiting for jobs")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(f"worker.py: {exc}", file=sys.stderr)
        return 2
    if settings.jobs.backend != "rq":
        print("worker.py: MEETING_AGENT_JOBS__BACKEND is not rq; inline jobs run in the server",
              file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.resolved_log_format)
    try:
        worker = build_worker(settings.jobs)
    except RedisError as exc:  # the orchestrator restarts us; say why in one line
        print(f"worker.py: cannot reach Redis: {exc}", file=sys.stderr)
        return 1
    # The scheduler moves failed jobs back to the queue after their retry interval.
    try:
        worker.work(burst=args.burst, with_scheduler=True, logging_level=settings.log_level)
    except ResponseError as exc:
        # A SIGTERM that lands while a heartbeat pipeline is in flight can leave RQ's
        # shutdown bookkeeping reading the wrong replies. The jobs are already settled
        # (warm shutdown waits for them) and the worker's registry entry expires by
        # itself, so this is a clean stop, not a failure.
        if not worker._stop_requested:
            raise
        logging.getLogger(__name__).warning("worker shutdown bookkeeping failed: %s", exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
