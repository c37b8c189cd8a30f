"""Time: the port services read the current time from. Ports are what the services
need from infrastructure; `SystemClock` in `meeting_agent.service.common` reads the
real time, and tests pass a clock they set by hand.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...
