"""Start an RQ worker for meeting-agent jobs: `python worker.py [--burst]`.

Needs `MEETING_AGENT_JOBS__BACKEND=rq`; run as many as you like, on any host that
reaches the same Redis, database and object store as the servers. A Redis outage of any
length does not stop it: it waits, reconnects and takes work again.
"""

from __future__ import annotations

import argparse
import sys

from meeting_agent.cli.startup import configure_logging
from meeting_agent.config import ConfigurationError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="worker.py", description=__doc__)
    parser.add_argument(
        "--burst",
        action="store_true",
        help="exit once the queue is empty instead of waiting for jobs",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(f"worker.py: {exc}", file=sys.stderr)
        return 2
    if settings.jobs.backend != "rq":
        print(
            "worker.py: MEETING_AGENT_JOBS__BACKEND is not rq; inline jobs run in the server",
            file=sys.stderr,
        )
        return 2
    configure_logging(settings.log_level, settings.resolved_log_format)
    from meeting_agent.adapters.jobs.worker_loop import work_until_stopped

    return work_until_stopped(settings, burst=args.burst)


if __name__ == "__main__":
    sys.exit(main())
