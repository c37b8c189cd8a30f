"""How long does a provider that never answers hold a task? Seconds, with and without
the task's budget, in one run.

    python -m bench.provider_deadlines [--timeout 3] [--attempts 5] [--budget 4]

A local server accepts connections and never writes a byte (`tests.harness.vendors.
silent`). `call_vendor` calls it through `send` as every adapter does: the baseline is
the retry policy alone (`--attempts` at a `--timeout` first-byte deadline, with
backoff), the other row the same call inside a task's `--budget`. Prints the seconds
until the provider gave up, the reason it gave, and how many connections it opened.
"""

from __future__ import annotations

import argparse
import time

import httpx

from meeting_agent import deadlines
from meeting_agent.adapters.providers._transport import Timeouts, send
from meeting_agent.adapters.providers.calls import KeyPool, RetryPolicy, call_vendor
from meeting_agent.errors import Unavailable
from tests.harness.vendors.silent import SilentServer


def give_up(*, timeout: float, attempts: int, budget: float | None) -> tuple[float, str, int]:
    """Seconds until the call gave up, its reason, and the connections it made."""
    with SilentServer() as server, httpx.Client() as http:
        pool = KeyPool("silent", ["key"])
        policy = RetryPolicy(max_attempts=attempts, max_total_seconds=24 * 3600)
        started = time.monotonic()
        reason = "answered"
        try:
            with deadlines.provider_budget("silent", budget):
                call_vendor(
                    pool,
                    lambda key: send(
                        http,
                        "POST",
                        server.base_url + "/v1/chat/completions",
                        what="chat",
                        timeout_seconds=Timeouts(total=timeout),
                        json_body={},
                    ),
                    policy=policy,
                    operation="chat",
                )
        except Unavailable as exc:
            reason = exc.reason
        return time.monotonic() - started, reason, server.connections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--attempts", type=int, default=5)
    parser.add_argument("--budget", type=float, default=4.0)
    args = parser.parse_args()
    print(f"{'':<22} {'seconds':>8}  {'reason':<22} connections")
    for label, budget in (("retry policy alone", None), (f"budget {args.budget:g} s", args.budget)):
        seconds, reason, connections = give_up(
            timeout=args.timeout, attempts=args.attempts, budget=budget
        )
        print(f"{label:<22} {seconds:>8.1f}  {reason:<22} {connections}")


if __name__ == "__main__":
    main()
