"""The `meeting-agent` command line.

Layer: composition, the top: nothing in `meeting_agent` imports it.
"""

from meeting_agent.cli.main import app

__all__ = ["app"]
