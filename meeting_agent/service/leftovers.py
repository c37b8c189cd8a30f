"""The periodic sweep of what this service left at its vendors.

Each `LeftoverSweep` knows one kind of leftover (Gemini uploads, published audio);
this runs them all, each on its own, and records what they deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from meeting_agent.ports import Clock, LeftoverSweep
from meeting_agent.telemetry import instruments

_LOGGER = logging.getLogger(__name__)


class LeftoverSweeper:
    def __init__(self, sweeps: Sequence[LeftoverSweep], clock: Clock) -> None:
        self._sweeps = list(sweeps)
        self._clock = clock

    @property
    def sweeps(self) -> list[str]:
        return [sweep.name for sweep in self._sweeps]

    def run_once(self) -> dict[str, int]:
        """Run every sweep once; how many leftovers each deleted (-1: it failed)."""
        now = self._clock.now()
        deleted: dict[str, int] = {}
        for sweep in self._sweeps:
            try:
                count = sweep.sweep(now)
            except Exception:
                # A vendor or the store is down: the next round tries again.
                _LOGGER.warning("leftover sweep %s failed", sweep.name, exc_info=True)
                deleted[sweep.name] = -1
                continue
            deleted[sweep.name] = count
            if count:
                instruments.vendor_leftovers_deleted.add(count, {"meeting_agent.sweep": sweep.name})
                _LOGGER.info("leftover sweep %s deleted %d object(s)", sweep.name, count)
        return deleted
