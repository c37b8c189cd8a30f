"""Files at vendors: audio published for recognisers that only take URLs, what a
provider leaves at its vendor while a task runs, and the sweep that deletes what no
task needs any more. Ports are what the services need from infrastructure; the cloud
providers in `meeting_agent.adapters.providers` implement these.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from meeting_agent.ports.jobs import Checkpoints


class AudioPublisher(Protocol):
    """Makes a local audio file reachable by a vendor that only takes URLs."""

    def publish(self, path: Path, *, content_type: str, name: str, owner: str) -> str:
        """Upload the file for `owner` (a task id) and return a presigned GET URL.

        What one owner publishes is never shared with another, so `withdraw` cannot
        take audio from under a task that still needs it. Raises
        `FailedPrecondition(reason="PRESIGN_UNSUPPORTED")` where the object store
        cannot presign.
        """
        ...

    def withdraw(self, owner: str) -> int:
        """Delete everything published for `owner`; returns how many objects went."""
        ...


@runtime_checkable
class VendorFiles(Protocol):
    """A provider that may leave files at its vendor (an upload, a published URL).

    The pipeline calls `release` once a task no longer needs them: when its transcript
    is stored, and when it ends (succeeded, failed or cancelled), but not when a job is
    handed back or retried, since the next attempt may reuse them.
    """

    def release(self, checkpoints: Checkpoints) -> None:
        """Delete what the task's checkpoints say is still at the vendor; best effort
        (what fails is left to the periodic sweep), idempotent."""
        ...


class LeftoverSweep(Protocol):
    """Finds and deletes what this service left at a vendor and no task needs any more."""

    @property
    def name(self) -> str: ...

    def sweep(self, now: datetime) -> int:
        """Delete leftovers older than the sweep's limit; returns how many went."""
        ...
