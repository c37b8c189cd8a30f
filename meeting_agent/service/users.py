"""Keeping the `users` table in step with who calls."""

from __future__ import annotations

import threading
import time

from meeting_agent.domain.models import Principal
from meeting_agent.ports import Clock, UnitOfWorkFactory

REFRESH_SECONDS = 300.0
MAX_REMEMBERED = 100_000


class UserDirectory:
    """Creates a user's row on first sight and refreshes it now and then.

    Writing on every call would put a database write on every RPC; remembering when
    each principal was last written keeps that to one write per principal per
    `REFRESH_SECONDS` per process.
    """

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._last_written: dict[Principal, float] = {}
        self._lock = threading.Lock()

    def remembers(self, principal: Principal) -> bool:
        """Whether `seen` would write nothing now; cheap, so RPCs skip a thread hop."""
        last = self._last_written.get(principal)
        return last is not None and time.monotonic() - last < REFRESH_SECONDS

    def seen(self, principal: Principal) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last_written.get(principal)
            if last is not None and now - last < REFRESH_SECONDS:
                return
            if len(self._last_written) >= MAX_REMEMBERED:
                self._last_written.clear()
            self._last_written[principal] = now
        try:
            with self._uow_factory() as uow:
                uow.users.upsert(principal, self._clock.now())
                uow.commit()
        except BaseException:
            with self._lock:
                self._last_written.pop(principal, None)
            raise
