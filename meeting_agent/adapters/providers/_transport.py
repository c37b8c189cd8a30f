"""One HTTP exchange with a vendor, bounded in time and size, failures as `Transient`.

Three deadlines (`Timeouts`): connecting, the first byte of the answer (for a
synchronous API, the vendor's processing time) and the whole exchange. httpx bounds
each connect, read and write, not a whole response: a server that drips a byte every
few seconds would hold a worker forever. `send` streams the body and gives up at the
total deadline, and never runs past the task's budget for the provider
(`meeting_agent.deadlines`). Transport failures become `Transient` with the
exception's class name only: httpx errors carry the request, headers and all, and the
key must not travel with them.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from meeting_agent import deadlines
from meeting_agent.adapters.providers.calls import ApiKey, RetryPolicy, Transient

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "Reply",
    "Timeouts",
    "quota_bounded_sleep",
    "redact",
    "retry_after_seconds",
    "send",
]

# Larger than any transcript or chat answer; a bigger body is a broken proxy, not a reply.
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
# Connecting never needs long; a slow connect means the host is unreachable.
_CONNECT_SECONDS = 10.0


@dataclass(frozen=True)
class Timeouts:
    """Deadlines of one exchange, in seconds: connect, first byte of the answer, total."""

    total: float
    first_byte: float | None = None  # None: the total
    connect: float = _CONNECT_SECONDS

    def capped(self, seconds: float) -> Timeouts:
        """These deadlines, none longer than `seconds`."""
        return Timeouts(
            total=min(self.total, seconds),
            first_byte=min(self.first_byte or self.total, seconds),
            connect=min(self.connect, seconds),
        )


@dataclass(frozen=True)
class Reply:
    """A vendor's whole answer: status, headers and body bytes."""

    status: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any | None:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def send(
    http: httpx.Client,
    method: str,
    url: str,
    *,
    timeout_seconds: float | Timeouts,
    what: str,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    content: bytes | Iterator[bytes] | None = None,
    json_body: Any = None,
    data: Mapping[str, str] | None = None,
    files: Mapping[str, Any] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> Reply:
    """Send one request and read the whole reply within `timeout_seconds` (a total, or
    `Timeouts`), and within the task's budget for the provider.

    Raises:
        Transient: the connection failed, timed out, or the body was cut or oversized;
            `unreachable` when no connection could be made.
    """
    limits = (
        timeout_seconds
        if isinstance(timeout_seconds, Timeouts)
        else Timeouts(total=timeout_seconds, connect=min(timeout_seconds, _CONNECT_SECONDS))
    )
    left = deadlines.remaining()
    if left is not None:
        if left <= 0.0:
            raise Transient(f"{what}: the task's budget for this provider is spent")
        limits = limits.capped(left)
    total = limits.total
    first_byte = min(limits.first_byte or total, total)
    # httpx's read timeout bounds the wait for the status line (the first byte) and
    # every gap between chunks after it; the loop below bounds the total.
    timeout = httpx.Timeout(
        connect=limits.connect, read=first_byte, write=total, pool=limits.connect
    )
    deadline = time.monotonic() + total
    failure = ""
    unreachable = False
    try:
        request = http.build_request(
            method,
            url,
            headers=headers,
            params=params,
            content=content,
            json=json_body,
            data=data,
            files=files,
            timeout=timeout,
        )
        response = http.send(request, stream=True)
        try:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_body_bytes:
                    failure = f"{what}: reply larger than {max_body_bytes} bytes"
                    break
                if time.monotonic() > deadline:
                    failure = f"{what}: reply not complete within {total:g} s"
                    break
                chunks.append(chunk)
        finally:
            response.close()
    except httpx.ConnectTimeout:
        failure = f"{what}: timed out, no connection within {limits.connect:g} s (ConnectTimeout)"
        unreachable = True
    except httpx.ReadTimeout:
        failure = f"{what}: timed out, no answer within {first_byte:g} s (ReadTimeout)"
    except httpx.TimeoutException as exc:
        failure = f"{what}: timed out after {total:g} s ({type(exc).__name__})"
    except httpx.HTTPError as exc:
        failure = f"{what}: connection failed ({type(exc).__name__})"
        unreachable = isinstance(exc, httpx.ConnectError)
    if failure:
        # Raised outside the except block, so the httpx error (which holds the request
        # and its key header) is neither the cause nor the context of ours.
        raise Transient(failure, unreachable=unreachable)
    return Reply(response.status_code, response.headers, b"".join(chunks))


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """The `Retry-After` header in seconds (delta or HTTP date); None when absent or bad."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def redact(text: str, key: ApiKey) -> str:
    """`text` without the key in it: vendors (and proxies) may echo what they were sent."""
    return text.replace(key.secret, key.fingerprint) if key.secret else text


def quota_bounded_sleep(
    policy: RetryPolicy, sleep: Callable[[float], None]
) -> Callable[[float], None]:
    """`sleep` for `call_vendor` that skips waits longer than any the policy allows.

    `call_vendor` waits out the last key's `retry_after` before it checks that wait
    against `max_quota_wait_seconds`: with every key told to come back in ten minutes,
    it would sleep ten minutes and only then fail over. Backoff waits never exceed
    `max_backoff_seconds`, so a longer one is such a quota wait: skipping it makes the
    next attempt find no key and raise `PROVIDER_QUOTA_EXHAUSTED` at once.
    """
    bound = max(policy.max_quota_wait_seconds, policy.max_backoff_seconds)

    def bounded(seconds: float) -> None:
        if seconds <= bound:
            sleep(seconds)

    return bounded
